import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { AccountStore } from "./accounts";
import { EmulatorClock, type EmulatorClockOptions } from "./clock";
import { FaultInjector } from "./faults";
import { RateLimiter } from "./limits";
import { Metrics } from "./metrics";
import type {
  Admission,
  EmulatedService,
  ServiceContext,
  ServiceName,
  ServiceRequest,
  ServiceResponse,
} from "./types";

/** Metrics status of a call whose connection was closed without an answer (no HTTP status exists). */
export const LOST_STATUS = 599;

/** What the core learns about a request while a service handles it (for the metrics). */
interface RequestScope {
  service: ServiceName | "unknown";
  operation: string;
  accountId: string;
  caller?: string;
  throttled: boolean;
  lose?: "request" | "response";
}

export interface EmulatorCoreOptions {
  clock?: EmulatorClockOptions;
  /** Seed of the fault injector's random sequence. */
  faultSeed?: number;
}

/**
 * The state every service shares — clock, accounts and keys, rate limits, faults, metrics — and the
 * dispatch of a parsed request to the service that owns its Host.
 */
export class EmulatorCore {
  readonly clock: EmulatorClock;
  readonly accounts: AccountStore;
  readonly limits: RateLimiter;
  readonly faults: FaultInjector;
  readonly metrics = new Metrics();
  private readonly services: EmulatedService[] = [];
  private readonly scope = new AsyncLocalStorage<RequestScope>();
  private sequence = 0;

  constructor(options: EmulatorCoreOptions = {}) {
    this.clock = new EmulatorClock(options.clock);
    this.accounts = new AccountStore(this.clock);
    this.limits = new RateLimiter(this.clock);
    this.faults = new FaultInjector(options.faultSeed ?? 1);
  }

  /** The context handed to every service factory. */
  readonly context: ServiceContext = {
    clock: { now: () => this.clock.now() },
    lookupKey: (accessKeyId) => this.accounts.lookupKey(accessKeyId),
    admit: (call) => this.admit(call),
    authorize: (caller, request) => this.accounts.authorize(caller, request),
    nextId: () => {
      this.sequence += 1;
      return this.sequence;
    },
  };

  register(service: EmulatedService): void {
    this.services.push(service);
  }

  serviceFor(host: string): EmulatedService | undefined {
    return this.services.find((service) => service.matchesHost(host));
  }

  /** Runs one request through its service, timing it for the metrics. */
  async dispatch(service: EmulatedService, req: ServiceRequest): Promise<ServiceResponse> {
    const started = performance.now();
    const record: RequestScope = {
      service: service.name,
      operation: "unknown",
      accountId: "",
      throttled: false,
    };
    let status = 500;
    try {
      const response = await this.scope.run(record, () => service.handle(req));
      status = response.status;
      if (record.lose !== undefined) {
        status = LOST_STATUS;
        return { ...response, lost: true };
      }
      return response;
    } finally {
      this.metrics.record({
        service: record.service,
        operation: record.operation,
        accountId: record.accountId,
        ...(record.caller === undefined ? {} : { caller: record.caller }),
        latencyMs: performance.now() - started,
        status,
        throttled: record.throttled,
      });
    }
  }

  /** Drops every service's state, accounts, limits, faults, metrics and timers. The clock keeps its time. */
  reset(): void {
    for (const service of this.services) service.reset();
    this.accounts.reset();
    this.limits.reset();
    this.faults.reset();
    this.metrics.reset();
    this.clock.clearTimers();
  }

  private async admit(call: {
    service: ServiceName;
    operation: string;
    accountId: string;
    region: string;
    caller?: string;
  }): Promise<Admission> {
    const record = this.scope.getStore();
    if (record !== undefined) {
      record.operation = call.operation;
      record.accountId = call.accountId;
      record.caller = call.caller;
    }
    if (!this.limits.admit(call)) {
      if (record !== undefined) record.throttled = true;
      return { kind: "throttled" };
    }
    const decision = this.faults.decide(call);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.error !== undefined) return { kind: "fault", ...decision.error };
    if (decision.lose !== undefined && record !== undefined) {
      record.lose = decision.lose;
      // A request lost on its way in is never served: the service answers an error nobody reads.
      if (decision.lose === "request")
        return {
          kind: "fault",
          status: LOST_STATUS,
          code: "RequestLost",
          message: "Injected: request lost.",
        };
    }
    return { kind: "ok" };
  }
}
