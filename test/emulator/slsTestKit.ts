/** Shared setup for the SLS contract tests: accounts, keys and official-SDK clients. */
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls from "@alicloud/sls20201230";
import { z } from "zod";
import type { KeyRecord } from "../../emulator/core/types";

export const region = "cn-hangzhou";

export const accountA = { accountId: "1111111111111111", accessKeyId: "LTAI-A", accessKeySecret: "secret-a" };
export const accountB = { accountId: "2222222222222222", accessKeyId: "LTAI-B", accessKeySecret: "secret-b" };

export function permanentKey(account: typeof accountA): KeyRecord {
  return { ...account, arn: `acs:ram::${account.accountId}:root` };
}

export interface ClientOptions {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
  signatureVersion?: "v1" | "v4";
  region?: string;
}

export function slsClient(port: number, options: ClientOptions): Sls {
  const clientRegion = options.region ?? region;
  return new Sls(
    new $OpenApiUtil.Config({
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      securityToken: options.securityToken,
      signatureVersion: options.signatureVersion,
      regionId: clientRegion,
      endpoint: `${clientRegion}.log.localhost:${port}`,
      protocol: "http",
    }),
  );
}

const sdkError = z.object({
  code: z.string(),
  statusCode: z.number(),
  message: z.string(),
  data: z.object({ requestId: z.string().optional() }).optional(),
});

export type SlsFailure = z.infer<typeof sdkError>;

/** Awaits a call that must fail and returns the SDK's error (code, HTTP status, message, request id). */
export async function slsFailure(call: Promise<unknown>): Promise<SlsFailure> {
  try {
    await call;
  } catch (error) {
    return sdkError.parse(error);
  }
  throw new Error("expected the SLS call to fail");
}
