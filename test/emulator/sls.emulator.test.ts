/**
 * SLS through the whole emulator (core HTTP server, account store, STS, rate limits, faults, clock),
 * driven by the official SDKs: the cross-account path goes through a real AssumeRole.
 */
import { $OpenApiUtil } from "@alicloud/openapi-core";
import * as $Sls from "@alicloud/sls20201230";
import Sts, * as $Sts from "@alicloud/sts20150401";
import { type EmulatorHandle, startEmulator } from "../../emulator";
import { region, slsClient, slsFailure } from "./slsTestKit";

const hubId = "1000000000000001";
const spokeId = "2000000000000002";

let emulator: EmulatorHandle;

function account(id: string) {
  const found = emulator.endpoints.accounts.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`account ${id} is not seeded`);
  return found;
}

beforeAll(async () => {
  emulator = await startEmulator({
    fleet: {
      accounts: [
        { id: hubId, name: "hub" },
        { id: spokeId, name: "spoke", roles: [{ name: "logtail-xacct", trustedAccounts: [hubId] }] },
      ],
    },
  });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
  emulator.setRateLimits([]);
  emulator.clearFaults();
});

async function assumeSpokeRole() {
  const hub = account(hubId);
  const sts = new Sts(
    new $OpenApiUtil.Config({
      accessKeyId: hub.accessKeyId,
      accessKeySecret: hub.accessKeySecret,
      endpoint: `sts.localhost:${emulator.port}`,
      protocol: "http",
    }),
  );
  const response = await sts.assumeRole(
    new $Sts.AssumeRoleRequest({
      roleArn: `acs:ram::${spokeId}:role/logtail-xacct`,
      roleSessionName: "hub-apply",
      durationSeconds: 3600,
    }),
  );
  const credentials = response.body?.credentials;
  if (credentials?.accessKeyId === undefined || credentials.accessKeySecret === undefined) {
    throw new Error("AssumeRole returned no credentials");
  }
  return {
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken ?? "",
  };
}

describe("SLS in the emulator", () => {
  it("keeps accounts apart and lets the hub act in the spoke only through AssumeRole", async () => {
    const hub = slsClient(emulator.port, account(hubId));
    const spoke = slsClient(emulator.port, account(spokeId));
    await spoke.createProject(new $Sls.CreateProjectRequest({ projectName: "spoke-logs", description: "" }));
    const spokeV4 = slsClient(emulator.port, { ...account(spokeId), signatureVersion: "v4" });
    expect((await spokeV4.getProject("spoke-logs")).body?.projectName).toBe("spoke-logs");

    expect(await slsFailure(hub.getProject("spoke-logs"))).toMatchObject({
      code: "Unauthorized",
      statusCode: 401,
    });

    const asSpoke = slsClient(emulator.port, await assumeSpokeRole());
    const got = await asSpoke.getProject("spoke-logs");
    expect(got.body?.owner).toBe(spokeId);
    await asSpoke.createLogStore(
      "spoke-logs",
      new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 7, shardCount: 1 }),
    );

    emulator.advanceClock(3_600_000);
    const expired = await slsFailure(asSpoke.getProject("spoke-logs"));
    expect(expired).toMatchObject({ code: "Unauthorized", statusCode: 401 });
    expect(expired.message).toContain("expired");
  });

  it("throttles with the core's per-operation rate limits and serves injected faults", async () => {
    const hub = slsClient(emulator.port, account(hubId));
    await hub.createProject(new $Sls.CreateProjectRequest({ projectName: "hub-logs", description: "" }));
    emulator.setRateLimits([{ service: "sls", operation: "GetProject", limit: 1 }]);
    await hub.getProject("hub-logs");
    expect(await slsFailure(hub.getProject("hub-logs"))).toMatchObject({
      code: "ExceedQuota",
      statusCode: 403,
    });

    emulator.addFault({
      service: "sls",
      operation: "ListMachineGroup",
      error: { status: 500, code: "InternalServerError", message: "Internal server error." },
    });
    expect(
      await slsFailure(hub.listMachineGroup("hub-logs", new $Sls.ListMachineGroupRequest({}))),
    ).toMatchObject({
      code: "InternalServerError",
      statusCode: 500,
    });
  });

  it("shows heartbeats recorded on the backend in ListMachines, on the emulator clock", async () => {
    const hub = slsClient(emulator.port, account(hubId));
    await hub.createProject(new $Sls.CreateProjectRequest({ projectName: "hub-logs", description: "" }));
    await hub.createMachineGroup(
      "hub-logs",
      new $Sls.CreateMachineGroupRequest({
        groupName: "route-web",
        machineIdentifyType: "userdefined",
        machineList: ["xacct-web"],
        groupType: "",
      }),
    );
    emulator.sls.recordHeartbeat({
      region,
      authorizedAccounts: [spokeId, hubId],
      userDefinedIds: ["xacct-web"],
      machine: { ip: "172.16.0.9", uuid: "4C4C4544-0042-3510-8052-B4C04F4E4E32", hostId: "i-spoke0001" },
    });
    const listed = await hub.listMachines(
      "hub-logs",
      "route-web",
      new $Sls.ListMachinesRequest({ offset: 0, size: 500 }),
    );
    expect(listed.body?.machines?.[0]).toMatchObject({
      ip: "172.16.0.9",
      hostId: "i-spoke0001",
      lastHeartbeatTime: Math.floor(emulator.now() / 1000),
    });
    emulator.advanceClock(emulator.sls.settings.machineStaleAfterMs + 1_000);
    const stale = await hub.listMachines("hub-logs", "route-web", new $Sls.ListMachinesRequest({}));
    expect(stale.body?.total).toBe(0);
  });
});
