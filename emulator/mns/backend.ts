import { createHash } from "node:crypto";
import { seededRandom } from "../core/random";
import type { Clock } from "../core/types";
import { MnsError, mnsErrors } from "./errors";

export interface DeadLetterPolicy {
  enabled: boolean;
  deadLetterTargetQueue: string;
  maxReceiveCount: number;
}

export interface QueueAttributes {
  delaySeconds: number;
  maximumMessageSize: number;
  messageRetentionPeriod: number;
  visibilityTimeout: number;
  pollingWaitSeconds: number;
  loggingEnabled: boolean;
  dlqPolicy: DeadLetterPolicy | undefined;
}

export const defaultQueueAttributes: QueueAttributes = {
  delaySeconds: 0,
  maximumMessageSize: 65_536,
  messageRetentionPeriod: 345_600,
  visibilityTimeout: 30,
  pollingWaitSeconds: 0,
  loggingEnabled: false,
  dlqPolicy: undefined,
};

/** Ranges from the MNS API reference; a value outside is `InvalidArgument`. */
export const attributeRanges = {
  DelaySeconds: [0, 604_800],
  MaximumMessageSize: [1_024, 65_536],
  MessageRetentionPeriod: [60, 604_800],
  VisibilityTimeout: [1, 43_200],
  PollingWaitSeconds: [0, 30],
  MaxReceiveCount: [1, 1_000],
  Priority: [1, 16],
  numOfMessages: [1, 16],
  waitseconds: [0, 30],
} as const;

export interface MessageView {
  messageId: string;
  body: string;
  bodyMd5: string;
  enqueueTime: number;
  firstDequeueTime: number | undefined;
  nextVisibleTime: number;
  dequeueCount: number;
  priority: number;
  /** Absent for peeked messages. */
  receiptHandle: string | undefined;
}

export interface SendInput {
  body: string;
  delaySeconds: number | undefined;
  priority: number | undefined;
}

export interface QueueSummary {
  name: string;
  attributes: QueueAttributes;
  createTime: number;
  lastModifyTime: number;
  activeMessages: number;
  inactiveMessages: number;
  delayMessages: number;
}

interface MessageRecord {
  key: number;
  messageId: string;
  body: string;
  bodyMd5: string;
  enqueueTime: number;
  priority: number;
  visibleAt: number;
  firstDequeueTime: number | undefined;
  dequeueCount: number;
  /** The one receipt handle that is valid now (each receive or visibility change issues a new one). */
  receiptHandle: string | undefined;
}

interface QueueRecord {
  name: string;
  attributes: QueueAttributes;
  createTime: number;
  lastModifyTime: number;
  messages: Map<number, MessageRecord>;
  handles: Map<string, number>;
  waiters: Set<() => void>;
  deleted: boolean;
}

/** Duplicate delivery fault: a received message stays receivable once more (at-least-once in action). */
export interface DuplicateDeliveryFault {
  /** Chance (0..1) that any one delivery is duplicated. */
  probability?: number;
  /** The next N deliveries are duplicated, whatever the probability. */
  nextCount?: number;
  /** Seed of the deterministic random source used with `probability` and `outOfOrder`. */
  seed?: number;
  /** Receives take visible messages in random order instead of oldest first. */
  outOfOrder?: boolean;
}

export interface MnsBackendOptions {
  /** Real-time interval at which a long poll re-checks the emulator clock (delays, deadline). */
  longPollTickMs: number;
  /**
   * Whether a queue's `DlqPolicy` moves messages. Unverified: the policy goes through the classic
   * XML `CreateQueue` with the newer API's field names, and the XML API may store it and ignore it
   * (README "Dead letters"). False plays that case: the policy reads back, nothing is moved.
   */
  dlqPolicyHonoured: boolean;
}

/** Queues per account and region, messages with delays, visibility and dead-lettering on the clock. */
export class MnsBackend {
  private readonly queues = new Map<string, Map<string, QueueRecord>>();
  private sequence = 0;
  private duplicateNext = 0;
  private duplicateProbability = 0;
  private outOfOrder = false;
  private random: () => number = seededRandom(1);
  private readonly options: MnsBackendOptions;

  constructor(
    private readonly clock: Clock,
    options: Partial<MnsBackendOptions> = {},
  ) {
    this.options = { longPollTickMs: 10, dlqPolicyHonoured: true, ...options };
  }

  configure(options: Partial<Pick<MnsBackendOptions, "dlqPolicyHonoured">>): void {
    Object.assign(this.options, options);
  }

  reset(): void {
    for (const accountQueues of this.queues.values()) {
      for (const queue of accountQueues.values()) this.drop(queue);
    }
    this.queues.clear();
    this.sequence = 0;
    this.clearDuplicateDeliveries();
  }

  /** Admin knob: make deliveries duplicate (the core's admin API calls this). */
  injectDuplicateDeliveries(fault: DuplicateDeliveryFault): void {
    if (fault.probability !== undefined) {
      if (!(fault.probability >= 0 && fault.probability <= 1))
        throw new RangeError("probability must be in 0..1");
      this.duplicateProbability = fault.probability;
    }
    if (fault.nextCount !== undefined) this.duplicateNext = Math.max(0, Math.floor(fault.nextCount));
    if (fault.seed !== undefined) this.random = seededRandom(fault.seed);
    if (fault.outOfOrder !== undefined) this.outOfOrder = fault.outOfOrder;
  }

  clearDuplicateDeliveries(): void {
    this.duplicateNext = 0;
    this.duplicateProbability = 0;
    this.outOfOrder = false;
    this.random = seededRandom(1);
  }

  // ---- queues -------------------------------------------------------------------------------------

  /** Creates a queue; `created: false` when an identical queue already exists (the real 204). */
  createQueue(
    accountId: string,
    region: string,
    name: string,
    attributes: QueueAttributes,
  ): { created: boolean } {
    const accountQueues = this.accountQueues(accountId, region);
    const existing = accountQueues.get(name);
    if (existing !== undefined) {
      if (!sameAttributes(existing.attributes, attributes)) throw mnsErrors.queueAlreadyExist();
      return { created: false };
    }
    this.assertDeadLetterTarget(accountQueues, name, attributes.dlqPolicy);
    const now = this.clock.now();
    accountQueues.set(name, {
      name,
      attributes,
      createTime: now,
      lastModifyTime: now,
      messages: new Map(),
      handles: new Map(),
      waiters: new Set(),
      deleted: false,
    });
    return { created: true };
  }

  setQueueAttributes(accountId: string, region: string, name: string, attributes: QueueAttributes): void {
    const accountQueues = this.accountQueues(accountId, region);
    const queue = this.queue(accountId, region, name);
    this.assertDeadLetterTarget(accountQueues, name, attributes.dlqPolicy);
    queue.attributes = attributes;
    queue.lastModifyTime = this.clock.now();
  }

  getQueue(accountId: string, region: string, name: string): QueueSummary {
    return this.summarize(this.queue(accountId, region, name));
  }

  deleteQueue(accountId: string, region: string, name: string): void {
    const queue = this.queue(accountId, region, name);
    this.accountQueues(accountId, region).delete(name);
    this.drop(queue);
  }

  listQueues(
    accountId: string,
    region: string,
    options: { prefix: string; marker: string; limit: number },
  ): { queues: QueueSummary[]; nextMarker: string | undefined } {
    const names = [...this.accountQueues(accountId, region).keys()]
      .filter((name) => name.startsWith(options.prefix) && (options.marker === "" || name >= options.marker))
      .sort();
    const page = names.slice(0, options.limit);
    return {
      queues: page.map((name) => this.getQueue(accountId, region, name)),
      nextMarker: names[options.limit],
    };
  }

  // ---- messages -----------------------------------------------------------------------------------

  send(accountId: string, region: string, queueName: string, inputs: readonly SendInput[]): MessageView[] {
    const queue = this.queue(accountId, region, queueName);
    const now = this.clock.now();
    const sent = inputs.map((input) => {
      if (Buffer.byteLength(input.body) > queue.attributes.maximumMessageSize) {
        throw mnsErrors.outOfRange("MessageBody", 1, queue.attributes.maximumMessageSize);
      }
      this.sequence += 1;
      const delaySeconds = input.delaySeconds ?? queue.attributes.delaySeconds;
      const message: MessageRecord = {
        key: this.sequence,
        messageId: messageIdFor(this.sequence, now),
        body: input.body,
        bodyMd5: createHash("md5").update(input.body).digest("hex").toUpperCase(),
        enqueueTime: now,
        priority: input.priority ?? 8,
        visibleAt: now + delaySeconds * 1000,
        firstDequeueTime: undefined,
        dequeueCount: 0,
        receiptHandle: undefined,
      };
      queue.messages.set(message.key, message);
      return view(message);
    });
    this.wake(queue);
    return sent;
  }

  /**
   * Receives up to `count` messages. With `waitSeconds` > 0 it long-polls: it returns as soon as a
   * message can be received, or fails with MessageNotExist once `waitSeconds` of emulator time (or,
   * as a safety net, of real time) have passed.
   */
  async receive(
    accountId: string,
    region: string,
    queueName: string,
    count: number,
    waitSeconds: number | undefined,
  ): Promise<MessageView[]> {
    const queue = this.queue(accountId, region, queueName);
    const wait = waitSeconds ?? queue.attributes.pollingWaitSeconds;
    const deadline = this.clock.now() + wait * 1000;
    let realTimeUp = false;
    const realTimer = setTimeout(() => {
      realTimeUp = true;
      this.wake(queue);
    }, wait * 1000);
    realTimer.unref();
    try {
      for (;;) {
        if (queue.deleted) throw mnsErrors.queueNotExist();
        const received = this.take(accountId, region, queue, count);
        if (received.length > 0) return received;
        if (realTimeUp || this.clock.now() >= deadline) throw mnsErrors.messageNotExist();
        await this.nextTick(queue);
      }
    } finally {
      clearTimeout(realTimer);
    }
  }

  peek(accountId: string, region: string, queueName: string, count: number): MessageView[] {
    const queue = this.queue(accountId, region, queueName);
    const now = this.clock.now();
    this.expire(queue, now);
    const visible = this.visibleMessages(queue, now).slice(0, count);
    if (visible.length === 0) throw mnsErrors.messageNotExist();
    return visible.map((message) => ({ ...view(message), receiptHandle: undefined }));
  }

  deleteMessage(accountId: string, region: string, queueName: string, receiptHandle: string): void {
    const queue = this.queue(accountId, region, queueName);
    const message = this.heldMessage(queue, receiptHandle);
    queue.messages.delete(message.key);
    queue.handles.delete(receiptHandle);
  }

  /** Returns the handles that failed, with the error each one got. */
  deleteMessages(
    accountId: string,
    region: string,
    queueName: string,
    receiptHandles: readonly string[],
  ): { receiptHandle: string; code: string; message: string }[] {
    this.queue(accountId, region, queueName);
    const failures: { receiptHandle: string; code: string; message: string }[] = [];
    for (const receiptHandle of receiptHandles) {
      try {
        this.deleteMessage(accountId, region, queueName, receiptHandle);
      } catch (error) {
        const failure = error instanceof MnsError ? error : mnsErrors.internal();
        failures.push({ receiptHandle, code: failure.code, message: failure.message });
      }
    }
    return failures;
  }

  /** Hides a received message for `visibilityTimeout` seconds from now; the old handle dies. */
  changeVisibility(
    accountId: string,
    region: string,
    queueName: string,
    receiptHandle: string,
    visibilityTimeout: number,
  ): { receiptHandle: string; nextVisibleTime: number } {
    const queue = this.queue(accountId, region, queueName);
    const message = this.heldMessage(queue, receiptHandle);
    queue.handles.delete(receiptHandle);
    message.visibleAt = this.clock.now() + visibilityTimeout * 1000;
    const handle = this.issueHandle(queue, message);
    if (visibilityTimeout === 0) this.wake(queue);
    return { receiptHandle: handle, nextVisibleTime: message.visibleAt };
  }

  // ---- internals ----------------------------------------------------------------------------------

  private accountQueues(accountId: string, region: string): Map<string, QueueRecord> {
    const key = `${accountId}/${region}`;
    let accountQueues = this.queues.get(key);
    if (accountQueues === undefined) {
      accountQueues = new Map();
      this.queues.set(key, accountQueues);
    }
    return accountQueues;
  }

  private queue(accountId: string, region: string, name: string): QueueRecord {
    const queue = this.accountQueues(accountId, region).get(name);
    if (queue === undefined) throw mnsErrors.queueNotExist();
    return queue;
  }

  private assertDeadLetterTarget(
    accountQueues: Map<string, QueueRecord>,
    name: string,
    policy: DeadLetterPolicy | undefined,
  ): void {
    if (policy === undefined || !policy.enabled) return;
    if (policy.deadLetterTargetQueue === name) {
      throw mnsErrors.invalidArgument("A queue cannot be its own dead-letter queue.");
    }
    if (!accountQueues.has(policy.deadLetterTargetQueue)) throw mnsErrors.queueNotExist();
  }

  private summarize(queue: QueueRecord): QueueSummary {
    const now = this.clock.now();
    this.expire(queue, now);
    let activeMessages = 0;
    let inactiveMessages = 0;
    let delayMessages = 0;
    for (const message of queue.messages.values()) {
      if (message.visibleAt <= now) activeMessages += 1;
      else if (message.dequeueCount > 0) inactiveMessages += 1;
      else delayMessages += 1;
    }
    return {
      name: queue.name,
      attributes: queue.attributes,
      createTime: queue.createTime,
      lastModifyTime: queue.lastModifyTime,
      activeMessages,
      inactiveMessages,
      delayMessages,
    };
  }

  private visibleMessages(queue: QueueRecord, now: number): MessageRecord[] {
    const visible = [...queue.messages.values()]
      .filter((message) => message.visibleAt <= now)
      .sort((a, b) => a.priority - b.priority || a.visibleAt - b.visibleAt || a.key - b.key);
    if (this.outOfOrder) {
      // Fisher–Yates on the seeded source: a run repeats, its order does not follow sending.
      for (let i = visible.length - 1; i > 0; i -= 1) {
        const j = Math.floor(this.random() * (i + 1));
        [visible[i], visible[j]] = [visible[j] as MessageRecord, visible[i] as MessageRecord];
      }
    }
    return visible;
  }

  private take(accountId: string, region: string, queue: QueueRecord, count: number): MessageView[] {
    const now = this.clock.now();
    this.expire(queue, now);
    const received: MessageView[] = [];
    for (const message of this.visibleMessages(queue, now)) {
      if (received.length >= count) break;
      const policy = queue.attributes.dlqPolicy;
      if (
        this.options.dlqPolicyHonoured &&
        policy?.enabled &&
        message.dequeueCount >= policy.maxReceiveCount
      ) {
        this.moveToDeadLetter(accountId, region, queue, message, policy);
        continue;
      }
      if (message.receiptHandle !== undefined) queue.handles.delete(message.receiptHandle);
      message.dequeueCount += 1;
      message.firstDequeueTime ??= now;
      message.visibleAt = now + queue.attributes.visibilityTimeout * 1000;
      this.issueHandle(queue, message);
      received.push(view(message));
      if (this.shouldDuplicate()) this.duplicate(queue, message, now);
    }
    return received;
  }

  private moveToDeadLetter(
    accountId: string,
    region: string,
    queue: QueueRecord,
    message: MessageRecord,
    policy: DeadLetterPolicy,
  ): void {
    queue.messages.delete(message.key);
    if (message.receiptHandle !== undefined) queue.handles.delete(message.receiptHandle);
    const target = this.accountQueues(accountId, region).get(policy.deadLetterTargetQueue);
    if (target === undefined) return;
    this.sequence += 1;
    target.messages.set(this.sequence, {
      ...message,
      key: this.sequence,
      visibleAt: this.clock.now(),
      dequeueCount: 0,
      firstDequeueTime: undefined,
      receiptHandle: undefined,
    });
    this.wake(target);
  }

  private shouldDuplicate(): boolean {
    if (this.duplicateNext > 0) {
      this.duplicateNext -= 1;
      return true;
    }
    return this.duplicateProbability > 0 && this.random() < this.duplicateProbability;
  }

  /** A second, independently deletable copy of the delivery, receivable right away. */
  private duplicate(queue: QueueRecord, message: MessageRecord, now: number): void {
    this.sequence += 1;
    queue.messages.set(this.sequence, {
      ...message,
      key: this.sequence,
      visibleAt: now,
      receiptHandle: undefined,
    });
  }

  private issueHandle(queue: QueueRecord, message: MessageRecord): string {
    this.sequence += 1;
    const handle = [message.key, this.sequence, message.visibleAt]
      .map((part) => part.toString(16).toUpperCase())
      .join("-");
    message.receiptHandle = handle;
    queue.handles.set(handle, message.key);
    return handle;
  }

  /** A handle is valid while it is the message's latest one and the message is still invisible. */
  private heldMessage(queue: QueueRecord, receiptHandle: string): MessageRecord {
    const key = queue.handles.get(receiptHandle);
    const message = key === undefined ? undefined : queue.messages.get(key);
    if (
      message === undefined ||
      message.receiptHandle !== receiptHandle ||
      message.visibleAt <= this.clock.now()
    ) {
      throw mnsErrors.receiptHandleError();
    }
    return message;
  }

  private expire(queue: QueueRecord, now: number): void {
    const retentionMs = queue.attributes.messageRetentionPeriod * 1000;
    for (const message of queue.messages.values()) {
      if (now - message.enqueueTime >= retentionMs) {
        queue.messages.delete(message.key);
        if (message.receiptHandle !== undefined) queue.handles.delete(message.receiptHandle);
      }
    }
  }

  private nextTick(queue: QueueRecord): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        queue.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.options.longPollTickMs);
      timer.unref();
      queue.waiters.add(done);
    });
  }

  private wake(queue: QueueRecord): void {
    for (const waiter of [...queue.waiters]) waiter();
  }

  private drop(queue: QueueRecord): void {
    queue.deleted = true;
    this.wake(queue);
  }
}

function view(message: MessageRecord): MessageView {
  return {
    messageId: message.messageId,
    body: message.body,
    bodyMd5: message.bodyMd5,
    enqueueTime: message.enqueueTime,
    firstDequeueTime: message.firstDequeueTime,
    nextVisibleTime: message.visibleAt,
    dequeueCount: message.dequeueCount,
    priority: message.priority,
    receiptHandle: message.receiptHandle,
  };
}

function messageIdFor(sequence: number, now: number): string {
  return `${now.toString(16).toUpperCase().padStart(12, "0")}-${sequence.toString(16).toUpperCase().padStart(8, "0")}`;
}

function sameAttributes(a: QueueAttributes, b: QueueAttributes): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
