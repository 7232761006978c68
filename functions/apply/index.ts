/**
 * apply — MNS queue trigger (batch or single). Thin: decode the trigger's messages, refuse the
 * malformed ones with a reason (they can never succeed), apply each route, watch each copy job and
 * run the host work reconcile handed out (usecases/applyBatch). A route whose work fails is sent
 * again, delayed, or dead-lettered, on its own; only a failure of the queue itself is thrown, so the
 * trigger redelivers the batch. Every step is idempotent, so a redelivered message that had half
 * succeeded only finishes the rest.
 */

import {
  type ApplyMessage,
  encodeMessage,
  type HostWorkMessage,
  type ReconcileAccountMessage,
  type WatchCopyJobMessage,
} from "../../shared/messages/queueMessages";
import { applyBatch } from "../../shared/usecases/applyBatch";
import { receiveQueueBatch, refuseWrongQueue } from "../common/queueBatch";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "apply", async (wiring) => {
    const { log, steps } = wiring;
    const received = await receiveQueueBatch(event, wiring, "apply", steps.applyQueue);
    if (received === undefined) return "rejected";
    const applies: ApplyMessage[] = [];
    const watches: WatchCopyJobMessage[] = [];
    const hostWork: HostWorkMessage[] = [];
    const strayShards: ReconcileAccountMessage[] = [];
    for (const item of received) {
      const { message } = item;
      if (message.type === "apply") applies.push(message);
      else if (message.type === "watch-copy-job") watches.push(message);
      else if (message.type === "host-work") hostWork.push(message);
      // Sent here by a deployment from before reconcile had its own queue: passed on, not lost.
      else if (message.type === "reconcile-account") strayShards.push(message);
      else await refuseWrongQueue(wiring, "apply", steps.applyQueue, item);
    }
    if (strayShards.length > 0) {
      await steps.queue.send(steps.reconcileQueue, strayShards.map(encodeMessage));
      log({ action: "apply", outcome: "forwarded", queue: steps.reconcileQueue, shards: strayShards.length });
    }
    // Failures are settled message by message (sent again or dead-lettered): only what escapes
    // that (the queue itself failing) sends the batch back for redelivery.
    const outcome = await logFailures(log, "apply", () => applyBatch(steps, { applies, watches, hostWork }));
    log({ action: "apply-batch", outcome: "ok", ...outcome });
    return `applied ${outcome.applied}`;
  });
}
