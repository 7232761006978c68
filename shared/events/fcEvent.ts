import { isJsonObject } from "../util/json";

/**
 * Function Compute 3.0 hands a handler its event as a Buffer. These helpers turn it into JSON and,
 * for MNS queue triggers, into the message bodies, whatever the trigger's batch mode.
 */

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Buffer (or string, or an already-parsed value in local tests) → JSON value. */
export function decodeFcEvent(event: unknown): Decoded<unknown> {
  let text: string;
  if (Buffer.isBuffer(event)) text = event.toString("utf8");
  else if (typeof event === "string") text = event;
  else if (event instanceof Uint8Array) text = Buffer.from(event).toString("utf8");
  else return { ok: true, value: event };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: `the event is not JSON (${text.length} bytes)` };
  }
}

export interface QueueMessage {
  messageId: string;
  body: string;
}

export interface QueueTriggerBatch {
  messages: QueueMessage[];
  /** Elements that are not MNS messages, with the reason, by position in the batch. */
  rejected: Array<{ index: number; reason: string; original: string }>;
}

/** An MNS queue trigger event: a JSON array in batch mode, one object otherwise. */
export function readQueueTrigger(value: unknown): QueueTriggerBatch {
  const items = Array.isArray(value) ? value : [value];
  const batch: QueueTriggerBatch = { messages: [], rejected: [] };
  items.forEach((item, index) => {
    const reject = (reason: string) =>
      batch.rejected.push({ index, reason, original: JSON.stringify(item) ?? String(item) });
    if (!isJsonObject(item)) {
      reject("not a JSON object");
      return;
    }
    const record = item;
    if (record.type !== "mns:Queue:SendMessage") {
      reject(`type ${String(record.type)} is not mns:Queue:SendMessage`);
      return;
    }
    const data = record.data;
    if (!isJsonObject(data)) {
      reject("no data object");
      return;
    }
    const { messageId, messageBody } = data;
    if (typeof messageBody !== "string") {
      reject("data.messageBody is not a string");
      return;
    }
    batch.messages.push({
      messageId: typeof messageId === "string" ? messageId : `#${index}`,
      body: messageBody,
    });
  });
  return batch;
}
