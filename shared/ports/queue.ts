/** Message queues of the hub account (MNS). Bodies are opaque strings; the adapter owns their encoding. */

export interface QueueScope {
  accountId: string;
  region: string;
}

export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiptHandle: string;
  /** How many times the message has been received, this time included. */
  dequeueCount: number;
}

export interface DeleteFailure {
  receiptHandle: string;
  /** e.g. ReceiptHandleError: the handle is stale (the message became visible again). */
  code: string;
  message: string;
}

export interface QueuePort {
  readonly scope: QueueScope;
  /** Sends in batches of 16; returns the message ids in order. `delaySeconds` (0–604800) holds them back. */
  send(queue: string, bodies: readonly string[], options?: { delaySeconds?: number }): Promise<string[]>;
  /** Up to `max` (≤ 16) messages, long-polling up to `waitSeconds` (≤ 30); [] when none arrived. */
  receive(queue: string, max: number, waitSeconds: number): Promise<ReceivedMessage[]>;
  /** Deletes in batches of 16; handles that could not be deleted are returned, not thrown. */
  delete(queue: string, receiptHandles: readonly string[]): Promise<DeleteFailure[]>;
  /** Makes the message invisible for `seconds` from now; returns the new receipt handle (the old one dies). */
  changeVisibility(queue: string, receiptHandle: string, seconds: number): Promise<string>;
}
