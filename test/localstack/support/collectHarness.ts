/**
 * A frozen-clock emulator with a simulated fleet whose hosts write logs and whose agents collect
 * them, for the collection tests: step the clock a second at a time (waiting for the agents'
 * PutLogs), read the stored lines back through `emulator.sls.logRows`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../../emulator/index";
import type { LogCollectorOptions } from "../../../localstack/agent/logCollector";
import { parseLine } from "../../../localstack/fleet/hostWriters";
import {
  parseSimulatedFleet,
  type SimulatedFleet,
  type SimulatedFleetInput,
  startSimulatedFleet,
} from "../../../localstack/fleet/simulatedFleet";

export const REGION = "cn-hangzhou";
export const APP = { id: "1700000000000397", name: "app-b" };
export const HUB = { id: "1200000000000456", name: "hub" };
export const HOST = "i-bp1collect000001";
export const START = Date.UTC(2026, 0, 1);

export interface StoredLine {
  seq: number;
  path: string;
  content: string;
  fields: Map<string, string>;
}

export interface Harness {
  emulator: EmulatorHandle;
  fleet: SimulatedFleet;
  /** Advances emulator time second by second, letting every PutLogs finish after each step. */
  advance(seconds: number): Promise<void>;
  /** Stored lines of a logstore (project of `account`), in receive order. */
  stored(project: string, logstore: string, account?: string): StoredLine[];
  /** How many times each (path, seq) is stored. */
  counts(project: string, logstore: string, account?: string): Map<string, number>;
  stop(): Promise<void>;
}

export async function startHarness(
  document: SimulatedFleetInput,
  collection: Partial<LogCollectorOptions> = {},
): Promise<Harness> {
  const workDir = mkdtempSync(join(tmpdir(), "ltx-collect-"));
  const emulator = await startEmulator({ clock: { startAt: START, scale: 0 } });
  const fleet = await startSimulatedFleet(emulator, parseSimulatedFleet(document), {
    workDir,
    collection,
  });
  const stored = (project: string, logstore: string, account = APP.id): StoredLine[] => {
    const lines: StoredLine[] = [];
    for (const row of emulator.sls.logRows(account, REGION, project, logstore).scan(0, 2 ** 32)) {
      const fields = new Map(row.entries());
      const content = fields.get("content") ?? "";
      const parsed = parseLine(content);
      lines.push({ seq: parsed?.seq ?? -1, path: parsed?.path ?? "", content, fields });
    }
    return lines;
  };
  return {
    emulator,
    fleet,
    async advance(seconds) {
      for (let i = 0; i < seconds; i += 1) {
        emulator.advanceClock(1000);
        await fleet.settleCollection();
      }
    },
    stored,
    counts(project, logstore, account) {
      const counts = new Map<string, number>();
      for (const line of stored(project, logstore, account)) {
        const key = `${line.path}#${line.seq}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    async stop() {
      fleet.stop();
      await emulator.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** A one-host fleet in app-b with identifier `web`, the given writers and projects. */
export function oneHostFleet(
  writers: NonNullable<SimulatedFleetInput["instances"]>[number]["writers"],
  projects: SimulatedFleetInput["projects"],
  extra: Partial<NonNullable<SimulatedFleetInput["instances"]>[number]> = {},
): SimulatedFleetInput {
  return {
    accounts: [APP, HUB],
    instances: [{ account: "app-b", region: REGION, id: HOST, userDefinedIds: ["web"], writers, ...extra }],
    projects,
  };
}

/** A project of app-b with logstore `logs`, machine group `web` and the given configs bound to it. */
export function project(
  name: string,
  configs: Array<{
    name: string;
    filePaths: string[];
    allowingIncludedByMultiConfigs?: boolean;
    appendingLogPositionMeta?: boolean;
    tailSizeKB?: number;
    maxDirSearchDepth?: number;
  }>,
  account = "app-b",
): NonNullable<SimulatedFleetInput["projects"]>[number] {
  return {
    account,
    region: REGION,
    name,
    logstores: ["logs"],
    machineGroups: [{ name: "web", identifiers: ["web"] }],
    configs: configs.map((config) => ({ logstore: "logs", ...config })),
    bindings: configs.map((config) => ({ machineGroup: "web", config: config.name })),
  };
}
