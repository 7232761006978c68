/**
 * apply — MNS queue trigger (batch or single). Thin: decode the trigger's messages, refuse the
 * malformed ones with a reason (they can never succeed), apply each route. A retryable cloud error
 * is thrown so the queue redelivers the messages; every step is idempotent, so a redelivered
 * message that had half succeeded only finishes the rest.
 */

import { decodeFcEvent, readQueueTrigger } from "../../shared/events/fcEvent";
import { type ApplyMessage, decodeMessage, mergeApplyMessages } from "../../shared/messages/queueMessages";
import { applyRoute, watchCopyJob } from "../../shared/usecases/applyRoute";
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
    for (const item of batch.messages) {
      const message = decodeMessage(item.body);
      if (message.ok && message.message.type === "watch-copy-job") {
        const watch = message.message;
        await logFailures(log, "copy-job", () => watchCopyJob(steps, watch));
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
    let applied = 0;
    for (const message of mergeApplyMessages(applies)) {
      const outcome = await logFailures(log, "apply", () => applyRoute(steps, message));
      if (outcome.refused !== undefined) {
        await steps.deadLetter({
          source: steps.applyQueue,
          reason: outcome.refused,
          detail: outcome.refusedDetail ?? `route ${message.route} is not in the routes file`,
          original: JSON.stringify(message),
        });
        continue;
      }
      applied += 1;
    }
    return `applied ${applied}`;
  });
}
