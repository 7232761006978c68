import * as $Ecs from "@alicloud/ecs20140526";
import {
  AssumeRoleCredentials,
  CloudError,
  createSdkClients,
  localEndpoints,
  parseEndpointsDocument,
  rolesFromRoutes,
  sanitizeSessionName,
} from "../../shared/adapters";
import type { RoutesFile } from "../../shared/config/routesSchema";
import { calls, hub, type Kit, region, rejection, spoke, spokeRoleArn, startKit } from "./adapterKit";

let kit: Kit;

beforeAll(async () => {
  kit = await startKit();
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(() => {
  kit.emulator.resetMetrics();
  kit.emulator.clearFaults();
});

describe("AssumeRoleCredentials", () => {
  it("hands out the hub's own credentials for the hub, without STS", async () => {
    const { credentials } = await kit.adapters();
    const own = await credentials.forAccount(hub.id);
    expect(own.accessKeyId).toBe(hub.accessKeyId);
    expect(calls(kit.emulator, "AssumeRole")).toBe(0);
  });

  it("assumes the spoke's role once for many concurrent callers and caches it", async () => {
    const { credentials } = await kit.adapters();
    const results = await Promise.all(Array.from({ length: 10 }, () => credentials.forAccount(spoke.id)));
    await credentials.forAccount(spoke.id);
    expect(calls(kit.emulator, "AssumeRole")).toBe(1);
    expect(new Set(results.map((result) => result.accessKeyId)).size).toBe(1);
    expect(results[0]?.accessKeyId).toMatch(/^STS\./);
    expect(results[0]?.securityToken).toBeTruthy();
  });

  it("refreshes 5 minutes before expiry, on the injected clock", async () => {
    const { credentials } = await kit.adapters();
    const first = await credentials.forAccount(spoke.id);
    kit.emulator.advanceClock(54 * 60_000);
    expect(await credentials.forAccount(spoke.id)).toBe(first);
    kit.emulator.advanceClock(2 * 60_000);
    const second = await credentials.forAccount(spoke.id);
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(calls(kit.emulator, "AssumeRole")).toBe(2);
  });

  it("lets a failed AssumeRole be retried by the next caller", async () => {
    const { credentials } = await kit.adapters();
    kit.emulator.addFault({ service: "sts", operation: "AssumeRole", errorRate: 1, times: 1 });
    const error = await rejection(credentials.forAccount(spoke.id));
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ code: "ServiceUnavailable", retryable: true, service: "sts" });
    await expect(credentials.forAccount(spoke.id)).resolves.toMatchObject({
      accessKeyId: expect.any(String),
    });
  });

  it("refuses an account without a configured role, and a role of another account", async () => {
    const { credentials } = await kit.adapters({
      roles: new Map([["3000000000000003", { roleArn: spokeRoleArn }]]),
    });
    expect(await rejection(credentials.forAccount("4000000000000004"))).toMatchObject({
      code: "AccountNotConfigured",
      retryable: false,
    });
    expect(await rejection(credentials.forAccount("3000000000000003"))).toMatchObject({
      code: "RoleAccountMismatch",
      retryable: false,
    });
    expect(calls(kit.emulator, "AssumeRole")).toBe(0);
  });

  it("classifies a role that does not trust the hub as terminal", async () => {
    const { credentials } = await kit.adapters({
      roles: new Map([
        [spoke.id, { roleArn: `acs:ram::${spoke.id}:role/no-such-role`, externalId: "ext-1" }],
      ]),
    });
    expect(await rejection(credentials.forAccount(spoke.id))).toMatchObject({
      code: "EntityNotExist.Role",
      httpStatus: 404,
      retryable: false,
    });
  });

  it("keeps accounts apart: the hub's keys see none of the spoke's instances, the assumed role does", async () => {
    const clients = createSdkClients(localEndpoints(parseEndpointsDocument(kit.emulator.endpoints)));
    const request = new $Ecs.DescribeInstancesRequest({ regionId: region, maxResults: 100 });
    const hubKeys = { accessKeyId: hub.accessKeyId, accessKeySecret: hub.accessKeySecret };
    const asHub = await clients.ecs(region, hubKeys).describeInstances(request);
    expect((asHub.body?.instances?.instance ?? []).map((i) => i.instanceId)).toEqual([
      "i-hub000000000000001",
    ]);

    const credentials = new AssumeRoleCredentials({
      hubAccountId: hub.id,
      hubCredentials: () => hubKeys,
      roles: new Map([[spoke.id, { roleArn: spokeRoleArn }]]),
      clients,
      stsRegion: region,
      now: () => kit.emulator.now(),
    });
    const asSpoke = await clients
      .ecs(region, await credentials.forAccount(spoke.id))
      .describeInstances(request);
    expect(asSpoke.body?.instances?.instance?.length).toBe(100);
    expect(asSpoke.body?.instances?.instance?.some((i) => i.instanceId === "i-hub000000000000001")).toBe(
      false,
    );
  });
});

describe("session names and roles from the routes file", () => {
  it("keeps session names within STS's 2–32 characters of [A-Za-z0-9.@_-]", () => {
    expect(sanitizeSessionName("logtail-xacct apply/worker#1 with a very long suffix")).toBe(
      "logtail-xacct-apply-worker-1-wit",
    );
    expect(sanitizeSessionName("x")).toBe("logtail-xacct");
  });

  it("collects source and destination roles, with the external id", () => {
    const routes: Pick<RoutesFile, "sourceAccounts" | "destinations"> = {
      sourceAccounts: [
        { uid: spoke.id, name: "spoke", regions: [region], roleArn: spokeRoleArn, externalId: "ext-42" },
      ],
      destinations: {
        hub: { uid: hub.id, region },
        other: { uid: "5000000000000005", region, roleArn: "acs:ram::5000000000000005:role/dest" },
      },
    };
    expect(rolesFromRoutes(routes)).toEqual(
      new Map([
        ["5000000000000005", { roleArn: "acs:ram::5000000000000005:role/dest" }],
        [spoke.id, { roleArn: spokeRoleArn, externalId: "ext-42" }],
      ]),
    );
  });
});
