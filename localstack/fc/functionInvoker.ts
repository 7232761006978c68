/**
 * Invokes one function the way FC 3.0 does: `handler(event: Buffer, context)` with the request id,
 * the role's credentials, `function {name, handler, memory, timeout}`, region and account, and the
 * function's environment (its `environmentVariables` plus `ALIBABA_CLOUD_*` and `FC_*`) visible in
 * `process.env` to this invocation only (envOverlay.ts). At most `concurrency` invocations of the
 * function run at once. The module is loaded on the first invocation (a cold start) and reused.
 */
import { randomUUID } from "node:crypto";
import type { Scheduler } from "../eventbridge/types";
import { type CredentialsProvider, credentialsEnv } from "./credentials";
import { runWithEnv } from "./envOverlay";
import { FunctionTimeoutError } from "./errors";
import { type FcContext, type FcHandler, loadHandler, locateHandler } from "./handlerModule";
import {
  InvocationKilledError,
  type InvocationKiller,
  InvocationTracker,
  runTracked,
} from "./invocationKill";
import { type RuntimeLogger, silentLogger } from "./invocationLog";
import { Semaphore } from "./semaphore";
import type { FunctionSpec } from "./serverlessSpec";

export interface InvokerOptions {
  /** The account the function is deployed in (the hub). */
  accountId: string;
  credentials: CredentialsProvider;
  logger?: RuntimeLogger;
  /** Invocations of this function allowed at once. Default 10. */
  concurrency?: number;
  /** Loads a handler module; default `require` (tsx in the CLI, ts-jest in tests). */
  loadModule?: (modulePath: string) => unknown;
  /** Variables every function sees besides its own (e.g. where the local endpoints are). */
  extraEnv?: Readonly<Record<string, string>>;
  newRequestId?: () => string;
  /** Chaos: kills chosen invocations part-way (see invocationKill.ts). */
  killer?: InvocationKiller;
  /**
   * The clock the function's timeout counts on: the scheduler's, as the queues' visibility timeouts
   * do, so a run that outlives its timeout in emulated time is stopped as FC would stop it. The
   * wall-time timeout holds in any case.
   */
  clock?: Scheduler;
}

export type InvocationResult =
  | { ok: true; requestId: string; durationMs: number; value: unknown }
  | { ok: false; requestId: string; durationMs: number; error: unknown; timedOut: boolean };

export class FunctionInvoker {
  private handler: FcHandler | undefined;
  private readonly semaphore: Semaphore;
  /** Invocations under way, so a stopping runtime can end them. */
  private readonly live = new Set<InvocationTracker>();
  private stopping = false;
  private readonly logger: RuntimeLogger;

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: InvokerOptions,
  ) {
    this.semaphore = new Semaphore(options.concurrency ?? 10);
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Ends every invocation under way, as FC does when the instances go away: nothing more leaves
   * them, and each reports it was stopped. The runtime calls this when stopping outlasts its grace.
   */
  stopAll(): number {
    this.stopping = true;
    const count = this.live.size;
    for (const tracker of this.live) tracker.kill();
    return count;
  }

  /** Lets invocations run again once the stop is over (`invoke` after `stop`, a new start). */
  resume(): void {
    this.stopping = false;
  }

  /** Runs the handler once with `event`; never throws: the result says how it went. */
  invoke(
    event: Buffer,
    trigger: string,
    details: { attempt?: number; count?: number } = {},
  ): Promise<InvocationResult> {
    return this.semaphore.run(() => this.invokeNow(event, trigger, details));
  }

  private async invokeNow(
    event: Buffer,
    trigger: string,
    details: { attempt?: number; count?: number },
  ): Promise<InvocationResult> {
    const requestId = (this.options.newRequestId ?? randomUUID)();
    const started = Date.now();
    const outcome = await this.run(event, requestId).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error, timedOut: error instanceof FunctionTimeoutError }),
    );
    const durationMs = Date.now() - started;
    this.logger.invocation({
      msg: "fc.invocation",
      function: this.spec.name,
      trigger,
      requestId,
      durationMs,
      outcome: outcome.ok ? "success" : outcome.timedOut ? "timeout" : "error",
      ...(details.attempt !== undefined ? { attempt: details.attempt } : {}),
      ...(details.count !== undefined ? { count: details.count } : {}),
      ...(outcome.ok ? {} : { error: describeError(outcome.error) }),
    });
    return { ...outcome, requestId, durationMs };
  }

  private async run(event: Buffer, requestId: string): Promise<unknown> {
    const handler = this.loadedHandler();
    const credentials = await this.options.credentials({
      functionName: this.spec.name,
      accountId: this.options.accountId,
      region: this.spec.region,
      ...(this.spec.role ? { role: this.spec.role } : {}),
    });
    const context = this.context(requestId, credentials);
    const env = {
      ...this.options.extraEnv,
      ...this.spec.environmentVariables,
      ...this.systemEnv(),
      ...credentialsEnv(credentials),
    };
    const timeoutMs = this.spec.timeout * 1000;
    const tracker = new InvocationTracker(this.options.killer?.({ functionName: this.spec.name, requestId }));
    if (this.stopping) tracker.kill();
    this.live.add(tracker);
    let cancelTimeout = (): void => undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      const expire = (): void => {
        reject(new FunctionTimeoutError(`${this.spec.name} timed out after ${this.spec.timeout} s`));
        // FC stops a timed-out instance: the abandoned handler must not act any more.
        tracker.kill();
      };
      // FC's timeout is wall time; on the local stack it also counts on the scheduler's clock,
      // whichever ends first: a frozen clock (tests that advance it by hand) must not let a run
      // go on forever.
      const timer = setTimeout(expire, timeoutMs);
      timer.unref();
      const clock = this.options.clock;
      const cancelScheduled = clock?.setTimer(clock.now() + timeoutMs, expire);
      cancelTimeout = () => {
        clearTimeout(timer);
        cancelScheduled?.();
      };
    });
    // A killed instance ends its invocation at once: the handler left behind (still awaiting its
    // sleeps) can reach nothing, and must not hold the function's concurrency slot.
    const death = new Promise<undefined>((resolve) => tracker.onDeath(() => resolve(undefined)));
    let value: unknown;
    try {
      // A fresh Buffer per invocation: a handler that mutates it cannot affect a retry.
      const result = runTracked(tracker, () =>
        runWithEnv(env, () => Promise.resolve(handler(Buffer.from(event), context))),
      );
      result.catch(() => undefined); // an abandoned handler's failure is nobody's to handle
      value = await Promise.race([result, timeout, death]).catch((error: unknown) => {
        if (tracker.killed && !(error instanceof FunctionTimeoutError)) return undefined;
        throw error;
      });
    } finally {
      cancelTimeout();
      this.live.delete(tracker);
    }
    if (tracker.killed)
      throw new InvocationKilledError(
        `${this.spec.name} killed after ${tracker.requestCount} cloud request(s) (${this.stopping ? "runtime stopped" : "chaos"})`,
      );
    return value;
  }

  private loadedHandler(): FcHandler {
    if (this.handler === undefined) {
      const location = locateHandler(this.spec.codeDir, this.spec.handler);
      this.handler = loadHandler(location, this.options.loadModule);
    }
    return this.handler;
  }

  private context(requestId: string, credentials: FcContext["credentials"]): FcContext {
    const log =
      (level: string) =>
      (...args: unknown[]): void =>
        this.logger.note({
          msg: "fc.log",
          level,
          function: this.spec.name,
          requestId,
          text: args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "),
        });
    return {
      requestId,
      credentials: {
        accessKeyId: credentials.accessKeyId,
        accessKeySecret: credentials.accessKeySecret,
        securityToken: credentials.securityToken,
      },
      function: {
        name: this.spec.name,
        handler: this.spec.handler,
        memory: this.spec.memorySize,
        timeout: this.spec.timeout,
      },
      region: this.spec.region,
      accountId: this.options.accountId,
      logger: { info: log("info"), warn: log("warn"), error: log("error") },
    };
  }

  private systemEnv(): Record<string, string> {
    return {
      FC_FUNCTION_NAME: this.spec.name,
      FC_FUNCTION_HANDLER: this.spec.handler,
      FC_FUNCTION_MEMORY_SIZE: String(this.spec.memorySize),
      FC_REGION: this.spec.region,
      FC_ACCOUNT_ID: this.options.accountId,
      FC_FUNC_CODE_PATH: this.spec.codeDir,
    };
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
