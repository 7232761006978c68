import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { createSlsService, type SlsService } from "../../emulator/sls";
import { type Harness, serveService } from "./serviceHarness";
import { accountA, accountB, permanentKey, region, slsClient, slsFailure } from "./slsTestKit";

const project = "hub-logs";

let harness: Harness<SlsService>;
let sls: Sls;

beforeAll(async () => {
  harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
  sls = slsClient(harness.port, accountA);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  harness.service.backend.configure({ consistencyDelayMs: 0, maxConfigsPerProject: 100 });
  await sls.createProject(new $Sls.CreateProjectRequest({ projectName: project, description: "central" }));
  await sls.createLogStore(
    project,
    new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
  );
});

function pipelineConfig(
  configName: string,
  overrides: Partial<$Sls.CreateLogtailPipelineConfigRequest> = {},
) {
  return new $Sls.CreateLogtailPipelineConfigRequest({
    configName,
    inputs: [
      { Type: "input_file", FilePaths: ["/var/log/app/**/*.log"], AllowingIncludedByMultiConfigs: true },
    ],
    processors: [
      { Type: "processor_parse_regex_native", SourceKey: "content", Regex: "(.*)", Keys: ["msg"] },
    ],
    flushers: [
      { Type: "flusher_sls", Logstore: "app", Region: region, Endpoint: `${region}.log.aliyuncs.com` },
    ],
    ...overrides,
  });
}

function machineGroup(groupName: string, identifiers: string[]) {
  return new $Sls.CreateMachineGroupRequest({
    groupName,
    machineIdentifyType: "userdefined",
    machineList: identifiers,
    groupType: "",
    groupAttribute: new $Sls.CreateMachineGroupRequestGroupAttribute({ externalName: "", groupTopic: "" }),
  });
}

describe("projects", () => {
  it("creates, reads, lists and deletes a project with the real field names", async () => {
    const got = await sls.getProject(project);
    expect(got.statusCode).toBe(200);
    expect(got.headers?.["x-log-requestid"]).toMatch(/^[0-9A-F]{24}$/);
    expect(got.body).toMatchObject({
      projectName: project,
      description: "central",
      region,
      status: "Normal",
    });

    const listed = await sls.listProject(new $Sls.ListProjectRequest({ offset: 0, size: 10 }));
    expect(listed.body?.total).toBe(1);
    expect(listed.body?.projects?.map((item) => item.projectName)).toEqual([project]);

    await sls.deleteProject(project, new $Sls.DeleteProjectRequest({}));
    const failure = await slsFailure(sls.getProject(project));
    expect(failure).toMatchObject({ code: "ProjectNotExist", statusCode: 404 });
    expect(failure.message).toContain(`The Project does not exist : ${project}`);
  });

  it("refuses a second project of the same name in the region, even from another account", async () => {
    const other = slsClient(harness.port, accountB);
    const failure = await slsFailure(
      other.createProject(new $Sls.CreateProjectRequest({ projectName: project, description: "x" })),
    );
    expect(failure).toMatchObject({ code: "ProjectAlreadyExist", statusCode: 400 });
  });

  it("lists only the caller's own projects", async () => {
    const other = slsClient(harness.port, accountB);
    await other.createProject(new $Sls.CreateProjectRequest({ projectName: "spoke-logs", description: "" }));
    const listed = await other.listProject(new $Sls.ListProjectRequest({}));
    expect(listed.body?.projects?.map((item) => item.projectName)).toEqual(["spoke-logs"]);
  });
});

describe("logstores and index", () => {
  it("serves logstore CRUD with exact errors", async () => {
    const got = await sls.getLogStore(project, "app");
    expect(got.body).toMatchObject({ logstoreName: "app", ttl: 30, shardCount: 2 });

    expect(
      await slsFailure(
        sls.createLogStore(
          project,
          new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 1, shardCount: 1 }),
        ),
      ),
    ).toMatchObject({ code: "LogStoreAlreadyExist", statusCode: 400 });

    await sls.updateLogStore(
      project,
      "app",
      new $Sls.UpdateLogStoreRequest({ logstoreName: "app", ttl: 90, shardCount: 2 }),
    );
    expect((await sls.getLogStore(project, "app")).body?.ttl).toBe(90);

    const listed = await sls.listLogStores(project, new $Sls.ListLogStoresRequest({ offset: 0, size: 100 }));
    expect(listed.body).toMatchObject({ count: 1, total: 1, logstores: ["app"] });

    await sls.deleteLogStore(project, "app");
    expect(await slsFailure(sls.getLogStore(project, "app"))).toMatchObject({
      code: "LogStoreNotExist",
      statusCode: 404,
    });
  });

  it("creates, reads, updates and deletes an index", async () => {
    const index = new $Sls.Index({
      line: new $Sls.IndexLine({ token: [",", " "], caseSensitive: false, chn: false }),
      keys: { level: new $Sls.IndexKey({ type: "text", token: [","], caseSensitive: false }) },
    });
    await sls.createIndex(project, "app", new $Sls.CreateIndexRequest({ body: index }));
    expect(
      await slsFailure(sls.createIndex(project, "app", new $Sls.CreateIndexRequest({ body: index }))),
    ).toMatchObject({ code: "IndexAlreadyExist", statusCode: 400 });

    const got = await sls.getIndex(project, "app");
    expect(got.body?.line?.token).toEqual([",", " "]);
    expect(got.body?.keys?.level?.type).toBe("text");

    await sls.updateIndex(
      project,
      "app",
      new $Sls.UpdateIndexRequest({ body: new $Sls.Index({ line: new $Sls.IndexLine({ token: [";"] }) }) }),
    );
    expect((await sls.getIndex(project, "app")).body?.line?.token).toEqual([";"]);

    await sls.deleteIndex(project, "app");
    expect(await slsFailure(sls.getIndex(project, "app"))).toMatchObject({
      code: "IndexConfigNotExist",
      statusCode: 404,
    });
  });
});

describe("machine groups", () => {
  it("creates a custom-identifier group and refuses a duplicate with MachineGroupAlreadyExist", async () => {
    await sls.createMachineGroup(project, machineGroup("route-web-linux", ["xacct-web-linux"]));
    const failure = await slsFailure(sls.createMachineGroup(project, machineGroup("route-web-linux", ["x"])));
    expect(failure).toMatchObject({ code: "MachineGroupAlreadyExist", statusCode: 400 });

    const got = await sls.getMachineGroup(project, "route-web-linux");
    expect(got.body).toMatchObject({
      groupName: "route-web-linux",
      machineIdentifyType: "userdefined",
      machineList: ["xacct-web-linux"],
      groupAttribute: { externalName: "", groupTopic: "" },
    });
  });

  it("validates the group name (3-128 of lowercase, digits, - and _)", async () => {
    for (const name of ["ab", "Upper-Case", "has space", "a".repeat(129)]) {
      const failure = await slsFailure(sls.createMachineGroup(project, machineGroup(name, ["x"])));
      expect(failure).toMatchObject({ code: "ParameterInvalid", statusCode: 400 });
    }
  });

  it("updates, lists and deletes groups", async () => {
    await sls.createMachineGroup(project, machineGroup("group-a", ["a"]));
    await sls.createMachineGroup(project, machineGroup("group-b", ["b"]));
    await sls.updateMachineGroup(
      project,
      "group-a",
      new $Sls.UpdateMachineGroupRequest({
        groupName: "group-a",
        machineIdentifyType: "userdefined",
        machineList: ["a", "a2"],
        groupType: "",
      }),
    );
    expect((await sls.getMachineGroup(project, "group-a")).body?.machineList).toEqual(["a", "a2"]);

    const page = await sls.listMachineGroup(
      project,
      new $Sls.ListMachineGroupRequest({ offset: 1, size: 1 }),
    );
    expect(page.body).toMatchObject({ count: 1, total: 2, machinegroups: ["group-b"] });

    await sls.deleteMachineGroup(project, "group-a");
    expect(await slsFailure(sls.getMachineGroup(project, "group-a"))).toMatchObject({
      code: "MachineGroupNotExist",
      statusCode: 404,
    });
  });
});

describe("ListMachines", () => {
  const machine = (n: number) => ({
    ip: `10.0.0.${n}`,
    uuid: `uuid-${String(n).padStart(4, "0")}`,
    hostId: `i-host${n}`,
  });

  beforeEach(async () => {
    await sls.createMachineGroup(project, machineGroup("route-web", ["xacct-web"]));
  });

  it("lists hosts that carry the group's identifier and are authorized for the project's account", async () => {
    const backend = harness.service.backend;
    backend.recordHeartbeat({
      region,
      authorizedAccounts: [accountB.accountId, accountA.accountId],
      userDefinedIds: ["other-team", "xacct-web"],
      machine: machine(1),
    });
    backend.recordHeartbeat({
      region,
      authorizedAccounts: [accountB.accountId],
      userDefinedIds: ["xacct-web"],
      machine: machine(2),
    });
    backend.recordHeartbeat({
      region,
      authorizedAccounts: "any",
      userDefinedIds: ["unrelated"],
      machine: machine(3),
    });
    backend.recordHeartbeat({
      region: "cn-shanghai",
      authorizedAccounts: "any",
      userDefinedIds: ["xacct-web"],
      machine: machine(4),
    });

    const listed = await sls.listMachines(
      project,
      "route-web",
      new $Sls.ListMachinesRequest({ offset: 0, size: 100 }),
    );
    expect(listed.body?.total).toBe(1);
    expect(listed.body?.machines?.[0]).toMatchObject({
      ip: "10.0.0.1",
      machineUniqueid: "uuid-0001",
      userdefinedId: "other-team xacct-web",
      hostId: "i-host1",
      lastHeartbeatTime: Math.floor(harness.clock.now() / 1000),
    });
  });

  it("pages through up to 500 machines a page and refuses larger pages", async () => {
    for (let n = 1; n <= 7; n += 1) {
      harness.service.backend.recordHeartbeat({
        region,
        authorizedAccounts: [accountA.accountId],
        userDefinedIds: ["xacct-web"],
        machine: machine(n),
      });
    }
    const seen: string[] = [];
    for (let offset = 0; offset < 7; offset += 3) {
      const page = await sls.listMachines(
        project,
        "route-web",
        new $Sls.ListMachinesRequest({ offset, size: 3 }),
      );
      expect(page.body?.total).toBe(7);
      seen.push(...(page.body?.machines ?? []).map((item) => item.machineUniqueid ?? ""));
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => machine(n).uuid));

    const failure = await slsFailure(
      sls.listMachines(project, "route-web", new $Sls.ListMachinesRequest({ offset: 0, size: 501 })),
    );
    expect(failure).toMatchObject({ code: "ParameterInvalid", statusCode: 400 });
  });

  it("drops a host once it has been silent for the staleness window", async () => {
    const backend = harness.service.backend;
    backend.recordHeartbeat({
      region,
      authorizedAccounts: [accountA.accountId],
      userDefinedIds: ["xacct-web"],
      machine: machine(1),
    });
    harness.clock.advance(backend.settings.machineStaleAfterMs);
    const stillThere = await sls.listMachines(project, "route-web", new $Sls.ListMachinesRequest({}));
    expect(stillThere.body?.total).toBe(1);

    harness.clock.advance(1);
    const gone = await sls.listMachines(project, "route-web", new $Sls.ListMachinesRequest({}));
    expect(gone.body).toMatchObject({ count: 0, total: 0, machines: [] });
  });

  it("answers MachineGroupNotExist for a missing group", async () => {
    const failure = await slsFailure(sls.listMachines(project, "nope", new $Sls.ListMachinesRequest({})));
    expect(failure).toMatchObject({ code: "MachineGroupNotExist", statusCode: 404 });
  });
});

describe("Logtail pipeline configs and bindings", () => {
  it("creates, reads, updates, lists, applies and deletes a pipeline config", async () => {
    await sls.createLogtailPipelineConfig(project, pipelineConfig("web-logs"));
    expect(
      await slsFailure(sls.createLogtailPipelineConfig(project, pipelineConfig("web-logs"))),
    ).toMatchObject({
      code: "ConfigAlreadyExist",
      statusCode: 400,
    });

    const got = await sls.getLogtailPipelineConfig(project, "web-logs");
    expect(got.body?.configName).toBe("web-logs");
    expect(got.body?.inputs?.[0]).toMatchObject({ Type: "input_file", AllowingIncludedByMultiConfigs: true });
    expect(got.body?.flushers?.[0]).toMatchObject({ Type: "flusher_sls", Logstore: "app" });

    await sls.updateLogtailPipelineConfig(
      project,
      "web-logs",
      new $Sls.UpdateLogtailPipelineConfigRequest({ ...pipelineConfig("web-logs"), processors: [] }),
    );
    expect((await sls.getLogtailPipelineConfig(project, "web-logs")).body?.processors).toEqual([]);

    const listed = await sls.listLogtailPipelineConfig(
      project,
      new $Sls.ListLogtailPipelineConfigRequest({ offset: 0, size: 10 }),
    );
    expect(listed.body).toMatchObject({ count: 1, total: 1, configs: ["web-logs"] });

    await sls.createMachineGroup(project, machineGroup("route-web", ["xacct-web"]));
    await sls.applyConfigToMachineGroup(project, "route-web", "web-logs");
    await sls.applyConfigToMachineGroup(project, "route-web", "web-logs");
    expect((await sls.getAppliedConfigs(project, "route-web")).body).toMatchObject({
      count: 1,
      configs: ["web-logs"],
    });
    expect((await sls.getAppliedMachineGroups(project, "web-logs")).body).toMatchObject({
      count: 1,
      machinegroups: ["route-web"],
    });

    await sls.removeConfigFromMachineGroup(project, "route-web", "web-logs");
    expect((await sls.getAppliedConfigs(project, "route-web")).body).toMatchObject({ count: 0, configs: [] });

    await sls.deleteLogtailPipelineConfig(project, "web-logs");
    expect(await slsFailure(sls.getLogtailPipelineConfig(project, "web-logs"))).toMatchObject({
      code: "ConfigNotExist",
      statusCode: 404,
    });
  });

  it("requires exactly one input and exactly one flusher_sls into an existing logstore", async () => {
    const cases = [
      pipelineConfig("c-two-inputs", { inputs: [{ Type: "input_file" }, { Type: "input_file" }] }),
      pipelineConfig("c-no-flusher", { flushers: [] }),
      pipelineConfig("c-wrong-flusher", { flushers: [{ Type: "flusher_stdout" }] }),
    ];
    for (const request of cases) {
      expect(await slsFailure(sls.createLogtailPipelineConfig(project, request))).toMatchObject({
        code: "ParameterInvalid",
        statusCode: 400,
      });
    }
    const missingLogstore = pipelineConfig("c-missing", {
      flushers: [{ Type: "flusher_sls", Logstore: "nope" }],
    });
    expect(await slsFailure(sls.createLogtailPipelineConfig(project, missingLogstore))).toMatchObject({
      code: "LogStoreNotExist",
    });
  });

  it("answers MachineGroupNotExist and ConfigNotExist when binding unknown resources", async () => {
    await sls.createMachineGroup(project, machineGroup("route-web", ["xacct-web"]));
    expect(await slsFailure(sls.applyConfigToMachineGroup(project, "route-web", "nope"))).toMatchObject({
      code: "ConfigNotExist",
      statusCode: 404,
    });
    await sls.createLogtailPipelineConfig(project, pipelineConfig("web-logs"));
    expect(await slsFailure(sls.applyConfigToMachineGroup(project, "nope", "web-logs"))).toMatchObject({
      code: "MachineGroupNotExist",
      statusCode: 404,
    });
  });

  it("can make new logstores and configs invisible for a while (eventual consistency knob)", async () => {
    harness.service.backend.configure({ consistencyDelayMs: 2_000 });
    expect(
      await slsFailure(sls.createLogtailPipelineConfig(project, pipelineConfig("web-logs"))),
    ).toMatchObject({
      code: "LogStoreNotExist",
    });
    harness.clock.advance(2_000);
    await sls.createLogtailPipelineConfig(project, pipelineConfig("web-logs"));
    expect(await slsFailure(sls.getLogtailPipelineConfig(project, "web-logs"))).toMatchObject({
      code: "ConfigNotExist",
    });
    harness.clock.advance(2_000);
    expect((await sls.getLogtailPipelineConfig(project, "web-logs")).body?.configName).toBe("web-logs");
  });
});

describe("legacy Logtail configs", () => {
  const legacy = (configName: string) =>
    new $Sls.LogtailConfig({
      configName,
      inputType: "file",
      inputDetail: {
        logType: "common_reg_log",
        logPath: "/var/log/app",
        filePattern: "*.log",
        force_multiconfig: true,
      },
      outputType: "LogService",
      outputDetail: new $Sls.LogtailConfigOutputDetail({
        logstoreName: "app",
        endpoint: `${region}.log.aliyuncs.com`,
      }),
    });

  it("creates, reads, updates, lists and deletes a legacy config", async () => {
    await sls.createConfig(project, new $Sls.CreateConfigRequest({ body: legacy("old-web") }));
    const got = await sls.getConfig(project, "old-web");
    expect(got.body).toMatchObject({
      configName: "old-web",
      inputType: "file",
      outputDetail: { logstoreName: "app" },
    });
    expect(got.body?.inputDetail).toMatchObject({ force_multiconfig: true });

    const updated = legacy("old-web");
    updated.inputDetail = { logType: "common_reg_log", logPath: "/srv/app", filePattern: "*.log" };
    await sls.updateConfig(project, "old-web", new $Sls.UpdateConfigRequest({ body: updated }));
    expect((await sls.getConfig(project, "old-web")).body?.inputDetail).toMatchObject({
      logPath: "/srv/app",
    });

    expect(
      (await sls.listConfig(project, new $Sls.ListConfigRequest({ offset: 0, size: 10 }))).body,
    ).toMatchObject({
      total: 1,
      configs: ["old-web"],
    });
    await sls.deleteConfig(project, "old-web");
    expect(await slsFailure(sls.getConfig(project, "old-web"))).toMatchObject({
      code: "ConfigNotExist",
      statusCode: 404,
    });
  });

  it("enforces the per-project config quota", async () => {
    harness.service.backend.configure({ maxConfigsPerProject: 2 });
    await sls.createConfig(project, new $Sls.CreateConfigRequest({ body: legacy("c1") }));
    await sls.createConfig(project, new $Sls.CreateConfigRequest({ body: legacy("c2") }));
    expect(
      await slsFailure(sls.createConfig(project, new $Sls.CreateConfigRequest({ body: legacy("c3") }))),
    ).toMatchObject({ code: "ExceedQuota", statusCode: 400 });
  });
});
