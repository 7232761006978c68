/**
 * Simulated-fleet benchmark (not a test). Targets (issue 4):
 * - 1,000 hosts loaded: one RunCommand across 100 hosts completes in under 2 s of wall time;
 * - heartbeats of 10,000 idle agents cost under 10% of one core.
 *
 *   npm run bench:fleet [-- --seconds 20]
 *
 * The RunCommand figure is measured through the official ECS SDK, from the call to the moment
 * DescribeInvocationResults reports every instance finished, with the real rendered host script
 * running in each host's sandbox. The heartbeat figure is this process's CPU time over a window of
 * wall time with the emulator clock at real speed, minus the same window with no agents.
 * `runFleetBench` returns the figures for bench/report.ts; run directly, this file prints them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import { startEmulator } from "../emulator/index";
import { parseSimulatedFleet, startSimulatedFleet } from "../localstack/fleet/simulatedFleet";
import { detectSandbox } from "../localstack/hostSandbox";
import { renderHostCommand } from "../shared/hostscript/hostCommand";
import { readHostScripts } from "../shared/hostscript/hostScripts";
import { type Log, numberOption, stdoutLog } from "./common";

const REGION = "cn-hangzhou";
const HUB = "1200000000000456";
const SPOKE = {
  id: "1700000000000397",
  name: "app-b",
  accessKeyId: "LTAIbenchSpoke1",
  accessKeySecret: "bench-spoke-secret",
};

export const FLEET_TARGET_RUN_COMMAND_SECONDS = 2;
export const FLEET_TARGET_HEARTBEAT_CPU_SHARE = 0.1;
const LOADED_HOSTS = 1000;
const IDLE_AGENTS = 10_000;

export interface FleetBenchOptions {
  /** Length of each heartbeat CPU window. */
  seconds?: number;
  log?: Log;
}

export interface RunCommandRound {
  round: number;
  seconds: number;
  success: number;
  polls: number;
}

export interface FleetBenchResult {
  sandbox: string;
  loadedHosts: number;
  rounds: RunCommandRound[];
  heartbeat: {
    agents: number;
    windowSeconds: number;
    heartbeats: number;
    heartbeatsPerSecond: number;
    /** Share of one core this process used with the agents, and with none. */
    loadedShare: number;
    idleShare: number;
    /** The difference: what the agents' heartbeats cost. */
    share: number;
  };
}

const fleetOf = (count: number) =>
  parseSimulatedFleet({
    accounts: [{ ...SPOKE, roles: [] }],
    instances: count > 0 ? [{ account: "app-b", region: REGION, count, userDefinedIds: ["team-x-web"] }] : [],
  });

async function runCommandAcross100(log: Log): Promise<RunCommandRound[]> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-fleet-"));
  const emulator = await startEmulator({ clock: { scale: 1 } });
  const rounds: RunCommandRound[] = [];
  try {
    const fleet = await startSimulatedFleet(emulator, fleetOf(LOADED_HOSTS), { workDir });
    const ecs = new Ecs(
      new $OpenApiUtil.Config({
        ...SPOKE,
        regionId: REGION,
        endpoint: `ecs.${REGION}.localhost:${emulator.port}`,
        protocol: "http",
      }),
    );
    const ids = [...fleet.hosts.keys()];
    const scripts = readHostScripts();
    for (const round of [1, 2, 3]) {
      const batch = ids.slice((round - 1) * 100, round * 100);
      const command = renderHostCommand(
        "linux",
        { action: "authorize", uid: HUB, identifier: `bench-${round}` },
        scripts,
      );
      const started = performance.now();
      const run = await ecs.runCommand(
        new $Ecs.RunCommandRequest({
          regionId: REGION,
          type: command.type,
          contentEncoding: "Base64",
          commandContent: command.commandContent,
          instanceId: batch,
          timeout: command.timeoutSeconds,
        }),
      );
      let success = 0;
      let finished = 0;
      let polls = 0;
      while (finished < batch.length) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        polls += 1;
        finished = 0;
        success = 0;
        let nextToken: string | undefined;
        do {
          const page = await ecs.describeInvocationResults(
            new $Ecs.DescribeInvocationResultsRequest({
              regionId: REGION,
              invokeId: run.body?.invokeId,
              maxResults: 50,
              nextToken,
            }),
          );
          for (const result of page.body?.invocation?.invocationResults?.invocationResult ?? []) {
            if (!["Pending", "Running", "Scheduled"].includes(result.invocationStatus ?? "")) finished += 1;
            if (result.invocationStatus === "Success") success += 1;
          }
          nextToken = page.body?.invocation?.nextToken || undefined;
        } while (nextToken);
      }
      const seconds = (performance.now() - started) / 1000;
      rounds.push({ round, seconds, success, polls });
      log(
        `RunCommand across 100 of 1,000 hosts (round ${round}): ${seconds.toFixed(2)} s wall, ${success}/100 Success, ${polls} result polls (target < 2 s)`,
      );
    }
    fleet.stop();
    return rounds;
  } finally {
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** CPU share of one core this process uses over `seconds` of wall time with `agents` idle agents. */
async function cpuShare(agents: number, seconds: number): Promise<{ share: number; heartbeats: number }> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-fleet-hb-"));
  const emulator = await startEmulator({ clock: { scale: 1 } });
  try {
    const fleet = await startSimulatedFleet(emulator, fleetOf(agents), { workDir });
    // Let start-up work settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = fleet.agents.stats().heartbeatsSent;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const used = process.cpuUsage(cpu);
    const wallUs = (performance.now() - started) * 1000;
    const heartbeats = fleet.agents.stats().heartbeatsSent - before;
    fleet.stop();
    return { share: (used.user + used.system) / wallUs, heartbeats };
  } finally {
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export async function runFleetBench(options: FleetBenchOptions = {}): Promise<FleetBenchResult> {
  const log = options.log ?? stdoutLog;
  const sandbox = detectSandbox();
  if (!sandbox.available) throw new Error(`no sandbox for simulated hosts: ${sandbox.reason}`);
  const seconds = options.seconds ?? 20;
  log(`fleet bench: sandbox ${sandbox.kind}, ${seconds} s heartbeat windows`);
  const rounds = await runCommandAcross100(log);
  const idle = await cpuShare(0, seconds);
  const loaded = await cpuShare(IDLE_AGENTS, seconds);
  const share = loaded.share - idle.share;
  log(
    `10,000 idle agents: ${loaded.heartbeats} heartbeats in ${seconds} s (${(loaded.heartbeats / seconds).toFixed(0)}/s); ` +
      `process CPU ${(loaded.share * 100).toFixed(1)}% of one core vs ${(idle.share * 100).toFixed(1)}% with no agents ` +
      `= ${(share * 100).toFixed(1)}% for the heartbeats (target < 10%)`,
  );
  return {
    sandbox: sandbox.kind,
    loadedHosts: LOADED_HOSTS,
    rounds,
    heartbeat: {
      agents: IDLE_AGENTS,
      windowSeconds: seconds,
      heartbeats: loaded.heartbeats,
      heartbeatsPerSecond: loaded.heartbeats / seconds,
      loadedShare: loaded.share,
      idleShare: idle.share,
      share,
    },
  };
}

if (require.main === module) {
  runFleetBench({ seconds: numberOption("seconds", 20) }).catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
