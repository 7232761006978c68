/**
 * QueuePort on `@alicloud/mns`, for the hub's queues. The SDK pastes bodies into XML unescaped, so
 * every body travels Base64-encoded (what Alibaba's own SDKs do by default): `<`, `&` and any other
 * character arrive intact.
 */
import type MnsClient from "@alicloud/mns";
import { z } from "zod";
import type { CredentialsPort } from "../ports/credentials";
import type { DeleteFailure, QueuePort, QueueScope, ReceivedMessage } from "../ports/queue";
import { chunk } from "./batching";
import { type CallPolicy, cloudCall } from "./cloudCall";
import { CloudError } from "./cloudError";
import type { SdkClients } from "./sdkClients";

/** MNS limits: 16 messages per batch, and 64 KB per message and per batch (bodies as sent, i.e. Base64). */
export const MNS_LIMITS = {
  batchMessages: 16,
  batchBytes: 64 * 1024,
  messageBytes: 64 * 1024,
  maxWaitSeconds: 30,
} as const;

const sentItem = z.object({
  MessageId: z.string().optional(),
  ErrorCode: z.string().optional(),
  ErrorMessage: z.string().optional(),
});
const receivedItem = z.object({
  MessageId: z.string(),
  ReceiptHandle: z.string(),
  MessageBody: z.string().default(""),
  DequeueCount: z.coerce.number().int(),
});
const deleteErrorItem = z.object({
  ErrorCode: z.string(),
  ErrorMessage: z.string().default(""),
  ReceiptHandle: z.string(),
});
const visibilityChange = z.object({ ReceiptHandle: z.string() });
/** The SDK gives one item or a list, depending on how many elements the XML had. */
const listOf = <T extends z.ZodType>(item: T) =>
  z.union([z.array(item), item.transform((one) => [one])]).optional();

export interface MnsQueueAdapterDependencies {
  clients: SdkClients;
  credentials: CredentialsPort;
  policy: CallPolicy;
}

export class MnsQueueAdapter implements QueuePort {
  constructor(
    readonly scope: QueueScope,
    private readonly deps: MnsQueueAdapterDependencies,
  ) {}

  async send(
    queue: string,
    bodies: readonly string[],
    options: { delaySeconds?: number } = {},
  ): Promise<string[]> {
    const delay =
      options.delaySeconds === undefined
        ? undefined
        : Math.min(Math.max(Math.floor(options.delaySeconds), 0), 604_800);
    const encoded = bodies.map((body) => Buffer.from(body, "utf8").toString("base64"));
    const tooLarge = encoded.findIndex((body) => body.length > MNS_LIMITS.messageBytes);
    if (tooLarge >= 0) {
      throw new CloudError(
        `message ${tooLarge} is ${encoded[tooLarge]?.length} bytes Base64-encoded; MNS takes ${MNS_LIMITS.messageBytes}`,
        { code: "MessageTooLarge", service: "mns", operation: "BatchSendMessage", retryable: false },
      );
    }
    const messageIds: string[] = [];
    for (const batch of packBatches(encoded)) {
      const response = await this.call("BatchSendMessage", (mns) =>
        mns.batchSendMessage(
          queue,
          batch.map((body) =>
            delay === undefined ? { MessageBody: body } : { MessageBody: body, DelaySeconds: delay },
          ),
        ),
      );
      const items = listOf(sentItem).parse(response.body) ?? [];
      const failed = items.find((item) => item.ErrorCode !== undefined);
      if (failed?.ErrorCode !== undefined || items.length !== batch.length) {
        const code = failed?.ErrorCode ?? "MalformedResponse";
        throw new CloudError(failed?.ErrorMessage ?? `sent ${batch.length}, ${items.length} acknowledged`, {
          code,
          service: "mns",
          operation: "BatchSendMessage",
          httpStatus: response.code,
          // Resending the batch may duplicate its other messages: consumers are idempotent.
          retryable: true,
        });
      }
      messageIds.push(...items.map((item) => item.MessageId ?? ""));
    }
    return messageIds;
  }

  async receive(queue: string, max: number, waitSeconds: number): Promise<ReceivedMessage[]> {
    const count = Math.min(Math.max(Math.floor(max), 1), MNS_LIMITS.batchMessages);
    const wait = Math.min(Math.max(Math.floor(waitSeconds), 0), MNS_LIMITS.maxWaitSeconds);
    let body: unknown;
    try {
      body = (await this.call("BatchReceiveMessage", (mns) => mns.batchReceiveMessage(queue, count, wait)))
        .body;
    } catch (error) {
      if (error instanceof CloudError && error.code === "MessageNotExist") return [];
      throw error;
    }
    return (listOf(receivedItem).parse(body) ?? []).map((item) => ({
      messageId: item.MessageId,
      body: Buffer.from(item.MessageBody, "base64").toString("utf8"),
      receiptHandle: item.ReceiptHandle,
      dequeueCount: item.DequeueCount,
    }));
  }

  async delete(queue: string, receiptHandles: readonly string[]): Promise<DeleteFailure[]> {
    const failures: DeleteFailure[] = [];
    for (const batch of chunk([...new Set(receiptHandles)], MNS_LIMITS.batchMessages)) {
      const response = await this.call("BatchDeleteMessage", (mns) => mns.batchDeleteMessage(queue, batch));
      // 204 without a body when every handle was deleted; otherwise one error per failed handle.
      for (const item of listOf(deleteErrorItem).parse(response.body) ?? []) {
        failures.push({
          receiptHandle: item.ReceiptHandle,
          code: item.ErrorCode,
          message: item.ErrorMessage,
        });
      }
    }
    return failures;
  }

  async changeVisibility(queue: string, receiptHandle: string, seconds: number): Promise<string> {
    const response = await this.call("ChangeMessageVisibility", (mns) =>
      mns.changeMessageVisibility(queue, receiptHandle, seconds),
    );
    const parsed = visibilityChange.safeParse(response.body);
    if (!parsed.success) {
      throw new CloudError("ChangeMessageVisibility answered without a receipt handle", {
        code: "MalformedResponse",
        service: "mns",
        operation: "ChangeMessageVisibility",
        retryable: false,
      });
    }
    return parsed.data.ReceiptHandle;
  }

  private async call<T>(operation: string, fn: (mns: MnsClient) => Promise<T>): Promise<T> {
    const { accountId, region } = this.scope;
    return cloudCall(this.deps.policy, { service: "mns", operation, accountId, region }, async () => {
      const credentials = await this.deps.credentials.forAccount(accountId);
      return fn(this.deps.clients.mns(accountId, region, credentials));
    });
  }
}

/** Consecutive batches of ≤ 16 bodies and ≤ 64 KB in total. */
export function packBatches(encodedBodies: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of encodedBodies) {
    if (current.length === MNS_LIMITS.batchMessages || bytes + body.length > MNS_LIMITS.batchBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += body.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
