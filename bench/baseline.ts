/**
 * Per-instance baseline (not a test): what onboarding costs without the pipeline's batching — a
 * script that, for each instance on its own, runs the host script with one RunCommand and checks
 * the heartbeat with SLS ListMachines, through the official SDKs (@alicloud/ecs20140526,
 * @alicloud/sls20201230), against the same local stack (emulator, sandboxed hosts, agents) at the
 * same clock scale and with no rate limits.
 *
 *   npx tsx bench/baseline.ts [--instances 1000] [--scale 5] [--concurrency 20]
 *
 * Per instance: RunCommand on that one instance with the real rendered authorize command
 * (shared/hostscript), DescribeInvocationResults every second until it finished, then ListMachines
 * of the route's machine group (pages of 500) every second until the instance's machine is there.
 * `concurrency` instances are in flight at once. Every request counts, from the destination's
 * CreateProject and CreateMachineGroup on; it does less than the pipeline (no status tags, no
 * config binding, no cutover), so the comparison favours the baseline.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls, * as $Sls from "@alicloud/sls20201230";
import { readSimulatedFleetFile } from "../localstack/fleet/simulatedFleet";
import { detectSandbox } from "../localstack/hostSandbox";
import { startLocalStack } from "../localstack/stack";
import { loadRoutesConfig } from "../shared/config/routesConfig";
import { renderHostCommand } from "../shared/hostscript/hostCommand";
import { readHostScripts } from "../shared/hostscript/hostScripts";
import {
  type Log,
  numberOption,
  pipelineFleetYaml,
  REGION,
  round,
  SPOKE_ACCOUNT,
  sleep,
  stderrLog,
  stdoutLog,
} from "./common";
import { ROUTES_FILE } from "./functionMemory";
import { DEFAULT_CLOCK_SCALE } from "./scale";

const ROUTE = "app-b-prod";
/** Wall time between two looks at a command's result or the machine group. */
const POLL_MS = 1000;

export interface BaselineOptions {
  instances?: number;
  scale?: number;
  /** Instances in flight at once. */
  concurrency?: number;
  log?: Log;
}

export interface BaselineResult {
  instances: number;
  clockScale: number;
  concurrency: number;
  pollSeconds: number;
  /** Instances whose command succeeded and whose machine showed up in the group. */
  confirmed: number;
  failed: number;
  /** First RunCommand to the last instance confirmed. */
  wallSeconds: number;
  emulatedSeconds: number;
  /** Every request the emulator served, setup included. */
  apiCalls: number;
  callsPerInstance: number;
  /** RunCommand + ListMachines alone (the two calls the approach makes per instance, retries included). */
  runCommandAndListMachines: number;
  byOperation: Record<string, number>;
}

export async function runBaselineBench(options: BaselineOptions = {}): Promise<BaselineResult> {
  const instances = options.instances ?? 1000;
  const clockScale = options.scale ?? DEFAULT_CLOCK_SCALE;
  const concurrency = options.concurrency ?? 20;
  const log = options.log ?? stdoutLog;
  const sandbox = detectSandbox();
  if (!sandbox.available) throw new Error(`no sandbox for simulated hosts: ${sandbox.reason}`);
  const routes = loadRoutesConfig(ROUTES_FILE);
  const route = routes.routes[ROUTE];
  const destination = route === undefined ? undefined : routes.destinations[route.destination];
  const identifier = route?.identifier.linux;
  const group = route?.machineGroup.linux;
  if (route === undefined || destination === undefined || identifier === undefined || group === undefined)
    throw new Error(`${ROUTES_FILE}: route ${ROUTE} has no Linux identifier, machine group or destination`);

  const dir = mkdtempSync(join(tmpdir(), "bench-baseline-"));
  const fleetFile = join(dir, "fleet.yaml");
  writeFileSync(fleetFile, pipelineFleetYaml(instances));
  // The emulator and the hosts only: no functions, no queues.
  const stack = await startLocalStack({
    fleet: readSimulatedFleetFile(fleetFile),
    hubAccountId: routes.hub.accountId,
    hubRegion: routes.hub.region,
    workDir: dir,
    clock: { scale: clockScale },
  });
  try {
    const keysOf = (accountId: string) => {
      const keys = stack.emulator.endpoints.accounts.find((account) => account.id === accountId);
      if (keys === undefined) throw new Error(`the emulator has no keys for ${accountId}`);
      return keys;
    };
    const config = (accountId: string, endpoint: string) =>
      new $OpenApiUtil.Config({
        accessKeyId: keysOf(accountId).accessKeyId,
        accessKeySecret: keysOf(accountId).accessKeySecret,
        regionId: REGION,
        endpoint,
        protocol: "http",
      });
    // The naive script holds keys of each account: no roles, no STS.
    const ecs = new Ecs(config(SPOKE_ACCOUNT, `ecs.${REGION}.localhost:${stack.emulator.port}`));
    const sls = new Sls(
      config(destination.uid, `${destination.region}.log.localhost:${stack.emulator.port}`),
    );
    stack.emulator.resetMetrics();
    const emulatedStart = stack.emulator.now();
    const started = performance.now();

    await sls.createProject(new $Sls.CreateProjectRequest({ projectName: route.project, description: "" }));
    await sls.createMachineGroup(
      route.project,
      new $Sls.CreateMachineGroupRequest({
        groupName: group,
        machineIdentifyType: "userdefined",
        machineList: [identifier],
      }),
    );
    const command = renderHostCommand(
      "linux",
      { action: "authorize", uid: destination.uid, identifier },
      readHostScripts(),
    );
    const hosts = [...stack.fleet.hosts.values()];
    let confirmed = 0;
    let failed = 0;
    let lastLog = performance.now();

    const onboardOne = async (instanceId: string, serialNumber: string): Promise<boolean> => {
      const run = await ecs.runCommand(
        new $Ecs.RunCommandRequest({
          regionId: REGION,
          type: command.type,
          contentEncoding: "Base64",
          commandContent: command.commandContent,
          instanceId: [instanceId],
          timeout: command.timeoutSeconds,
        }),
      );
      for (;;) {
        await sleep(POLL_MS);
        const page = await ecs.describeInvocationResults(
          new $Ecs.DescribeInvocationResultsRequest({ regionId: REGION, invokeId: run.body?.invokeId }),
        );
        const status =
          page.body?.invocation?.invocationResults?.invocationResult?.[0]?.invocationStatus ?? "";
        if (["Pending", "Running", "Scheduled", ""].includes(status)) continue;
        if (status !== "Success") return false;
        break;
      }
      // The agent restarts on the new identifier and heartbeats at its next tick.
      for (let look = 0; look < 120; look += 1) {
        for (let offset = 0; ; ) {
          const page = await sls.listMachines(
            route.project,
            group,
            new $Sls.ListMachinesRequest({ offset, size: 500 }),
          );
          const machines = page.body?.machines ?? [];
          if (machines.some((machine) => machine.machineUniqueid === serialNumber)) return true;
          offset += machines.length;
          if (machines.length === 0 || offset >= (page.body?.total ?? 0)) break;
        }
        await sleep(POLL_MS);
      }
      return false;
    };

    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const host = hosts[next];
        next += 1;
        if (host === undefined) return;
        const serial = stack.emulator.ecs.getInstance(host.instanceId)?.serialNumber ?? "";
        if (await onboardOne(host.instanceId, serial)) confirmed += 1;
        else failed += 1;
        if (performance.now() - lastLog >= 15_000) {
          lastLog = performance.now();
          log(`  baseline: ${confirmed + failed}/${instances} done`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    const wallSeconds = (performance.now() - started) / 1000;
    const emulatedSeconds = (stack.emulator.now() - emulatedStart) / 1000;
    const metrics = stack.emulator.metrics();
    const byOperation: Record<string, number> = {};
    for (const op of metrics.operations) {
      const key = `${op.service}:${op.operation}`;
      byOperation[key] = (byOperation[key] ?? 0) + op.calls;
    }
    const result: BaselineResult = {
      instances,
      clockScale,
      concurrency,
      pollSeconds: POLL_MS / 1000,
      confirmed,
      failed,
      wallSeconds: round(wallSeconds, 1),
      emulatedSeconds: round(emulatedSeconds, 1),
      apiCalls: metrics.totalCalls,
      callsPerInstance: round(metrics.totalCalls / instances, 4),
      runCommandAndListMachines:
        (byOperation["ecs:RunCommand"] ?? 0) + (byOperation["sls:ListMachines"] ?? 0),
      byOperation,
    };
    log(
      `baseline: ${instances} instances one by one (${concurrency} in flight), ${confirmed} confirmed, ${failed} failed, ` +
        `${result.wallSeconds} s wall, ${result.apiCalls} API calls = ${result.callsPerInstance} per instance ` +
        `(RunCommand + ListMachines ${result.runCommandAndListMachines})`,
    );
    return result;
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runBaselineBench({
    instances: numberOption("instances", 1000),
    scale: numberOption("scale", DEFAULT_CLOCK_SCALE),
    concurrency: numberOption("concurrency", 20),
    log: stderrLog,
  }).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
