/** The fleet's `projects`: SLS resources that exist in an account before our tool runs. */
import { join } from "node:path";
import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { type EmulatorHandle, type FleetInput, parseFleet, startEmulator } from "../../emulator/index";
import { readSimulatedFleetFile } from "../../localstack/fleet/simulatedFleet";
import { slsClient, slsFailure } from "./slsTestKit";

const region = "cn-hangzhou";
const hub = {
  id: "1200000000000456",
  name: "hub",
  accessKeyId: "LTAIhubKey0001",
  accessKeySecret: "hub-0001",
};
const appB = {
  id: "1700000000000397",
  name: "app-b",
  accessKeyId: "LTAIappBKey001",
  accessKeySecret: "app-b-secret",
};

const appBProject = {
  account: "app-b",
  region,
  name: "app-b-logs",
  logstores: ["app-b"],
  machineGroups: [{ name: "app-b-servers", identifiers: ["app-b-web"] }],
  configs: [{ name: "app-b-files", logstore: "app-b", filePaths: ["/var/log/app-b/*.log"] }],
  bindings: [{ machineGroup: "app-b-servers", config: "app-b-files" }],
};

const fleet: FleetInput = { accounts: [hub, appB], projects: [appBProject] };

/** What the source account sees of its own collection, through the official SDK. */
async function sourceCollection(sls: Sls) {
  const [project, logstore, group, config, applied] = await Promise.all([
    sls.getProject("app-b-logs"),
    sls.getLogStore("app-b-logs", "app-b"),
    sls.getMachineGroup("app-b-logs", "app-b-servers"),
    sls.getLogtailPipelineConfig("app-b-logs", "app-b-files"),
    sls.getAppliedConfigs("app-b-logs", "app-b-servers"),
  ]);
  return {
    project: { name: project.body?.projectName, owner: project.body?.owner, region: project.body?.region },
    logstore: {
      name: logstore.body?.logstoreName,
      ttl: logstore.body?.ttl,
      shards: logstore.body?.shardCount,
    },
    group: {
      name: group.body?.groupName,
      type: group.body?.machineIdentifyType,
      identifiers: group.body?.machineList,
    },
    config: { inputs: config.body?.inputs, logstore: config.body?.flushers?.[0]?.Logstore },
    applied: applied.body?.configs,
  };
}

const expected = {
  project: { name: "app-b-logs", owner: appB.id, region },
  logstore: { name: "app-b", ttl: 30, shards: 2 },
  group: { name: "app-b-servers", type: "userdefined", identifiers: ["app-b-web"] },
  config: { inputs: [{ Type: "input_file", FilePaths: ["/var/log/app-b/*.log"] }], logstore: "app-b" },
  applied: ["app-b-files"],
};

describe("fleet projects in a running emulator", () => {
  let emulator: EmulatorHandle;
  let sls: Sls;

  beforeAll(async () => {
    emulator = await startEmulator({ fleet, clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 } });
    sls = slsClient(emulator.port, appB);
  });

  afterAll(async () => {
    await emulator.stop();
  });

  afterEach(async () => {
    emulator.sls.configure({ consistencyDelayMs: 0 });
    await emulator.reset();
  });

  test("the initial fleet's project, logstore, group, config and binding exist, as the API shows them", async () => {
    expect(await sourceCollection(sls)).toEqual(expected);
    expect((await sls.getAppliedMachineGroups("app-b-logs", "app-b-files")).body?.machinegroups).toEqual([
      "app-b-servers",
    ]);
  });

  test("they belong to the source account: another account is denied", async () => {
    const error = await slsFailure(slsClient(emulator.port, hub).getProject("app-b-logs"));

    expect(error).toMatchObject({ code: "Unauthorized", statusCode: 401 });
  });

  test("they behave like API-created resources: the binding can be removed and the config deleted", async () => {
    await sls.removeConfigFromMachineGroup("app-b-logs", "app-b-servers", "app-b-files");
    await sls.deleteLogtailPipelineConfig("app-b-logs", "app-b-files");

    expect((await sls.getAppliedConfigs("app-b-logs", "app-b-servers")).body?.configs).toEqual([]);
    expect((await slsFailure(sls.getLogtailPipelineConfig("app-b-logs", "app-b-files"))).code).toBe(
      "ConfigNotExist",
    );
  });

  test("reset with the initial fleet recreates them; reset to empty drops them", async () => {
    await sls.deleteProject("app-b-logs", new $Sls.DeleteProjectRequest({}));
    expect((await slsFailure(sls.getProject("app-b-logs"))).code).toBe("ProjectNotExist");

    await emulator.reset({ fleet: "initial" });
    expect(await sourceCollection(sls)).toEqual(expected);

    await emulator.reset({ fleet: "empty" });
    expect(() =>
      emulator.sls.getProject({ accountId: appB.id, region, action: "GetProject" }, "app-b-logs"),
    ).toThrow("The Project does not exist : app-b-logs");
  });

  test("with an emulated consistency delay, fleet resources are visible at once after a reset", async () => {
    emulator.sls.configure({ consistencyDelayMs: 60_000 });
    await emulator.reset({ fleet: "initial" });

    expect(await sourceCollection(sls)).toEqual(expected);
    expect(emulator.sls.settings.consistencyDelayMs).toBe(60_000);
  });

  test("loadFleet adds projects of the accounts it adds", async () => {
    const loaded = await emulator.loadFleet({
      accounts: [{ id: "1800000000000512", name: "payments" }],
      projects: [
        { account: "1800000000000512", region: "cn-shanghai", name: "payments-logs", logstores: ["pay"] },
      ],
    });

    expect(loaded.projects).toEqual([
      { accountId: "1800000000000512", region: "cn-shanghai", name: "payments-logs" },
    ]);
    const record = emulator.sls.getLogstore(
      { accountId: "1800000000000512", region: "cn-shanghai", action: "GetLogStore" },
      "payments-logs",
      "pay",
    );
    expect(record.name).toBe("pay");
  });

  test("a project name taken in the region (by any account) is refused before anything is loaded", async () => {
    await expect(
      emulator.loadFleet({
        accounts: [{ id: "1800000000000512", name: "payments" }],
        projects: [{ account: "payments", region, name: "app-b-logs" }],
      }),
    ).rejects.toThrow("projects.0.name: project app-b-logs already exists in cn-hangzhou");
    expect(emulator.accounts.getAccount("1800000000000512")).toBeUndefined();
  });
});

describe("fleet projects validation", () => {
  const withProject = (changes: Record<string, unknown>): string =>
    JSON.stringify({ accounts: [hub, appB], projects: [{ ...appBProject, ...changes }] });

  test.each<[string, string, string]>([
    [
      "a config into a logstore the project does not list",
      withProject({ configs: [{ name: "app-b-files", logstore: "other", filePaths: ["/a.log"] }] }),
      `projects.0.configs.0.logstore: logstore "other" is not in this project's logstores`,
    ],
    [
      "a binding to an unknown machine group",
      withProject({ bindings: [{ machineGroup: "nope-group", config: "app-b-files" }] }),
      `projects.0.bindings.0.machineGroup: machine group "nope-group" is not in this project's machineGroups`,
    ],
    [
      "a binding of an unknown config",
      withProject({ bindings: [{ machineGroup: "app-b-servers", config: "nope" }] }),
      `projects.0.bindings.0.config: config "nope" is not in this project's configs`,
    ],
    [
      "an account not in accounts",
      withProject({ account: "app-c" }),
      `projects.0.account: unknown account "app-c" (not in accounts)`,
    ],
    [
      "a duplicate project",
      JSON.stringify({ accounts: [hub, appB], projects: [appBProject, appBProject] }),
      `projects.1.name: duplicate project "app-b-logs" in cn-hangzhou (also projects.0)`,
    ],
    [
      "the same project name in another account of the region (names are unique per region)",
      JSON.stringify({
        accounts: [hub, appB],
        projects: [appBProject, { account: "hub", region, name: "app-b-logs" }],
      }),
      `projects.1.name: duplicate project "app-b-logs"`,
    ],
    ["an invalid project name", withProject({ name: "App_B" }), "projects.0.name: an SLS project name is"],
    [
      "an invalid logstore name",
      withProject({ logstores: ["a"] }),
      "projects.0.logstores.0: an SLS logstore name is",
    ],
    [
      "an invalid machine group name",
      withProject({ machineGroups: [{ name: "Servers", identifiers: ["x"] }] }),
      "projects.0.machineGroups.0.name: an SLS machineGroup name is",
    ],
    [
      "an identifier with a space",
      withProject({ machineGroups: [{ name: "app-b-servers", identifiers: ["app b"] }] }),
      "projects.0.machineGroups.0.identifiers.0: a custom identifier is",
    ],
    [
      "a duplicate logstore",
      withProject({ logstores: ["app-b", "app-b"] }),
      `projects.0.logstores.1: duplicate logstore "app-b"`,
    ],
    [
      "a config without file paths",
      withProject({ configs: [{ name: "app-b-files", logstore: "app-b", filePaths: [] }] }),
      "projects.0.configs.0.filePaths",
    ],
    ["an unknown key", withProject({ logstore: "app-b" }), "projects.0: Unrecognized key"],
  ])("refuses %s, naming the path", (_label, document, message) => {
    expect(() => parseFleet(document)).toThrow(message);
  });

  test("a project needs only account, region and name; its lists default to empty", () => {
    const parsed = parseFleet(
      JSON.stringify({ accounts: [appB], projects: [{ account: appB.id, region, name: "app-b-logs" }] }),
    );

    expect(parsed.projects).toEqual([
      {
        account: appB.id,
        region,
        name: "app-b-logs",
        logstores: [],
        machineGroups: [],
        configs: [],
        bindings: [],
      },
    ]);
  });
});

describe("the demo fleet", () => {
  test("parses, and its app-b project matches routes.example.yaml's retire/backfill source", async () => {
    const demo = readSimulatedFleetFile(join(__dirname, "../../config/fleet.demo.yaml"));
    expect(demo.projects).toEqual([appBProject]);

    const emulator = await startEmulator({ clock: { scale: 0 } });
    try {
      await emulator.loadFleet({ accounts: demo.accounts, projects: demo.projects });
      const key = emulator.endpoints.accounts.find((account) => account.name === "app-b");
      if (key === undefined) throw new Error("app-b has no key in the endpoints");

      expect(await sourceCollection(slsClient(emulator.port, key))).toEqual(expected);
    } finally {
      await emulator.stop();
    }
  });
});
