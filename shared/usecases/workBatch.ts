/**
 * What every queue consumer does with the messages of one delivered batch: run each one's work,
 * and settle each failure on its own (messages/requeue.ts). One failure no longer sends the whole
 * batch back to the queue, where every message paid a delivery for it and reached the dead-letter
 * queue after ten; work the invocation has no time left for is sent again instead of being started
 * and outliving the queue's visibility timeout.
 */
import {
  type ApplyMessage,
  encodeMessage,
  type HostWorkMessage,
  type ReconcileAccountMessage,
  type WatchCopyJobMessage,
} from "../messages/queueMessages";
import { afterFailure, type FailureKind, failureKind } from "../messages/requeue";
import { errorCode, errorMessage } from "../ports/errors";
import type { StepDeps } from "./stepDeps";

export type WorkDeps = Pick<
  StepDeps,
  "queue" | "applyQueue" | "reconcileQueue" | "deadLetter" | "deadline" | "now" | "log"
>;

export type WorkMessage = ApplyMessage | WatchCopyJobMessage | HostWorkMessage | ReconcileAccountMessage;

/**
 * Work is not started with less than this left before the invocation must end (ms): a cutover
 * check reads both logstores and can take a minute on a loaded service, and an account's reconcile
 * stops at the deadline with what it has done.
 */
export const WORK_START_BUDGET_MS = 90_000;

export interface WorkItem {
  message: WorkMessage;
  run: () => Promise<unknown>;
}

export interface WorkSettled {
  /** Sent again, delayed: failed with a retryable error, or not started for lack of time. */
  requeued: number;
  deadLettered: number;
}

/** The queue a message came from and goes back to: reconcile's shards have their own. */
export function homeQueue(
  deps: Pick<StepDeps, "applyQueue" | "reconcileQueue">,
  message: WorkMessage,
): string {
  return message.type === "reconcile-account" ? deps.reconcileQueue : deps.applyQueue;
}

/** Runs each item in order; a failure, or no time left to start, is settled for its message alone. */
export async function runWork(deps: WorkDeps, items: readonly WorkItem[]): Promise<WorkSettled> {
  const settled: WorkSettled = { requeued: 0, deadLettered: 0 };
  const timeLeft = () => {
    const deadline = deps.deadline?.();
    return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - deps.now();
  };
  for (const { message, run } of items) {
    if (timeLeft() < WORK_START_BUDGET_MS) {
      await settleFailure(
        deps,
        message,
        "deferred",
        "NoTimeLeft",
        "not started: too little time left in this run",
      );
      settled.requeued += 1;
      continue;
    }
    try {
      await run();
    } catch (error) {
      const kind = failureKind(error);
      const code = errorCode(error) ?? (error instanceof Error ? error.name : "Error");
      const outcome = await settleFailure(deps, message, kind, code, errorMessage(error));
      if (outcome === "requeued") settled.requeued += 1;
      else settled.deadLettered += 1;
    }
  }
  return settled;
}

/** Sends a failed message again, delayed, to its own queue, or dead-letters it; logs which and why. */
async function settleFailure(
  deps: WorkDeps,
  message: WorkMessage,
  kind: FailureKind,
  code: string,
  detail: string,
): Promise<"requeued" | "dead-lettered"> {
  const decision = afterFailure(kind, message.failedAttempts ?? 0);
  const queue = homeQueue(deps, message);
  const scope = {
    accountId: message.accountId,
    region: message.type === "reconcile-account" ? "" : message.region,
    ...(message.type === "host-work" || message.type === "reconcile-account" ? {} : { route: message.route }),
    instanceIds:
      message.type === "apply"
        ? message.instanceIds
        : message.type === "host-work"
          ? [...new Set(message.requests.flatMap((r) => r.instanceIds))]
          : [],
  };
  const action = {
    apply: "apply",
    "host-work": "host-work",
    "watch-copy-job": "copy-job",
    "reconcile-account": "reconcile",
  }[message.type];
  if (decision.kind === "requeue") {
    const { failedAttempts: _, ...rest } = message;
    const again = decision.failedAttempts > 0 ? { ...rest, failedAttempts: decision.failedAttempts } : rest;
    await deps.queue.send(queue, [encodeMessage(again)], { delaySeconds: decision.delaySeconds });
    deps.log({
      ...scope,
      action,
      outcome: kind === "deferred" ? "skipped" : "failed",
      reason: code,
      detail: `${detail}; sent again in ${decision.delaySeconds} s${kind === "deferred" ? "" : ` (failed tries: ${decision.failedAttempts})`}`,
    });
    return "requeued";
  }
  deps.log({ ...scope, action, outcome: "failed", reason: code, detail: `${detail}; dead-lettered` });
  await deps.deadLetter({
    source: queue,
    reason: decision.reason,
    detail: `${code}: ${detail}`,
    original: encodeMessage(message),
  });
  return "dead-lettered";
}
