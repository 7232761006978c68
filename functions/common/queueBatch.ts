/**
 * The part every queue-triggered function shares: decode the trigger's event, refuse what can
 * never be handled (not a batch, not an MNS message, not one of our messages) with a reason in the
 * dead-letter queue, and hand back the decoded messages. Logs what the run was handed, so that with
 * the runtime's own record every delivery is accounted for.
 */
import { decodeFcEvent, readQueueTrigger } from "../../shared/events/fcEvent";
import { decodeMessage, type QueueMessage } from "../../shared/messages/queueMessages";
import type { Wiring } from "./wiring";

export interface ReceivedMessage {
  messageId: string;
  body: string;
  message: QueueMessage;
}

/** The batch's well-formed messages; undefined when the event itself is not a batch. */
export async function receiveQueueBatch(
  event: unknown,
  { log, steps }: Pick<Wiring, "log" | "steps">,
  action: string,
  source: string,
): Promise<ReceivedMessage[] | undefined> {
  const decoded = decodeFcEvent(event);
  if (!decoded.ok) {
    log({ action, outcome: "rejected", reason: decoded.reason });
    return undefined;
  }
  const batch = readQueueTrigger(decoded.value);
  log({
    action: `${action}-batch`,
    outcome: "received",
    messageIds: batch.messages.map((m) => m.messageId),
    rejected: batch.rejected.length,
  });
  for (const { index, reason, original } of batch.rejected) {
    log({ action, outcome: "rejected", reason: `batch element ${index}: ${reason}` });
    await steps.deadLetter({ source, reason: "MalformedTriggerEvent", detail: reason, original });
  }
  const received: ReceivedMessage[] = [];
  for (const item of batch.messages) {
    const message = decodeMessage(item.body);
    if (message.ok) {
      received.push({ ...item, message: message.message });
      continue;
    }
    log({ action, outcome: "rejected", messageId: item.messageId, reason: message.reason });
    await steps.deadLetter({
      source,
      reason: "MalformedMessage",
      detail: message.reason,
      messageId: item.messageId,
      original: item.body,
    });
  }
  return received;
}

/** A well-formed message that belongs to another queue's consumer: dead-lettered with its type. */
export async function refuseWrongQueue(
  { log, steps }: Pick<Wiring, "log" | "steps">,
  action: string,
  source: string,
  item: ReceivedMessage,
): Promise<void> {
  const detail = `a ${item.message.type} message`;
  log({ action, outcome: "rejected", messageId: item.messageId, reason: detail });
  await steps.deadLetter({
    source,
    reason: "WrongQueue",
    detail,
    messageId: item.messageId,
    original: item.body,
  });
}
