/** Where a step puts what can never be handled: the hub's dead-letter queue, with the reason. */
export interface DeadLetterEntry {
  /** A queue name, or `event` for an EventBridge event. */
  source: string;
  reason: string;
  detail?: string;
  messageId?: string;
  /** The payload as received. */
  original: string;
}

export type DeadLetterSink = (entry: DeadLetterEntry) => Promise<void>;
