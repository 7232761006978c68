/**
 * Emulator benchmark (not a test): with 10,000 instances loaded, how many API calls per second does
 * the emulator serve, and what latency does it add? Target (issue 3): 500 calls/s, p99 < 20 ms.
 *
 *   npx tsx bench/emulator.ts [--seconds 10] [--rate 500] [--concurrency 16]
 *
 * The emulator runs in a child process (as `npx logtail-xacct emulator` would), so the SDK clients
 * driving it do not share its event loop. Reports client-observed and server-side latency.
 * `runEmulatorBench` returns the figures for bench/report.ts; run directly, this file prints them.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls, * as $Sls from "@alicloud/sls20201230";
import { z } from "zod";
import { installLocalhostResolver, runEmulatorCommand } from "../emulator/index";
import { type Log, numberOption, quantile, stdoutLog } from "./common";

const region = "cn-hangzhou";
const accountCount = 10;
const instancesPerAccount = 1_000;

export const EMULATOR_TARGET_CALLS_PER_SECOND = 500;
export const EMULATOR_TARGET_P99_MS = 20;

const endpointsSchema = z.object({
  port: z.number(),
  admin: z.string(),
  accounts: z.array(
    z.object({ id: z.string(), name: z.string(), accessKeyId: z.string(), accessKeySecret: z.string() }),
  ),
});

const latencySchema = z.object({
  p50Ms: z.number(),
  p99Ms: z.number(),
  meanMs: z.number(),
  maxMs: z.number(),
});
const metricsSchema = z.object({
  totalCalls: z.number(),
  latency: latencySchema,
  operations: z.array(
    z.object({ service: z.string(), operation: z.string(), calls: z.number(), latency: latencySchema }),
  ),
});

export interface EmulatorBenchOptions {
  /** Length of each run (unpaced, then paced). */
  seconds?: number;
  /** Calls per second of the paced run. */
  rate?: number;
  /** SDK calls in flight at once. */
  concurrency?: number;
  log?: Log;
}

export interface EmulatorRun {
  label: string;
  /** Calls per second the run was paced at; absent: as fast as the clients go. */
  pacedRate?: number;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  errors: number;
  /** Latency seen by the SDK clients (network, signing, parsing included). */
  clientP50Ms: number;
  clientP99Ms: number;
  /** The emulator's own time per request (admin metrics: parsed request to response). */
  serverP50Ms: number;
  serverP99Ms: number;
  serverMaxMs: number;
  byOperation: Array<{ operation: string; calls: number; serverP99Ms: number }>;
}

export interface EmulatorBenchResult {
  instances: number;
  accounts: number;
  concurrency: number;
  secondsPerRun: number;
  unpaced: EmulatorRun;
  paced: EmulatorRun;
}

function fleetYaml(): string {
  const lines = ["accounts:"];
  for (let n = 0; n < accountCount; n += 1) {
    lines.push(`  - id: "${String(7_000_000_000_000_000 + n)}"`, `    name: bench-${n}`);
  }
  lines.push("instances:");
  for (let n = 0; n < accountCount; n += 1) {
    lines.push(
      `  - account: bench-${n}`,
      `    region: ${region}`,
      `    count: ${instancesPerAccount}`,
      "    tags: { logtail-xacct-route: web }",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The child process: serves the emulator until killed. */
async function serve(): Promise<void> {
  const fleetIndex = process.argv.indexOf("--fleet");
  const endpointsIndex = process.argv.indexOf("--endpoints-file");
  const code = await runEmulatorCommand({
    fleetFile: process.argv[fleetIndex + 1] ?? "",
    endpointsFile: process.argv[endpointsIndex + 1] ?? "",
    log: () => undefined,
  });
  process.exitCode = code;
}

export async function runEmulatorBench(options: EmulatorBenchOptions = {}): Promise<EmulatorBenchResult> {
  const seconds = options.seconds ?? 10;
  const rate = options.rate ?? EMULATOR_TARGET_CALLS_PER_SECOND;
  const concurrency = options.concurrency ?? 16;
  const log = options.log ?? stdoutLog;
  const directory = await mkdtemp(join(tmpdir(), "bench-emulator-"));
  const fleetFile = join(directory, "fleet.yaml");
  const endpointsFile = join(directory, "endpoints.json");
  await writeFile(fleetFile, fleetYaml());

  // This very file, run by tsx in a child: the emulator gets an event loop of its own.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", __filename, "--serve", "--fleet", fleetFile, "--endpoints-file", endpointsFile],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const release = installLocalhostResolver();
  try {
    const endpoints = await waitForEndpoints(endpointsFile);
    const { port } = endpoints;
    const clients = endpoints.accounts.map((account) => {
      const config = (endpoint: string) =>
        new $OpenApiUtil.Config({
          accessKeyId: account.accessKeyId,
          accessKeySecret: account.accessKeySecret,
          regionId: region,
          endpoint,
          protocol: "http",
        });
      return {
        ecs: new Ecs(config(`ecs.${region}.localhost:${port}`)),
        sls: new Sls(config(`${region}.log.localhost:${port}`)),
      };
    });
    // One SLS machine group per account so ListMachines has something to list.
    for (const [index, client] of clients.entries()) {
      await client.sls.createProject(
        new $Sls.CreateProjectRequest({ projectName: `bench-${index}`, description: "" }),
      );
      await client.sls.createMachineGroup(
        `bench-${index}`,
        new $Sls.CreateMachineGroupRequest({
          groupName: "bench-group",
          machineIdentifyType: "userdefined",
          machineList: ["bench"],
        }),
      );
    }

    const calls: Array<(client: (typeof clients)[number], index: number) => Promise<unknown>> = [
      (c) =>
        c.ecs.describeInstances(
          new $Ecs.DescribeInstancesRequest({
            regionId: region,
            maxResults: 100,
            tag: [new $Ecs.DescribeInstancesRequestTag({ key: "logtail-xacct-route", value: "web" })],
          }),
        ),
      (c) =>
        c.ecs.describeCloudAssistantStatus(
          new $Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, maxResults: 50 }),
        ),
      (c) =>
        c.ecs.describeInvocationResults(
          new $Ecs.DescribeInvocationResultsRequest({ regionId: region, maxResults: 50 }),
        ),
      (c, index) =>
        c.sls.listMachines(
          `bench-${index}`,
          "bench-group",
          new $Sls.ListMachinesRequest({ offset: 0, size: 500 }),
        ),
    ];
    // RunCommand on 100 instances, a few times, so invocation results exist.
    for (const client of clients) {
      const page = await client.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId: region, maxResults: 100 }),
      );
      const ids = (page.body?.instances?.instance ?? []).map((instance) => instance.instanceId ?? "");
      await client.ecs.runCommand(
        new $Ecs.RunCommandRequest({
          regionId: region,
          type: "RunShellScript",
          commandContent: "true",
          instanceId: ids,
        }),
      );
    }

    async function run(label: string, pacedRate: number | undefined): Promise<EmulatorRun> {
      await fetch(`http://127.0.0.1:${port}/_admin/metrics`, { method: "DELETE" });
      const latencies: number[] = [];
      let errors = 0;
      let issued = 0;
      const started = performance.now();
      const deadline = started + seconds * 1000;
      const worker = async (workerIndex: number): Promise<void> => {
        for (let n = workerIndex; performance.now() < deadline; n += concurrency) {
          if (pacedRate !== undefined) {
            const due = started + (issued / pacedRate) * 1000;
            issued += 1;
            const wait = due - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          }
          const clientIndex = n % clients.length;
          const client = clients[clientIndex];
          const call = calls[n % calls.length];
          if (client === undefined || call === undefined) continue;
          const before = performance.now();
          try {
            await call(client, clientIndex);
          } catch (error) {
            errors += 1;
            if (errors === 1)
              process.stderr.write(
                `first error: ${error instanceof Error ? error.message : String(error)}\n`,
              );
          }
          latencies.push(performance.now() - before);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
      const elapsed = (performance.now() - started) / 1000;
      const sorted = [...latencies].sort((a, b) => a - b);
      const server = metricsSchema.parse(
        await (await fetch(`http://127.0.0.1:${port}/_admin/metrics`)).json(),
      );
      const byOperation = new Map<string, { calls: number; p99: number }>();
      for (const entry of server.operations) {
        const key = `${entry.service}:${entry.operation}`;
        const previous = byOperation.get(key);
        byOperation.set(key, {
          calls: (previous?.calls ?? 0) + entry.calls,
          p99: Math.max(previous?.p99 ?? 0, entry.latency.p99Ms),
        });
      }
      const result: EmulatorRun = {
        label,
        ...(pacedRate === undefined ? {} : { pacedRate }),
        calls: latencies.length,
        seconds: elapsed,
        callsPerSecond: latencies.length / elapsed,
        errors,
        clientP50Ms: quantile(sorted, 0.5),
        clientP99Ms: quantile(sorted, 0.99),
        serverP50Ms: server.latency.p50Ms,
        serverP99Ms: server.latency.p99Ms,
        serverMaxMs: server.latency.maxMs,
        byOperation: [...byOperation].map(([operation, value]) => ({
          operation,
          calls: value.calls,
          serverP99Ms: value.p99,
        })),
      };
      log(
        `${label}: ${result.calls} calls in ${elapsed.toFixed(1)} s = ${result.callsPerSecond.toFixed(0)} calls/s, ` +
          `errors ${errors}; client p50 ${result.clientP50Ms.toFixed(1)} ms p99 ${result.clientP99Ms.toFixed(1)} ms; ` +
          `server (emulator overhead) p50 ${result.serverP50Ms.toFixed(2)} ms p99 ${result.serverP99Ms.toFixed(2)} ms ` +
          `max ${result.serverMaxMs.toFixed(1)} ms`,
      );
      for (const entry of result.byOperation) {
        log(
          `    ${entry.operation.padEnd(40)} ${String(entry.calls).padStart(6)} calls  server p99 ≤ ${entry.serverP99Ms.toFixed(2)} ms`,
        );
      }
      return result;
    }

    log(
      `emulator bench: ${accountCount * instancesPerAccount} instances in ${accountCount} accounts, ` +
        `${concurrency} concurrent SDK clients, ${seconds} s per run`,
    );
    const unpaced = await run("max throughput", undefined);
    const paced = await run(`paced at ${rate}/s`, rate);
    return {
      instances: accountCount * instancesPerAccount,
      accounts: accountCount,
      concurrency,
      secondsPerRun: seconds,
      unpaced,
      paced,
    };
  } finally {
    release();
    // An emulator that already died would never emit "exit" again.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  }
}

async function waitForEndpoints(path: string): Promise<z.infer<typeof endpointsSchema>> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      return endpointsSchema.parse(JSON.parse(await readFile(path, "utf8")));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error("the emulator did not write its endpoints file within 60 s");
}

if (require.main === module) {
  if (process.argv.includes("--serve")) void serve();
  else
    runEmulatorBench({
      seconds: numberOption("seconds", 10),
      rate: numberOption("rate", EMULATOR_TARGET_CALLS_PER_SECOND),
      concurrency: numberOption("concurrency", 16),
    }).catch((error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
