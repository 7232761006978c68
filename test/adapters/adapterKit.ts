/** Shared setup for the adapter tests: an emulator with a hub and a spoke, and adapters built on it. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmulatorHandle, type FleetInput, startEmulator } from "../../emulator/index";
import {
  type AlibabaAdapters,
  type AlibabaAdaptersOptions,
  createAlibabaAdapters,
  localEndpoints,
  readEndpointsFile,
} from "../../shared/adapters";

export const region = "cn-hangzhou";
export const hub = {
  id: "1000000000000001",
  name: "hub",
  accessKeyId: "LTAIadapterHub01",
  accessKeySecret: "adapter-hub-secret",
};
export const spoke = {
  id: "2000000000000002",
  name: "spoke",
  accessKeyId: "LTAIadapterSpoke2",
  accessKeySecret: "adapter-spoke-secret",
};
export const spokeRoleArn = `acs:ram::${spoke.id}:role/logtail-xacct-spoke`;
export const hubWriteRoleArn = `acs:ram::${hub.id}:role/logtail-xacct-write`;

export const fleet: FleetInput = {
  accounts: [
    { ...hub, roles: [] },
    { ...spoke, roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [hub.id] }] },
  ],
  instances: [
    { account: "spoke", region, count: 118, tags: { team: "bulk" } },
    {
      account: "spoke",
      region,
      id: "i-spoke00000000web01",
      tags: { "logtail-xacct-route": "web" },
      ip: "10.0.0.11",
    },
    { account: "spoke", region, id: "i-spoke0000000win001", os: "windows", cloudAssistant: "offline" },
    { account: "hub", region, id: "i-hub000000000000001" },
  ],
};

export interface Kit {
  emulator: EmulatorHandle;
  endpointsFile: string;
  adapters(overrides?: Partial<AlibabaAdaptersOptions>): Promise<AlibabaAdapters>;
}

export async function startKit(): Promise<Kit> {
  const endpointsFile = join(mkdtempSync(join(tmpdir(), "ltx-adapters-")), "endpoints.json");
  const emulator = await startEmulator({
    fleet,
    endpointsFile,
    clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
  });
  return {
    emulator,
    endpointsFile,
    adapters: async (overrides = {}) =>
      createAlibabaAdapters({
        endpoints: localEndpoints(await readEndpointsFile(endpointsFile)),
        hub: {
          accountId: hub.id,
          region,
          credentials: () => ({ accessKeyId: hub.accessKeyId, accessKeySecret: hub.accessKeySecret }),
        },
        roles: new Map([[spoke.id, { roleArn: spokeRoleArn }]]),
        now: () => emulator.now(),
        retry: { attempts: 1 },
        slsConsistency: { sleep: async () => undefined },
        ...overrides,
      }),
  };
}

/** Calls the emulator served for (service, operation), optionally for one account. */
export function calls(emulator: EmulatorHandle, operation: string, accountId?: string): number {
  return emulator
    .metrics()
    .operations.filter((entry) => entry.operation === operation)
    .filter((entry) => accountId === undefined || entry.accountId === accountId)
    .reduce((sum, entry) => sum + entry.calls, 0);
}

/** Awaits a promise that must reject, and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
