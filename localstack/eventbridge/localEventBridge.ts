/**
 * Event buses per account and region, rules with event patterns, and at-least-once asynchronous
 * delivery to targets: a local function or another bus, also another account's bus (through a
 * role of the receiving account that trusts the sender, as Alibaba's cross-account routing works:
 * see README.md). `putEvents` returns before anything is delivered; `idle()` waits until every
 * delivery, retry included, has settled.
 */
import { randomUUID } from "node:crypto";
import {
  BusRoutingRefusedError,
  CrossAccountDeliveryDeniedError,
  EventBridgeError,
  EventBusNotFoundError,
} from "./errors";
import { compileEventPattern, type EventMatcher } from "./eventPattern";
import { backoffRetry } from "./retryStrategies";
import type {
  BusRef,
  BusTarget,
  CloudEvent,
  EventInput,
  LogSink,
  RetryStrategy,
  RuleInput,
  RuleTarget,
  Scheduler,
} from "./types";

export interface LocalEventBridgeOptions {
  /** Time for retry delays and publish times; the emulator clock in the local stack. */
  scheduler?: Scheduler;
  log?: LogSink;
  /** May a principal of `senderAccountId` assume `roleArn` to publish? Default: `grantCrossAccount`. */
  trust?(roleArn: string, senderAccountId: string): boolean;
  /** Retry strategy of targets that name none. Default BACKOFF_RETRY. */
  defaultRetry?: RetryStrategy;
  /**
   * Which bus may route to which (README: Alibaba's pages disagree; unverified either way):
   * - `same-kind-same-region` (the cross-account use-case page): across accounts only within one
   *   region and only default → default or custom → custom; within an account, to custom buses;
   * - `to-custom-only` (the newer user guide): every rule targets a custom bus, across regions too;
   * - `unrestricted` (the default): no check.
   */
  busRouting?: BusRouting;
  /** Whether a forwarded event keeps `aliyunoriginalaccountid` (undocumented). Default `kept`. */
  originalAccountId?: "kept" | "dropped";
}

export type BusRouting = "unrestricted" | "same-kind-same-region" | "to-custom-only";

interface Rule {
  name: string;
  matcher: EventMatcher;
  targets: RuleTarget[];
  enabled: boolean;
}

interface Bus {
  ref: BusRef;
  rules: Map<string, Rule>;
}

export interface DeadLetter {
  target: string;
  rule: string;
  event: CloudEvent;
  error: string;
}

const DEFAULT_BUS = "default";

export class LocalEventBridge {
  private readonly buses = new Map<string, Bus>();
  private readonly pending = new Set<Promise<void>>();
  private readonly grants = new Map<string, Set<string>>();
  private duplicatesLeft = 0;
  /** Events whose last retry failed and whose target has no dead-letter handler. */
  readonly deadLetters: DeadLetter[] = [];

  constructor(private readonly options: LocalEventBridgeOptions = {}) {}

  /** The `default` bus exists in every account and region as soon as it is used. */
  createEventBus(ref: BusRef): void {
    const key = busKey(ref);
    if (!this.buses.has(key)) this.buses.set(key, { ref: { ...ref }, rules: new Map() });
  }

  hasEventBus(ref: BusRef): boolean {
    return ref.busName === DEFAULT_BUS || this.buses.has(busKey(ref));
  }

  /** Creates or replaces a rule. The pattern is validated now: a bad pattern throws EventPatternError. */
  putRule(input: RuleInput): void {
    const bus = this.requireBus(input);
    const ids = new Set<string>();
    for (const target of input.targets) {
      if (ids.has(target.id)) throw new EventBridgeError(`rule ${input.name}: target id ${target.id} twice`);
      ids.add(target.id);
    }
    bus.rules.set(input.name, {
      name: input.name,
      matcher: compileEventPattern(input.pattern),
      targets: [...input.targets],
      enabled: input.enabled ?? true,
    });
  }

  deleteRule(ref: BusRef & { name: string }): void {
    this.buses.get(busKey(ref))?.rules.delete(ref.name);
  }

  /**
   * The receiving account's side of cross-account routing: its role `roleArn` trusts these sender
   * accounts and may publish to its buses (RAM role + AliyunEventBridgePutEventsPolicy).
   */
  grantCrossAccount(roleArn: string, senderAccountIds: readonly string[]): void {
    const senders = this.grants.get(roleArn) ?? new Set<string>();
    for (const id of senderAccountIds) senders.add(id);
    this.grants.set(roleArn, senders);
  }

  /** The next `count` deliveries to a target happen twice, with the same event id. */
  duplicateNextDeliveries(count: number): void {
    this.duplicatesLeft += count;
  }

  /** Publishes events on a bus and returns their ids; delivery happens later. */
  putEvents(bus: BusRef, events: readonly EventInput[]): string[] {
    const target = this.requireBus(bus);
    return events.map((input) => {
      const event = this.stamp(input, target.ref);
      this.route(target, event);
      return event.id;
    });
  }

  /** Resolves once nothing is being delivered or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private stamp(input: EventInput, bus: BusRef): CloudEvent {
    return {
      ...input,
      specversion: input.specversion ?? "1.0",
      id: input.id || randomUUID(),
      aliyunaccountid: bus.accountId,
      aliyunregionid: bus.region,
      aliyuneventbusname: bus.busName,
      aliyunpublishtime: new Date(this.now()).toISOString(),
    };
  }

  private route(bus: Bus, event: CloudEvent): void {
    for (const rule of bus.rules.values()) {
      if (!rule.enabled || !rule.matcher(event)) continue;
      for (const target of rule.targets) {
        const copies = this.duplicatesLeft > 0 ? 2 : 1;
        if (copies === 2) this.duplicatesLeft -= 1;
        for (let copy = 0; copy < copies; copy += 1) this.track(this.deliver(bus.ref, rule, target, event));
      }
    }
  }

  private track(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private async deliver(from: BusRef, rule: Rule, target: RuleTarget, event: CloudEvent): Promise<void> {
    // Delivery is asynchronous: the publisher has its answer before any target sees the event.
    await Promise.resolve();
    const retry = target.retry ?? this.options.defaultRetry ?? backoffRetry();
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.push(from, target, event);
        this.log({
          msg: "eventbridge.delivered",
          rule: rule.name,
          target: target.id,
          eventId: event.id,
          attempt,
        });
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const final =
          attempt >= retry.maxRetries ||
          error instanceof CrossAccountDeliveryDeniedError ||
          error instanceof BusRoutingRefusedError;
        this.log({
          msg: final ? "eventbridge.dead-lettered" : "eventbridge.retry",
          rule: rule.name,
          target: target.id,
          eventId: event.id,
          attempt,
          error: reason,
        });
        if (final) {
          if (target.deadLetter) target.deadLetter(event, error);
          else this.deadLetters.push({ target: target.id, rule: rule.name, event, error: reason });
          return;
        }
        await this.sleep(retry.delayMs(attempt + 1));
      }
    }
  }

  private async push(from: BusRef, target: RuleTarget, event: CloudEvent): Promise<void> {
    if (target.kind === "function") {
      await target.deliver(event);
      return;
    }
    this.forward(from, target, event);
  }

  /** Puts the event on another bus, re-stamped as the receiving bus's, remembering where it came from. */
  private forward(from: BusRef, target: BusTarget, event: CloudEvent): void {
    const refused = routingRefusal(this.options.busRouting ?? "unrestricted", from, target);
    if (refused !== undefined) throw new BusRoutingRefusedError(`target ${target.id}: ${refused}`);
    if (target.accountId !== from.accountId) {
      const role = target.roleArn;
      if (role === undefined || !role.startsWith(`acs:ram::${target.accountId}:role/`)) {
        throw new CrossAccountDeliveryDeniedError(
          `target ${target.id}: delivery to account ${target.accountId} needs a role of that account`,
        );
      }
      if (!this.trusts(role, from.accountId)) {
        throw new CrossAccountDeliveryDeniedError(
          `target ${target.id}: ${role} does not trust account ${from.accountId}`,
        );
      }
    }
    const bus = this.buses.get(busKey(target)) ?? this.defaultBus(target);
    if (bus === undefined) throw new EventBusNotFoundError(`event bus ${describe(target)} does not exist`);
    const { aliyunaccountid, aliyunregionid, aliyuneventbusname, aliyunpublishtime, ...rest } = event;
    const forwarded = this.stamp(rest, bus.ref);
    if (this.options.originalAccountId !== "dropped") {
      forwarded.aliyunoriginalaccountid = event.aliyunoriginalaccountid ?? aliyunaccountid;
    } else {
      delete forwarded.aliyunoriginalaccountid;
    }
    this.route(bus, forwarded);
  }

  private trusts(roleArn: string, sender: string): boolean {
    if (this.options.trust) return this.options.trust(roleArn, sender);
    return this.grants.get(roleArn)?.has(sender) ?? false;
  }

  private requireBus(ref: BusRef): Bus {
    const bus = this.buses.get(busKey(ref)) ?? this.defaultBus(ref);
    if (bus === undefined) throw new EventBusNotFoundError(`event bus ${describe(ref)} does not exist`);
    return bus;
  }

  private defaultBus(ref: BusRef): Bus | undefined {
    if (ref.busName !== DEFAULT_BUS) return undefined;
    this.createEventBus(ref);
    return this.buses.get(busKey(ref));
  }

  private now(): number {
    return this.options.scheduler?.now() ?? Date.now();
  }

  private sleep(ms: number): Promise<void> {
    const scheduler = this.options.scheduler;
    if (scheduler) return new Promise((resolve) => scheduler.setTimer(scheduler.now() + ms, resolve));
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  private log(line: Record<string, unknown>): void {
    this.options.log?.(line);
  }
}

/** Why `busRouting` forbids a rule on `from` to target `to`; undefined when it allows it. */
function routingRefusal(routing: BusRouting, from: BusRef, to: BusRef): string | undefined {
  if (routing === "unrestricted") return undefined;
  const toDefault = to.busName === DEFAULT_BUS;
  if (routing === "to-custom-only") {
    return toDefault ? `a rule may route only to a custom bus, not to ${describe(to)}` : undefined;
  }
  if (from.accountId === to.accountId) {
    return toDefault
      ? `within an account a rule routes only to custom buses, not to ${describe(to)}`
      : undefined;
  }
  if (from.region !== to.region) {
    return `across accounts events are routed only within one region (${from.region} → ${to.region})`;
  }
  if ((from.busName === DEFAULT_BUS) !== toDefault) {
    return `across accounts a default bus routes only to a default bus and a custom bus to a custom bus (${describe(from)} → ${describe(to)})`;
  }
  return undefined;
}

function busKey(ref: BusRef): string {
  return `${ref.accountId}/${ref.region}/${ref.busName}`;
}

function describe(ref: BusRef): string {
  return `${ref.busName} of account ${ref.accountId} in ${ref.region}`;
}
