/** Shared setup for the MNS contract tests: official-SDK clients and typed views of its answers. */
import MNSClient from "@alicloud/mns";
import { z } from "zod";

export const region = "cn-hangzhou";

export interface MnsClientOptions {
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export function mnsClient(
  port: number,
  options: MnsClientOptions,
  hostAccountId = options.accountId,
): MNSClient {
  return new MNSClient(hostAccountId, {
    accessKeyId: options.accessKeyId,
    accessKeySecret: options.accessKeySecret,
    ...(options.securityToken === undefined ? {} : { securityToken: options.securityToken }),
    endpoint: `http://${hostAccountId}.mns.${region}.localhost:${port}`,
  });
}

export const receivedMessage = z.object({
  MessageId: z.string(),
  ReceiptHandle: z.string(),
  MessageBodyMD5: z.string(),
  MessageBody: z.string(),
  EnqueueTime: z.coerce.number(),
  NextVisibleTime: z.coerce.number(),
  FirstDequeueTime: z.coerce.number(),
  DequeueCount: z.coerce.number(),
  Priority: z.coerce.number(),
});

export const sentMessage = z.object({ MessageId: z.string(), MessageBodyMD5: z.string() });

export interface MnsFailure {
  /** The error code, from the SDK's error name `MNS<Code>Error`. */
  code: string;
  status: number;
  requestId: string;
  message: string;
}

const sdkError = z.object({ name: z.string(), message: z.string() });

/** Awaits a call that must fail and decodes the SDK's error (which carries code, status and request id in text). */
export async function mnsFailure(call: Promise<unknown>): Promise<MnsFailure> {
  try {
    await call;
  } catch (error) {
    const { name, message } = sdkError.parse(error);
    const code = /^MNS(.+)Error$/.exec(name)?.[1] ?? name;
    const status = Number(/failed with (\d{3})\./.exec(message)?.[1] ?? Number.NaN);
    const requestId = /requestid: ([^,]+),/.exec(message)?.[1] ?? "";
    return { code, status, requestId, message };
  }
  throw new Error("expected the MNS call to fail");
}
