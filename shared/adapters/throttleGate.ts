/**
 * Per account, region and API call limits. Alibaba counts calls per API, per account and region, per
 * minute, and publishes no numbers: this gate keeps each such key within a budget when one is
 * configured, and when the service answers "throttled" it pauses that key until the next minute —
 * every concurrent call on it waits, instead of each retrying on its own — then calls again. Throttling delays work; it
 * never fails it: past the longest pause the call's error is retryable, so the message or event
 * comes back later.
 */

import { DEFERRED_CODE } from "../ports/errors";
import type { CallGate, CallIdentity } from "./callGate";
import { CloudError, isThrottlingCode, toCloudError } from "./cloudError";

export interface ApiBudget {
  service: CallIdentity["service"];
  /** One operation; omitted = each operation of the service separately. */
  operation?: string;
  /** Calls per minute per account and region. */
  perMinute: number;
}

/**
 * Where the function instances of a deployment take their parts of a budget from: one claim per
 * slot of a key's minute, won by one instance only (OSS's create-if-absent, budgetLedger.ts).
 */
export interface BudgetLedger {
  /** True when this caller won the slot; false when another instance holds it. */
  claim(slot: BudgetSlot): Promise<boolean>;
}

export interface BudgetSlot extends CallIdentity {
  /** Minutes since the epoch on the functions' clock: the quota window the slot belongs to. */
  minute: number;
  slot: number;
}

/** A key's minute is leased in this many parts at most: few claims, little left idle in a lease. */
const LEASE_SLOTS = 6;

export interface ThrottleGateOptions {
  /** The deployment's budgets (calls per minute per account, region and API). */
  budgets?: readonly ApiBudget[];
  /**
   * How many function instances may call at once. Each gate is one instance's: with a ledger it
   * leases parts of the deployment's budget as it needs them; without one (or when the ledger
   * cannot be reached) it keeps to its even share, 1/`instances` of each budget. Default 1.
   */
  instances?: number;
  ledger?: BudgetLedger;
  /** Told of a claim the ledger failed (once per key and minute): the instance falls back. */
  onLedgerFailure?: (call: CallIdentity, error: unknown) => void;
  /**
   * After a throttled answer the API is paused until the next quota window (quotas count per
   * minute: sooner would only collect more refusals), plus up to `jitterMs` so the callers released
   * together do not all arrive in the same second.
   */
  windowMs?: number;
  jitterMs?: number;
  /** Throttled answers tolerated per call before its (retryable) error is thrown. */
  maxThrottled?: number;
  /** The clock the quota windows follow: the function's (the emulator's on the local stack). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * When the caller must be done (ms on `now`'s clock): a function's end of time. A wait that would
   * end later fails the call at once with a retryable throttling error, so the invocation ends
   * inside its timeout (and its queue message's visibility timeout) and the work comes back later,
   * instead of sleeping past them while the queue hands the same message out again.
   */
  deadline?: () => number | undefined;
  /**
   * Calls that may still start once the deadline has passed: the ones that settle the run's work
   * (the queue's sends and deletes). Every other call is refused at once with the same retryable
   * error, so work stops at the deadline and the time left is the settlement's: on a loaded
   * machine or a slow cloud, a run that kept calling till its timeout left its queue messages to
   * be handed out again, each delivery counted toward the dead-letter limit.
   */
  startsPastDeadline?: (call: CallIdentity) => boolean;
}

interface KeyState {
  /** Calls may start from this time on (ms). */
  pausedUntil: number;
  /** Start times of the calls in the last minute, when an even share applies. */
  recent: number[];
  /** The parts of this minute's budget this instance leased, when a ledger applies. */
  lease?: Lease;
  /** A claim under way: the other callers of the key wait for it rather than claim too. */
  claiming?: Promise<void>;
}

interface Lease {
  minute: number;
  /** Calls left of the parts won. */
  tokens: number;
  /** The next slot to try: the ones before are taken. */
  nextSlot: number;
  /** Every slot is taken (or the ledger failed and the share is used): wait for the next minute. */
  exhausted: boolean;
}

const MINUTE_MS = 60_000;

export class ThrottleGate implements CallGate {
  private readonly keys = new Map<string, KeyState>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** Throttled answers seen, for logs and benchmarks. */
  throttled = 0;
  /** Claims the ledger failed, for logs and benchmarks. */
  ledgerFailures = 0;

  constructor(private readonly options: ThrottleGateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async run<T>(call: CallIdentity, fn: () => Promise<T>): Promise<T> {
    const key = `${call.service}|${call.operation}|${call.accountId}|${call.region}`;
    const state = this.keys.get(key) ?? { pausedUntil: 0, recent: [] };
    this.keys.set(key, state);
    const budget = budgetFor(this.options.budgets ?? [], call);
    const windowMs = this.options.windowMs ?? MINUTE_MS;
    const jitterMs = this.options.jitterMs ?? 2_000;
    const deadline = this.options.deadline?.();
    if (deadline !== undefined && this.now() >= deadline && this.options.startsPastDeadline?.(call) !== true)
      throw deferred(call, "the invocation is past its deadline: not started");
    for (let throttled = 0; ; throttled += 1) {
      await this.admit(call, state, budget);
      try {
        return await fn();
      } catch (error) {
        const cloud = toCloudError(error, call.service, call.operation);
        if (!isThrottlingCode(cloud.code, cloud.httpStatus)) throw error;
        this.throttled += 1;
        if (throttled >= (this.options.maxThrottled ?? 8)) throw error;
        const now = this.now();
        const nextWindow = now - (now % windowMs) + windowMs;
        state.pausedUntil = Math.max(state.pausedUntil, nextWindow + Math.floor(this.random() * jitterMs));
      }
    }
  }

  /** Waits out a pause and, with a budget, until this instance may make one more call. */
  private async admit(call: CallIdentity, state: KeyState, budget: number | undefined): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < state.pausedUntil) {
        await this.waitUntil(call, state.pausedUntil, "paused after a throttled answer");
        continue;
      }
      if (budget === undefined) return;
      if (this.options.ledger !== undefined) {
        if (await this.takeLeased(call, state, budget, now)) return;
        continue;
      }
      const share = this.fallbackShare(budget);
      while (state.recent.length > 0 && (state.recent[0] ?? 0) <= now - MINUTE_MS) state.recent.shift();
      if (state.recent.length < share) {
        state.recent.push(now);
        return;
      }
      await this.waitUntil(call, (state.recent[0] ?? now) + MINUTE_MS, "at its budget");
    }
  }

  /**
   * One call of this minute's lease; true when taken. Otherwise it has waited (for a claim, or
   * for the next minute) and the caller looks again.
   */
  private async takeLeased(
    call: CallIdentity,
    state: KeyState,
    budget: number,
    now: number,
  ): Promise<boolean> {
    const minute = Math.floor(now / MINUTE_MS);
    if (state.lease?.minute !== minute) state.lease = { minute, tokens: 0, nextSlot: 0, exhausted: false };
    const lease = state.lease;
    if (lease.tokens > 0) {
      lease.tokens -= 1;
      return true;
    }
    if (state.claiming !== undefined) {
      await state.claiming;
      return false;
    }
    if (lease.exhausted) {
      // Spread over a second: the instances waiting for the minute do not all claim at once.
      await this.waitUntil(
        call,
        (minute + 1) * MINUTE_MS + Math.floor(this.random() * 1_000),
        "at its budget",
      );
      return false;
    }
    state.claiming = this.claim(call, lease, budget).finally(() => {
      state.claiming = undefined;
    });
    await state.claiming;
    return false;
  }

  /** Wins the next free part of the minute's budget, or marks the minute exhausted. */
  private async claim(call: CallIdentity, lease: Lease, budget: number): Promise<void> {
    const ledger = this.options.ledger;
    if (ledger === undefined) return;
    const part = Math.ceil(budget / LEASE_SLOTS);
    const slots = Math.ceil(budget / part);
    while (lease.nextSlot < slots) {
      const slot = lease.nextSlot;
      lease.nextSlot += 1;
      let won: boolean;
      try {
        won = await ledger.claim({ ...call, minute: lease.minute, slot });
      } catch (error) {
        // The ledger cannot be reached: this minute, the instance keeps to its even share.
        lease.tokens += this.fallbackShare(budget);
        lease.exhausted = true;
        this.ledgerFailures += 1;
        this.options.onLedgerFailure?.(call, error);
        return;
      }
      if (won) {
        lease.tokens += Math.min(part, budget - slot * part);
        return;
      }
    }
    lease.exhausted = true;
  }

  /** The even share an instance keeps to without a ledger: a call at least (the env checks it). */
  private fallbackShare(budget: number): number {
    return Math.max(1, evenShare(budget, this.options.instances ?? 1));
  }

  private async waitUntil(call: CallIdentity, until: number, why: string): Promise<void> {
    const deadline = this.options.deadline?.();
    if (deadline !== undefined && until > deadline)
      throw deferred(call, `the API is ${why} until after this invocation must end`);
    await this.sleep(until - this.now());
  }
}

function deferred(call: CallIdentity, why: string): CloudError {
  return new CloudError(`${why}; the work comes back later`, {
    code: DEFERRED_CODE,
    service: call.service,
    operation: call.operation,
    retryable: true,
  });
}

/** The calls per minute allowed for this API: its own budget, else its service's, else none. */
export function budgetFor(
  budgets: readonly ApiBudget[],
  call: Pick<CallIdentity, "service" | "operation">,
): number | undefined {
  let found: number | undefined;
  for (const budget of budgets) {
    if (budget.service !== call.service) continue;
    if (budget.operation !== undefined && budget.operation !== call.operation) continue;
    if (budget.operation !== undefined || found === undefined) found = budget.perMinute;
  }
  return found;
}

const BUDGET_ITEM = /^(ecs|sls|mns|sts)(?::([A-Za-z]{2,64}))?=([1-9][0-9]{0,6})$/;

/**
 * `ecs=300,ecs:RunCommand=60,sls=600` → budgets (calls per minute per account and region). Throws
 * naming the item that is not of that form.
 */
export function parseApiBudgets(text: string): ApiBudget[] {
  const budgets: ApiBudget[] = [];
  for (const item of text.split(",").map((part) => part.trim())) {
    if (item === "") continue;
    const match = BUDGET_ITEM.exec(item);
    if (!match)
      throw new Error(
        `"${item.slice(0, 80)}" is not <service>[:<Operation>]=<calls per minute> (service ecs, sls, mns or sts)`,
      );
    const [, service, operation, perMinute] = match;
    budgets.push({
      service: service as ApiBudget["service"],
      ...(operation === undefined ? {} : { operation }),
      perMinute: Number(perMinute),
    });
  }
  return budgets;
}

function evenShare(budget: number, instances: number): number {
  return Math.floor(budget / instances);
}

/**
 * Each instance's even share of the deployment's budgets, rounded down: what an instance keeps to
 * when no ledger can be reached, so that all of them together stay within the budgets. Throws
 * naming a budget too small to leave each instance a call.
 */
export function shareOfBudgets(budgets: readonly ApiBudget[], instances: number): ApiBudget[] {
  if (!Number.isInteger(instances) || instances < 1)
    throw new Error(`the instances sharing the budgets must be a whole number ≥ 1, not ${instances}`);
  return budgets.map((budget) => {
    const perMinute = evenShare(budget.perMinute, instances);
    if (perMinute < 1) {
      const name = budget.operation === undefined ? budget.service : `${budget.service}:${budget.operation}`;
      throw new Error(
        `${name}=${budget.perMinute} shared by ${instances} function instances leaves less than one call per minute each: raise the budget to at least ${instances}, or lower the functions' reservedConcurrency in s.yaml`,
      );
    }
    return { ...budget, perMinute };
  });
}
