/**
 * Collection benchmark (issue 13): hosts writing lines and their simulated agents collecting them
 * through the emulator's PutLogs, all on one event loop. Targets: 300 hosts × 20 lines/s collected
 * with < 25% of one core spent in agents and ingest, and a line in its logstore within 2 s of
 * emulated time of being written (p99).
 *
 * The run is real time (clock scale 1 unless asked): CPU is `process.cpuUsage()` of the whole
 * process over the run — the writers, the agents, the HTTP client and the emulator's ingest —, so
 * it is an upper bound of "agents and ingest". Latency is per line, from the time written into the
 * line to the emulator clock when PutLogs answered (the oldest line of each pack stands for all of
 * its lines: an upper bound).
 *
 * Called from bench/dataplane.ts: `measureCollection()`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../emulator/index";
import { parseLine } from "../localstack/fleet/hostWriters";
import { parseSimulatedFleet, startSimulatedFleet } from "../localstack/fleet/simulatedFleet";
import { quantile } from "./common";

export const COLLECTION_TARGET_CPU_SHARE = 0.25;
export const COLLECTION_TARGET_P99_MS = 2_000;

export interface CollectionOptions {
  hosts: number;
  linesPerSecond: number;
  lineBytes: number;
  /** Wall seconds measured (after a warm-up of `warmupSeconds`). */
  seconds: number;
  warmupSeconds: number;
  /** Emulator ms per wall ms. */
  scale: number;
}

export interface CollectionFigures {
  hosts: number;
  /** Lines written in the measured window. */
  linesWritten: number;
  /** Lines written in the whole run (warm-up, window, drain) and lines stored: equal when none is lost or doubled. */
  allLinesWritten: number;
  linesStored: number;
  /** CPU seconds per wall second over the measured window (1 = one core). */
  cpuShare: number;
  /** Emulated seconds the window lasted. */
  emulatedSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  packsSent: number;
  resends: number;
  /** Heap of the process after the run (MB), for orientation. */
  heapMB: number;
}

const account = { id: "1000000000000002", name: "bench-collect" };
const region = "cn-hangzhou";

export async function measureCollection(
  options: Partial<CollectionOptions> = {},
): Promise<CollectionFigures> {
  const o: CollectionOptions = {
    hosts: 300,
    linesPerSecond: 20,
    lineBytes: 200,
    seconds: 20,
    warmupSeconds: 3,
    scale: 1,
    ...options,
  };
  const workDir = mkdtempSync(join(tmpdir(), "ltx-bench-collect-"));
  const emulator = await startEmulator({ clock: { scale: o.scale } });
  const latencies: number[] = [];
  let measuring = false;
  try {
    const fleet = await startSimulatedFleet(
      emulator,
      parseSimulatedFleet({
        accounts: [account],
        instances: [
          {
            account: account.name,
            region,
            count: o.hosts,
            name: "writer",
            userDefinedIds: ["bench-web"],
            writers: [
              { path: "/var/log/app/app.log", linesPerSecond: o.linesPerSecond, lineBytes: o.lineBytes },
            ],
          },
        ],
        projects: [
          {
            account: account.name,
            region,
            name: "bench-collect",
            logstores: ["app"],
            machineGroups: [{ name: "web", identifiers: ["bench-web"] }],
            configs: [{ name: "app-files", logstore: "app", filePaths: ["/var/log/app/*.log"] }],
            bindings: [{ machineGroup: "web", config: "app-files" }],
          },
        ],
      }),
      {
        workDir,
        onDelivered: (pack) => {
          if (!measuring) return;
          const written = parseLine(pack.firstLine)?.at;
          if (written === undefined) return;
          const latency = pack.at - written;
          for (let i = 0; i < pack.lines; i += 1) latencies.push(latency);
        },
      },
    );
    await wallSleep(o.warmupSeconds * 1000);
    measuring = true;
    const linesBefore = fleet.ledger.totals().lines;
    const emulatedStart = emulator.now();
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    await wallSleep(o.seconds * 1000);
    const cpu = process.cpuUsage(cpuStart);
    const wall = (performance.now() - wallStart) / 1000;
    const emulatedSeconds = (emulator.now() - emulatedStart) / 1000;
    measuring = false;
    const linesWritten = fleet.ledger.totals().lines - linesBefore;
    // Drain: stop writing, let the agents read and send the rest, then compare everything.
    fleet.writers.stop();
    await wallSleep(Math.ceil(2_000 / o.scale) + 500);
    await fleet.settleCollection();
    const stats = fleet.collector.stats();
    const linesStored = emulator.sls.logRows(account.id, region, "bench-collect", "app").lineCount;
    const allLinesWritten = fleet.ledger.totals().lines;
    fleet.stop();
    latencies.sort((a, b) => a - b);
    return {
      hosts: o.hosts,
      linesWritten,
      allLinesWritten,
      linesStored,
      cpuShare: (cpu.user + cpu.system) / 1e6 / wall,
      emulatedSeconds,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP99Ms: quantile(latencies, 0.99),
      latencyMaxMs: latencies.at(-1) ?? 0,
      packsSent: stats.packsSent,
      resends: stats.resends,
      heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    };
  } finally {
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const wallSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });
