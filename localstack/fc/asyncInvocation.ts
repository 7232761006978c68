/**
 * FC's asynchronous invocation (timer triggers, EventBridge triggers with `asyncInvocationType`):
 * the trigger does not wait; a failed invocation is retried (FC's default: up to 3 retries) with a
 * growing delay on the scheduler's clock, then handed to the dead-letter sink (FC's async
 * "destination on failure"), never silently dropped.
 */
import type { Scheduler } from "../eventbridge/types";
import type { FunctionInvoker } from "./functionInvoker";
import { describeError } from "./functionInvoker";
import type { RuntimeLogger } from "./invocationLog";

export interface AsyncRetryPolicy {
  maxRetries: number;
  delayMs(attempt: number): number;
}

export const FC_ASYNC_RETRY: AsyncRetryPolicy = {
  maxRetries: 3,
  delayMs: (attempt) => 2 ** (attempt - 1) * 1000,
};

export interface DeadLetterRecord {
  function: string;
  trigger: string;
  event: Buffer;
  error: string;
  /** The configured dead-letter queue (`runOptions.deadLetterQueue.Arn`), when there is one. */
  arn?: string;
}

export interface AsyncContext {
  scheduler: Scheduler;
  retry: AsyncRetryPolicy;
  logger: RuntimeLogger;
  deadLetter(record: DeadLetterRecord): void;
  /** Aborted when the runtime stops: a retry still waiting is dropped, not awaited forever. */
  stopped?: AbortSignal;
}

export async function invokeAsync(
  invoker: FunctionInvoker,
  event: Buffer,
  trigger: string,
  context: AsyncContext,
  arn?: string,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const result = await invoker.invoke(event, trigger, { attempt });
    if (result.ok) return;
    if (attempt >= context.retry.maxRetries) {
      context.deadLetter({
        function: invoker.spec.name,
        trigger,
        event,
        error: describeError(result.error),
        ...(arn ? { arn } : {}),
      });
      context.logger.note({
        msg: "fc.dead-letter",
        function: invoker.spec.name,
        trigger,
        attempts: attempt + 1,
      });
      return;
    }
    await sleepOn(context.scheduler, context.retry.delayMs(attempt + 1), context.stopped);
    if (context.stopped?.aborted) {
      // The local runtime is shutting down (a frozen clock would hold this retry forever).
      context.logger.note({
        msg: "fc.retry-dropped-at-stop",
        function: invoker.spec.name,
        trigger,
        attempts: attempt + 1,
      });
      return;
    }
  }
}

/** Waits `ms` on the scheduler's clock; ends early when `stopped` is aborted. */
export function sleepOn(scheduler: Scheduler, ms: number, stopped?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stopped?.aborted) return resolve();
    let settled = false;
    // The scheduler may call back at once (a time already reached): nothing here may be used
    // before it is assigned.
    let cancel: (() => void) | undefined;
    const done = (): void => {
      if (settled) return;
      settled = true;
      cancel?.();
      stopped?.removeEventListener("abort", done);
      resolve();
    };
    cancel = scheduler.setTimer(scheduler.now() + ms, done);
    if (settled) cancel();
    else stopped?.addEventListener("abort", done, { once: true });
  });
}
