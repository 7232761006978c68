/**
 * One delivered batch of the apply queue: each route's instances applied, each copy job watched,
 * and the host work reconcile handed out run; what fails is settled message by message
 * (usecases/workBatch.ts).
 */
import {
  type ApplyMessage,
  type HostWorkMessage,
  mergeApplyMessages,
  type WatchCopyJobMessage,
} from "../messages/queueMessages";
import { type ApplyDeps, applyRoute, watchCopyJob } from "./applyRoute";
import { type AuthorizeDeps, runHostActions } from "./authorizeInstances";
import { runWork, type WorkDeps, type WorkItem } from "./workBatch";

export { WORK_START_BUDGET_MS as APPLY_START_BUDGET_MS } from "./workBatch";

export type ApplyBatchDeps = ApplyDeps & AuthorizeDeps & WorkDeps;

export interface ApplyBatchOutcome {
  applied: number;
  watched: number;
  /** Host-work messages from reconcile whose commands ran (their results written or looked at later). */
  hostRuns: number;
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
  },
): Promise<ApplyBatchOutcome> {
  const done = { applied: 0, watched: 0, hostRuns: 0, refused: 0 };
  const work: WorkItem[] = [
    ...batch.watches.map((message) => ({
      message,
      run: async () => {
        await watchCopyJob(deps, message);
        done.watched += 1;
      },
    })),
    ...mergeApplyMessages(batch.applies).map((message) => ({
      message,
      run: async () => {
        const result = await applyRoute(deps, message);
        if (result.refused === undefined) {
          done.applied += 1;
          return;
        }
        await deps.deadLetter({
          source: deps.applyQueue,
          reason: result.refused,
          detail: result.refusedDetail ?? `route ${message.route} is not in the routes file`,
          original: JSON.stringify(message),
        });
        done.refused += 1;
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
        done.hostRuns += 1;
      },
    })),
  ];
  const settled = await runWork(deps, work);
  return {
    applied: done.applied,
    watched: done.watched,
    hostRuns: done.hostRuns,
    requeued: settled.requeued,
    deadLettered: settled.deadLettered + done.refused,
  };
}
