/** Shared setup for the emulator's ECS/STS/core contract tests: a fleet, and official-SDK clients. */
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sts, * as $Sts from "@alicloud/sts20150401";
import { z } from "zod";
import { type EmulatorHandle, type FleetInput, startEmulator } from "../../emulator/index";

export const region = "cn-hangzhou";
export const hub = {
  id: "1000000000000001",
  name: "hub",
  accessKeyId: "LTAIhubKey0001",
  accessKeySecret: "hub-secret-0001",
};
export const spokeA = {
  id: "2000000000000002",
  name: "spoke-a",
  accessKeyId: "LTAIspokeA0002",
  accessKeySecret: "spoke-a-secret",
};
export const spokeB = {
  id: "3000000000000003",
  name: "spoke-b",
  accessKeyId: "LTAIspokeB0003",
  accessKeySecret: "spoke-b-secret",
};

export const testFleet: FleetInput = {
  accounts: [
    { ...hub, roles: [] },
    { ...spokeA, roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [hub.id] }] },
    { ...spokeB, roles: [{ name: "untrusting-role", trustedAccounts: [] }] },
  ],
  instances: [
    {
      account: "spoke-a",
      region,
      id: "i-spokea0000000000001",
      tags: { "logtail-xacct-route": "web" },
      ip: "10.0.0.11",
    },
    { account: "spoke-a", region, id: "i-spokea0000000000002", status: "Stopped" },
    { account: "spoke-a", region, id: "i-spokea0000000000003", cloudAssistant: "offline" },
    { account: "spoke-a", region, id: "i-spokeawin0000000004", os: "windows" },
    { account: "spoke-a", region, count: 21, tags: { team: "bulk" } },
    { account: "spoke-a", region: "cn-shanghai", id: "i-spokeash0000000001" },
    { account: "spoke-b", region, id: "i-spokeb0000000000001", tags: { "logtail-xacct-route": "web" } },
  ],
};

export async function startTestEmulator(): Promise<EmulatorHandle> {
  return startEmulator({ fleet: testFleet, clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 } });
}

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

function config(endpoint: string, credentials: Credentials): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken,
    regionId: region,
    endpoint,
    protocol: "http",
  });
}

export function ecsClient(emulator: EmulatorHandle, credentials: Credentials, clientRegion = region): Ecs {
  return new Ecs(config(`ecs.${clientRegion}.localhost:${emulator.port}`, credentials));
}

export function stsClient(emulator: EmulatorHandle, credentials: Credentials): Sts {
  return new Sts(config(`sts.localhost:${emulator.port}`, credentials));
}

export { $Ecs, $Sts };

const sdkError = z.object({ code: z.string(), statusCode: z.number(), message: z.string() });
export type SdkFailure = z.infer<typeof sdkError>;

/** Awaits a call that must fail and returns the SDK's error (code, HTTP status, message). */
export async function failure(call: Promise<unknown>): Promise<SdkFailure> {
  try {
    await call;
  } catch (error) {
    return sdkError.parse(error);
  }
  throw new Error("expected the call to fail");
}
