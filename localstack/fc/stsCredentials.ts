/**
 * A CredentialsProvider that gets a function role's temporary keys from STS AssumeRole with the
 * official SDK — against the emulator's STS endpoint locally. The caller's keys are the hub
 * account's; the session name is the function's (2–32 characters).
 */
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sts, { AssumeRoleRequest } from "@alicloud/sts20150401";
import { z } from "zod";
import type { CredentialsProvider, FcCredentials } from "./credentials";

const assumed = z.object({
  accessKeyId: z.string().min(1),
  accessKeySecret: z.string().min(1),
  securityToken: z.string().min(1),
  expiration: z.string().optional(),
});

export interface StsOptions {
  /** `http://sts.localhost:4566` or `https://sts.aliyuncs.com`. */
  endpoint: string;
  caller: FcCredentials;
  durationSeconds?: number;
}

export function stsRoleCredentials(options: StsOptions): CredentialsProvider {
  const url = new URL(options.endpoint);
  const client = new Sts(
    new $OpenApiUtil.Config({
      accessKeyId: options.caller.accessKeyId,
      accessKeySecret: options.caller.accessKeySecret,
      ...(options.caller.securityToken ? { securityToken: options.caller.securityToken } : {}),
      endpoint: url.host,
      protocol: url.protocol.replace(":", ""),
      regionId: "cn-hangzhou",
    }),
  );
  return async (request) => {
    if (request.role === undefined) return options.caller;
    const response = await client.assumeRole(
      new AssumeRoleRequest({
        roleArn: request.role,
        roleSessionName: `fc-${request.functionName}`.slice(0, 32).padEnd(2, "x"),
        durationSeconds: options.durationSeconds ?? 3600,
      }),
    );
    const credentials = assumed.parse(response.body?.credentials);
    const expiresAt = credentials.expiration ? Date.parse(credentials.expiration) : Number.NaN;
    return {
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      securityToken: credentials.securityToken,
      ...(Number.isFinite(expiresAt) ? { expiresAt } : {}),
    };
  };
}
