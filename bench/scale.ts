/**
 * Scale benchmark (not a test): onboarding N instances through the real pipeline on the local stack,
 * for N = 100, 1,000 and 10,000 by default — the stack `npm start` assembles (startLocalStack with
 * s.yaml's functions and triggers, the hub's queues and dead-letter queue, one simulated sandboxed
 * host per instance), the operator's TagResources 50 at a time, no API rate limits. Per size: wall
 * and emulated time from the first tag to the last `collecting`, every API call the emulator
 * served, and each function's own peak memory on that size's workload (bench/functionMemory.ts).
 *
 *   npx tsx bench/scale.ts [--sizes 100,1000,10000] [--scale 5] [--no-memory] [--catch-up-max N]
 *   npx tsx bench/scale.ts --catch-up-only --sizes 10000     # reconcile's catch-up alone
 *
 * Memory workloads, each one invocation of the function's deploy bundle in a bare node, after the
 * size converged and the in-process functions were stopped:
 * - reconcile: its timer on the converged fleet (observes every instance, machine group and route);
 * - authorize: the operator's first TagResources event, captured from the hub's bus during the run
 *   (50 instances, the most one event names), replayed: the host script runs again on them;
 * - heartbeat: its timer with every instance marked `authorized` and queued for the check as
 *   authorize leaves them (status through TagResources, one await-heartbeat message per 100);
 * - apply: one trigger batch (16 messages, 1,600 instances) of the queue that heartbeat filled;
 * - reconcile again, on a second stack of the same size whose instances were tagged with no event
 *   (every event lost): it authorizes them all (sizes up to `--catch-up-max`).
 * Progress goes to stderr, the result as JSON to stdout.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import { tagFleet } from "../localstack/demo/scenario";
import { loadServerlessSpec, queueMessageEvent, timerEvent } from "../localstack/fc";
import { readSimulatedFleetFile } from "../localstack/fleet/simulatedFleet";
import { detectSandbox } from "../localstack/hostSandbox";
import { type LocalStack, startLocalStack } from "../localstack/stack";
import { loadRoutesConfig } from "../shared/config/routesConfig";
import type { RoutesFile } from "../shared/config/routesSchema";
import { EVENT_BUS, eventForwarding } from "../shared/deploy/policies";
import {
  decodeMessage,
  encodeMessage,
  HUB_QUEUES,
  MAX_INSTANCES_PER_MESSAGE,
  MAX_RECEIVE_COUNT,
  WORK_QUEUES,
} from "../shared/messages/queueMessages";
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
import {
  FUNCTION_MEMORY_LIMIT_MB,
  type FunctionBundles,
  type FunctionProbe,
  packageBundles,
  probeFunction,
  ROUTES_FILE,
  TEMPLATE,
} from "./functionMemory";

/**
 * Emulator ms per wall ms. The simulated hosts run their scripts for real, 4 at a time on this
 * 2-core machine (~30 ms each), while the functions wait for a command's results up to 90 s of
 * emulator time (first look after 5 s of wall time: their sleep is not scaled). At ×20 (npm
 * start's default) that wait is 4.5 s of wall time, but ten concurrent authorize invocations
 * queue ~500 host commands (~15 s): instances fail with HostCommandTimeout until reconcile retries
 * them. At ×5 the wait is 18 s of wall time, and the heartbeat timer (60 s) still only 12 s.
 */
export const DEFAULT_CLOCK_SCALE = 5;
export const DEFAULT_SIZES = [100, 1000, 10_000];
/** Growth from the second-largest to the largest size must be linear or better (log-log slope). */
export const TARGET_GROWTH_EXPONENT = 1;
/** How the catch-up workload is named in the probes (the report looks it up by this). */
export const CATCH_UP_WORKLOAD = "timer after every event was lost";
const ROUTE = "app-b-prod";

export interface ScaleOptions {
  sizes?: readonly number[];
  scale?: number;
  /** Measure each function's peak memory per size (needs the bundles; adds a second stack per size). */
  memory?: boolean;
  /** Reuse bundles packaged by the caller. */
  bundles?: FunctionBundles;
  /**
   * Largest size at which reconcile is also measured catching up after every event was lost (a
   * second stack; it authorizes every instance, 100 per command with a ≥ 5 s wait each: ~10 min
   * at 10,000). Default: every size.
   */
  catchUpMax?: number;
  log?: Log;
}

export interface MemoryAtSize {
  probes: FunctionProbe[];
  /** The probe with the highest peak RSS. */
  heaviest?: { function: string; workload: string; peakRssMb: number };
  limitMb: number;
}

export interface ScalePoint {
  instances: number;
  converged: boolean;
  collecting: number;
  /** First tag to the last instance `collecting` (or to the deadline), wall clock. */
  wallSeconds: number;
  /** The same on the emulator's clock. */
  emulatedSeconds: number;
  secondsPerInstance: number;
  /** Every request the emulator served until convergence or the deadline (ECS, STS, SLS, MNS; operator's tagging included). */
  apiCalls: number;
  callsPerInstance: number;
  throttled: number;
  byOperation: Record<string, number>;
  /** Instances seen with a `failed:` status on the way (retried by the pipeline later). */
  failedOnTheWay: number;
  /** Records in the dead-letter queue when the run ended. */
  deadLetters: number;
  /** Instances by status stage when the run ended (all `collecting` when converged). */
  finalStages: Record<string, number>;
  /** Peak RSS of this whole process during the run: emulator, hosts and all four functions together. */
  stackPeakRssMb: number;
  memory?: MemoryAtSize;
}

export interface ScaleResult {
  clockScale: number;
  apiLimits: "none";
  sizes: number[];
  points: ScalePoint[];
  /** log-log slopes between the two largest sizes: 1 is linear, below 1 better than linear. */
  growth?: { from: number; to: number; wallExponent: number; callsExponent: number };
}

/** What `npm start` sets up, minus the terminal: the stack, its files and the routes. */
interface PipelineStack {
  stack: LocalStack;
  routes: RoutesFile;
  dir: string;
  endpointsFile: string;
  logFile: string;
  stop(): Promise<void>;
}

async function startPipelineStack(
  instances: number,
  clockScale: number,
  options: { functions: boolean; presetRouteTag?: string },
): Promise<PipelineStack> {
  const routes = loadRoutesConfig(ROUTES_FILE);
  const dir = mkdtempSync(join(tmpdir(), "bench-scale-"));
  const fleetFile = join(dir, "fleet.yaml");
  writeFileSync(
    fleetFile,
    pipelineFleetYaml(
      instances,
      options.presetRouteTag === undefined ? undefined : { [routes.tagKey]: options.presetRouteTag },
    ),
  );
  const endpointsFile = join(dir, "endpoints.json");
  const logFile = join(dir, "functions.log");
  writeFileSync(logFile, "");
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      fleet: readSimulatedFleetFile(fleetFile),
      hubAccountId: routes.hub.accountId,
      hubRegion: routes.hub.region,
      workDir: dir,
      endpointsFile,
      ...(options.functions ? { template: TEMPLATE } : {}),
      eventRouting: eventForwarding(routes),
      functionEnv: { LOGTAIL_XACCT_ROUTES_FILE: ROUTES_FILE, LOGTAIL_XACCT_LOG_FILE: logFile },
      hubQueues: WORK_QUEUES,
      deadLetterQueue: { name: HUB_QUEUES.deadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
      clock: { scale: clockScale },
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    stack,
    routes,
    dir,
    endpointsFile,
    logFile,
    stop: async () => {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Status tag of every simulated instance, counted by stage. */
function stages(stack: LocalStack, statusTagKey: string): { byStage: Map<string, number>; failed: string[] } {
  const byStage = new Map<string, number>();
  const failed: string[] = [];
  for (const id of stack.fleet.hosts.keys()) {
    const status = stack.emulator.ecs.getInstance(id)?.tags.get(statusTagKey) ?? "(none)";
    const stage = status.startsWith("failed:") ? "failed" : status;
    byStage.set(stage, (byStage.get(stage) ?? 0) + 1);
    if (stage === "failed") failed.push(id);
  }
  return { byStage, failed };
}

/** Keeps the first ActionTrail event of the operator's route tagging that reaches the hub's bus. */
function captureOperatorTagEvent(stack: LocalStack, routes: RoutesFile): () => string | undefined {
  let captured: string | undefined;
  stack.bridge.putRule({
    accountId: routes.hub.accountId,
    region: routes.hub.region,
    // Where authorize's rule reads: the hub's bus in the hub's region, after forwarding.
    busName: EVENT_BUS,
    name: "bench-capture-operator-tag",
    pattern: { source: ["acs.ecs"], type: ["ecs:ActionTrail:ApiCall"] },
    targets: [
      {
        kind: "function",
        id: "bench-capture",
        deliver: (event) => {
          if (captured !== undefined) return;
          const data = event.data as { eventName?: string; requestParameters?: Record<string, string> };
          const namesRouteTag = Object.values(data.requestParameters ?? {}).includes(routes.tagKey);
          // As the bus trigger hands it to authorize: the CloudEvent as JSON.
          if (data.eventName === "TagResources" && namesRouteTag) captured = JSON.stringify(event);
        },
      },
    ],
  });
  return () => captured;
}

async function onboard(
  instances: number,
  clockScale: number,
  deadlineSeconds: number,
  log: Log,
): Promise<{ point: ScalePoint; pipeline: PipelineStack; operatorEvent: string | undefined }> {
  const pipeline = await startPipelineStack(instances, clockScale, { functions: true });
  try {
    const { stack, routes } = pipeline;
    const operatorEvent = captureOperatorTagEvent(stack, routes);
    let peakRss = process.memoryUsage().rss;
    const everFailed = new Set<string>();
    const started = performance.now();
    const emulatedStart = stack.emulator.now();
    await tagFleet(stack, routes);
    let lastLog = started;
    let converged: { wallMs: number; emulatedMs: number } | undefined;
    let collecting = 0;
    let seen = stages(stack, routes.statusTagKey);
    for (;;) {
      await sleep(250);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      seen = stages(stack, routes.statusTagKey);
      for (const id of seen.failed) everFailed.add(id);
      collecting = seen.byStage.get("collecting") ?? 0;
      const now = performance.now();
      if (collecting === instances) {
        converged = { wallMs: now, emulatedMs: stack.emulator.now() };
        break;
      }
      if (now - lastLog >= 15_000) {
        lastLog = now;
        const counts = [...seen.byStage].map(([stage, count]) => `${stage} ${count}`).join(", ");
        log(`  ${instances}: ${((now - started) / 1000).toFixed(0)} s, ${counts}`);
      }
      if (now - started > deadlineSeconds * 1000) break;
    }
    // Counted at convergence: what the functions do afterwards (timers finding nothing) is not onboarding.
    const metrics = stack.emulator.metrics();
    const byOperation: Record<string, number> = {};
    for (const op of metrics.operations) {
      const key = `${op.service}:${op.operation}`;
      byOperation[key] = (byOperation[key] ?? 0) + op.calls;
    }
    const wallSeconds = ((converged?.wallMs ?? performance.now()) - started) / 1000;
    const emulatedSeconds = ((converged?.emulatedMs ?? stack.emulator.now()) - emulatedStart) / 1000;
    const point: ScalePoint = {
      instances,
      converged: converged !== undefined,
      collecting,
      wallSeconds: round(wallSeconds, 1),
      emulatedSeconds: round(emulatedSeconds, 1),
      secondsPerInstance: round(wallSeconds / instances, 4),
      apiCalls: metrics.totalCalls,
      callsPerInstance: round(metrics.totalCalls / instances, 4),
      throttled: metrics.operations.reduce((n, op) => n + op.throttled, 0),
      byOperation,
      failedOnTheWay: everFailed.size,
      finalStages: Object.fromEntries(seen.byStage),
      deadLetters: stack.emulator.mns.getQueue(routes.hub.accountId, routes.hub.region, HUB_QUEUES.deadLetter)
        .activeMessages,
      stackPeakRssMb: round(peakRss / 1024 ** 2, 1),
    };
    log(
      `  ${instances}: ${point.converged ? "converged" : "NOT converged"} in ${point.wallSeconds} s wall (${point.emulatedSeconds} s emulated), ` +
        `${point.apiCalls} API calls = ${point.callsPerInstance} per instance, ${point.failedOnTheWay} failed on the way; ` +
        `stages ${JSON.stringify(point.finalStages)}`,
    );
    // The figures are taken. Invocations under way (a reconcile run re-authorizing batches, say)
    // would go on for minutes, and stopping waits for them: every call now fails, not retryable,
    // so they end at their next request. Their retries' dead letters land after the count above.
    for (const service of ["ecs", "sts", "sls", "mns"] as const)
      stack.emulator.addFault({
        service,
        error: {
          status: 403,
          code: "Forbidden.BenchStopping",
          message: "the benchmark is stopping the functions",
        },
      });
    const stopping = performance.now();
    await stack.runtime?.stop();
    stack.emulator.clearFaults();
    log(
      `  ${instances}: in-process functions stopped in ${((performance.now() - stopping) / 1000).toFixed(0)} s`,
    );
    return { point, pipeline, operatorEvent: operatorEvent() };
  } catch (error) {
    await pipeline.stop();
    throw error;
  }
}

function probeTarget(pipeline: PipelineStack) {
  return {
    emulator: pipeline.stack.emulator,
    endpointsFile: pipeline.endpointsFile,
    logFile: pipeline.logFile,
    hubAccountId: pipeline.routes.hub.accountId,
    hubRegion: pipeline.routes.hub.region,
  };
}

function timerPayload(pipeline: PipelineStack, functionName: string): string {
  const spec = loadServerlessSpec(TEMPLATE, {
    env: process.env,
    config: { AccountID: pipeline.routes.hub.accountId },
  });
  const trigger = spec.functions.find((fn) => fn.resource === functionName)?.triggers[0];
  if (trigger?.type !== "timer") throw new Error(`${functionName} has no timer trigger in s.yaml`);
  return timerEvent(trigger, pipeline.stack.emulator.now()).toString("utf8");
}

/** The status authorize writes after the host script succeeded, through the ECS API (50 per call, as the adapter batches). */
async function markAuthorized(pipeline: PipelineStack, ids: readonly string[]): Promise<void> {
  const { stack, routes } = pipeline;
  const keys = stack.emulator.endpoints.accounts.find((a) => a.id === SPOKE_ACCOUNT);
  if (keys === undefined) throw new Error("the emulator has no keys for the spoke");
  const ecs = new Ecs(
    new $OpenApiUtil.Config({
      accessKeyId: keys.accessKeyId,
      accessKeySecret: keys.accessKeySecret,
      regionId: REGION,
      endpoint: `ecs.${REGION}.localhost:${stack.emulator.port}`,
      protocol: "http",
    }),
  );
  for (let i = 0; i < ids.length; i += 50) {
    await ecs.tagResources(
      new $Ecs.TagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: ids.slice(i, i + 50),
        tag: [new $Ecs.TagResourcesRequestTag({ key: routes.statusTagKey, value: "authorized" })],
      }),
    );
  }
}

/** What the apply trigger would deliver next: up to its batch window of messages, as one event-streaming array. */
async function applyBatchEvent(pipeline: PipelineStack): Promise<{ event: string; instances: number }> {
  const { routes, stack } = pipeline;
  const spec = loadServerlessSpec(TEMPLATE, {
    env: process.env,
    config: { AccountID: routes.hub.accountId },
  });
  const fn = spec.functions.find((candidate) => candidate.resource === "apply");
  const trigger = fn?.triggers.find((candidate) => candidate.type === "eventbridge");
  if (fn === undefined || trigger?.type !== "eventbridge")
    throw new Error("s.yaml: apply has no queue trigger");
  const received = await stack.emulator.mns.receive(
    routes.hub.accountId,
    routes.hub.region,
    HUB_QUEUES.apply,
    trigger.batch.count ?? 16,
    0,
  );
  let instances = 0;
  const events = received.map((message) => {
    const event = queueMessageEvent(
      {
        messageId: message.messageId,
        receiptHandle: message.receiptHandle ?? "",
        body: message.body,
        enqueueTime: message.enqueueTime,
        dequeueCount: message.dequeueCount,
      },
      trigger,
      {
        accountId: routes.hub.accountId,
        region: routes.hub.region,
        functionName: fn.name,
        now: stack.emulator.now(),
      },
    );
    const decoded = decodeMessage((event.data as { messageBody?: string }).messageBody ?? "");
    if (decoded.ok && decoded.message.type === "apply") instances += decoded.message.instanceIds.length;
    return event;
  });
  return { event: JSON.stringify(events), instances };
}

async function measureMemory(
  converged: PipelineStack,
  operatorEvent: string | undefined,
  point: ScalePoint,
  clockScale: number,
  catchUp: boolean,
  bundles: FunctionBundles,
  log: Log,
): Promise<MemoryAtSize> {
  const { instances } = point;
  // Where the run ended: normally every instance collecting; past the deadline, wherever it got.
  const fleet = point.converged
    ? "the converged fleet"
    : `the fleet at the deadline (${point.collecting} of ${instances} collecting)`;
  const probes: FunctionProbe[] = [];
  const report = (probe: FunctionProbe) => {
    probes.push(probe);
    log(
      `  ${instances}: ${probe.function} (${probe.workload}): peak RSS ${probe.peakRssMb} MB ` +
        `(${probe.loadedRssMb} MB after loading), ${probe.seconds} s, ${probe.ok ? `ok: ${probe.result}` : `FAILED: ${probe.error}`}`,
    );
  };
  // The in-process functions are stopped: nothing else drains the queues or competes.
  const target = probeTarget(converged);
  report(
    await probeFunction(bundles, target, "reconcile", timerPayload(converged, "reconcile"), {
      workload: `timer on ${fleet}: observes all ${instances} instances`,
      instances,
    }),
  );
  if (operatorEvent === undefined)
    log(`  ${instances}: no operator tag event was captured: authorize not probed`);
  else {
    const named = (JSON.parse(operatorEvent) as { data?: { referencedResources?: Record<string, string[]> } })
      .data?.referencedResources?.["ACS::ECS::Instance"]?.length;
    report(
      await probeFunction(bundles, target, "authorize", operatorEvent, {
        workload: `the operator's TagResources event (${named ?? "?"} instances)`,
        instances: named ?? 0,
      }),
    );
  }

  // Every instance just authorized, as authorize leaves it: status `authorized` written, one
  // await-heartbeat message per 100 instances queued. Heartbeat then checks the whole fleet, and
  // apply gets one trigger batch of what heartbeat passed on.
  const { stack, routes } = converged;
  const ids = [...stack.fleet.hosts.keys()];
  await markAuthorized(converged, ids);
  const messages: string[] = [];
  for (let i = 0; i < ids.length; i += MAX_INSTANCES_PER_MESSAGE) {
    messages.push(
      encodeMessage({
        v: 1,
        type: "await-heartbeat",
        accountId: SPOKE_ACCOUNT,
        region: REGION,
        route: ROUTE,
        instanceIds: ids.slice(i, i + MAX_INSTANCES_PER_MESSAGE),
        authorizedAt: stack.emulator.now(),
        checks: 0,
      }),
    );
  }
  stack.emulator.mns.send(
    routes.hub.accountId,
    routes.hub.region,
    HUB_QUEUES.heartbeat,
    // Base64, as the functions' queue adapter sends every body.
    messages.map((body) => ({
      body: Buffer.from(body, "utf8").toString("base64"),
      delaySeconds: undefined,
      priority: undefined,
    })),
  );
  report(
    await probeFunction(bundles, target, "heartbeat", timerPayload(converged, "heartbeat"), {
      workload: `timer with every instance marked authorized and queued (${messages.length} messages)`,
      instances,
    }),
  );
  const batch = await applyBatchEvent(converged);
  report(
    await probeFunction(bundles, target, "apply", batch.event, {
      workload: `one trigger batch of the apply queue (${batch.instances} instances)`,
      instances: batch.instances,
    }),
  );

  if (catchUp) report(await measureCatchUp(instances, clockScale, bundles));
  const measured = probes.filter((probe) => Number.isFinite(probe.peakRssMb));
  const heaviest = measured.sort((a, b) => b.peakRssMb - a.peakRssMb)[0];
  return {
    probes,
    ...(heaviest === undefined
      ? {}
      : {
          heaviest: {
            function: heaviest.function,
            workload: heaviest.workload,
            peakRssMb: heaviest.peakRssMb,
          },
        }),
    limitMb: FUNCTION_MEMORY_LIMIT_MB,
  };
}

/**
 * Every event lost: a stack of the same size whose instances carry the route tag from the start
 * (no event) and no functions; reconcile's timer alone must find and authorize them all.
 */
export async function measureCatchUp(
  instances: number,
  clockScale: number,
  bundles: FunctionBundles,
): Promise<FunctionProbe> {
  const lost = await startPipelineStack(instances, clockScale, { functions: false, presetRouteTag: ROUTE });
  try {
    return await probeFunction(bundles, probeTarget(lost), "reconcile", timerPayload(lost, "reconcile"), {
      workload: `${CATCH_UP_WORKLOAD}: authorizes all ${instances} instances`,
      instances,
    });
  } finally {
    await lost.stop();
  }
}

/** log-log slope: how `value` grows with `size` between two points (1 = linear). */
export function growthExponent(
  a: { size: number; value: number },
  b: { size: number; value: number },
): number {
  return Math.log(b.value / a.value) / Math.log(b.size / a.size);
}

export async function runScaleBench(options: ScaleOptions = {}): Promise<ScaleResult> {
  const sizes = [...(options.sizes ?? DEFAULT_SIZES)].sort((a, b) => a - b);
  const clockScale = options.scale ?? DEFAULT_CLOCK_SCALE;
  const catchUpMax = options.catchUpMax ?? Number.POSITIVE_INFINITY;
  const log = options.log ?? stdoutLog;
  const sandbox = detectSandbox();
  if (!sandbox.available) throw new Error(`no sandbox for simulated hosts: ${sandbox.reason}`);
  const bundles = options.memory === false ? undefined : (options.bundles ?? (await packageBundles()));
  log(
    `scale bench: ${sizes.join(", ")} instances, emulator time ×${clockScale}, no API rate limits, sandbox ${sandbox.kind}`,
  );
  const points: ScalePoint[] = [];
  try {
    for (const instances of sizes) {
      // ~30 ms of host script per instance on two cores, plus the timers, plus room.
      const deadlineSeconds = 180 + instances * 0.04;
      const { point, pipeline, operatorEvent } = await onboard(instances, clockScale, deadlineSeconds, log);
      try {
        if (bundles !== undefined)
          point.memory = await measureMemory(
            pipeline,
            operatorEvent,
            point,
            clockScale,
            instances <= catchUpMax,
            bundles,
            log,
          );
      } finally {
        await pipeline.stop();
      }
      points.push(point);
    }
  } finally {
    if (options.bundles === undefined) bundles?.cleanup();
  }
  const growth = growthBetweenLargest(points);
  return { clockScale, apiLimits: "none", sizes, points, ...(growth ? { growth } : {}) };
}

/**
 * Growth between the two largest sizes, when both converged: a size that did not has no time to
 * converge, only the deadline.
 */
export function growthBetweenLargest(points: readonly ScalePoint[]): ScaleResult["growth"] {
  const [from, to] = points.slice(-2);
  if (from === undefined || to === undefined || !from.converged || !to.converged) return undefined;
  const exponent = (a: number, b: number) =>
    round(growthExponent({ size: from.instances, value: a }, { size: to.instances, value: b }));
  return {
    from: from.instances,
    to: to.instances,
    wallExponent: exponent(from.wallSeconds, to.wallSeconds),
    callsExponent: exponent(from.apiCalls, to.apiCalls),
  };
}

if (require.main === module) {
  const sizesIndex = process.argv.indexOf("--sizes");
  const sizes =
    sizesIndex < 0
      ? DEFAULT_SIZES
      : (process.argv[sizesIndex + 1] ?? "").split(",").map(Number).filter(Boolean);
  const scale = numberOption("scale", DEFAULT_CLOCK_SCALE);
  const print = (result: unknown) => {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  };
  const fail = (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  };
  if (process.argv.includes("--catch-up-only")) {
    // Only reconcile's catch-up, per size: its peak memory and how long it takes.
    (async () => {
      const bundles = await packageBundles();
      try {
        const probes: FunctionProbe[] = [];
        for (const instances of sizes) {
          const probe = await measureCatchUp(instances, scale, bundles);
          stderrLog(`  ${instances}: reconcile catch-up: peak RSS ${probe.peakRssMb} MB, ${probe.seconds} s`);
          probes.push(probe);
        }
        return probes;
      } finally {
        bundles.cleanup();
      }
    })().then(print, fail);
  } else {
    runScaleBench({
      sizes,
      scale,
      memory: !process.argv.includes("--no-memory"),
      catchUpMax: numberOption("catch-up-max", Number.POSITIVE_INFINITY),
      log: stderrLog,
    }).then(print, fail);
  }
}
