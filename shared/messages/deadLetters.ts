/**
 * The dead-letter queue's records: what could never be handled — a malformed event or message, a
 * message naming a route the routes file no longer has, a message received too often — with the
 * reason, where it came from and the original payload (cut to fit one MNS message). Operators read
 * them (`logtail-xacct` or the console); nothing is dropped without one.
 */
import { z } from "zod";

/** MNS bodies are ≤ 64 KB; the envelope keeps the original's first 48 KB. */
const MAX_ORIGINAL_CHARS = 48 * 1024;

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
  const truncated = input.original.length > MAX_ORIGINAL_CHARS;
  const record: DeadLetterRecord = {
    v: 1,
    type: "dead-letter",
    function: input.function,
    source: input.source.slice(0, 256),
    reason: input.reason.slice(0, 128),
    ...(input.detail === undefined ? {} : { detail: input.detail.slice(0, 1024) }),
    ...(input.messageId === undefined ? {} : { messageId: input.messageId.slice(0, 128) }),
    at: input.at,
    original: truncated ? input.original.slice(0, MAX_ORIGINAL_CHARS) : input.original,
    truncated,
  };
  return JSON.stringify(deadLetterRecord.parse(record));
}

export function parseDeadLetter(body: string): DeadLetterRecord | undefined {
  try {
    const parsed = deadLetterRecord.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
