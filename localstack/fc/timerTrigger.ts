/**
 * A timer trigger on the scheduler's clock: fires at each time of its cron expression and invokes
 * the function asynchronously with FC's timer event `{triggerTime, triggerName, payload}`. The
 * next time is computed from the scheduled time, not from when the callback ran, so a late clock
 * does not drift the schedule (and a clock advanced by an hour fires every missed minute once).
 */
import { type AsyncContext, invokeAsync } from "./asyncInvocation";
import { parseCronExpression } from "./cron";
import type { FunctionInvoker } from "./functionInvoker";
import type { TimerTriggerSpec } from "./serverlessSpec";

export function timerEvent(trigger: TimerTriggerSpec, at: number): Buffer {
  const triggerTime = new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
  return Buffer.from(
    JSON.stringify({ triggerTime, triggerName: trigger.name, payload: trigger.payload ?? "" }),
  );
}

/** Starts the trigger; returns a function that stops it (invocations under way finish). */
export function startTimerTrigger(
  invoker: FunctionInvoker,
  trigger: TimerTriggerSpec,
  context: AsyncContext,
  track: (work: Promise<void>) => void,
): () => void {
  const schedule = parseCronExpression(trigger.cronExpression);
  let cancel: (() => void) | undefined;
  let stopped = false;
  const arm = (after: number): void => {
    const at = schedule.next(after);
    cancel = context.scheduler.setTimer(at, () => {
      if (stopped) return;
      // Re-arm in a microtask: a clock advanced far past several fire times must not recurse.
      queueMicrotask(() => {
        if (!stopped) arm(at);
      });
      track(invokeAsync(invoker, timerEvent(trigger, at), trigger.name, context));
    });
  };
  arm(context.scheduler.now());
  return () => {
    stopped = true;
    cancel?.();
  };
}
