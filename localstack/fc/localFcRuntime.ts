/**
 * The local Function Compute: every fc3 function of an s.yaml with its triggers — timers on the
 * scheduler's clock, EventBridge rules on the local bus, MNS queue triggers through QueueSources —
 * running the very handler modules that are deployed (handlerModule.ts). `invoke` runs one function
 * once, as `s invoke` would. Dead letters are kept (and passed to `onDeadLetter`), never dropped.
 */
import type { LocalEventBridge } from "../eventbridge/localEventBridge";
import type { FunctionTarget, Scheduler } from "../eventbridge/types";
import {
  type AsyncContext,
  type AsyncRetryPolicy,
  type DeadLetterRecord,
  FC_ASYNC_RETRY,
} from "./asyncInvocation";
import { type FunctionTargetOptions, functionTarget, startBusTrigger } from "./busTrigger";
import type { CredentialsProvider } from "./credentials";
import { acquireEnvOverlay } from "./envOverlay";
import { LocalFcError } from "./errors";
import { FunctionInvoker, type InvocationResult } from "./functionInvoker";
import type { InvocationKiller } from "./invocationKill";
import { type RuntimeLogger, silentLogger } from "./invocationLog";
import type { QueueSource } from "./queueSource";
import { QueueTrigger } from "./queueTrigger";
import type { FunctionSpec, ServerlessSpec } from "./serverlessSpec";
import { startTimerTrigger } from "./timerTrigger";

export interface QueueRef {
  accountId: string;
  region: string;
  queueName: string;
}

export interface LocalFcRuntimeOptions {
  spec: ServerlessSpec;
  /** The account the s.yaml deploys to (the hub). */
  accountId: string;
  credentials: CredentialsProvider;
  scheduler: Scheduler;
  /** Needed by `eventSourceType: Default` triggers. */
  bridge?: LocalEventBridge;
  /** Needed by `eventSourceType: MNS` triggers. */
  queues?: (ref: QueueRef) => QueueSource;
  logger?: RuntimeLogger;
  /**
   * Invocations at once per function. Default: as many as the function's instances may run
   * (reservedConcurrency × instanceConcurrency), else 10.
   */
  concurrency?: number;
  asyncRetry?: AsyncRetryPolicy;
  loadModule?: (modulePath: string) => unknown;
  /** Chaos: kills chosen invocations part-way (see invocationKill.ts). */
  killer?: InvocationKiller;
  extraEnv?: Readonly<Record<string, string>>;
  /** Long-poll seconds of queue triggers. Default 30. */
  queueWaitSeconds?: number;
  onDeadLetter?: (record: DeadLetterRecord) => void;
  /**
   * How long `stop` lets invocations under way finish (wall ms) before it ends them. Default 5000:
   * a frozen clock or a long wait must not hold a test's teardown past its own timeout.
   */
  stopGraceMs?: number;
}

export class LocalFcRuntime {
  readonly deadLetters: DeadLetterRecord[] = [];
  private readonly invokers = new Map<string, FunctionInvoker>();
  private readonly stops: Array<() => void | Promise<void>> = [];
  private readonly queueTriggers: QueueTrigger[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly logger: RuntimeLogger;
  private env: { release(): void } | undefined;
  private stopping = new AbortController();

  constructor(private readonly options: LocalFcRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    for (const fn of options.spec.functions) {
      if (this.invokers.has(fn.name)) throw new LocalFcError(`function ${fn.name} is defined twice`);
      this.invokers.set(
        fn.name,
        new FunctionInvoker(fn, {
          accountId: options.accountId,
          credentials: options.credentials,
          logger: this.logger,
          concurrency: concurrencyOf(fn, options.concurrency),
          ...(options.loadModule ? { loadModule: options.loadModule } : {}),
          ...(options.extraEnv ? { extraEnv: options.extraEnv } : {}),
          ...(options.killer ? { killer: options.killer } : {}),
          clock: options.scheduler,
        }),
      );
    }
  }

  get functions(): FunctionSpec[] {
    return [...this.invokers.values()].map((invoker) => invoker.spec);
  }

  /**
   * The function `name` as the target of an EventBridge rule (a rule on a custom bus, which no FC
   * trigger can read); undefined when this runtime has no such function. Call after `start`.
   */
  functionTarget(name: string, options: FunctionTargetOptions): FunctionTarget | undefined {
    const invoker = [...this.invokers.values()].find((candidate) => candidate.spec.name === name);
    if (invoker === undefined) return undefined;
    return functionTarget(invoker, this.asyncContext(), (work) => this.track(work), options);
  }

  /** Starts every enabled trigger. */
  start(): void {
    if (this.stops.length > 0 || this.env !== undefined)
      throw new LocalFcError("the runtime is already started");
    this.acquireEnv();
    this.stopping = new AbortController();
    const context = this.asyncContext();
    const track = (work: Promise<void>): void => this.track(work);
    for (const invoker of this.invokers.values()) {
      for (const trigger of invoker.spec.triggers) {
        if (trigger.type === "other") {
          this.logger.note({
            msg: "fc.trigger-not-emulated",
            function: invoker.spec.name,
            trigger: trigger.name,
            triggerType: trigger.triggerType,
          });
          continue;
        }
        if (trigger.type === "timer") {
          if (trigger.enabled) this.stops.push(startTimerTrigger(invoker, trigger, context, track));
          continue;
        }
        if (!trigger.enabled) continue;
        if (trigger.source.kind === "default") {
          const bridge = this.options.bridge;
          if (bridge === undefined)
            throw new LocalFcError(`${invoker.spec.name}/${trigger.name} needs an EventBridge`);
          this.stops.push(startBusTrigger(bridge, invoker, trigger, this.options.accountId, context, track));
          continue;
        }
        const queues = this.options.queues;
        if (queues === undefined)
          throw new LocalFcError(`${invoker.spec.name}/${trigger.name} needs a queue source`);
        const queue = queues({
          accountId: this.options.accountId,
          region: trigger.source.region ?? invoker.spec.region,
          queueName: trigger.source.queueName,
        });
        const queueTrigger = new QueueTrigger(invoker, trigger, queue, {
          accountId: this.options.accountId,
          scheduler: this.options.scheduler,
          logger: this.logger,
          maxInFlight: concurrencyOf(invoker.spec, this.options.concurrency),
          ...(this.options.queueWaitSeconds !== undefined
            ? { waitSeconds: this.options.queueWaitSeconds }
            : {}),
        });
        this.queueTriggers.push(queueTrigger);
        this.stops.push(() => queueTrigger.stop());
      }
    }
  }

  /**
   * Stops every trigger and waits for invocations and retries under way — for `stopGraceMs` at
   * most; then it drops the retries still waiting and ends the invocations (their queue messages
   * would be delivered again).
   */
  async stop(): Promise<void> {
    const settled = (async () => {
      await Promise.all(this.stops.splice(0).map((stop) => stop()));
      this.queueTriggers.length = 0;
      await this.idle();
    })();
    let grace: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      grace = setTimeout(resolve, this.options.stopGraceMs ?? 5000);
    });
    const first = await Promise.race([
      settled.then(() => "settled" as const),
      graceOver.then(() => "grace" as const),
    ]);
    clearTimeout(grace);
    if (first === "grace") {
      this.stopping.abort();
      let ended = 0;
      for (const invoker of this.invokers.values()) ended += invoker.stopAll();
      this.logger.note({ msg: "fc.stopped-invocations", count: ended });
      await settled;
      for (const invoker of this.invokers.values()) invoker.resume();
    }
    this.env?.release();
    this.env = undefined;
  }

  /** Invokes one function once, synchronously (no retries), as `s invoke` does. */
  async invoke(functionName: string, event: Buffer | string, trigger = "invoke"): Promise<InvocationResult> {
    const invoker = this.invokers.get(functionName);
    if (invoker === undefined) {
      throw new LocalFcError(`no function ${functionName} (known: ${[...this.invokers.keys()].join(", ")})`);
    }
    // Counted per call: the proxy stays while any invocation (or the started runtime) needs it.
    const env = acquireEnvOverlay();
    try {
      return await invoker.invoke(typeof event === "string" ? Buffer.from(event) : event, trigger);
    } finally {
      env.release();
    }
  }

  /** Resolves when no asynchronous invocation, retry or queue batch is under way. */
  async idle(): Promise<void> {
    for (;;) {
      const work = [...this.pending, ...this.queueTriggers.map((trigger) => trigger.idle())];
      if (this.pending.size === 0 && work.length === 0) return;
      await Promise.allSettled(work);
      if (this.pending.size === 0) return;
    }
  }

  private acquireEnv(): void {
    this.env ??= acquireEnvOverlay();
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private asyncContext(): AsyncContext {
    return {
      scheduler: this.options.scheduler,
      retry: this.options.asyncRetry ?? FC_ASYNC_RETRY,
      logger: this.logger,
      stopped: this.stopping.signal,
      deadLetter: (record) => {
        this.deadLetters.push(record);
        this.options.onDeadLetter?.(record);
      },
    };
  }
}

/** A function's invocations at once: the runtime's setting, else what its instances allow, else 10. */
function concurrencyOf(fn: FunctionSpec, configured: number | undefined): number {
  if (configured !== undefined) return configured;
  return fn.maxInstances !== undefined ? Math.max(1, fn.maxInstances * fn.instanceConcurrency) : 10;
}
