/**
 * Copy jobs copy: a CreateETL job in account A reads its source logstore by receive time, runs its
 * SPL script and writes into account B's logstore through B's write role. The clock is frozen and
 * advanced by hand; lines are counted with the backend's `logRows`.
 */
import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { createSlsService, type SlsService } from "../../emulator/sls";
import type { SlsBackendOptions } from "../../emulator/sls/backend";
import type { LogGroupColumns } from "../../emulator/sls/logGroupCodec";
import { type Harness, serveService } from "./serviceHarness";
import { logClient } from "./slsDataPlaneKit";
import { accountA, accountB, permanentKey, region, slsClient } from "./slsTestKit";

// Source account A (the spoke), sink account B (the hub).
const sourceProject = "app-logs-a";
const sinkProject = "central-logs-b";
const readRole = `acs:ram::${accountA.accountId}:role/logtail-xacct-read`;
const writeRole = `acs:ram::${accountB.accountId}:role/logtail-xacct-write`;
const untrustingWriteRole = `acs:ram::${accountB.accountId}:role/trusts-someone-else`;
const trust: Record<string, string[]> = {
  [`${accountA.accountId}/logtail-xacct-read`]: ["log.aliyuncs.com"],
  [`${accountB.accountId}/logtail-xacct-write`]: [`${accountA.accountId}@log.aliyuncs.com`],
  [`${accountB.accountId}/trusts-someone-else`]: ["3333333333333333@log.aliyuncs.com"],
};

let harness: Harness<SlsService>;
let spoke: Sls;
let hub: Sls;
let defaults: SlsBackendOptions;

beforeAll(async () => {
  harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
  spoke = slsClient(harness.port, accountA);
  hub = slsClient(harness.port, accountB);
  defaults = { ...harness.service.backend.settings };
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  harness.service.backend.configure(defaults);
  harness.service.backend.useRoles({
    getRole: (accountId, roleName) => {
      const services = trust[`${accountId}/${roleName}`];
      return services === undefined ? undefined : { trustedServices: services };
    },
  });
  await spoke.createProject(new $Sls.CreateProjectRequest({ projectName: sourceProject, description: "" }));
  await spoke.createLogStore(
    sourceProject,
    new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
  );
  await hub.createProject(new $Sls.CreateProjectRequest({ projectName: sinkProject, description: "" }));
  await hub.createLogStore(
    sinkProject,
    new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
  );
});

function copyJob(
  name: string,
  options: { fromTime: number; toTime: number; script?: string; sinkRoleArn?: string },
): $Sls.CreateETLRequest {
  return new $Sls.CreateETLRequest({
    name,
    displayName: name,
    configuration: new $Sls.ETLConfiguration({
      script: options.script ?? "*",
      lang: "SPL",
      logstore: "app",
      roleArn: readRole,
      fromTime: options.fromTime,
      toTime: options.toTime,
      parameters: {},
      sinks: [
        new $Sls.ETLConfigurationSink({
          name: "hub",
          project: sinkProject,
          logstore: "app",
          endpoint: `${region}.log.aliyuncs.com`,
          roleArn: options.sinkRoleArn ?? writeRole,
          datasets: ["__UNNAMED__"],
        }),
      ],
    }),
  });
}

const backend = () => harness.service.backend;
const nowSeconds = () => Math.floor(harness.clock.now() / 1000);
const sourceRows = () => backend().logRows(accountA.accountId, region, sourceProject, "app");
const sinkRows = () => backend().logRows(accountB.accountId, region, sinkProject, "app");

function etlOf(name: string) {
  return backend().getEtl({ accountId: accountA.accountId, region, action: "GetETL" }, sourceProject, name);
}

async function status(name: string): Promise<string | undefined> {
  return (await spoke.getETL(sourceProject, name)).body?.status;
}

/** Every line of the sink as a plain record, in the store's order. */
function sinkLines(): Record<string, string>[] {
  return [...sinkRows().scan(0, 2 ** 32)].map((row) => Object.fromEntries(row.entries()));
}

/** A log group of lines (content fields) at `time`, tagged. */
function group(
  lines: Record<string, string>[],
  time: number,
  tags: Record<string, string> = {},
): LogGroupColumns {
  const keys: string[] = [];
  const values: string[] = [];
  const fieldStart = [0];
  for (const line of lines) {
    for (const [key, value] of Object.entries(line)) {
      keys.push(key);
      values.push(value);
    }
    fieldStart.push(keys.length);
  }
  return {
    topic: "app",
    source: "10.0.0.9",
    tags: Object.entries(tags).flat(),
    times: new Uint32Array(lines.length).fill(time),
    timeNs: undefined,
    fieldStart: Uint32Array.from(fieldStart),
    keys,
    values,
  };
}

/** The in-process PutLogs: one group into the source, stamped with the current receive time. */
function put(lines: Record<string, string>[], tags: Record<string, string> = {}): void {
  const store = backend().logStore(
    { accountId: accountA.accountId, region, action: "PutLogs" },
    sourceProject,
    "app",
  );
  store.append(group(lines, 1_767_000_000, tags), 100, undefined);
}

function numbered(count: number, prefix: string): Record<string, string>[] {
  return Array.from({ length: count }, (_, i) => ({ seq: String(i), msg: `${prefix}-${i}` }));
}

function count(prefix: string): number {
  return sinkLines().filter((line) => line.msg?.startsWith(`${prefix}-`)).length;
}

describe("copy jobs copy the receive-time range", () => {
  it("copies what PutLogs stored in account A into account B, keeping __time__, contents and tags", async () => {
    const client = logClient(harness.port, accountA);
    const post = (msg: string, tag: string) =>
      client.postLogStoreLogs(sourceProject, "app", {
        logs: [{ timestamp: 1_767_225_600, content: { msg, level: "INFO" } }],
        tags: [{ __hostname__: tag }],
        topic: "app",
        source: "10.0.0.7",
      });
    const t0 = nowSeconds();
    await post("before", "h0");
    harness.clock.advance(10_000);
    await post("inside-1", "h1");
    await post("inside-2", "h2");
    harness.clock.advance(10_000);
    await post("at-to-time", "h3");
    expect(sourceRows().lineCount).toBe(4);

    await spoke.createETL(sourceProject, copyJob("range", { fromTime: t0 + 10, toTime: t0 + 20 }));
    expect(await status("range")).toBe("STARTING");
    harness.clock.advance(defaults.etlStartingMs);
    harness.clock.advance(1_000);
    expect(await status("range")).toBe("RUNNING");
    harness.clock.advance(defaults.etlMinRunMs);
    expect(await status("range")).toBe("SUCCEEDED");

    // [from, to): the group received at toTime is not copied, nor the one before fromTime.
    const lines = sinkLines();
    expect(lines.map((line) => line.msg).sort()).toEqual(["inside-1", "inside-2"]);
    const [first] = lines;
    expect(first).toMatchObject({
      level: "INFO",
      __time__: "1767225600",
      __topic__: "app",
      __source__: "10.0.0.7",
      "__tag__:__hostname__": expect.stringMatching(/^h[12]$/),
    });
    // The sink stamps its own receive time: after the job started, not the source's t0 + 10.
    expect(Number(first?.["__tag__:__receive_time__"])).toBeGreaterThanOrEqual(
      t0 + 20 + defaults.etlStartingMs / 1000,
    );
  });

  it("copies the group received at toTime too when toTime is configured inclusive", async () => {
    backend().configure({ etlToTimeInclusive: true, etlSourceReceiveTimeTag: "__source_receive_time__" });
    const t0 = nowSeconds();
    put(numbered(3, "a"));
    harness.clock.advance(5_000);
    put(numbered(4, "b"));
    harness.clock.advance(5_000);
    put(numbered(5, "c"));
    await spoke.createETL(sourceProject, copyJob("inclusive", { fromTime: t0 + 5, toTime: t0 + 10 }));
    harness.clock.advance(defaults.etlStartingMs + defaults.etlMinRunMs);
    expect(await status("inclusive")).toBe("SUCCEEDED");
    expect([count("a"), count("b"), count("c")]).toEqual([0, 4, 5]);
    expect(new Set(sinkLines().map((line) => line["__tag__:__source_receive_time__"]))).toEqual(
      new Set([String(t0 + 5), String(t0 + 10)]),
    );
  });

  it("stays RUNNING until toTime has passed, then copies what arrived before it", async () => {
    const t0 = nowSeconds();
    await spoke.createETL(sourceProject, copyJob("future", { fromTime: t0, toTime: t0 + 120 }));
    harness.clock.advance(60_000);
    put(numbered(6, "late"));
    harness.clock.advance(30_000);
    expect(await status("future")).toBe("RUNNING");
    expect(count("late")).toBe(6);
    harness.clock.advance(30_000);
    put(numbered(2, "after"));
    harness.clock.advance(5_000);
    expect(await status("future")).toBe("SUCCEEDED");
    expect(sinkRows().lineCount).toBe(6);
  });

  it("scans stored receive time at etlCopySpeed seconds per second; the months before the first group cost nothing", async () => {
    const days = 10;
    put(numbered(3, "old"));
    harness.clock.advance(days * 86_400_000);
    put(numbered(5, "recent"));
    const to = nowSeconds() + 1;
    // From 200 days back: the cursor on `fromTime` lands on the first stored group.
    await spoke.createETL(sourceProject, copyJob("backfill", { fromTime: to - 200 * 86_400, toTime: to }));
    const scanMs = ((days * 86_400) / defaults.etlCopySpeed) * 1000;
    harness.clock.advance(defaults.etlStartingMs + scanMs / 2);
    expect(await status("backfill")).toBe("RUNNING");
    expect(count("old")).toBe(3);
    expect(count("recent")).toBe(0);
    harness.clock.advance(scanMs / 2 + defaults.etlTickMs);
    expect(await status("backfill")).toBe("SUCCEEDED");
    expect(count("recent")).toBe(5);
  });
});

describe("SPL", () => {
  beforeEach(() => {
    put(
      [
        { level: "ERROR", code: "500", msg: "e-1" },
        { level: "WARN", code: "404", msg: "w-1" },
        { level: "INFO", code: "200", msg: "i-1" },
      ],
      { __inode__: "7", __path__: "/var/log/app.log" },
    );
    put(
      [
        { level: "ERROR", code: "503", msg: "e-2" },
        { level: "INFO", code: "200", msg: "i-2" },
      ],
      { __inode__: "8", __path__: "/var/log/app.log" },
    );
  });

  async function run(script: string): Promise<Record<string, string>[]> {
    await spoke.createETL(sourceProject, copyJob("spl", { fromTime: 0, toTime: nowSeconds() + 1, script }));
    harness.clock.advance(defaults.etlStartingMs + defaults.etlMinRunMs);
    expect(backend().etlFailure(etlOf("spl"))).toBeUndefined();
    expect(await status("spl")).toBe("SUCCEEDED");
    return sinkLines().sort((a, b) => (a.msg ?? "").localeCompare(b.msg ?? ""));
  }

  it("where: comparisons, in, and / or / not, on fields and on a double-quoted tag", async () => {
    const lines = await run(
      `* | where level in ('ERROR', 'WARN') and not "__tag__:__inode__" = '8' or code >= 503`,
    );
    expect(lines.map((line) => line.msg)).toEqual(["e-1", "e-2", "w-1"]);
  });

  it("where on a tag alone keeps the tags of the lines it copies", async () => {
    const lines = await run(`* | where "__tag__:__inode__" = '8'`);
    expect(lines.map((line) => [line.msg, line["__tag__:__inode__"], line["__tag__:__path__"]])).toEqual([
      ["e-2", "8", "/var/log/app.log"],
      ["i-2", "8", "/var/log/app.log"],
    ]);
  });

  it("extend adds computed fields, project keeps and renames, time and tags pass", async () => {
    const lines = await run(
      `* | where level != 'INFO' | extend severity = 'high', next = code + 1 | project msg, status = code, severity, next`,
    );
    expect(lines).toEqual([
      expect.objectContaining({ msg: "e-1", status: "500", severity: "high", next: "501" }),
      expect.objectContaining({ msg: "e-2", status: "503", severity: "high", next: "504" }),
      expect.objectContaining({ msg: "w-1", status: "404", severity: "high", next: "405" }),
    ]);
    for (const line of lines) {
      expect(line.level).toBeUndefined();
      expect(line.code).toBeUndefined();
      expect(line.__time__).toBe("1767000000");
      expect(line["__tag__:__path__"]).toBe("/var/log/app.log");
    }
  });

  it("a script the job cannot run fails it with the SPL error, and nothing is written", async () => {
    await spoke.createETL(
      sourceProject,
      copyJob("bad-spl", { fromTime: 0, toTime: 0, script: "* | where level = " }),
    );
    await spoke.createETL(
      sourceProject,
      copyJob("bad-command", { fromTime: 0, toTime: 0, script: "* | parse-json msg" }),
    );
    harness.clock.advance(defaults.etlStartingMs);
    expect(await status("bad-spl")).toBe("FAILED");
    expect(backend().etlFailure(etlOf("bad-spl"))).toMatch(/^SPL error: line 1:\d+: mismatched input/);
    expect(backend().etlFailure(etlOf("bad-command"))).toBe("SPL error: unsupported command parse-json");
    harness.clock.advance(60_000);
    expect(sinkRows().lineCount).toBe(0);
  });
});

describe("failures", () => {
  it("fails a job whose write role does not trust the source account, and writes nothing", async () => {
    put(numbered(5, "x"));
    await spoke.createETL(
      sourceProject,
      copyJob("untrusted", { fromTime: 0, toTime: 0, sinkRoleArn: untrustingWriteRole }),
    );
    harness.clock.advance(defaults.etlStartingMs + 60_000);
    expect(await status("untrusted")).toBe("FAILED");
    expect(backend().etlFailure(etlOf("untrusted"))).toBe(
      `sink hub: role ${untrustingWriteRole} does not trust ${accountA.accountId}@log.aliyuncs.com: the job cannot assume it`,
    );
    expect(sinkRows().lineCount).toBe(0);
  });

  it("fails a running job whose sink logstore disappears", async () => {
    await spoke.createETL(sourceProject, copyJob("sink-gone", { fromTime: 0, toTime: 0 }));
    put(numbered(3, "x"));
    harness.clock.advance(defaults.etlStartingMs + 2_000);
    expect(await status("sink-gone")).toBe("RUNNING");
    expect(count("x")).toBe(3);
    await hub.deleteLogStore(sinkProject, "app");
    put(numbered(3, "y"));
    harness.clock.advance(2_000);
    expect(await status("sink-gone")).toBe("FAILED");
    expect(backend().etlFailure(etlOf("sink-gone"))).toBe(
      `sink hub: logstore app does not exist in ${sinkProject}`,
    );
  });
});

describe("restarts and unbounded jobs", () => {
  it("keeps copying new lines while an unbounded job runs", async () => {
    await spoke.createETL(sourceProject, copyJob("follow", { fromTime: nowSeconds(), toTime: 0 }));
    harness.clock.advance(defaults.etlStartingMs);
    for (let round = 1; round <= 3; round += 1) {
      put(numbered(10, `r${round}`));
      harness.clock.advance(3_600_000);
      expect(await status("follow")).toBe("RUNNING");
      expect(sinkRows().lineCount).toBe(10 * round);
    }
  });

  it("resumes after StopETL / StartETL where it stopped, copying nothing twice", async () => {
    await spoke.createETL(sourceProject, copyJob("resume", { fromTime: nowSeconds(), toTime: 0 }));
    harness.clock.advance(defaults.etlStartingMs);
    put(numbered(10, "first"));
    harness.clock.advance(2_000);
    expect(sinkRows().lineCount).toBe(10);

    await spoke.stopETL(sourceProject, "resume");
    put(numbered(5, "while-stopped"));
    harness.clock.advance(60_000);
    expect(await status("resume")).toBe("STOPPED");
    expect(sinkRows().lineCount).toBe(10);

    await spoke.startETL(sourceProject, "resume");
    harness.clock.advance(defaults.etlStartingMs + 2_000);
    expect(await status("resume")).toBe("RUNNING");
    expect([count("first"), count("while-stopped")]).toEqual([10, 5]);
  });

  it("with the re-copy fault, a restart copies again exactly what came after the last save", async () => {
    backend().configure({ etlRestartRecopies: true, etlCheckpointIntervalMs: 60_000 });
    await spoke.createETL(sourceProject, copyJob("recopy", { fromTime: nowSeconds(), toTime: 0 }));
    harness.clock.advance(defaults.etlStartingMs);
    put(numbered(10, "saved"));
    harness.clock.advance(2_000);
    expect(sinkRows().lineCount).toBe(10);
    // The save at 60 s after the start keeps the position after "saved".
    harness.clock.advance(60_000);
    put(numbered(7, "unsaved"));
    harness.clock.advance(2_000);
    expect(sinkRows().lineCount).toBe(17);

    await spoke.stopETL(sourceProject, "recopy");
    harness.clock.advance(defaults.etlStoppingMs);
    await spoke.startETL(sourceProject, "recopy");
    harness.clock.advance(defaults.etlStartingMs + 2_000);
    expect([count("saved"), count("unsaved")]).toEqual([10, 14]);
  });
});

describe("restarts by the service (fleet copyJobs.restartAfterSeconds)", () => {
  /** 100 log groups of one line each, stored now; copied one group per tick (1 s) by the job. */
  async function slowCopy(resumesFrom: "stop" | "lastSave", afterMs: number): Promise<number[]> {
    backend().configure({
      etlServiceRestarts: { [accountA.accountId]: { afterMs, resumesFrom, linesPerTick: 1 } },
    });
    const from = nowSeconds();
    for (let group = 0; group < 100; group += 1) put(numbered(1, `g${group}`));
    harness.clock.advance(1_000);
    await spoke.createETL(sourceProject, copyJob("slow", { fromTime: from, toTime: nowSeconds() + 1 }));
    for (let second = 0; second < 200; second += 1) {
      harness.clock.advance(1_000);
      await status("slow");
    }
    expect(await status("slow")).toBe("SUCCEEDED");
    return Array.from({ length: 100 }, (_, group) => count(`g${group}`));
  }

  it("resumes where the run stopped: every line once", async () => {
    const copies = await slowCopy("stop", 85_000);
    expect(copies.every((n) => n === 1)).toBe(true);
  });

  it("resuming from the last save copies again exactly the lines copied since that save", async () => {
    const copies = await slowCopy("lastSave", 85_000);
    expect(copies.every((n) => n >= 1)).toBe(true);
    const twice = copies.flatMap((n, group) => (n === 2 ? [group] : []));
    // The run started copying at 5 s and saved at 65 s; it restarted at 85 s: about 20 groups.
    expect(twice.length).toBeGreaterThanOrEqual(15);
    expect(twice.length).toBeLessThanOrEqual(25);
    // What the first run copied before its save, and the end of the range, are copied once.
    expect([copies[0], copies[1], copies[98], copies[99]]).toEqual([1, 1, 1, 1]);
    expect(copies.filter((n) => n > 2)).toEqual([]);
  });

  it("does not restart a job that finished copying before the restart was due", async () => {
    const copies = await slowCopy("lastSave", 150_000);
    expect(copies.every((n) => n === 1)).toBe(true);
  });
});

describe("UpdateETL", () => {
  it("resumes a running job from its position, and starts afresh when fromTime changes", async () => {
    const from = nowSeconds();
    await spoke.createETL(sourceProject, copyJob("update", { fromTime: from, toTime: 0 }));
    harness.clock.advance(defaults.etlStartingMs);
    put(numbered(4, "one"));
    harness.clock.advance(2_000);
    const update = (fromTime: number, script: string) =>
      spoke.updateETL(
        sourceProject,
        "update",
        new $Sls.UpdateETLRequest({
          displayName: "update",
          configuration: copyJob("update", { fromTime, toTime: 0, script }).configuration,
        }),
      );
    await update(from, "* | where seq != '-1'");
    harness.clock.advance(defaults.etlStartingMs + 2_000);
    put(numbered(3, "two"));
    harness.clock.advance(2_000);
    expect([count("one"), count("two")]).toEqual([4, 3]);

    await update(from - 1, "*");
    harness.clock.advance(defaults.etlStartingMs + 2_000);
    expect([count("one"), count("two")]).toEqual([8, 6]);
  });
});

describe("cost", () => {
  // Its CPU cost (about 0.17 s here) is a benchmark figure, not a test bound.
  it("copies 100,000 lines through a where filter in one catch-up", async () => {
    for (let g = 0; g < 100; g += 1) put(numbered(1_000, `g${g}`));
    await spoke.createETL(
      sourceProject,
      copyJob("bulk", { fromTime: 0, toTime: nowSeconds() + 1, script: "* | where seq != '-1'" }),
    );
    harness.clock.advance(defaults.etlStartingMs + defaults.etlMinRunMs);
    expect(sinkRows().lineCount).toBe(100_000);
    expect(await status("bulk")).toBe("SUCCEEDED");
  });
});
