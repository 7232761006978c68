/**
 * An MNS queue trigger (`eventSourceType: MNS`): polls the queue through a QueueSource and invokes
 * the function with `mns:Queue:SendMessage` CloudEvents — a JSON array per batch in
 * `event-streaming` mode (up to `CountBasedWindow` messages, waiting at most `TimeBasedWindow`
 * seconds to fill it), one object per message in `event-driven` mode. A message is deleted only
 * after the invocation that carried it succeeded; otherwise it stays in the queue, comes back after
 * its visibility timeout, and the queue's dead-letter policy takes it after `MaxReceiveCount`.
 */
import { randomUUID } from "node:crypto";
import type { Scheduler } from "../eventbridge/types";
import { sleepOn } from "./asyncInvocation";
import { describeError, type FunctionInvoker } from "./functionInvoker";
import type { RuntimeLogger } from "./invocationLog";
import type { QueueSource, ReceivedMessage } from "./queueSource";
import type { EventBridgeTriggerSpec } from "./serverlessSpec";

/** MNS returns at most 16 messages per receive. */
const MNS_BATCH = 16;

export interface QueueTriggerOptions {
  accountId: string;
  scheduler: Scheduler;
  logger: RuntimeLogger;
  /** Long-poll seconds per receive (MNS allows ≤ 30). Default 30. */
  waitSeconds?: number;
  /** Batches (or single messages) in flight at once. Default: the function's concurrency, 10. */
  maxInFlight?: number;
  /** Pause after a failed receive, in ms on the scheduler's clock. Default 1000. */
  errorBackoffMs?: number;
}

export function queueMessageEvent(
  message: ReceivedMessage,
  trigger: EventBridgeTriggerSpec,
  where: { accountId: string; region: string; functionName: string; now: number },
): Record<string, unknown> {
  const queueName = trigger.source.kind === "mns" ? trigger.source.queueName : "";
  const busName = `MNS-${where.functionName}-${trigger.name}`;
  return {
    id: randomUUID(),
    source: busName,
    specversion: "1.0",
    type: "mns:Queue:SendMessage",
    datacontenttype: "application/json; charset=utf-8",
    subject: `acs:mns:${where.region}:${where.accountId}:queues/${queueName}`,
    time: new Date(message.enqueueTime).toISOString(),
    aliyunaccountid: where.accountId,
    aliyunpublishtime: new Date(where.now).toISOString(),
    aliyunoriginalaccountid: where.accountId,
    aliyuneventbusname: busName,
    aliyunregionid: where.region,
    data: {
      requestId: randomUUID().replaceAll("-", "").toUpperCase().slice(0, 24),
      messageId: message.messageId,
      messageBody: decodeBody(message.body, trigger.source.kind === "mns" && trigger.source.base64Decode),
    },
  };
}

/** With `IsBase64Decode` a Base64 body is decoded; a body that is not Base64 of UTF-8 text stays as it is. */
function decodeBody(body: string, base64Decode: boolean): string {
  if (!base64Decode || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return body;
  const bytes = Buffer.from(body, "base64");
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes) ? text : body;
}

export class QueueTrigger {
  private running = true;
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly work = new Set<Promise<void>>();

  constructor(
    private readonly invoker: FunctionInvoker,
    private readonly trigger: EventBridgeTriggerSpec,
    private readonly queue: QueueSource,
    private readonly options: QueueTriggerOptions,
  ) {
    // Not awaited by stop(): a long poll may take 30 s to return; what it brings back stays
    // invisible until its visibility timeout, then is delivered again.
    void this.poll().catch((error: unknown) =>
      options.logger.note({
        msg: "fc.queue-poller-failed",
        function: invoker.spec.name,
        error: describeError(error),
      }),
    );
  }

  /** Stops polling and waits for invocations under way. A receive in progress is abandoned. */
  async stop(): Promise<void> {
    this.running = false;
    for (const waiter of this.slotWaiters.splice(0)) waiter();
    await Promise.allSettled([...this.work]);
  }

  /** Resolves when no invocation of this trigger is under way. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  private get batchSize(): number {
    if (this.trigger.mode !== "event-streaming") return 1;
    return Math.max(1, this.trigger.batch.count ?? 100);
  }

  private async poll(): Promise<void> {
    const limit = this.options.maxInFlight ?? 10;
    while (this.running) {
      if (this.inFlight >= limit) {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
        continue;
      }
      const messages = await this.collect();
      if (!this.running) return;
      if (messages.length === 0) continue;
      if (this.trigger.mode === "event-streaming") this.dispatch(this.handleBatch(messages));
      else for (const message of messages) this.dispatch(this.handleBatch([message]));
    }
  }

  private dispatch(task: Promise<void>): void {
    this.inFlight += 1;
    const tracked = task.finally(() => {
      this.inFlight -= 1;
      this.work.delete(tracked);
      this.slotWaiters.shift()?.();
    });
    this.work.add(tracked);
  }

  /** Receives up to one batch: the first receive long-polls, the rest take what is there. */
  private async collect(): Promise<ReceivedMessage[]> {
    const size = this.trigger.mode === "event-streaming" ? this.batchSize : MNS_BATCH;
    const windowMs = (this.trigger.batch.seconds ?? 0) * 1000;
    const started = this.options.scheduler.now();
    const batch: ReceivedMessage[] = [];
    let wait = this.options.waitSeconds ?? 30;
    while (this.running && batch.length < size) {
      const requested = Math.min(MNS_BATCH, size - batch.length);
      let received: ReceivedMessage[];
      try {
        received = await this.queue.receive(requested, wait);
      } catch (error) {
        this.options.logger.note({
          msg: "fc.queue-receive-failed",
          function: this.invoker.spec.name,
          queue: this.queue.queueName,
          error: describeError(error),
        });
        await sleepOn(this.options.scheduler, this.options.errorBackoffMs ?? 1000);
        return batch;
      }
      batch.push(...received);
      // Nothing came (the long poll or the rest of the window passed): deliver what there is.
      if (received.length === 0) return batch;
      const windowLeft = started + windowMs - this.options.scheduler.now();
      // The queue is drained and there is no window to wait in: no extra empty receive.
      if (received.length < requested && windowLeft <= 0) return batch;
      wait = windowLeft <= 0 ? 0 : Math.min(30, Math.max(1, Math.ceil(windowLeft / 1000)));
    }
    return batch;
  }

  /**
   * One invocation per batch, and the log accounts for every delivery: `fc.queue-received` when the
   * messages are taken (their delivery counts), then `fc.queue-settled` with the invocation's request
   * id, its outcome, what became of the messages and how long (emulated) they were held — a batch
   * held past the queue's visibility timeout was handed out again while it ran.
   */
  private async handleBatch(messages: ReceivedMessage[]): Promise<void> {
    const receivedAt = this.options.scheduler.now();
    const accounting = {
      function: this.invoker.spec.name,
      trigger: this.trigger.name,
      queue: this.queue.queueName,
      messageIds: messages.map((message) => message.messageId),
      dequeueCounts: messages.map((message) => message.dequeueCount),
    };
    this.options.logger.note({ msg: "fc.queue-received", ...accounting });
    const where = {
      accountId: this.options.accountId,
      region: this.invoker.spec.region,
      functionName: this.invoker.spec.name,
      now: receivedAt,
    };
    const events = messages.map((message) => queueMessageEvent(message, this.trigger, where));
    const payload = this.trigger.mode === "event-streaming" ? events : events[0];
    const result = await this.invoker.invoke(Buffer.from(JSON.stringify(payload)), this.trigger.name, {
      count: messages.length,
    });
    const settled = (disposition: string, extra: Record<string, unknown> = {}): void =>
      this.options.logger.note({
        msg: "fc.queue-settled",
        ...accounting,
        requestId: result.requestId,
        invocation: result.ok ? "success" : result.timedOut ? "timeout" : "error",
        messages: disposition,
        heldSeconds: Math.round((this.options.scheduler.now() - receivedAt) / 1000),
        ...extra,
      });
    if (!result.ok) {
      // Not deleted: the queue redelivers after the visibility timeout and dead-letters in the end.
      settled("left for redelivery", { error: describeError(result.error) });
      return;
    }
    try {
      await this.queue.delete(messages.map((message) => message.receiptHandle));
      settled("deleted");
    } catch (error) {
      settled("delete failed: redelivered", { error: describeError(error) });
    }
  }
}
