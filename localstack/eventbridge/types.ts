/** Shapes of the local EventBridge: CloudEvents as Alibaba delivers them, buses, rules, targets. */

/** A CloudEvents 1.0 event with Alibaba's extension attributes. */
export interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype?: string;
  /** The account whose bus holds the event (see README: rewritten on cross-account forwarding). */
  aliyunaccountid: string;
  aliyunregionid: string;
  aliyuneventbusname: string;
  aliyunpublishtime: string;
  /** The account the event came from; set when a rule forwards it to another account's bus. */
  aliyunoriginalaccountid?: string;
  data: unknown;
  [extension: string]: unknown;
}

/** What a publisher hands `putEvents`: the bus stamps the `aliyun*` attributes. */
export interface EventInput {
  specversion?: string;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype?: string;
  aliyunoriginalaccountid?: string;
  data: unknown;
  [extension: string]: unknown;
}

export interface BusRef {
  accountId: string;
  region: string;
  /** `default` (the system bus that receives Alibaba Cloud service events) or a custom bus. */
  busName: string;
}

/** How a failed push is retried (EventBridge's `PushRetryStrategy`). */
export interface RetryStrategy {
  name: string;
  maxRetries: number;
  /** Delay before retry number `attempt` (1-based), in ms. */
  delayMs(attempt: number): number;
}

export interface FunctionTarget {
  kind: "function";
  id: string;
  /** Called with the event; a rejection counts as a failed push and is retried. */
  deliver(event: CloudEvent): Promise<void> | void;
  retry?: RetryStrategy;
  /** Receives the event after the last retry failed (EventBridge's dead-letter queue). */
  deadLetter?(event: CloudEvent, error: unknown): void;
}

/** Another bus, possibly of another account: `roleArn` is the receiver's role the sender assumes. */
export interface BusTarget extends BusRef {
  kind: "bus";
  id: string;
  roleArn?: string;
  retry?: RetryStrategy;
  deadLetter?(event: CloudEvent, error: unknown): void;
}

export type RuleTarget = FunctionTarget | BusTarget;

export interface RuleInput extends BusRef {
  name: string;
  /** Event pattern: a JSON object or its text. */
  pattern: unknown;
  targets: RuleTarget[];
  enabled?: boolean;
}

/** Time for retries: the emulator clock (or anything with the same two methods). */
export interface Scheduler {
  now(): number;
  /** Runs `callback` once the clock reaches `at` (epoch ms); returns a cancel function. */
  setTimer(at: number, callback: () => void): () => void;
}

/** One structured log line; never carries credentials. */
export type LogSink = (line: Record<string, unknown>) => void;
