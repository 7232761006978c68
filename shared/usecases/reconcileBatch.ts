/**
 * One delivered batch of the reconcile queue: each source account's share of the period observed,
 * planned and acted on (its host commands and apply work handed to the apply queue); a shard that
 * fails is sent again, or dead-lettered, alone (usecases/workBatch.ts).
 */
import type { ReconcileAccountMessage } from "../messages/queueMessages";
import { type ReconcileDeps, reconcile } from "./reconcile";
import { runWork, type WorkDeps } from "./workBatch";

export type ReconcileBatchDeps = ReconcileDeps & WorkDeps;

export interface ReconcileBatchOutcome {
  /** Source accounts reconciled. */
  shards: number;
  requeued: number;
  deadLettered: number;
}

export async function reconcileBatch(
  deps: ReconcileBatchDeps,
  shards: readonly ReconcileAccountMessage[],
): Promise<ReconcileBatchOutcome> {
  let done = 0;
  const settled = await runWork(
    deps,
    shards.map((message) => ({
      message,
      run: async () => {
        await reconcile(deps, {
          shard: { accountId: message.accountId, ...(message.trace ? { trace: message.trace } : {}) },
          hostWork: "queue",
        });
        done += 1;
      },
    })),
  );
  return { shards: done, ...settled };
}
