/**
 * QueueSource on the official `@alicloud/mns` SDK, pointed at the emulator's (or the real) MNS
 * endpoint: batch receive with long poll, batch delete, change visibility. Thin on purpose: the
 * SDK signs and parses; this only maps its answers, validated, onto the port.
 */
import MNSClient from "@alicloud/mns";
import { z } from "zod";
import type { FcCredentials } from "./credentials";
import type { QueueSource, ReceivedMessage } from "./queueSource";

/** The three SDK calls the adapter uses (the SDK's Client has them; tests may pass a fake). */
export interface MnsClientLike {
  batchReceiveMessage(queue: string, count: number, waitSeconds?: number): Promise<{ body: unknown }>;
  batchDeleteMessage(queue: string, receiptHandles: string[]): Promise<{ body: unknown }>;
  changeMessageVisibility(queue: string, receiptHandle: string, seconds: number): Promise<{ body: unknown }>;
}

const message = z.looseObject({
  MessageId: z.string(),
  ReceiptHandle: z.string(),
  MessageBody: z.string().default(""),
  EnqueueTime: z.coerce.number(),
  DequeueCount: z.coerce.number(),
});

const visibility = z.looseObject({ ReceiptHandle: z.string() });

export class MnsQueueSource implements QueueSource {
  constructor(
    private readonly client: MnsClientLike,
    readonly queueName: string,
  ) {}

  /** An adapter with its own SDK client (endpoint e.g. `http://<uid>.mns.<region>.localhost:<port>`). */
  static create(options: {
    accountId: string;
    endpoint: string;
    credentials: FcCredentials;
    queueName: string;
  }): MnsQueueSource {
    const client = new MNSClient(options.accountId, {
      accessKeyId: options.credentials.accessKeyId,
      accessKeySecret: options.credentials.accessKeySecret,
      ...(options.credentials.securityToken ? { securityToken: options.credentials.securityToken } : {}),
      endpoint: options.endpoint,
    });
    return new MnsQueueSource(client, options.queueName);
  }

  async receive(max: number, waitSeconds: number): Promise<ReceivedMessage[]> {
    let body: unknown;
    try {
      ({ body } = await this.client.batchReceiveMessage(this.queueName, max, waitSeconds));
    } catch (error) {
      // An empty queue answers 404 MessageNotExist: that is "nothing yet", not a failure.
      if (error instanceof Error && error.name.includes("MessageNotExist")) return [];
      throw error;
    }
    const items = Array.isArray(body) ? body : body === undefined || body === null ? [] : [body];
    return items.map((item) => {
      const parsed = message.parse(item);
      return {
        messageId: parsed.MessageId,
        receiptHandle: parsed.ReceiptHandle,
        body: parsed.MessageBody,
        enqueueTime: parsed.EnqueueTime,
        dequeueCount: parsed.DequeueCount,
      };
    });
  }

  async delete(receiptHandles: readonly string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += 16) {
      try {
        await this.client.batchDeleteMessage(this.queueName, receiptHandles.slice(i, i + 16));
      } catch (error) {
        // Stale handles (the message became visible again) are MNS's business: it will come back.
        if (!(error instanceof Error && error.name.includes("ReceiptHandleError"))) throw error;
      }
    }
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<string> {
    const { body } = await this.client.changeMessageVisibility(this.queueName, receiptHandle, seconds);
    return visibility.parse(body).ReceiptHandle;
  }
}
