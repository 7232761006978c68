import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import type { Command } from "commander";
import type { MetricsSnapshot } from "../../emulator/core/metrics";
import { DELIVERY_TIMEOUT_MS } from "../../emulator/ecs";
import { DEFAULT_ENDPOINTS_FILE } from "../../localstack/fc";
import { readSimulatedFleetFile, type SimulatedFleetSpec } from "../../localstack/fleet/simulatedFleet";
import { detectSandbox } from "../../localstack/hostSandbox";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { type ApiBudget, parseApiBudgets } from "../../shared/adapters/throttleGate";
import { loadRoutesConfig, RoutesConfigError, summarizeRoutesConfig } from "../../shared/config/routesConfig";
import type { RoutesFile } from "../../shared/config/routesSchema";
import { HUB_QUEUES, MAX_RECEIVE_COUNT } from "../../shared/messages/queueMessages";
import { copyJobName } from "../../shared/usecases/applyRoute";
import { EXIT_INVALID_INPUT, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE } from "../exitCodes";
import type { CliIo } from "../io";

const ROOT = join(__dirname, "../..");
const DEFAULT_ROUTES = join(ROOT, "config/routes.example.yaml");
const DEFAULT_FLEET = join(ROOT, "config/fleet.demo.yaml");
const TEMPLATE = join(ROOT, "s.yaml");
const QUEUES = [HUB_QUEUES.heartbeat, HUB_QUEUES.apply];
const DEAD_LETTER_QUEUE = { name: HUB_QUEUES.deadLetter, maxReceiveCount: MAX_RECEIVE_COUNT };
/** Not converged within this much wall time is a failure (issue 5 asks for under 2 minutes). */
const DEADLINE_SECONDS = 115;

interface StartOptions {
  config: string;
  fleet: string;
  instances?: string;
  exitWhenConverged?: boolean;
  json?: boolean;
  scale: string;
  apiLimits?: string;
  deadline: string;
  clockStart?: string;
}

/**
 * `npm start`: the whole pipeline on the local stack. Starts the emulator, the demo fleet, EventBridge
 * and the functions of s.yaml; tags every instance with a route as an operator would (through the
 * ECS API); shows progress by stage until every instance reaches a final state; prints a table by
 * route and reason.
 */
export function registerStartCommand(program: Command, io: CliIo): void {
  program
    .command("start")
    .description("Run the whole pipeline offline on the local stack with the demo fleet.")
    .option("--config <file>", "routes file", DEFAULT_ROUTES)
    .option("--fleet <file>", "fleet file of the simulated hosts", DEFAULT_FLEET)
    .option("--instances <n>", "simulate only the first N instances of the fleet")
    .option(
      "--exit-when-converged",
      "exit 0 once every instance reached its expected final state (1 if not in time)",
    )
    .option("--json", "print a machine-readable summary at the end")
    .option("--scale <x>", "emulator time runs this many times faster than wall time", "20")
    .option(
      "--api-limits <spec>",
      "rate limits per account, region and API in calls per minute, e.g. ecs=300,ecs:RunCommand=60: the emulator enforces them and the functions get them as their call budgets",
    )
    .option("--deadline <seconds>", "give up after this many wall seconds", String(DEADLINE_SECONDS))
    .option("--clock-start <iso>", "the emulator's clock starts at this instant (default: now)")
    .action(async (options: StartOptions) => {
      io.setExitCode(await start(options, io));
    });
}

async function start(options: StartOptions, io: CliIo): Promise<number> {
  let routes: RoutesFile;
  try {
    routes = loadRoutesConfig(options.config);
    io.err(`routes   ${options.config}: ${summarizeRoutesConfig(routes)}\n`);
  } catch (error) {
    if (!(error instanceof RoutesConfigError)) throw error;
    io.err(`${error.message}\n`);
    return EXIT_INVALID_INPUT;
  }
  const scale = Number(options.scale);
  const deadline = Number(options.deadline);
  const limit = options.instances === undefined ? undefined : Number(options.instances);
  if (
    !(scale > 0 && scale <= 100) ||
    !(deadline > 0) ||
    (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
  ) {
    io.err(
      "--scale must be a number in (0, 100], --deadline above 0 and --instances a whole number above 0\n",
    );
    return EXIT_USAGE;
  }
  const clockStart = options.clockStart === undefined ? undefined : Date.parse(options.clockStart);
  if (clockStart !== undefined && Number.isNaN(clockStart)) {
    io.err(`--clock-start: "${options.clockStart}" is not an ISO-8601 time\n`);
    return EXIT_USAGE;
  }
  let apiLimits: ApiBudget[] = [];
  try {
    apiLimits = parseApiBudgets(options.apiLimits ?? "");
  } catch (error) {
    io.err(`--api-limits: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE;
  }
  const sandbox = detectSandbox();
  if (!sandbox.available) {
    io.err(
      `hosts    no sandbox for simulated hosts (${sandbox.reason}): run as root with unshare, or install bubblewrap\n`,
    );
    return EXIT_UNAVAILABLE;
  }
  const fleet = firstInstances(readSimulatedFleetFile(options.fleet), limit);
  const workDir = mkdtempSync(join(tmpdir(), "logtail-xacct-"));
  const endpointsFile = join(ROOT, DEFAULT_ENDPOINTS_FILE);
  const logFile = join(dirname(endpointsFile), "functions.log");
  mkdirSync(dirname(endpointsFile), { recursive: true });
  writeFileSync(logFile, "");
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      fleet,
      hubAccountId: routes.hub.accountId,
      hubRegion: routes.hub.region,
      workDir,
      endpointsFile,
      template: TEMPLATE,
      functionEnv: {
        LOGTAIL_XACCT_ROUTES_FILE: options.config,
        LOGTAIL_XACCT_LOG_FILE: logFile,
        ...(options.apiLimits ? { LOGTAIL_XACCT_API_BUDGETS: options.apiLimits } : {}),
      },
      hubQueues: QUEUES,
      deadLetterQueue: DEAD_LETTER_QUEUE,
      clock: { scale, ...(clockStart === undefined ? {} : { startAt: clockStart }) },
    });
    io.err(
      `cloud    emulator on 127.0.0.1:${stack.emulator.port} (time ×${scale}), endpoints in ${endpointsFile}\n`,
    );
    io.err(`hosts    ${stack.fleet.hosts.size} simulated hosts, sandbox ${sandbox.kind}\n`);
    io.err(`logs     the functions' JSON log lines go to ${logFile}\n`);
    stack.emulator.setRateLimits(
      apiLimits.map((budget) => ({
        service: budget.service,
        ...(budget.operation === undefined ? {} : { operation: budget.operation }),
        limit: budget.perMinute,
        windowSeconds: 60,
      })),
    );
    if (apiLimits.length > 0)
      io.err(`limits   ${options.apiLimits} (calls per minute per account and region)\n`);
    // Every instance ever marked failed, to tell a host failed too early from one that truly failed.
    const failedOnTheWay = new Set<string>();
    stack.emulator.ecs.onTagChange((change) => {
      for (const { instanceId, after } of change.changes)
        if (after[routes.statusTagKey]?.startsWith("failed:")) failedOnTheWay.add(instanceId);
    });
    const tagStarted = Date.now();
    const emulatedStart = stack.emulator.now();
    const tagged = await tagFleet(stack, routes);
    io.err(
      `tags     ${tagged} instances tagged with a route through the ECS API; the pipeline takes it from here\n`,
    );
    const reached = await watch(stack, routes, io, deadline, failedOnTheWay);
    const converged = reached !== undefined;
    const summary = summarize(stack, routes, failedOnTheWay);
    summary.seconds = Math.round(((reached?.wallMs ?? Date.now()) - tagStarted) / 100) / 10;
    summary.emulatedSeconds =
      Math.round(((reached?.emulatedMs ?? stack.emulator.now()) - emulatedStart) / 100) / 10;
    const byOperation: Record<string, number> = {};
    const metrics = stack.emulator.metrics();
    for (const op of metrics.operations) {
      byOperation[`${op.service}:${op.operation}`] =
        (byOperation[`${op.service}:${op.operation}`] ?? 0) + op.calls;
    }
    summary.cutovers = cutovers(stack, routes);
    summary.deadLetters = stack.emulator.mns.getQueue(
      routes.hub.accountId,
      routes.hub.region,
      DEAD_LETTER_QUEUE.name,
    ).activeMessages;
    summary.apiCalls = {
      total: metrics.totalCalls,
      throttled: metrics.operations.reduce((n, op) => n + op.throttled, 0),
      byOperation,
      byCaller: metrics.callers,
    };
    io.out(renderTable(summary));
    if (options.json) io.out(`${JSON.stringify({ converged, ...summary })}\n`);
    if (!converged) io.err(`not converged within ${deadline} s\n`);
    return options.exitWhenConverged && !converged ? EXIT_INVALID_INPUT : EXIT_OK;
  } finally {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function firstInstances(fleet: SimulatedFleetSpec, limit: number | undefined): SimulatedFleetSpec {
  if (limit === undefined) return fleet;
  let left = limit;
  const instances = [];
  for (const entry of fleet.instances) {
    if (left <= 0) break;
    const count = Math.min(entry.count, left);
    instances.push({ ...entry, count });
    left -= count;
  }
  return { ...fleet, instances };
}

/** The ECS SDK as the account's operator, on the local stack (undefined: the account has no keys). */
export function operatorEcs(stack: LocalStack, accountId: string, region: string): Ecs | undefined {
  const keys = stack.emulator.endpoints.accounts.find((a) => a.id === accountId);
  if (!keys) return undefined;
  return new Ecs(
    new $OpenApiUtil.Config({
      accessKeyId: keys.accessKeyId,
      accessKeySecret: keys.accessKeySecret,
      regionId: region,
      endpoint: `ecs.${region}.localhost:${stack.emulator.port}`,
      protocol: "http",
      // The SDK's 3 s default is shorter than the pause a function's first load can put on the
      // in-process emulator on a loaded machine.
      readTimeout: 30_000,
    }),
  );
}

/** The operator's part: each instance gets the first route its account may use, by the ECS API. */
export async function tagFleet(stack: LocalStack, routes: RoutesFile): Promise<number> {
  const groups = new Map<string, { route: string; ids: string[] }>();
  for (const host of stack.fleet.hosts.values()) {
    const route = Object.entries(routes.routes).find(([, r]) =>
      r.sources.some((s) => s.account === host.accountId),
    )?.[0];
    if (!route) continue;
    const key = `${host.accountId}|${host.spec.region}|${route}`;
    const group = groups.get(key) ?? { route, ids: [] };
    group.ids.push(host.instanceId);
    groups.set(key, group);
  }
  let tagged = 0;
  for (const [key, { route, ids }] of groups) {
    const [accountId = "", region = ""] = key.split("|");
    const ecs = operatorEcs(stack, accountId, region);
    if (!ecs) continue;
    for (let i = 0; i < ids.length; i += 50) {
      await ecs.tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: region,
          resourceType: "instance",
          resourceId: ids.slice(i, i + 50),
          tag: [new $Ecs.TagResourcesRequestTag({ key: routes.tagKey, value: route })],
        }),
      );
      tagged += Math.min(50, ids.length - i);
    }
  }
  return tagged;
}

interface CutoverState {
  route: string;
  sourceAccount: string;
  /** Running instances of the route in that account that do not collect yet (the cutover waits). */
  waitingFor: number;
  /** Whether the source's old config is still bound (undefined: the route retires nothing). */
  sourceConfigBound?: boolean;
  /** The copy job's status, "none" before it exists (undefined: the route copies nothing). */
  copyJob?: string;
}

interface Summary {
  instances: number;
  /** Wall seconds from the first tag to convergence (or the deadline). */
  seconds?: number;
  /** The same on the emulator's clock (wall × scale). */
  emulatedSeconds?: number;
  /** Every API request the emulator served (ECS, STS, SLS, MNS), by service and operation. */
  apiCalls?: {
    total: number;
    /** Requests refused by the emulator's rate limits (counted in total too). */
    throttled: number;
    byOperation: Record<string, number>;
    byCaller: MetricsSnapshot["callers"];
  };
  byStage: Record<string, number>;
  /** Records in the dead-letter queue at the end. */
  deadLetters?: number;
  /** Per route and source account that retires a config or copies history: where the cutover is. */
  cutovers?: CutoverState[];
  byRoute: Record<string, Record<string, number>>;
  unexpected: Array<{ instanceId: string; status: string; expected: string }>;
  /** Hosts that collect in the end but were marked `failed:` on the way (a host failed too early). */
  failedOnTheWay: number;
}

/**
 * What a host of this kind must end as: healthy Linux hosts collect, the others with the reason
 * their kind in the fleet file implies — a host told to fix the wrong thing is not converged.
 */
function expectedFinal(stack: LocalStack, instanceId: string): string {
  const host = stack.fleet.host(instanceId);
  const instance = stack.emulator.ecs.getInstance(instanceId);
  if (!host || !instance) return "(released)";
  if (instance.status !== "Running") return "pending";
  const { spec } = host;
  // Windows hosts cannot run PowerShell here: Cloud Assistant answers ClientNotResponse.
  if (spec.cloudAssistant === "offline" || spec.os === "windows") return "failed:CloudAssistantOffline";
  // A host slower than the emulated Cloud Assistant's delivery timeout never gets its command.
  if ((spec.commandDelaySeconds ?? 0) * 1000 >= DELIVERY_TIMEOUT_MS) return "failed:CloudAssistantOffline";
  if (spec.agent === "none") return "failed:AgentNotInstalled";
  if (spec.heartbeat === "blocked") return "failed:NoHeartbeat";
  return "collecting";
}

function summarize(stack: LocalStack, routes: RoutesFile, failedOnTheWay: ReadonlySet<string>): Summary {
  const summary: Summary = { instances: 0, byStage: {}, byRoute: {}, unexpected: [], failedOnTheWay: 0 };
  for (const host of stack.fleet.hosts.values()) {
    const instance = stack.emulator.ecs.getInstance(host.instanceId);
    const status = instance?.tags.get(routes.statusTagKey) ?? "(none)";
    const route = instance?.tags.get(routes.tagKey) ?? "(untagged)";
    summary.instances += 1;
    const stage = status.startsWith("failed:") ? "failed" : status;
    summary.byStage[stage] = (summary.byStage[stage] ?? 0) + 1;
    const perRoute = summary.byRoute[route] ?? {};
    perRoute[status] = (perRoute[status] ?? 0) + 1;
    summary.byRoute[route] = perRoute;
    const expected = expectedFinal(stack, host.instanceId);
    if (status !== expected) summary.unexpected.push({ instanceId: host.instanceId, status, expected });
    if (expected === "collecting" && failedOnTheWay.has(host.instanceId)) summary.failedOnTheWay += 1;
  }
  return summary;
}

/** Progress by stage until every instance is where it should end, or the deadline passes. */
async function watch(
  stack: LocalStack,
  routes: RoutesFile,
  io: CliIo,
  deadlineSeconds: number,
  failedOnTheWay: ReadonlySet<string>,
): Promise<{ wallMs: number; emulatedMs: number } | undefined> {
  const started = Date.now();
  let lastLine = "";
  let stableSince: { wallMs: number; emulatedMs: number } | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const summary = summarize(stack, routes, failedOnTheWay);
    const elapsed = Math.round((Date.now() - started) / 1000);
    const stages = ["(none)", "pending", "authorized", "collecting", "failed", "revoked"]
      .map((stage) => `${stage} ${summary.byStage[stage] ?? 0}`)
      .join("  ");
    const line = `${String(elapsed).padStart(4)} s  ${stages}`;
    if (line !== lastLine) io.err(`progress ${line}\n`);
    lastLine = line;
    if (summary.unexpected.length === 0) {
      // Converged when first seen so; the 2 s after only confirm it holds.
      stableSince ??= { wallMs: Date.now(), emulatedMs: stack.emulator.now() };
      if (Date.now() - stableSince.wallMs >= 2000) return stableSince;
    } else {
      stableSince = undefined;
    }
    if (elapsed >= deadlineSeconds) return undefined;
  }
}

/** The cutover of every route source that retires a config or copies history, read from the emulator. */
function cutovers(stack: LocalStack, routes: RoutesFile): CutoverState[] {
  const states: CutoverState[] = [];
  for (const [name, route] of Object.entries(routes.routes)) {
    for (const source of route.sources) {
      if (!source.retire && !source.backfill) continue;
      let waitingFor = 0;
      for (const host of stack.fleet.hosts.values()) {
        const instance = stack.emulator.ecs.getInstance(host.instanceId);
        if (!instance || instance.accountId !== source.account || instance.status !== "Running") continue;
        if (instance.tags.get(routes.tagKey) !== name) continue;
        if (instance.tags.get(routes.statusTagKey) !== "collecting") waitingFor += 1;
      }
      const region = routes.sourceAccounts.find((a) => a.uid === source.account)?.regions[0] ?? "";
      const scope = { accountId: source.account, region, action: "start" };
      const read = <T>(fn: () => T): T | undefined => {
        try {
          return fn();
        } catch {
          return undefined; // the source project or job does not exist
        }
      };
      const state: CutoverState = { route: name, sourceAccount: source.account, waitingFor };
      const retire = source.retire;
      if (retire) {
        const bound = read(() =>
          stack.emulator.sls.getAppliedConfigs(scope, retire.project, retire.machineGroup),
        );
        state.sourceConfigBound = bound?.includes(retire.config) ?? false;
      }
      const backfill = source.backfill;
      if (backfill && route.backfill) {
        const job = copyJobName(route.backfill.jobNamePrefix ?? "logtail-xacct", name, source.account);
        const record = read(() => stack.emulator.sls.getEtl(scope, backfill.project, job));
        state.copyJob = record ? stack.emulator.sls.etlStatus(record) : "none";
      }
      states.push(state);
    }
  }
  return states;
}

function renderTable(summary: Summary): string {
  const rows: string[][] = [["route", "status", "instances"]];
  for (const [route, statuses] of Object.entries(summary.byRoute).sort()) {
    for (const [status, count] of Object.entries(statuses).sort()) rows.push([route, status, String(count)]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  let text = `${rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ")).join("\n")}\n`;
  for (const cutover of summary.cutovers ?? []) {
    const parts = [
      cutover.waitingFor > 0
        ? `waiting for ${cutover.waitingFor} running instances to collect (fix or untag the failed ones)`
        : "all collect",
      ...(cutover.sourceConfigBound === undefined
        ? []
        : [cutover.sourceConfigBound ? "source config still bound" : "source config retired"]),
      ...(cutover.copyJob === undefined ? [] : [`copy job ${cutover.copyJob}`]),
    ];
    text += `cutover  ${cutover.route} from ${cutover.sourceAccount}: ${parts.join(", ")}\n`;
  }
  if (summary.deadLetters !== undefined) text += `dead letters  ${summary.deadLetters}\n`;
  text += `failed on the way  ${summary.failedOnTheWay} (hosts that collect in the end but were marked failed before)\n`;
  for (const { instanceId, status, expected } of summary.unexpected.slice(0, 10))
    text += `unexpected  ${instanceId}: ${status}, expected ${expected}\n`;
  return text;
}
