/**
 * reconcile — a timer, and the reconcile queue's trigger. Thin. On the timer, with the hub's
 * snapshot bucket, fan the period out: one message per source account on the reconcile queue;
 * without the bucket, reconcile the whole fleet in this run, its host commands handed to the apply
 * queue. On a queue batch, reconcile each account it names (usecases/reconcileBatch): a shard that
 * fails is sent again, or dead-lettered, alone.
 */
import { decodeFcEvent } from "../../shared/events/fcEvent";
import type { ReconcileAccountMessage } from "../../shared/messages/queueMessages";
import { reconcile } from "../../shared/usecases/reconcile";
import { reconcileBatch } from "../../shared/usecases/reconcileBatch";
import { fanOutReconcile } from "../../shared/usecases/reconcileShards";
import { isJsonObject } from "../../shared/util/json";
import { receiveQueueBatch, refuseWrongQueue } from "../common/queueBatch";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "reconcile", async (wiring) => {
    const { steps, log } = wiring;
    if (isQueueTrigger(event)) {
      const received = await receiveQueueBatch(event, wiring, "reconcile", steps.reconcileQueue);
      if (received === undefined) return "rejected";
      const shards: ReconcileAccountMessage[] = [];
      for (const item of received) {
        if (item.message.type === "reconcile-account") shards.push(item.message);
        else await refuseWrongQueue(wiring, "reconcile", steps.reconcileQueue, item);
      }
      const outcome = await logFailures(log, "reconcile", () => reconcileBatch(steps, shards));
      log({ action: "reconcile-batch", outcome: "ok", ...outcome });
      return JSON.stringify(outcome);
    }
    if (steps.snapshots !== undefined) {
      const fanned = await logFailures(log, "reconcile", () => fanOutReconcile(steps));
      return JSON.stringify(fanned);
    }
    const outcome = await logFailures(log, "reconcile", () => reconcile(steps, { hostWork: "queue" }));
    return JSON.stringify(outcome.executed);
  });
}

/**
 * An MNS trigger's event: a JSON array of messages (batch mode) or one `mns:Queue:SendMessage`
 * record. Anything else is the timer (its event names the trigger; a manual run may send nothing).
 */
function isQueueTrigger(event: unknown): boolean {
  const decoded = decodeFcEvent(event);
  if (!decoded.ok) return false;
  const value = decoded.value;
  return Array.isArray(value) || (isJsonObject(value) && value.type === "mns:Queue:SendMessage");
}
