import { CloudError } from "../../shared/adapters";
import type { SlsPort } from "../../shared/ports";
import { calls, hub, hubWriteRoleArn, type Kit, region, rejection, spoke, startKit } from "./adapterKit";

let kit: Kit;
let sls: SlsPort;
const project = "ltx-central";
const logstore = "app";

const pipeline = (filePaths: string[]) => ({
  name: "ltx-web-linux",
  filePaths,
  processors: [{ Type: "processor_parse_regex_native", SourceKey: "content", Regex: "(.*)", Keys: ["msg"] }],
  logstore,
  endpoint: `${region}-intranet.log.aliyuncs.com`,
});

/** Calls of operations whose name starts with one of the prefixes. */
function writes(prefixes: string[]): number {
  return kit.emulator
    .metrics()
    .operations.filter(
      (entry) => entry.service === "sls" && prefixes.some((p) => entry.operation.startsWith(p)),
    )
    .reduce((sum, entry) => sum + entry.calls, 0);
}

beforeAll(async () => {
  kit = await startKit();
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(async () => {
  await kit.emulator.reset();
  kit.emulator.sls.configure({ consistencyDelayMs: 0 });
  sls = (await kit.adapters()).sls({ accountId: hub.id, region, project });
});

async function converge(port: SlsPort, paths = ["/var/log/app/*.log"], identifiers = ["ltx-web-linux"]) {
  return [
    await port.ensureProject(),
    await port.ensureLogstore(logstore),
    await port.ensureIndex(logstore),
    await port.ensureMachineGroup("ltx-web-linux", identifiers),
    await port.ensurePipelineConfig(pipeline(paths)),
  ];
}

describe("ensure*", () => {
  it("creates what is missing, then changes nothing on a second pass", async () => {
    expect(await converge(sls)).toEqual(["created", "created", "created", "created", "created"]);
    await sls.applyConfig("ltx-web-linux", "ltx-web-linux");
    kit.emulator.resetMetrics();

    expect(await converge(sls)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged", "unchanged"]);
    expect(writes(["Create", "Update"])).toBe(0);
    expect(await sls.appliedConfigs("ltx-web-linux")).toEqual(["ltx-web-linux"]);
    expect(await sls.logstoreExists(logstore)).toBe(true);
    expect(await sls.indexExists(logstore)).toBe(true);
  });

  it("updates a machine group, a pipeline config and an index that drifted", async () => {
    await converge(sls);
    kit.emulator.resetMetrics();
    expect(await sls.ensureMachineGroup("ltx-web-linux", ["ltx-web-linux", "ltx-web-linux-2"])).toBe(
      "updated",
    );
    expect(await sls.ensurePipelineConfig(pipeline(["/var/log/other/*.log"]))).toBe("updated");
    expect(await sls.ensureIndex(logstore, { fullText: { caseSensitive: true } })).toBe("updated");
    expect(writes(["Create"])).toBe(0);
    expect(writes(["Update"])).toBe(3);
    expect(await sls.ensureIndex(logstore, { fullText: { caseSensitive: true } })).toBe("unchanged");
  });

  it("a service that fills in fields on read (input defaults, the flusher's Project): no update on every pass", async () => {
    kit.emulator.sls.configure({ pipelineReadDefaults: true });
    const handover = {
      ...pipeline(["/var/log/app/*.log"]),
      inputOptions: { AppendingLogPositionMeta: true, TailSizeKB: 0 },
    };
    await converge(sls);
    expect(await sls.ensurePipelineConfig(handover)).toBe("updated");
    kit.emulator.resetMetrics();

    expect(await sls.ensurePipelineConfig(handover)).toBe("unchanged");
    expect(writes(["Update"])).toBe(0);
    // An option the product set before and no longer wants is the product's: taken off.
    expect(await sls.ensurePipelineConfig(pipeline(["/var/log/app/*.log"]))).toBe("updated");
    expect(await sls.ensurePipelineConfig(pipeline(["/var/log/app/*.log"]))).toBe("unchanged");
    const input = await sls.pipelineInput("ltx-web-linux");
    expect(input?.input).toMatchObject({ MaxDirSearchDepth: 0 });
    expect(input?.input).not.toHaveProperty("TailSizeKB");
  });

  it("indexes fields from the routes file's spec, and full text when the spec indexes nothing", async () => {
    await sls.ensureProject();
    await sls.ensureLogstore("fields");
    await sls.ensureLogstore("empty");
    const spec = { keys: { level: { type: "text" as const }, latency: { type: "long" as const } } };
    expect(await sls.ensureIndex("fields", spec)).toBe("created");
    expect(await sls.ensureIndex("fields", spec)).toBe("unchanged");
    expect(await sls.ensureIndex("empty", {})).toBe("created");
    const scope = { accountId: hub.id, region, action: "GetIndex" };
    expect(kit.emulator.sls.getIndex(scope, project, "fields").body).toMatchObject({
      keys: { level: { type: "text", docValue: true }, latency: { type: "long" } },
    });
    expect(kit.emulator.sls.getIndex(scope, project, "empty").body.line?.token).toContain(",");
  });

  it("sends exactly one input_file with AllowingIncludedByMultiConfigs and one flusher_sls", async () => {
    await converge(sls);
    const stored = kit.emulator.sls.getConfig(
      { accountId: hub.id, region, action: "GetLogtailPipelineConfig" },
      project,
      "ltx-web-linux",
      "pipeline",
    );
    expect(stored.body).toMatchObject({
      inputs: [
        { Type: "input_file", FilePaths: ["/var/log/app/*.log"], AllowingIncludedByMultiConfigs: true },
      ],
      processors: [{ Type: "processor_parse_regex_native" }],
      flushers: [
        {
          Type: "flusher_sls",
          Logstore: logstore,
          Region: region,
          Endpoint: `${region}-intranet.log.aliyuncs.com`,
          TelemetryType: "logs",
        },
      ],
    });
  });

  it("retries 'does not exist' right after creation until SLS catches up", async () => {
    kit.emulator.sls.configure({ consistencyDelayMs: 3_000 });
    const sleeps: number[] = [];
    const patient = (
      await kit.adapters({
        slsConsistency: {
          delayMs: 1_000,
          sleep: async (ms) => {
            sleeps.push(ms);
            kit.emulator.advanceClock(ms);
          },
        },
      })
    ).sls({ accountId: hub.id, region, project });
    await patient.ensureProject();
    await patient.ensureLogstore(logstore);
    expect(await patient.ensurePipelineConfig(pipeline(["/var/log/app/*.log"]))).toBe("created");
    expect(sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(calls(kit.emulator, "CreateLogtailPipelineConfig")).toBe(4);
  });

  it("gives up after the settle window with a retryable error", async () => {
    kit.emulator.sls.configure({ consistencyDelayMs: 60_000 });
    await sls.ensureProject();
    await sls.ensureLogstore(logstore);
    const error = await rejection(sls.ensurePipelineConfig(pipeline(["/var/log/app/*.log"])));
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ code: "LogStoreNotExist", retryable: true, httpStatus: 404 });
    expect(calls(kit.emulator, "CreateLogtailPipelineConfig")).toBe(10);
  });
});

describe("bindings and machines", () => {
  it("removes a binding idempotently, and reads a missing group as undefined", async () => {
    await converge(sls);
    await sls.applyConfig("ltx-web-linux", "ltx-web-linux");
    await sls.applyConfig("ltx-web-linux", "ltx-web-linux");
    await sls.removeConfig("ltx-web-linux", "ltx-web-linux");
    await sls.removeConfig("ltx-web-linux", "ltx-web-linux");
    await sls.removeConfig("no-such-group", "ltx-web-linux");
    expect(await sls.appliedConfigs("ltx-web-linux")).toEqual([]);
    expect(await sls.appliedConfigs("no-such-group")).toBeUndefined();
    expect(await sls.listMachines("no-such-group")).toBeUndefined();
    expect(await sls.logstoreExists("nope")).toBe(false);
    expect(await sls.indexExists("nope")).toBe(false);
  });

  it("lists every machine, 500 a page", async () => {
    await converge(sls);
    for (let n = 0; n < 501; n += 1) {
      const suffix = n.toString().padStart(12, "0");
      kit.emulator.sls.recordHeartbeat({
        region,
        authorizedAccounts: [hub.id],
        userDefinedIds: ["ltx-web-linux"],
        machine: {
          ip: `10.1.${n >> 8}.${n & 255}`,
          uuid: `00000000-0000-0000-0000-${suffix}`,
          hostId: `h-${n}`,
        },
      });
    }
    kit.emulator.resetMetrics();
    const machines = (await sls.listMachines("ltx-web-linux")) ?? [];
    expect(calls(kit.emulator, "ListMachines")).toBe(2);
    expect(machines).toHaveLength(501);
    expect(machines[0]).toEqual({
      hostId: "h-0",
      machineUniqueId: "00000000-0000-0000-0000-000000000000",
      userdefinedId: "ltx-web-linux",
      lastHeartbeatTime: Math.floor(kit.emulator.now() / 1000),
      ip: "10.1.0.0",
    });
  });
});

describe("ETL copy jobs and account isolation", () => {
  it("creates the copy job in the source project once, and reads it back", async () => {
    await converge(sls);
    const source = (await kit.adapters()).sls({ accountId: spoke.id, region, project: "spoke-logs" });
    await source.ensureProject();
    await source.ensureLogstore("app");
    const job = {
      name: "ltx-backfill-web-2000000000000002",
      displayName: "logtail-xacct backfill web",
      script: "*",
      logstore: "app",
      roleArn: `acs:ram::${spoke.id}:role/logtail-xacct-read`,
      fromTime: 1_767_000_000,
      toTime: 1_767_003_600,
      sinks: [
        {
          name: "central",
          project,
          logstore,
          endpoint: `${region}.log.aliyuncs.com`,
          roleArn: hubWriteRoleArn,
        },
      ],
    };
    expect(await source.createEtl(job)).toBe("created");
    expect(await source.createEtl(job)).toBe("unchanged");
    expect(calls(kit.emulator, "CreateETL")).toBe(2);
    expect(await source.getEtl(job.name)).toEqual({
      name: job.name,
      displayName: job.displayName,
      status: "STARTING",
      logstore: "app",
      fromTime: job.fromTime,
      toTime: job.toTime,
      script: job.script,
      sinks: [{ name: "central", project, logstore }],
    });
    kit.emulator.advanceClock(6_000);
    expect((await source.listEtls()).map((etl) => [etl.name, etl.status])).toEqual([[job.name, "RUNNING"]]);
    expect(await source.getEtl("no-such-job")).toBeUndefined();
  });

  it("refuses the hub's keys on the spoke's project as a terminal error", async () => {
    const source = (await kit.adapters()).sls({ accountId: spoke.id, region, project: "spoke-logs" });
    await source.ensureProject();
    const trespass = (await kit.adapters()).sls({ accountId: hub.id, region, project: "spoke-logs" });
    expect(await rejection(trespass.ensureLogstore("app"))).toMatchObject({
      code: "Unauthorized",
      httpStatus: 401,
      retryable: false,
      service: "sls",
    });
  });
});
