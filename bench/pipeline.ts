/**
 * Pipeline benchmark (not a test). Issue 5's targets: onboard 1,000 instances tagged in one burst,
 * on the emulator with rate limits set —
 *  - API calls per onboarded instance (every ECS, SLS, MNS and STS request the emulator served,
 *    the operator's own tagging included) ≤ 0.25, reported with the floor the batch sizes imply;
 *    the hub bucket's OSS requests (shared listings, budget leases) are reported beside it, and
 *    the agents' PutLogs (the hosts' lines) are not the pipeline's;
 *  - wall time from the first tag to the last `collecting` within 1.5× the bound the configured
 *    rate limits and the heartbeat period impose: two periods, as `collecting` is earned by lines
 *    (one tick sees the heartbeat and has the config bound, the next sees the lines).
 *
 * The hosts write a line every 10 s; the routes file is the example's without app-b-prod's
 * handover (onboardingRoutesYaml).
 *
 *   npm run bench:pipeline [-- --instances 1000 --scale 1 --slow-hosts]
 *
 * `--slow-hosts`: the same burst on a fleet where most hosts start their commands tens of seconds
 * late and some much later (SLOW_HOSTS), as loaded servers or slow delivery do. The targets are the
 * same; the bound adds the slowest host's delay (no host collects before its command ran), and no
 * host may be marked failed that later collects.
 *
 * Runs `logtail-xacct start` on a generated fleet of healthy hosts and reads its JSON summary. At
 * scale 1 the emulator's clock is the wall clock: timers, rate-limit windows and the agents'
 * heartbeats run at their real pace, and the simulated hosts' own CPU time is not magnified.
 * `runPipelineBench` returns the figures for bench/report.ts; run directly, this file prints them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { bufferIo } from "../cli/io";
import { main } from "../cli/main";
import { type ApiBudget, budgetFor, parseApiBudgets } from "../shared/adapters/throttleGate";
import { type Log, numberOption, pipelineFleetYaml, type SlowHosts, stdoutLog } from "./common";

/**
 * Per account, region and API, calls per minute. Alibaba publishes no numbers; these are tight
 * enough that TagResources (the operator's 20 calls, then the pipeline's status writes) spills over
 * one window at 1,000 instances, so the limits shape the run.
 */
export const API_LIMITS = [
  "ecs=300",
  "ecs:RunCommand=60",
  "ecs:DescribeInvocations=120",
  "ecs:DescribeCloudAssistantStatus=60",
  "ecs:TagResources=30",
  "sls=300",
  "mns=3000",
  "sts=60",
].join(",");

/** The slow-host variant: 40% of hosts 20 s late, 30% 45 s, 10% 150 s (past authorize's 90 s wait). */
export const SLOW_HOSTS: readonly SlowHosts[] = [
  { share: 0.4, commandDelaySeconds: 20 },
  { share: 0.3, commandDelaySeconds: 45 },
  { share: 0.1, commandDelaySeconds: 150 },
];

/**
 * The example routes file without app-b-prod's handover (its source's retire and backfill): the
 * bench measures onboarding, and its fleet has no source project to hand over from (the migration
 * bench measures handovers).
 */
export function onboardingRoutesYaml(): string {
  const routes = parseYaml(readFileSync(join(__dirname, "../config/routes.example.yaml"), "utf8")) as {
    routes: Record<string, { sources: Array<Record<string, unknown>>; backfill?: unknown }>;
  };
  for (const route of Object.values(routes.routes)) {
    delete route.backfill;
    for (const source of route.sources) {
      delete source.retire;
      delete source.backfill;
    }
  }
  return stringifyYaml(routes);
}

export const PIPELINE_TARGET_CALLS_PER_INSTANCE = 0.25;
export const PIPELINE_TARGET_BOUND_RATIO = 1.5;
const HEARTBEAT_PERIOD_SECONDS = 60;
const WINDOW_SECONDS = 60;

/**
 * The fewest calls per API that onboarding n instances of one account and region needs, from the
 * APIs' page and batch sizes (the operator tags 50 at a time). Every instance is tagged, described,
 * asked about Cloud Assistant, run on, read back, marked authorized, listed in its machine group,
 * described again by heartbeat and apply, and marked collecting.
 */
export function floorCalls(n: number): Record<string, number> {
  const per = (size: number) => Math.ceil(n / size);
  return {
    "ecs:TagResources": per(50) * 3, // operator's route tag, authorized, collecting
    "ecs:DescribeInstances": per(100) * 3, // authorize, heartbeat, apply re-observe
    "ecs:DescribeCloudAssistantStatus": per(50),
    "ecs:RunCommand": per(100),
    "ecs:DescribeInvocations": per(100), // one read of each finished command
    "sls:ListMachines": per(500),
    "mns:BatchSendMessage": per(100 * 16) * 2, // heartbeat and apply queues: 16 messages of 100 ids
    "mns:BatchReceiveMessage": per(100 * 16) * 2,
    "mns:BatchDeleteMessage": per(100 * 16) * 2,
  };
}

/** Earliest time (s) by which `calls` can all be served under `limit` per fixed minute window. */
function rateBoundSeconds(calls: number, limit: number): number {
  return (Math.ceil(calls / limit) - 1) * WINDOW_SECONDS;
}

function limitFor(operation: string): number | undefined {
  const [service = "", name = ""] = operation.split(":");
  return budgetFor(parseApiBudgets(API_LIMITS), {
    service: service as ApiBudget["service"],
    operation: name,
  });
}

export interface PipelineBenchOptions {
  instances?: number;
  /** Emulator time per wall time; 1 keeps the rate-limit windows and timers at their real pace. */
  scale?: number;
  /** The slow-host variant (SLOW_HOSTS). */
  slowHosts?: boolean;
  log?: Log;
}

export interface PipelineBenchResult {
  instances: number;
  scale: number;
  apiLimits: string;
  exitCode: number;
  converged: boolean;
  collecting: number;
  wallSeconds: number;
  emulatedSeconds: number;
  /** ECS, SLS, MNS and STS requests (the target's). */
  apiCalls: number;
  callsPerInstance: number;
  /** Requests to the hub's OSS bucket: shared listings, censuses, budget leases. */
  ossCalls: number;
  throttled: number;
  floorCalls: number;
  floorPerInstance: number;
  /** Earliest emulated seconds the rate limits and the heartbeat period allow. */
  boundSeconds: number;
  rateBoundSeconds: number;
  bindingApi: string;
  /** emulatedSeconds / boundSeconds. */
  boundRatio: number;
  slowHosts: boolean;
  /** The slowest host's command delay, in the bound (0 without slow hosts). */
  slowestDelaySeconds: number;
  /** Hosts that collect in the end but were marked failed on the way. */
  failedOnTheWay: number;
  byOperation: Record<string, number>;
  byCaller: Record<string, { calls: number; operations: Record<string, number> }>;
}

export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const instances = options.instances ?? 1000;
  const scale = options.scale ?? 1;
  const log = options.log ?? stdoutLog;
  const slow = options.slowHosts === true ? SLOW_HOSTS : [];
  const slowestDelay = Math.max(0, ...slow.map((s) => s.commandDelaySeconds));
  const dir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  try {
    const fleet = join(dir, "fleet.yaml");
    writeFileSync(fleet, pipelineFleetYaml(instances, undefined, slow, "active"));
    const routes = join(dir, "routes.yaml");
    writeFileSync(routes, onboardingRoutesYaml());
    const io = bufferIo();
    const code = await main(
      [
        "start",
        "--config",
        routes,
        "--fleet",
        fleet,
        "--scale",
        String(scale),
        "--api-limits",
        API_LIMITS,
        "--deadline",
        "600",
        // The burst starts a few seconds into a quota minute: the operator's tagging and the
        // pipeline's first status writes share one window (the worst case for throttling).
        "--clock-start",
        new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString(),
        "--json",
        "--exit-when-converged",
      ],
      io,
    );
    const last = io.stdout().trim().split("\n").at(-1) ?? "{}";
    const summary = JSON.parse(last);
    const everything: number = summary.apiCalls?.total ?? Number.NaN;
    const callsOf = (which: (operation: string) => boolean) =>
      Object.entries(summary.apiCalls?.byOperation ?? {})
        .filter(([operation]) => which(operation))
        .reduce((sum, [, calls]) => sum + Number(calls), 0);
    const ossCalls = callsOf((operation) => operation.startsWith("oss:"));
    // The agents' writes are the data plane: the hosts' lines, not the pipeline's calls.
    const agentWrites = callsOf((operation) => operation === "sls:PutLogs");
    const total = everything - ossCalls - agentWrites;
    const collecting: number = summary.byStage?.collecting ?? 0;
    const perInstance = total / Math.max(collecting, 1);

    const floor = floorCalls(instances);
    const floorTotal = Object.values(floor).reduce((sum, calls) => sum + calls, 0);
    let rateBound = 0;
    let bindingApi = "none";
    for (const [operation, calls] of Object.entries(floor)) {
      const limit = limitFor(operation);
      if (limit === undefined) continue;
      const bound = rateBoundSeconds(calls, limit);
      if (bound > rateBound) {
        rateBound = bound;
        bindingApi = `${operation} (${calls} calls at ${limit}/min)`;
      }
    }
    // Two heartbeat ticks: one sees the first heartbeat (apply binds the config), the next sees
    // the host's lines (apply writes collecting).
    const bound = Math.max(rateBound, slowestDelay) + 2 * HEARTBEAT_PERIOD_SECONDS;
    const emulated: number = summary.emulatedSeconds ?? Number.NaN;
    const ratio = emulated / bound;

    const failedOnTheWay: number = summary.failedOnTheWay ?? Number.NaN;
    const fleetText = slow.length
      ? `${instances} healthy instances, ${slow.map((s) => `${Math.round(s.share * 100)}% ${s.commandDelaySeconds} s late`).join(", ")},`
      : `${instances} healthy instances`;
    log(`pipeline bench: ${fleetText} tagged in one burst, emulator time ×${scale}, exit ${code}`);
    log(`  rate limits (per account, region and API, per minute): ${API_LIMITS}`);
    log(
      `  converged: ${summary.converged}, collecting ${collecting}, ${summary.seconds} s wall = ${emulated} s emulated from the first tag`,
    );
    log(
      `  API calls: ${total} = ${perInstance.toFixed(3)} per onboarded instance (ECS, SLS, MNS, STS; target ≤ 0.25); floor from batch sizes ${floorTotal} = ${(floorTotal / instances).toFixed(3)}; throttled answers ${summary.apiCalls?.throttled ?? 0}; and ${ossCalls} OSS requests to the hub's bucket (${(ossCalls / Math.max(collecting, 1)).toFixed(3)} per instance); the agents' PutLogs (${agentWrites}) are not counted`,
    );
    log(
      `  time bound: ${slow.length ? `the later of rate limits ${rateBound} s (binding: ${bindingApi}) and the slowest host's delay ${slowestDelay} s` : `rate limits ${rateBound} s (binding: ${bindingApi})`} + 2 heartbeat periods ${2 * HEARTBEAT_PERIOD_SECONDS} s = ${bound} s; measured ${emulated} s = ${ratio.toFixed(2)}× the bound (target ≤ 1.5×)`,
    );
    log(`  hosts marked failed on the way that collect in the end: ${failedOnTheWay} (target 0)`);
    const byOperation: Record<string, number> = summary.apiCalls?.byOperation ?? {};
    log("  calls by operation (measured / floor):");
    for (const [operation, calls] of Object.entries(byOperation).sort((a, b) => b[1] - a[1]))
      log(
        `    ${operation.padEnd(40)} ${String(calls).padStart(6)} / ${String(floor[operation] ?? 0).padStart(4)}`,
      );
    log("  calls by caller:");
    const callers: Record<string, { calls: number; operations: Record<string, number> }> =
      summary.apiCalls?.byCaller ?? {};
    for (const [caller, entry] of Object.entries(callers)) {
      const operations = Object.entries(entry.operations)
        .sort((a, b) => b[1] - a[1])
        .map(([operation, calls]) => `${operation} ${calls}`)
        .join(", ");
      log(`    ${caller.padEnd(44)} ${String(entry.calls).padStart(6)}  ${operations}`);
    }
    return {
      instances,
      scale,
      apiLimits: API_LIMITS,
      exitCode: code,
      converged: summary.converged === true,
      collecting,
      wallSeconds: summary.seconds ?? Number.NaN,
      emulatedSeconds: emulated,
      apiCalls: total,
      callsPerInstance: perInstance,
      ossCalls,
      throttled: summary.apiCalls?.throttled ?? 0,
      floorCalls: floorTotal,
      floorPerInstance: floorTotal / instances,
      boundSeconds: bound,
      rateBoundSeconds: rateBound,
      bindingApi,
      boundRatio: ratio,
      slowHosts: slow.length > 0,
      slowestDelaySeconds: slowestDelay,
      failedOnTheWay,
      byOperation,
      byCaller: callers,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runPipelineBench({
    instances: numberOption("instances", 1000),
    scale: numberOption("scale", 1),
    slowHosts: process.argv.includes("--slow-hosts"),
  }).catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
