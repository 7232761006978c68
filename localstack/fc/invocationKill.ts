/**
 * Kills function invocations part-way, as a crashed or recycled FC instance does: from a chosen
 * point on, the invocation reaches nothing outside its process, and the runtime reports it failed
 * whatever the handler returns. A function's only side effects are its cloud requests, so "killed
 * before request k" is also "killed after side effect k − 1"; an invocation that made exactly k − 1
 * requests and returned is killed after its last side effect, before it could report success.
 *
 * Requests are counted and refused where the SDKs send them: `http.request` (httpx, used by every
 * `@alicloud/*` SDK, looks it up at call time), inside the invocation's async context. A refused
 * request is destroyed before a byte is written and fails like a reset connection.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { LocalFcError } from "./errors";

/** The invocation dies just before its `atRequest`-th cloud request (1-based). */
export interface KillPlan {
  atRequest: number;
}

/** Decides, per invocation, whether and where it is killed (none: it runs undisturbed). */
export type InvocationKiller = (invocation: {
  functionName: string;
  requestId: string;
}) => KillPlan | undefined;

/** The runtime's verdict on an invocation that was killed. */
export class InvocationKilledError extends LocalFcError {
  override name = "InvocationKilledError";
}

/** What one invocation did with respect to its kill plan. */
export class InvocationTracker {
  private requests = 0;
  private dead = false;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly plan: KillPlan | undefined) {}

  /** Counts a request about to be sent; false when the invocation is (now) dead and must not send it. */
  admit(): boolean {
    if (this.dead) return false;
    this.requests += 1;
    if (this.plan !== undefined && this.requests >= this.plan.atRequest) this.die();
    return !this.dead;
  }

  /** The runtime ends the invocation from outside (its timeout): nothing more leaves it. */
  kill(): void {
    this.die();
  }

  /** Called once when the invocation dies part-way (not for a kill after its last request). */
  onDeath(listener: () => void): void {
    if (this.dead) listener();
    else this.listeners.push(listener);
  }

  private die(): void {
    if (this.dead) return;
    this.dead = true;
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** Whether the invocation counts as killed once its handler has returned. */
  get killed(): boolean {
    return this.dead || (this.plan !== undefined && this.requests + 1 >= this.plan.atRequest);
  }

  get requestCount(): number {
    return this.requests;
  }
}

const currentInvocation = new AsyncLocalStorage<InvocationTracker>();
let installed = false;

/** Runs `fn` as the invocation `tracker` follows; installs the request hook on first use. */
export function runTracked<T>(tracker: InvocationTracker, fn: () => T): T {
  installRequestHook();
  return currentInvocation.run(tracker, fn);
}

function installRequestHook(): void {
  if (installed) return;
  installed = true;
  const original = http.request;
  const hooked = function (this: unknown, ...args: Parameters<typeof http.request>) {
    const request = original.apply(this, args);
    const tracker = currentInvocation.getStore();
    if (tracker !== undefined && !tracker.admit()) {
      // Destroyed before any write: the server never sees it. The code is a network failure's.
      request.destroy(Object.assign(new Error("socket hang up (invocation killed)"), { code: "ECONNRESET" }));
    }
    return request;
  } as typeof http.request;
  http.request = hooked;
}

/**
 * A seeded killer: each invocation is killed with probability `rate`, before a request drawn
 * uniformly from 1..`maxRequest` (a point past the invocation's last request leaves it alone).
 */
export function randomKiller(options: {
  rate: number;
  maxRequest: number;
  random: () => number;
  functions?: readonly string[];
}): InvocationKiller {
  return ({ functionName }) => {
    if (options.functions !== undefined && !options.functions.includes(functionName)) return undefined;
    if (options.random() >= options.rate) return undefined;
    return { atRequest: 1 + Math.floor(options.random() * options.maxRequest) };
  };
}
