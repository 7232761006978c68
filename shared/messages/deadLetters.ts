/**
 * The dead-letter queue's records: what could never be handled — a malformed event or message, a
 * message naming a route the routes file no longer has, a message received too often — with the
 * reason, where it came from and the original payload (cut to fit one MNS message). Operators read
 * them (`logtail-xacct` or the console); nothing is dropped without one.
 */
import { z } from "zod";

/**
 * MNS bodies are ≤ 64 KB and the queue adapter sends them Base64 (4/3 larger): a record's JSON must
 * stay under 48 KB of UTF-8 — counted after escaping, which can make one character six bytes.
 */
export const MAX_RECORD_BYTES = 46 * 1024;

export const deadLetterRecord = z.strictObject({
  v: z.literal(1),
  type: z.literal("dead-letter"),
  /** The function that gave up on it. */
  function: z.string().min(1).max(64),
  /** Where it came from: a queue name, or `event` for an EventBridge event. */
  source: z.string().min(1).max(256),
  /** Machine-readable reason, e.g. MalformedMessage, UnknownRoute, TooManyDeliveries. */
  reason: z.string().min(1).max(128),
  detail: z.string().max(1024).optional(),
  /** The queue's message id, when there is one. */
  messageId: z.string().max(128).optional(),
  /** ms since the epoch, on the function's clock. */
  at: z.number().int().nonnegative(),
  original: z.string(),
  truncated: z.boolean(),
});

export type DeadLetterRecord = z.infer<typeof deadLetterRecord>;

export function deadLetterBody(input: {
  function: string;
  source: string;
  reason: string;
  detail?: string;
  messageId?: string;
  at: number;
  original: string;
}): string {
  const record = (original: string, truncated: boolean): DeadLetterRecord => ({
    v: 1,
    type: "dead-letter",
    function: input.function,
    source: input.source.slice(0, 256),
    reason: input.reason.slice(0, 128),
    ...(input.detail === undefined ? {} : { detail: input.detail.slice(0, 1024) }),
    ...(input.messageId === undefined ? {} : { messageId: input.messageId.slice(0, 128) }),
    at: input.at,
    original,
    truncated,
  });
  let text = JSON.stringify(deadLetterRecord.parse(record(input.original, false)));
  // Too big once encoded: keep a shorter head of the original, shrinking until the record fits.
  for (let keep = input.original.length; Buffer.byteLength(text) > MAX_RECORD_BYTES; ) {
    keep = Math.floor(((keep * MAX_RECORD_BYTES) / Buffer.byteLength(text)) * 0.95);
    text = JSON.stringify(deadLetterRecord.parse(record(wholeCharacters(input.original, keep), true)));
  }
  return text;
}

/** The first `count` UTF-16 units, without splitting a surrogate pair. */
function wholeCharacters(text: string, count: number): string {
  const last = text.charCodeAt(count - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? count - 1 : count);
}

export function parseDeadLetter(body: string): DeadLetterRecord | undefined {
  try {
    const parsed = deadLetterRecord.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
