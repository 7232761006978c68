/**
 * apply — MNS queue trigger (batch or single). Thin: decode the trigger's messages, refuse the
 * malformed ones with a reason (they can never succeed), apply each route, watch each copy job,
 * reconcile each source account and run the host work reconcile handed out (usecases/applyBatch). A
 * route whose work fails is sent again, delayed, or dead-lettered, on its own; only a failure of the
 * queue itself is thrown, so the trigger redelivers the batch. Every step is idempotent, so a
 * redelivered message that had half succeeded only finishes the rest.
 */

import { decodeFcEvent, readQueueTrigger } from "../../shared/events/fcEvent";
import {
  type ApplyMessage,
  decodeMessage,
  type HostWorkMessage,
  type ReconcileAccountMessage,
  type WatchCopyJobMessage,
} from "../../shared/messages/queueMessages";
import { applyBatch } from "../../shared/usecases/applyBatch";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "apply", async ({ log, steps }) => {
    const decoded = decodeFcEvent(event);
    if (!decoded.ok) {
      log({ action: "apply", outcome: "rejected", reason: decoded.reason });
      return "rejected";
    }
    const batch = readQueueTrigger(decoded.value);
    // What this run was handed: with the runtime's own record, every delivery is accounted for.
    log({
      action: "apply-batch",
      outcome: "received",
      messageIds: batch.messages.map((m) => m.messageId),
      rejected: batch.rejected.length,
    });
    for (const { index, reason, original } of batch.rejected) {
      log({ action: "apply", outcome: "rejected", reason: `batch element ${index}: ${reason}` });
      await steps.deadLetter({
        source: steps.applyQueue,
        reason: "MalformedTriggerEvent",
        detail: reason,
        original,
      });
    }
    const applies: ApplyMessage[] = [];
    const watches: WatchCopyJobMessage[] = [];
    const hostWork: HostWorkMessage[] = [];
    const shards: ReconcileAccountMessage[] = [];
    for (const item of batch.messages) {
      const message = decodeMessage(item.body);
      if (message.ok && message.message.type === "watch-copy-job") {
        watches.push(message.message);
        continue;
      }
      if (message.ok && message.message.type === "host-work") {
        hostWork.push(message.message);
        continue;
      }
      if (message.ok && message.message.type === "reconcile-account") {
        shards.push(message.message);
        continue;
      }
      if (!message.ok || message.message.type !== "apply") {
        const detail = message.ok ? `a ${message.message.type} message` : message.reason;
        log({ action: "apply", outcome: "rejected", messageId: item.messageId, reason: detail });
        await steps.deadLetter({
          source: steps.applyQueue,
          reason: message.ok ? "WrongQueue" : "MalformedMessage",
          detail,
          messageId: item.messageId,
          original: item.body,
        });
        continue;
      }
      applies.push(message.message);
    }
    // Failures are settled message by message (sent again or dead-lettered): only what escapes
    // that (the queue itself failing) sends the batch back for redelivery.
    const outcome = await logFailures(log, "apply", () =>
      applyBatch(steps, { applies, watches, hostWork, shards }),
    );
    log({ action: "apply-batch", outcome: "ok", ...outcome });
    return `applied ${outcome.applied}`;
  });
}
