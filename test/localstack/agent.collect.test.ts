/**
 * Simulated agents collect the hosts' files by Logtail's rules (localstack/README.md "Collection")
 * and ship them through the emulator's PutLogs; every expectation is counted against the writers'
 * ledger and the lines read back through `emulator.sls.logRows`.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onDisk } from "../../localstack/agent/hostPaths";
import { formatLine } from "../../localstack/fleet/hostWriters";
import {
  APP,
  type Harness,
  HOST,
  HUB,
  oneHostFleet,
  project,
  REGION,
  START,
  startHarness,
} from "./support/collectHarness";

const LINE = 200;

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Creates and binds a pipeline config now (so its createTime is now), as the console would. */
function addConfig(
  h: Harness,
  projectName: string,
  name: string,
  filePath: string,
  input: Record<string, unknown> = {},
): void {
  const scope = { accountId: APP.id, region: REGION, action: "CreateLogtailPipelineConfig" };
  h.emulator.sls.createPipelineConfig(scope, projectName, {
    configName: name,
    inputs: [{ Type: "input_file", FilePaths: [filePath], ...input }],
    flushers: [
      { Type: "flusher_sls", Logstore: "logs", Region: REGION, Endpoint: "x", TelemetryType: "logs" },
    ],
  });
  h.emulator.sls.applyConfigToMachineGroup(scope, projectName, "web", name);
}

/** A quiet writer: writes only what the test appends with `writeRaw`. */
const quiet = (path: string) => ({ path, linesPerSecond: 0.0001, lineBytes: LINE });

function appendLines(h: Harness, path: string, count: number): number[] {
  const seqs: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const seq = (h.fleet.ledger.file(HOST, path).runs.at(-1)?.lastSeq ?? 0) + 1;
    h.fleet.writers.writeRaw(HOST, path, Buffer.from(formatLine(h.emulator.now(), HOST, path, seq, LINE)));
    seqs.push(seq);
  }
  return seqs;
}

function seqsIn(h: Harness, projectName: string, path: string): number[] {
  return h
    .stored(projectName, "logs")
    .filter((line) => line.path === path)
    .map((line) => line.seq)
    .sort((a, b) => a - b);
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe("which config reads a file", () => {
  it("gives a file to the deepest base path, then to the oldest config; the others read nothing", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 5, lineBytes: LINE }],
        [project("shallow", []), project("deep", []), project("older", []), project("newer", [])],
      ),
      { configDelayMs: () => 0 },
    );
    const h = harness;
    addConfig(h, "shallow", "shallow", "/var/log/**/*.log", { MaxDirSearchDepth: 2 });
    await h.advance(5);
    addConfig(h, "older", "older", "/var/log/app/*.log");
    await h.advance(5);
    addConfig(h, "newer", "newer", "/var/log/app/*.log");
    addConfig(h, "deep", "deep", "/var/log/app/*.log");
    await h.advance(5);
    h.fleet.writers.stop();
    await h.advance(3);

    const written = h.fleet.ledger.file(HOST, "/var/log/app/a.log").lines;
    expect(written).toBe(75);
    // "shallow" read until "older" arrived; from then on "older" (same depth as "newer" and "deep",
    // created first) owns the file. "newer" and "deep" were created at the same moment, later.
    expect(seqsIn(h, "newer", "/var/log/app/a.log")).toEqual([]);
    expect(seqsIn(h, "deep", "/var/log/app/a.log")).toEqual([]);
    const shallow = seqsIn(h, "shallow", "/var/log/app/a.log");
    const older = seqsIn(h, "older", "/var/log/app/a.log");
    expect(shallow).toEqual(range(1, shallow.length));
    expect(shallow.length).toBeGreaterThan(10);
    // The new owner sees an existing file for the first time: TailSizeKB (1024) covers all of it,
    // so what "shallow" read is read again (the hand-over duplicates of the real agent).
    expect(older).toEqual(range(1, written));
  });

  it("reads with a forced config as well, each config with its own reader", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 4, lineBytes: LINE }],
        [
          project("owner", [{ name: "owner", filePaths: ["/var/log/app/*.log"] }]),
          project("forced", [
            { name: "forced", filePaths: ["/var/log/app/*.log"], allowingIncludedByMultiConfigs: true },
          ]),
          project("loser", [{ name: "loser", filePaths: ["/var/log/app/a.*"] }]),
        ],
      ),
    );
    const h = harness;
    await h.advance(10);
    h.fleet.writers.stop();
    await h.advance(2);

    const all = range(1, h.fleet.ledger.file(HOST, "/var/log/app/a.log").lines);
    expect(all).toHaveLength(40);
    expect(
      seqsIn(h, "owner", "/var/log/app/a.log").length + seqsIn(h, "loser", "/var/log/app/a.log").length,
    ).toBe(40);
    expect(seqsIn(h, "forced", "/var/log/app/a.log")).toEqual(all);
    expect(
      h.fleet.collector
        .readerOffsets(HOST)
        .map((reader) => reader.config)
        .sort(),
    ).toHaveLength(2);
  });
});

describe("where reading starts", () => {
  it("starts an existing file TailSizeKB before its end at a line start, a new file at 0", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 10, lineBytes: LINE }],
        [project("proj", [])],
      ),
      { configDelayMs: () => 0 },
    );
    const h = harness;
    await h.advance(60);
    addConfig(h, "proj", "tail", "/var/log/app/*.log", { TailSizeKB: 1 });
    await h.advance(1);
    // Writers tick before the agent at the same instant: the file held `before` lines at registration.
    const before = h.fleet.ledger.file(HOST, "/var/log/app/a.log").lines;
    h.fleet.writers.add(HOST, h.fleet.hosts.get(HOST)?.hostDir() ?? "", [quiet("/var/log/app/late.log")]);
    await h.advance(1);
    appendLines(h, "/var/log/app/late.log", 3);
    await h.advance(2);

    // 1 KB before the end of 200-byte lines is inside line before-5; reading starts at line before-4.
    const seqs = seqsIn(h, "proj", "/var/log/app/a.log");
    expect(seqs[0]).toBe(before - 4);
    expect(seqs).toEqual(range(before - 4, seqs.at(-1) ?? 0));
    expect(seqsIn(h, "proj", "/var/log/app/late.log")).toEqual([1, 2, 3]);
  });

  it("a file created just before a config update is read from 0, not taken for an existing one", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 10, lineBytes: LINE }],
        [project("proj", [])],
      ),
      { configDelayMs: () => 0 },
    );
    const h = harness;
    addConfig(h, "proj", "dest", "/var/log/app/*.log", { TailSizeKB: 0 });
    await h.advance(10);
    // In one instant: a new file (a rotation's new name) and a config change elsewhere. A running
    // agent saw the file's creation before it re-registered (inotify).
    h.fleet.writers.add(HOST, h.fleet.hosts.get(HOST)?.hostDir() ?? "", [quiet("/var/log/app/new.log")]);
    appendLines(h, "/var/log/app/new.log", 3);
    addConfig(h, "proj", "other", "/var/log/other/*.log");
    await h.advance(2);

    expect(h.fleet.collector.configsOf(HOST).sort()).toEqual(
      expect.arrayContaining([expect.stringContaining("dest"), expect.stringContaining("other")]),
    );
    expect(seqsIn(h, "proj", "/var/log/app/new.log")).toEqual([1, 2, 3]);
  });

  it("notices a file idle for more than 120 s only at its next write", async () => {
    harness = await startHarness(oneHostFleet([quiet("/var/log/app/q.log")], [project("proj", [])]), {
      configDelayMs: () => 0,
    });
    const h = harness;
    appendLines(h, "/var/log/app/q.log", 10);
    await h.advance(200);
    addConfig(h, "proj", "files", "/var/log/app/*.log");
    await h.advance(30);
    expect(seqsIn(h, "proj", "/var/log/app/q.log")).toEqual([]);

    appendLines(h, "/var/log/app/q.log", 1);
    await h.advance(2);
    // First sight of an existing file: the default TailSizeKB (1024) covers all 11 lines.
    expect(seqsIn(h, "proj", "/var/log/app/q.log")).toEqual(range(1, 11));
  });
});

describe("rotation", () => {
  it("rename-and-create: the reader follows the old inode to its end, the new file is read from 0", async () => {
    harness = await startHarness(
      oneHostFleet(
        [
          {
            path: "/var/log/app/a.log",
            linesPerSecond: 7,
            lineBytes: LINE,
            rotate: { mode: "rename", sizeBytes: 3000, keep: 2 },
          },
        ],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
    );
    const h = harness;
    await h.advance(40);
    h.fleet.writers.stop();
    await h.advance(2);

    const ledger = h.fleet.ledger.file(HOST, "/var/log/app/a.log");
    // 14 lines of 200 bytes fit in 3000: a new file every 2 s (inodes of deleted files are reused,
    // which the agent tells apart by the first bytes of a file).
    expect(ledger.runs.filter((run) => run.startOffset === 0).length).toBeGreaterThan(15);
    const counts = h.counts("proj", "logs");
    expect(counts.size).toBe(ledger.lines);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it("copytruncate: lines written after the last read and before the truncation are lost", async () => {
    harness = await startHarness(
      oneHostFleet(
        [quiet("/var/log/app/a.log")],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
    );
    const h = harness;
    await h.advance(1);
    const read = appendLines(h, "/var/log/app/a.log", 5);
    await h.advance(2);
    const lost = appendLines(h, "/var/log/app/a.log", 2);
    h.fleet.writers.rotateNow(HOST, "/var/log/app/a.log", "copytruncate");
    const after = appendLines(h, "/var/log/app/a.log", 3);
    await h.advance(2);

    expect(seqsIn(h, "proj", "/var/log/app/a.log")).toEqual([...read, ...after]);
    expect(lost).toEqual([6, 7]);
    // The same inode carries on: the ledger shows a run starting again at offset 0.
    const runs = h.fleet.ledger.file(HOST, "/var/log/app/a.log").runs;
    expect(runs.at(-1)?.inode).toBe(runs[0]?.inode);
    expect(runs.filter((run) => run.startOffset === 0)).toHaveLength(2);
  });
});

describe("config removal", () => {
  it("sends what the removed config read, reads nothing after, and forgets its checkpoints", async () => {
    harness = await startHarness(
      oneHostFleet(
        [quiet("/var/log/app/a.log")],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
      { configDelayMs: () => 10_000 },
    );
    const h = harness;
    await h.advance(1);
    const first = appendLines(h, "/var/log/app/a.log", 3);
    await h.advance(2);
    // The config is removed in SLS; the agent learns it 10 s later. Meanwhile it reads on, and the
    // send of what it read fails until after the removal reached it.
    h.emulator.sls.removeConfigFromMachineGroup(
      { accountId: APP.id, region: REGION, action: "RemoveConfigFromMachineGroup" },
      "proj",
      "web",
      "files",
    );
    h.emulator.addFault({ service: "sls", operation: "PutLogs", times: 4 });
    const inFlight = appendLines(h, "/var/log/app/a.log", 2);
    await h.advance(12);
    expect(h.fleet.collector.configsOf(HOST)).toEqual([]);
    const unread = appendLines(h, "/var/log/app/a.log", 2);
    await h.advance(40);

    expect(seqsIn(h, "proj", "/var/log/app/a.log")).toEqual([...first, ...inFlight]);
    expect(unread).toEqual([6, 7]);
    expect(h.fleet.collector.readerOffsets(HOST)).toEqual([]);
  });
});

describe("fields and agent versions", () => {
  it("ships __time__, __source__, the tags, and with AppendingLogPositionMeta the offset and inode", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 3, lineBytes: LINE }],
        [
          project("proj", [
            { name: "files", filePaths: ["/var/log/app/*.log"], appendingLogPositionMeta: true },
          ]),
        ],
      ),
    );
    const h = harness;
    await h.advance(5);
    const lines = h.stored("proj", "logs");
    expect(lines).toHaveLength(15);
    const host = h.fleet.hosts.get(HOST);
    for (const line of lines) {
      const where = h.fleet.ledger.locate(HOST, line.path, line.seq);
      expect(line.fields.get("__file_offset__")).toBe(String(where?.offset));
      expect(line.fields.get("__tag__:__inode__")).toBe(String(where?.inode));
      expect(line.fields.get("__source__")).toBe(host?.ip);
      expect(line.fields.get("__tag__:__hostname__")).toBe(HOST);
      // A Logtail host gives no host id by default (unverified; LoongCollector's is the instance id).
      expect(line.fields.get("__tag__:__host_id__")).toBeUndefined();
      expect(line.fields.get("__tag__:__path__")).toBe("/var/log/app/a.log");
      expect(line.fields.get("__tag__:__user_defined_id__")).toBe("web");
      expect(line.fields.get("__tag__:__pack_id__")).toMatch(/^[0-9A-F]{16}-[0-9A-F]+$/);
      // __time__ is the read time: within the tick after the line's write.
      const time = Number(line.fields.get("__time__"));
      expect(time * 1000).toBeGreaterThanOrEqual(START);
      expect(time * 1000).toBeLessThanOrEqual(h.emulator.now());
    }
  });

  it("an old 1.x Logtail: no position meta, and a forced config competes like any other", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 3, lineBytes: LINE }],
        [
          project("owner", [
            { name: "owner", filePaths: ["/var/log/app/*.log"], appendingLogPositionMeta: true },
          ]),
          project("forced", [
            { name: "forced", filePaths: ["/var/log/app/*.log"], allowingIncludedByMultiConfigs: true },
          ]),
        ],
        { agentVersion: "1.8.7" },
      ),
    );
    const h = harness;
    await h.advance(5);
    const owner = h.stored("owner", "logs");
    const forced = h.stored("forced", "logs");
    expect(owner.length + forced.length).toBe(15);
    expect(Math.min(owner.length, forced.length)).toBe(0);
    for (const line of [...owner, ...forced]) {
      expect(line.fields.has("__file_offset__")).toBe(false);
      expect(line.fields.has("__tag__:__inode__")).toBe(false);
    }
  });
});

describe("duplicates the real agent makes", () => {
  it("a crash re-reads from the checkpoint saved every 15 minutes", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 2, lineBytes: LINE }],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
    );
    const h = harness;
    const file = () => h.fleet.ledger.file(HOST, "/var/log/app/a.log").lines;
    await h.advance(899);
    // The save at 900 s happens before that tick's read: it holds everything written by now.
    const atSave = file();
    await h.advance(301);
    const atCrash = file();
    h.fleet.collector.crash(HOST);
    await h.advance(10);
    h.fleet.writers.stop();
    await h.advance(2);

    const counts = h.counts("proj", "logs");
    const twice = [...counts.entries()].filter(([, n]) => n === 2).map(([key]) => Number(key.split("#")[1]));
    expect(counts.size).toBe(file());
    expect([...counts.values()].every((n) => n === 1 || n === 2)).toBe(true);
    expect(twice.sort((a, b) => a - b)).toEqual(range(atSave + 1, atCrash));
  });

  it("a PutLogs whose answer was lost is sent again with the same __pack_id__; a lost request is not doubled", async () => {
    harness = await startHarness(
      oneHostFleet(
        [quiet("/var/log/app/a.log")],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
    );
    const h = harness;
    await h.advance(1);
    h.emulator.addFault({ service: "sls", operation: "PutLogs", lose: "response", times: 1 });
    const doubled = appendLines(h, "/var/log/app/a.log", 4);
    await h.advance(4);
    h.emulator.addFault({ service: "sls", operation: "PutLogs", lose: "request", times: 1 });
    const single = appendLines(h, "/var/log/app/a.log", 3);
    await h.advance(4);

    const lines = h.stored("proj", "logs");
    // The resend may arrive after later packs: count, do not order.
    expect(lines.map((line) => line.seq).sort((a, b) => a - b)).toEqual(
      [...doubled, ...doubled, ...single].sort((a, b) => a - b),
    );
    const packOf = (seqs: number[]) =>
      new Set(
        lines.filter((line) => seqs.includes(line.seq)).map((line) => line.fields.get("__tag__:__pack_id__")),
      );
    expect(packOf(doubled).size).toBe(1);
    expect(packOf(single).size).toBe(1);
    expect([...packOf(single)]).not.toEqual([...packOf(doubled)]);
    expect(h.fleet.collector.stats().resends).toBe(2);
  });
});

describe("unusual files", () => {
  it("replaces invalid UTF-8, splits an overlong line, reads a removed file to its end; the ledger says so", async () => {
    harness = await startHarness(
      oneHostFleet(
        [quiet("/var/log/app/a.log")],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
      { maxLineBytes: 1024 },
    );
    const h = harness;
    await h.advance(1);
    h.fleet.writers.writeRaw(HOST, "/var/log/app/a.log", Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x21]));
    h.fleet.writers.writeRaw(HOST, "/var/log/app/a.log", Buffer.alloc(2500, 0x61));
    appendLines(h, "/var/log/app/a.log", 2);
    // The file disappears before the agent's next read: its open reader still reads it to the end.
    await h.advance(1);
    appendLines(h, "/var/log/app/a.log", 1);
    const hostDir = h.fleet.hosts.get(HOST)?.hostDir() ?? "";
    rmSync(onDisk(hostDir, "/var/log/app/a.log") ?? join(hostDir, "missing"));
    await h.advance(3);

    const contents = h.stored("proj", "logs").map((line) => line.content);
    expect(contents[0]).toBe("ok\uFFFD\uFFFD!");
    expect(contents.slice(1, 4).map((text) => text.length)).toEqual([1024, 1024, 452]);
    expect(contents.slice(4).map((text) => text.split(" ")[4])).toEqual(["seq=3", "seq=4", "seq=5"]);
    expect(h.fleet.ledger.fates().map((fate) => [fate.fate, fate.fromOffset, fate.toOffset])).toEqual([
      ["invalid-utf8", 0, 5],
      ["split", 6, 2506],
    ]);
    expect(h.fleet.collector.readerOffsets(HOST)).toEqual([]);
  });
});

describe("which configs reach a host", () => {
  it("only accounts the host authorizes, each account's changes after its own delay", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: "/var/log/app/a.log", linesPerSecond: 1, lineBytes: LINE }],
        [project("own-logs", []), { ...project("hub-logs", []), account: "hub" }],
      ),
      { configDelayMs: (account) => (account === APP.id ? 5_000 : 30_000) },
    );
    const h = harness;
    const bind = (accountId: string, projectName: string): void => {
      const scope = { accountId, region: REGION, action: "CreateLogtailPipelineConfig" };
      h.emulator.sls.createPipelineConfig(scope, projectName, {
        configName: "files",
        inputs: [
          { Type: "input_file", FilePaths: ["/var/log/app/*.log"], AllowingIncludedByMultiConfigs: true },
        ],
        flushers: [{ Type: "flusher_sls", Logstore: "logs" }],
      });
      h.emulator.sls.applyConfigToMachineGroup(scope, projectName, "web", "files");
    };
    bind(HUB.id, "hub-logs");
    await h.advance(40);
    // No UID file for the hub: its config does not reach the host.
    expect(h.fleet.collector.configsOf(HOST)).toEqual([]);

    const hostDir = h.fleet.hosts.get(HOST)?.hostDir() ?? "";
    mkdirSync(join(hostDir, "etc-ilogtail", "users"), { recursive: true });
    writeFileSync(join(hostDir, "etc-ilogtail", "users", HUB.id), "");
    // The agent re-reads its identity files within a minute.
    for (
      let second = 0;
      second < 61 && !h.fleet.agents.identity(HOST)?.accountIds.includes(HUB.id);
      second += 1
    ) {
      await h.advance(1);
    }
    expect(h.fleet.agents.identity(HOST)?.accountIds).toContain(HUB.id);
    const hub = `${HUB.id}/hub-logs/files`;
    const own = `${APP.id}/own-logs/files`;
    // The hub's config existed before the UID file: it arrives 30 s after the agent saw the file.
    expect(h.fleet.collector.configsOf(HOST)).toEqual([]);
    // (The collector may tick before the heartbeat simulator in the same second: ±1 s.)
    await h.advance(28);
    expect(h.fleet.collector.configsOf(HOST)).toEqual([]);
    await h.advance(3);
    expect(h.fleet.collector.configsOf(HOST)).toEqual([hub]);

    // Changes made at the same moment in both accounts arrive in the order of their delays.
    h.emulator.sls.removeConfigFromMachineGroup(
      { accountId: HUB.id, region: REGION, action: "RemoveConfigFromMachineGroup" },
      "hub-logs",
      "web",
      "files",
    );
    bind(APP.id, "own-logs");
    await h.advance(6);
    expect(h.fleet.collector.configsOf(HOST)).toEqual([hub, own]);
    await h.advance(25);
    expect(h.fleet.collector.configsOf(HOST)).toEqual([own]);
    expect(h.stored("hub-logs", "logs", HUB.id).length).toBeGreaterThan(0);
  });
});
