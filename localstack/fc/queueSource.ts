/**
 * The port an MNS queue trigger consumes through: receive with long poll, delete, change visibility.
 * `MemoryQueue` is the fake for tests (visibility timeouts and the dead-letter move on an injected
 * clock); `mnsQueueSource.ts` is the adapter on the official `@alicloud/mns` SDK.
 */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** Epoch ms. */
  enqueueTime: number;
  dequeueCount: number;
}

export interface QueueSource {
  readonly queueName: string;
  /** Up to `max` (≤ 16) messages; waits up to `waitSeconds` for the first one. Empty when none. */
  receive(max: number, waitSeconds: number): Promise<ReceivedMessage[]>;
  /** Deletes received messages (stale handles are ignored: the message comes back anyway). */
  delete(receiptHandles: readonly string[]): Promise<void>;
  /** Makes a received message visible again after `seconds`; returns its new receipt handle. */
  changeVisibility(receiptHandle: string, seconds: number): Promise<string>;
}

interface StoredMessage {
  messageId: string;
  body: string;
  enqueueTime: number;
  visibleAt: number;
  dequeueCount: number;
  handle?: string;
}

export interface MemoryQueueOptions {
  clock: { now(): number };
  visibilityTimeoutSeconds?: number;
  /** After this many receives the next receive moves the message to `deadLetter` instead. */
  maxReceiveCount?: number;
  deadLetter?: MemoryQueue;
}

/** An in-memory MNS queue for tests: same receive / delete / visibility rules, no HTTP. */
export class MemoryQueue implements QueueSource {
  private messages: StoredMessage[] = [];
  private counter = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly queueName: string,
    private readonly options: MemoryQueueOptions,
  ) {}

  send(body: string): string {
    this.counter += 1;
    const messageId = `${this.queueName.toUpperCase()}-${String(this.counter).padStart(8, "0")}`;
    const now = this.options.clock.now();
    this.messages.push({ messageId, body, enqueueTime: now, visibleAt: now, dequeueCount: 0 });
    this.wake();
    return messageId;
  }

  /** Messages still in the queue (visible or not), oldest first. */
  bodies(): string[] {
    return this.messages.map((message) => message.body);
  }

  /** Wakes pending long polls (call after moving the clock). */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  async receive(max: number, waitSeconds: number): Promise<ReceivedMessage[]> {
    const now = this.take(max);
    if (now.length > 0 || waitSeconds <= 0) return now;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, waitSeconds * 1000);
      timer.unref();
      this.waiters.add(done);
    });
    return this.take(max);
  }

  async delete(receiptHandles: readonly string[]): Promise<void> {
    const handles = new Set(receiptHandles);
    const now = this.options.clock.now();
    this.messages = this.messages.filter(
      (message) => !(message.handle !== undefined && handles.has(message.handle) && message.visibleAt > now),
    );
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<string> {
    const message = this.messages.find((candidate) => candidate.handle === receiptHandle);
    if (message === undefined) throw new Error(`ReceiptHandleError: ${receiptHandle}`);
    this.counter += 1;
    message.handle = `${message.messageId}-${this.counter}`;
    message.visibleAt = this.options.clock.now() + seconds * 1000;
    return message.handle;
  }

  private take(max: number): ReceivedMessage[] {
    const now = this.options.clock.now();
    const taken: ReceivedMessage[] = [];
    for (const message of [...this.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      const limit = this.options.maxReceiveCount;
      if (limit !== undefined && message.dequeueCount >= limit && this.options.deadLetter) {
        this.messages = this.messages.filter((candidate) => candidate !== message);
        this.options.deadLetter.send(message.body);
        continue;
      }
      this.counter += 1;
      message.dequeueCount += 1;
      message.handle = `${message.messageId}-${this.counter}`;
      message.visibleAt = now + (this.options.visibilityTimeoutSeconds ?? 30) * 1000;
      taken.push({
        messageId: message.messageId,
        receiptHandle: message.handle,
        body: message.body,
        enqueueTime: message.enqueueTime,
        dequeueCount: message.dequeueCount,
      });
    }
    return taken;
  }
}
