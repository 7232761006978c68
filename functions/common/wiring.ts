/**
 * What every function builds from its environment and FC context: the routes file (read once per
 * warm instance), adapters acting with the function's role credentials, and a JSON-lines logger.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync } from "node:fs";
import {
  type AlibabaAdapters,
  alibabaEndpoints,
  createAlibabaAdapters,
  credentialsFromFcContext,
  localEndpoints,
  readEndpointsFile,
  rolesFromRoutes,
} from "../../shared/adapters";
import { objectBudgetLedger } from "../../shared/adapters/budgetLedger";
import { functionTime } from "../../shared/adapters/functionTime";
import { ThrottleGate } from "../../shared/adapters/throttleGate";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { RoutesFile } from "../../shared/config/routesSchema";
import type { HostScripts } from "../../shared/hostscript/hostCommand";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import type { EndpointResolver } from "../../shared/ports";
import { errorCode, errorMessage, isRetryable } from "../../shared/ports/errors";
import { buildStepDeps, type StepDeps } from "../../shared/usecases/stepDeps";
import { type FunctionEnv, readFunctionEnv } from "./functionEnv";

export interface FcContextLike {
  requestId?: string;
  region?: string;
  accountId?: string;
  function?: { timeout?: unknown };
}

/**
 * The share of its timeout after which an invocation waits no more (throttle pauses, command
 * results, another heartbeat round): the rest is left for the calls under way and for saying what
 * happened. The hub queues' visibility timeout equals the functions' timeout, so a run that ends by
 * then is never handed out again while it works.
 */
const WAIT_SHARE_OF_TIMEOUT = 0.8;

/** When this invocation must be done waiting, from FC's `context.function.timeout` (seconds). */
function invocationDeadline(context: FcContextLike, startedAt: number): number | undefined {
  const timeout = context.function?.timeout;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) return undefined;
  return startedAt + timeout * 1000 * WAIT_SHARE_OF_TIMEOUT;
}

export interface Wiring {
  env: FunctionEnv;
  config: RoutesFile;
  adapters: AlibabaAdapters;
  endpoints: EndpointResolver;
  /** Milliseconds: the wall clock on Alibaba Cloud, the emulator's on the local stack. */
  now(): number;
  log(line: Record<string, unknown>): void;
  steps: StepDeps;
}

/** The host scripts do not change while an instance is warm: read them once. */
let hostScripts: HostScripts | undefined;

const configs = new Map<string, RoutesFile>();
/** What changes per invocation under adapters kept across warm starts. */
interface InvocationHolder {
  credentials: ReturnType<typeof credentialsFromFcContext>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  deadline: number | undefined;
  log: (line: Record<string, unknown>) => void;
}

const warm = new Map<string, AlibabaAdapters>();

/**
 * The invocation the warm adapters are working for. FC runs one invocation per instance at a time,
 * but the local stack runs a function's concurrent invocations in one process: each must keep its
 * own deadline and credentials, not the last one wired's.
 */
const invocation = new AsyncLocalStorage<InvocationHolder>();

/** Wires the function for this invocation and runs `work` as it. */
export async function withWiring<T>(
  context: FcContextLike & Record<string, unknown>,
  functionName: string,
  work: (wiring: Wiring) => Promise<T>,
): Promise<T> {
  const { wiring, holder } = await wire(context, functionName);
  return invocation.run(holder, () => work(wiring));
}

/**
 * The function's settings; a bad one is said where the function's log lines go, then thrown: the
 * error fails every invocation, and the log file (the local stack's) would otherwise stay empty.
 */
function readEnvOrSay(functionName: string): FunctionEnv {
  try {
    return readFunctionEnv(process.env);
  } catch (error) {
    const line = `${JSON.stringify({ function: functionName, action: "environment", outcome: "failed", detail: errorMessage(error) })}\n`;
    const file = process.env.LOGTAIL_XACCT_LOG_FILE;
    if (file) appendFileSync(file, line);
    else process.stdout.write(line);
    throw error;
  }
}

async function wire(
  context: FcContextLike & Record<string, unknown>,
  functionName: string,
): Promise<{ wiring: Wiring; holder: InvocationHolder }> {
  const env = readEnvOrSay(functionName);
  const config =
    configs.get(env.LOGTAIL_XACCT_ROUTES_FILE) ?? loadRoutesConfig(env.LOGTAIL_XACCT_ROUTES_FILE);
  configs.set(env.LOGTAIL_XACCT_ROUTES_FILE, config);
  const localDocument =
    env.LOGTAIL_XACCT_ENDPOINTS_FILE !== undefined
      ? await readEndpointsFile(env.LOGTAIL_XACCT_ENDPOINTS_FILE)
      : undefined;
  const endpoints: EndpointResolver =
    localDocument !== undefined
      ? localEndpoints(localDocument)
      : alibabaEndpoints({ network: env.LOGTAIL_XACCT_NETWORK });
  const { now, sleep } = await functionTime(env.LOGTAIL_XACCT_ENDPOINTS_FILE);
  // Adapters live as long as the warm instance: the roles they assumed stay cached (one AssumeRole
  // per spoke per hour, not per invocation). FC's own credentials, the clock and the deadline are
  // this call's; every wait of the adapters (throttle pauses, retry backoff) is on that clock.
  // A local stack started again writes the same endpoints file with another port and keys: the
  // warm adapters of the stack before must not be reused.
  const key = [
    functionName,
    env.LOGTAIL_XACCT_ROUTES_FILE,
    env.LOGTAIL_XACCT_ENDPOINTS_FILE ?? "",
    localDocument === undefined ? "" : JSON.stringify(localDocument),
  ].join("|");
  const requestId = typeof context.requestId === "string" ? context.requestId : undefined;
  // One JSON object per line: FC ships stdout to SLS, where each line is one searchable log.
  const log = (line: Record<string, unknown>): void => {
    const text = `${JSON.stringify({ function: functionName, requestId, ...line })}\n`;
    if (env.LOGTAIL_XACCT_LOG_FILE === undefined) process.stdout.write(text);
    else appendFileSync(env.LOGTAIL_XACCT_LOG_FILE, text);
  };
  const current: InvocationHolder = {
    credentials: credentialsFromFcContext(context),
    now,
    sleep,
    deadline: invocationDeadline(context, now()),
    log,
  };
  let adapters = warm.get(key);
  if (!adapters) {
    const ledgerBucket = env.LOGTAIL_XACCT_SNAPSHOT_BUCKET;
    let made: AlibabaAdapters | undefined;
    // Every use of the adapters is inside withWiring (continuations included): the invocation's
    // own values are always there.
    const holder = (): InvocationHolder => {
      const store = invocation.getStore();
      if (store === undefined) throw new Error(`${functionName}: adapters used outside an invocation`);
      return store;
    };
    adapters = createAlibabaAdapters({
      endpoints,
      hub: {
        accountId: config.hub.accountId,
        region: config.hub.region,
        credentials: () => holder().credentials,
      },
      roles: rolesFromRoutes(config),
      sessionName: `logtail-xacct-${functionName}`,
      now: () => holder().now(),
      sleep: (ms) => holder().sleep(ms),
      // Shared by every call of this warm instance: one pause per throttled API, not one per call.
      gate: new ThrottleGate({
        budgets: env.LOGTAIL_XACCT_API_BUDGETS,
        instances: env.LOGTAIL_XACCT_BUDGET_INSTANCES,
        // The instances lease parts of each budget in the hub's bucket (a lone busy one may use it
        // all); without the bucket each keeps to its even share.
        ...(ledgerBucket === undefined
          ? {}
          : {
              ledger: objectBudgetLedger({
                createOnce: (key) => {
                  if (made === undefined)
                    throw new Error("the budget ledger was used before its adapters were made");
                  return made.snapshotStore(ledgerBucket).createOnce(key);
                },
              }),
            }),
        now: () => holder().now(),
        sleep: (ms) => holder().sleep(ms),
        deadline: () => holder().deadline,
        // Past the deadline only the queue's calls start: they settle what the run could not do.
        startsPastDeadline: (call) => call.service === "mns",
        onLedgerFailure: (call, error) =>
          holder().log({
            action: "lease-budget",
            outcome: "failed",
            accountId: call.accountId,
            region: call.region,
            reason: errorCode(error) ?? "LedgerUnreachable",
            detail: `${call.service}:${call.operation}: the bucket could not lease a part of the budget (${errorMessage(error)}); this instance keeps to 1/${env.LOGTAIL_XACCT_BUDGET_INSTANCES} of it for the minute`,
          }),
      }),
    });
    made = adapters;
    warm.set(key, adapters);
  }
  hostScripts ??= readHostScripts();
  const bucket = env.LOGTAIL_XACCT_SNAPSHOT_BUCKET;
  const steps = buildStepDeps({
    config,
    adapters: {
      ecs: (scope) => adapters.ecs(scope),
      sls: (scope) => adapters.sls(scope),
      queue: () => adapters.queue(),
      ...(bucket === undefined ? {} : { snapshots: () => adapters.snapshotStore(bucket) }),
    },
    queues: {
      heartbeat: env.LOGTAIL_XACCT_HEARTBEAT_QUEUE,
      apply: env.LOGTAIL_XACCT_APPLY_QUEUE,
      reconcile: env.LOGTAIL_XACCT_RECONCILE_QUEUE,
      deadLetter: env.LOGTAIL_XACCT_DEAD_LETTER_QUEUE,
    },
    scripts: hostScripts,
    slsDataEndpoint: (region, network) => endpoints.slsDataEndpoint(region, network),
    clock: { now, sleep, deadline: () => current.deadline },
    log: (line) => log({ ...line }),
    origin: functionName,
    onDeadLetter: (entry, queue) =>
      log({
        action: "dead-letter",
        outcome: "ok",
        queue,
        source: entry.source,
        reason: entry.reason,
        ...(entry.detail === undefined ? {} : { detail: entry.detail }),
        ...(entry.messageId === undefined ? {} : { messageId: entry.messageId }),
      }),
  });
  return { wiring: { env, config, adapters, endpoints, now, log, steps }, holder: current };
}

/**
 * Runs a handler's work and, when it throws, logs one line saying what failed (service code, the
 * failing call's request id, whether the trigger's redelivery can help) before FC sees the error.
 */
export async function logFailures<T>(log: Wiring["log"], action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const requestId =
      typeof error === "object" &&
      error !== null &&
      "requestId" in error &&
      typeof error.requestId === "string"
        ? error.requestId
        : undefined;
    log({
      action,
      outcome: "error",
      reason: errorCode(error) ?? (error instanceof Error ? error.name : "Error"),
      detail: errorMessage(error),
      retryable: isRetryable(error),
      ...(requestId === undefined ? {} : { cloudRequestId: requestId }),
    });
    throw error;
  }
}
