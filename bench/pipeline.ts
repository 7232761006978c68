/**
 * Pipeline benchmark (not a test). Issue 5's targets: onboard 1,000 instances tagged in one burst,
 * on the emulator with rate limits set —
 *  - API calls per onboarded instance (every ECS, SLS, MNS and STS request the emulator served,
 *    the operator's own tagging included) ≤ 0.25, reported with the floor the batch sizes imply;
 *  - wall time from the first tag to the last `collecting` within 1.5× the bound the configured
 *    rate limits and the heartbeat period impose.
 *
 *   npm run bench:pipeline [-- --instances 1000 --scale 1]
 *
 * Runs `logtail-xacct start` on a generated fleet of healthy hosts and reads its JSON summary. At
 * scale 1 the emulator's clock is the wall clock: timers, rate-limit windows and the agents'
 * heartbeats run at their real pace, and the simulated hosts' own CPU time is not magnified.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufferIo } from "../cli/io";
import { main } from "../cli/main";
import { type ApiBudget, budgetFor, parseApiBudgets } from "../shared/adapters/throttleGate";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? Number.NaN : Number(process.argv[index + 1]);
  return Number.isNaN(value) ? fallback : value;
}

/**
 * Per account, region and API, calls per minute. Alibaba publishes no numbers; these are tight
 * enough that TagResources (the operator's 20 calls, then the pipeline's status writes) spills over
 * one window at 1,000 instances, so the limits shape the run.
 */
const API_LIMITS = [
  "ecs=300",
  "ecs:RunCommand=60",
  "ecs:DescribeInvocations=120",
  "ecs:DescribeCloudAssistantStatus=60",
  "ecs:TagResources=30",
  "sls=300",
  "mns=3000",
  "sts=60",
].join(",");

const HEARTBEAT_PERIOD_SECONDS = 60;
const WINDOW_SECONDS = 60;

/**
 * The fewest calls per API that onboarding n instances of one account and region needs, from the
 * APIs' page and batch sizes (the operator tags 50 at a time). Every instance is tagged, described,
 * asked about Cloud Assistant, run on, read back, marked authorized, listed in its machine group,
 * described again by heartbeat and apply, and marked collecting.
 */
function floorCalls(n: number): Record<string, number> {
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

async function run(): Promise<void> {
  const instances = option("instances", 1000);
  const scale = option("scale", 1);
  const dir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  const fleet = join(dir, "fleet.yaml");
  writeFileSync(
    fleet,
    [
      "accounts:",
      '  - { id: "1200000000000456", name: hub, roles: [{ name: logtail-xacct-event-forwarder, trustedAccounts: ["1700000000000397"] }, { name: logtail-xacct-fc, trustedServices: [fc.aliyuncs.com] }] }',
      '  - { id: "1700000000000397", name: app-b, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["1200000000000456"] }] }',
      '  - { id: "1800000000000512", name: payments, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["1200000000000456"] }] }',
      "instances:",
      `  - { account: app-b, region: cn-hangzhou, count: ${instances} }`,
      "",
    ].join("\n"),
  );
  const io = bufferIo();
  const code = await main(
    [
      "start",
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
  const total: number = summary.apiCalls?.total ?? Number.NaN;
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
  const bound = rateBound + HEARTBEAT_PERIOD_SECONDS;
  const emulated: number = summary.emulatedSeconds ?? Number.NaN;
  const ratio = emulated / bound;

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `pipeline bench: ${instances} healthy instances tagged in one burst, emulator time ×${scale}, exit ${code}`,
  );
  out(`  rate limits (per account, region and API, per minute): ${API_LIMITS}`);
  out(
    `  converged: ${summary.converged}, collecting ${collecting}, ${summary.seconds} s wall = ${emulated} s emulated from the first tag`,
  );
  out(
    `  API calls: ${total} = ${perInstance.toFixed(3)} per onboarded instance (target ≤ 0.25); floor from batch sizes ${floorTotal} = ${(floorTotal / instances).toFixed(3)}; throttled answers ${summary.apiCalls?.throttled ?? 0}`,
  );
  out(
    `  time bound: rate limits ${rateBound} s (binding: ${bindingApi}) + heartbeat period ${HEARTBEAT_PERIOD_SECONDS} s = ${bound} s; measured ${emulated} s = ${ratio.toFixed(2)}× the bound (target ≤ 1.5×)`,
  );
  const byOperation: Record<string, number> = summary.apiCalls?.byOperation ?? {};
  out("  calls by operation (measured / floor):");
  for (const [operation, calls] of Object.entries(byOperation).sort((a, b) => b[1] - a[1]))
    out(
      `    ${operation.padEnd(40)} ${String(calls).padStart(6)} / ${String(floor[operation] ?? 0).padStart(4)}`,
    );
  out("  calls by caller:");
  const callers: Record<string, { calls: number; operations: Record<string, number> }> =
    summary.apiCalls?.byCaller ?? {};
  for (const [caller, entry] of Object.entries(callers)) {
    const operations = Object.entries(entry.operations)
      .sort((a, b) => b[1] - a[1])
      .map(([operation, calls]) => `${operation} ${calls}`)
      .join(", ");
    out(`    ${caller.padEnd(44)} ${String(entry.calls).padStart(6)}  ${operations}`);
  }
}

run().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
