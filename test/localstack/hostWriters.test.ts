/**
 * Host log writers: the fleet file's `writers` (validation with paths), real files under the
 * host's `/var/log`, rotation both ways, the line format, and the ledger's bounded runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { z } from "zod";
import { formatLine, HostWriters, parseLine, writerSchema } from "../../localstack/fleet/hostWriters";
import { LineLedger } from "../../localstack/fleet/lineLedger";
import { FleetFileError, parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";

const HOST = "i-bp1writer0000001";

/** A frozen clock with timers, advanced by hand. */
function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  let timers: Array<{ at: number; callback: () => void }> = [];
  return {
    now: () => now,
    setTimeout(ms: number, callback: () => void) {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return () => {
        timers = timers.filter((candidate) => candidate !== timer);
      };
    },
    advance(ms: number) {
      now += ms;
      for (;;) {
        const due = timers.filter((timer) => timer.at <= now);
        if (due.length === 0) return;
        timers = timers.filter((timer) => timer.at > now);
        for (const timer of due) timer.callback();
      }
    },
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ltx-writers-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writersWith(specs: Array<z.input<typeof writerSchema>>) {
  const clock = manualClock();
  const ledger = new LineLedger();
  const writers = new HostWriters(clock, ledger);
  writers.add(
    HOST,
    dir,
    specs.map((spec) => writerSchema.parse(spec)),
  );
  writers.start();
  return { clock, ledger, writers };
}

describe("writers in the fleet file", () => {
  const fleet = (writers: unknown, extra: Record<string, unknown> = {}) => ({
    accounts: [{ id: "1700000000000397", name: "app-b" }],
    instances: [{ account: "app-b", region: "cn-hangzhou", writers, ...extra }],
  });

  it("refuses bad writers with what is wrong and where", () => {
    const cases: Array<[unknown, Record<string, unknown>, string]> = [
      [
        [{ path: "/etc/passwd", linesPerSecond: 1 }],
        {},
        "instances.0.writers.0.path: a file under /var/log/",
      ],
      [[{ path: "/var/log/../x", linesPerSecond: 1 }], {}, "instances.0.writers.0.path"],
      [[{ path: "/var/log/a.log", linesPerSecond: 0 }], {}, "instances.0.writers.0.linesPerSecond"],
      [
        [{ path: "/var/log/a.log", linesPerSecond: 1, rotate: { mode: "rename" } }],
        {},
        "instances.0.writers.0.rotate: rotate needs exactly one of sizeBytes and everySeconds",
      ],
      [
        [
          { path: "/var/log/a.log", linesPerSecond: 1 },
          { path: "/var/log/a.log", linesPerSecond: 2 },
        ],
        {},
        "instances.0.writers.1.path: duplicate writer path /var/log/a.log",
      ],
      [
        [
          { path: "/var/log/a.log", linesPerSecond: 1, rotate: { mode: "rename", everySeconds: 60 } },
          { path: "/var/log/a.log.1", linesPerSecond: 1 },
        ],
        {},
        "instances.0.writers.0.rotate: rotated file /var/log/a.log.1 is another writer's path",
      ],
      [
        [{ path: "/var/log/a.log", linesPerSecond: 1 }],
        { os: "windows" },
        "instances.0.writers: log writers",
      ],
      [[{ path: "/var/log/a.log", linesPerSecond: 1, speed: 3 }], {}, "instances.0.writers.0"],
      [[], { agentCrashEverySeconds: 5 }, "instances.0.agentCrashEverySeconds"],
    ];
    for (const [writers, extra, message] of cases) {
      expect(() => parseSimulatedFleet(fleet(writers, extra))).toThrow(FleetFileError);
      expect(() => parseSimulatedFleet(fleet(writers, extra))).toThrow(message);
    }
  });

  it("refuses a PutLogs answer loss above half, with where", () => {
    const lossy = {
      ...fleet([]),
      accounts: [{ id: "1700000000000397", name: "app-b", putLogsAnswerLoss: 0.9 }],
    };
    expect(() => parseSimulatedFleet(lossy)).toThrow("accounts.0.putLogsAnswerLoss");
  });

  it("accepts writers with defaults", () => {
    const spec = parseSimulatedFleet(fleet([{ path: "/var/log/app/a.log", linesPerSecond: 20 }]));
    expect(spec.instances[0]?.writers).toEqual([
      { path: "/var/log/app/a.log", linesPerSecond: 20, lineBytes: 200 },
    ]);
  });
});

describe("writing", () => {
  it("writes nothing on a frozen clock, then the lines due, each naming host, path and sequence", () => {
    const { clock, ledger } = writersWith([
      { path: "/var/log/app/a.log", linesPerSecond: 4, lineBytes: 120 },
    ]);
    const file = join(dir, "var-log", "app", "a.log");
    expect(existsSync(file)).toBe(false);
    clock.advance(1_000);
    clock.advance(1_000);
    clock.advance(500); // no tick in between: nothing more
    const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
    expect(lines).toHaveLength(8);
    expect(lines.every((line) => Buffer.byteLength(line) + 1 === 120)).toBe(true);
    expect(lines.map((line) => parseLine(line))).toEqual(
      lines.map((_, i) => ({
        at: Date.UTC(2026, 0, 1) + (i < 4 ? 1_000 : 2_000),
        instanceId: HOST,
        path: "/var/log/app/a.log",
        seq: i + 1,
      })),
    );
    // The file's mtime is emulator time (what the agent's 120 s rule compares with).
    expect(statSync(file).mtimeMs).toBe(Date.UTC(2026, 0, 1) + 2_000);
    expect(ledger.totals()).toMatchObject({ files: 1, lines: 8, bytes: 960, runs: 1 });
  });

  it("keeps the ledger to a few runs for many lines, and locates any line", () => {
    const { clock, ledger } = writersWith([
      { path: "/var/log/a.log", linesPerSecond: 1_000, lineBytes: 100 },
    ]);
    for (let i = 0; i < 60; i += 1) clock.advance(1_000);
    expect(ledger.totals()).toMatchObject({ lines: 60_000, runs: 1 });
    const where = ledger.locate(HOST, "/var/log/a.log", 12_345);
    const content = readFileSync(join(dir, "var-log", "a.log"));
    expect(where?.offset).toBe(12_344 * 100);
    expect(parseLine(content.toString("utf8", where?.offset, (where?.offset ?? 0) + 100))?.seq).toBe(12_345);
    expect(where?.inode).toBe(statSync(join(dir, "var-log", "a.log")).ino);
  });

  it("rotates by renaming: the old inode moves to .1 and a new file takes the name", () => {
    const { clock, ledger } = writersWith([
      {
        path: "/var/log/a.log",
        linesPerSecond: 10,
        lineBytes: 100,
        rotate: { mode: "rename", sizeBytes: 2_000, keep: 2 },
      },
    ]);
    for (let i = 0; i < 5; i += 1) clock.advance(1_000);
    const base = join(dir, "var-log", "a.log");
    const runs = ledger.file(HOST, "/var/log/a.log").runs;
    expect(runs.map((run) => [run.firstSeq, run.lastSeq, run.startOffset])).toEqual([
      [1, 20, 0],
      [21, 40, 0],
      [41, 50, 0],
    ]);
    expect(statSync(base).ino).toBe(runs[2]?.inode);
    expect(statSync(`${base}.1`).ino).toBe(runs[1]?.inode);
    expect(statSync(`${base}.2`).ino).toBe(runs[0]?.inode);
    expect(parseLine(readFileSync(`${base}.2`, "utf8"))?.seq).toBe(1);
  });

  it("rotates by copytruncate: the copy holds the old lines, the inode stays and starts again at 0", () => {
    const { clock, ledger } = writersWith([
      {
        path: "/var/log/a.log",
        linesPerSecond: 10,
        lineBytes: 100,
        rotate: { mode: "copytruncate", everySeconds: 3 },
      },
    ]);
    for (let i = 0; i < 4; i += 1) clock.advance(1_000);
    const base = join(dir, "var-log", "a.log");
    const runs = ledger.file(HOST, "/var/log/a.log").runs;
    // The rotation falls due at 3 s, before that second's lines.
    expect(runs.map((run) => [run.firstSeq, run.lastSeq, run.startOffset])).toEqual([
      [1, 20, 0],
      [21, 40, 0],
    ]);
    expect(runs[0]?.inode).toBe(runs[1]?.inode);
    expect(statSync(`${base}.1`).size).toBe(2_000);
    expect(statSync(base).size).toBe(2_000);
    expect(statSync(base).ino).toBe(runs[0]?.inode);
    expect(parseLine(readFileSync(base, "utf8"))?.seq).toBe(21);
  });

  it("formats a line that parses back, and pads it to its size", () => {
    const line = formatLine(Date.UTC(2026, 0, 1), HOST, "/var/log/x.log", 7, 150);
    expect(Buffer.byteLength(line)).toBe(150);
    expect(line.endsWith("x\n")).toBe(true);
    expect(parseLine(line)).toEqual({
      at: Date.UTC(2026, 0, 1),
      instanceId: HOST,
      path: "/var/log/x.log",
      seq: 7,
    });
    expect(parseLine("some other line")).toBeUndefined();
  });
});
