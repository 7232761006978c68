/**
 * One delivered batch of the apply queue: each route's instances applied, each copy job watched,
 * and what fails handled here, message by message (messages/requeue.ts). One route's failure no
 * longer sends the whole batch back to the queue, where every message paid a delivery for it and
 * reached the dead-letter queue after ten; work the invocation has no time left for is sent again
 * instead of being started and outliving the queue's visibility timeout.
 */
import {
  type ApplyMessage,
  encodeMessage,
  type HostWorkMessage,
  mergeApplyMessages,
  type ReconcileAccountMessage,
  type WatchCopyJobMessage,
} from "../messages/queueMessages";
import { afterFailure, type FailureKind, failureKind } from "../messages/requeue";
import { errorCode, errorMessage } from "../ports/errors";
import { type ApplyDeps, applyRoute, watchCopyJob } from "./applyRoute";
import { runHostActions } from "./authorizeInstances";
import { type ReconcileDeps, reconcile } from "./reconcile";
import type { StepDeps } from "./stepDeps";

export type ApplyBatchDeps = ApplyDeps & ReconcileDeps & Pick<StepDeps, "deadLetter" | "deadline">;

type BatchMessage = ApplyMessage | WatchCopyJobMessage | HostWorkMessage | ReconcileAccountMessage;

/**
 * A route's apply is not started with less than this left before the invocation must end (ms): a
 * cutover check reads both logstores and can take a minute on a loaded service.
 */
export const APPLY_START_BUDGET_MS = 90_000;

export interface ApplyBatchOutcome {
  applied: number;
  watched: number;
  /** Host-work messages from reconcile whose commands ran (their results written or looked at later). */
  hostRuns: number;
  /** Source accounts reconciled (their share of a fanned-out period). */
  shards: number;
  /** Sent again, delayed: failed with a retryable error, or not started for lack of time. */
  requeued: number;
  deadLettered: number;
}

export async function applyBatch(
  deps: ApplyBatchDeps,
  batch: {
    applies: readonly ApplyMessage[];
    watches: readonly WatchCopyJobMessage[];
    hostWork?: readonly HostWorkMessage[];
    shards?: readonly ReconcileAccountMessage[];
  },
): Promise<ApplyBatchOutcome> {
  const outcome: ApplyBatchOutcome = {
    applied: 0,
    watched: 0,
    hostRuns: 0,
    shards: 0,
    requeued: 0,
    deadLettered: 0,
  };
  const timeLeft = () => {
    const deadline = deps.deadline?.();
    return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - deps.now();
  };
  const work: Array<{ message: BatchMessage; run: () => Promise<unknown> }> = [
    // An account's reconcile hands its host commands and apply work to this queue: it acts nowhere.
    ...(batch.shards ?? []).map((message) => ({
      message,
      run: async () => {
        await reconcile(deps, {
          shard: { accountId: message.accountId, ...(message.trace ? { trace: message.trace } : {}) },
          hostWork: "queue",
        });
        outcome.shards += 1;
      },
    })),
    ...batch.watches.map((message) => ({
      message,
      run: async () => {
        await watchCopyJob(deps, message);
        outcome.watched += 1;
      },
    })),
    ...mergeApplyMessages(batch.applies).map((message) => ({
      message,
      run: async () => {
        const result = await applyRoute(deps, message);
        if (result.refused === undefined) {
          outcome.applied += 1;
          return;
        }
        await deps.deadLetter({
          source: deps.applyQueue,
          reason: result.refused,
          detail: result.refusedDetail ?? `route ${message.route} is not in the routes file`,
          original: JSON.stringify(message),
        });
        outcome.deadLettered += 1;
      },
    })),
    // Host work last: its result waits must not hold the batch's applies back (whatever the
    // run has no time left for is sent again).
    ...(batch.hostWork ?? []).map((message) => ({
      message,
      run: async () => {
        await runHostActions(
          deps,
          { accountId: message.accountId, region: message.region },
          message.requests,
        );
        outcome.hostRuns += 1;
      },
    })),
  ];
  for (const { message, run } of work) {
    if (timeLeft() < APPLY_START_BUDGET_MS) {
      await settleFailure(
        deps,
        message,
        "deferred",
        "NoTimeLeft",
        "not started: too little time left in this run",
      );
      outcome.requeued += 1;
      continue;
    }
    try {
      await run();
    } catch (error) {
      const kind = failureKind(error);
      const code = errorCode(error) ?? (error instanceof Error ? error.name : "Error");
      const settled = await settleFailure(deps, message, kind, code, errorMessage(error));
      if (settled === "requeued") outcome.requeued += 1;
      else outcome.deadLettered += 1;
    }
  }
  return outcome;
}

/** Sends a failed message again, delayed, or dead-letters it, and logs which and why. */
async function settleFailure(
  deps: ApplyBatchDeps,
  message: BatchMessage,
  kind: FailureKind,
  code: string,
  detail: string,
): Promise<"requeued" | "dead-lettered"> {
  const decision = afterFailure(kind, message.failedAttempts ?? 0);
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
    await deps.queue.send(deps.applyQueue, [encodeMessage(again)], { delaySeconds: decision.delaySeconds });
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
    source: deps.applyQueue,
    reason: decision.reason,
    detail: `${code}: ${detail}`,
    original: encodeMessage(message),
  });
  return "dead-lettered";
}
