/**
 * Chaos: the whole pipeline on the local stack — 515 instances in two spokes and two regions, the
 * deployed s.yaml's four functions — while the cloud misbehaves:
 *  - about 20% of ECS, SLS, MNS and STS calls fail: throttled, 5xx, the request lost before it was
 *    served, or the answer lost after it was (the caller cannot tell whether it happened); the mix
 *    differs per service and comes from the seed;
 *  - MNS delivers some messages twice and hands visible messages out in random order;
 *  - function invocations are killed part-way, before or after any of their cloud requests.
 * Expected: every eligible instance collects and every ineligible one ends with its reason within
 * a bounded number of reconcile periods; one machine group, pipeline config, binding and copy job
 * per route; no host file ever holds anything but its state before or after onboarding; the
 * dead-letter queue holds only the poison messages planted here. Hosts of app-b's own collection
 * write logs (rotated by rename and by copytruncate) through onboarding and the cutover, their
 * agents' PutLogs under the same SLS faults: no line is lost, and `verify` reports the lines the
 * agents doubled (a send retried after its answer was lost), never more. Then half the collecting instances
 * are untagged under the same faults: revoked, hosts' files exactly as before onboarding.
 *
 * Seeded: LOGTAIL_XACCT_CHAOS_SEED=<n> reruns one scenario; every failure names its seed. The seed
 * fixes the fault mix, the kill plans and MNS's order; concurrency still interleaves differently
 * from run to run, which is the point of running it every time.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Ecs from "@alicloud/ecs20140526";
import { openCloud } from "../../cli/cloud";
import type { FaultRuleInput } from "../../emulator/core/faults";
import { seededRandom } from "../../emulator/core/random";
import {
  cutoverSettled,
  cutovers,
  deliveryByRoute,
  operatorEcs,
  stopWritingAndDrain,
} from "../../localstack/demo/scenario";
import { jsonLinesLogger, randomKiller } from "../../localstack/fc";
import { parseSimulatedFleet, type SimulatedFleetInput } from "../../localstack/fleet/simulatedFleet";
import type { SimulatedHost } from "../../localstack/fleet/simulatedHost";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import { buildDeployment, eventForwarding } from "../../shared/deploy/policies";
import { copyPartName } from "../../shared/domain/copyJob";
import { parseDeadLetter } from "../../shared/messages/deadLetters";
import {
  encodeMessage,
  HUB_QUEUES,
  MAX_RECEIVE_COUNT,
  WORK_QUEUES,
} from "../../shared/messages/queueMessages";
import { copiesFound } from "../../shared/status/verifyReport";
import { verifyRoute } from "../../shared/usecases/verifyRoute";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const SEED = Number(process.env.LOGTAIL_XACCT_CHAOS_SEED ?? "20261124");
const ROOT = join(__dirname, "../..");
const ROUTES_FILE = join(ROOT, "config/routes.example.yaml");
const routes = loadRoutesConfig(ROUTES_FILE);
const KEPT_LOG_DIR = join(ROOT, ".tmp/chaos");
/** The functions' lines and the runtime's, written where they outlive the run: they explain a failure. */
const FUNCTIONS_LOG = join(KEPT_LOG_DIR, `functions-${SEED}.log`);
const HUB = routes.hub.accountId;
const REGION = routes.hub.region;
const APP_B = "1700000000000397";
const PAYMENTS = "1800000000000512";
/**
 * Emulated ms per wall ms: a reconcile period (10 min) takes 120 s of wall time. The whole local
 * stack shares one event loop and this machine's two cores with the sandboxed hosts, so every wall
 * second it is slow becomes SCALE emulated seconds: at 10, calls slowed by load ran the functions
 * past their 300 s timeouts (35 heartbeat, 22 apply and 14 authorize runs in one run here) and
 * their queue messages into the dead-letter limit — slowness no cloud would show. At 5 the same
 * seed ran without a timeout and converged in 2.41 periods (443.6 s of wall time, alone).
 */
const SCALE = 5;
const RECONCILE_PERIOD_MS = 10 * 60_000;
/** Converged within this many reconcile periods of emulated time, or the test fails. */
const MAX_RECONCILE_PERIODS = 6;
const CALL_FAILURE_RATE = 0.2;
const KILL_RATE = 0.15;
const DUPLICATE_DELIVERY_RATE = 0.1;
/** Hosts of app-b's own collection that write logs through onboarding and cutover, and their rate. */
const WRITING_HOSTS = 6;
const LINES_PER_SECOND = 2;

/** What an instance must end as, and why. */
type Expected = "collecting" | "pending" | `failed:${string}`;

interface Group {
  entry: NonNullable<SimulatedFleetInput["instances"]>[number];
  /** The route tag the operator sets (none: left alone). */
  tag: string;
  expected: Expected;
}

const FOREIGN_WEB = ["team-x-web"];
const FOREIGN_PAYMENTS = ["payments-legacy", "ops-baseline"];

/**
 * app-b-prod retires app-b's own collection and backfills it once every running instance of the
 * route collects, so only healthy hosts carry it; the hosts that cannot collect are on payments-prod
 * (which app-b may use too), next to payments' own.
 */
/**
 * An unwritten log where app-b-prod reads: hosts without writers are idle, and collect once the
 * diagnosis after their delivery timeout finds so (README "Collecting means lines").
 */
const APP_B_LOG = "/var/log/app-b/old.log";

const GROUPS: Group[] = [
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 180, idleLogs: [APP_B_LOG] },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: {
      account: "app-b",
      region: "cn-hangzhou",
      count: 40,
      userDefinedIds: FOREIGN_WEB,
      idleLogs: [APP_B_LOG],
    },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    // The data plane: app-b's own collection (machine group app-b-servers, identifier app-b-web)
    // reads these hosts' app.log until the cutover hands it to the route, rotations included.
    entry: {
      account: "app-b",
      region: "cn-hangzhou",
      count: WRITING_HOSTS,
      userDefinedIds: ["app-b-web"],
      writers: [
        {
          path: "/var/log/app-b/app.log",
          linesPerSecond: LINES_PER_SECOND,
          rotate: { mode: "rename", everySeconds: 240, keep: 2 },
        },
        {
          path: "/var/log/app-b/worker.log",
          linesPerSecond: LINES_PER_SECOND / 2,
          rotate: { mode: "copytruncate", everySeconds: 300, keep: 1 },
        },
      ],
    },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: {
      account: "app-b",
      region: "cn-hangzhou",
      count: 10,
      agent: "loongcollector",
      idleLogs: [APP_B_LOG],
    },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: {
      account: "app-b",
      region: "cn-hangzhou",
      count: 10,
      agentControl: "systemd",
      idleLogs: [APP_B_LOG],
    },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 10, agentRunning: false, idleLogs: [APP_B_LOG] },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: {
      account: "app-b",
      region: "cn-shanghai",
      count: 100,
      slsRegion: "cn-hangzhou",
      idleLogs: [APP_B_LOG],
    },
    tag: "app-b-prod",
    expected: "collecting",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 5, status: "Stopped" },
    tag: "payments-prod",
    expected: "pending",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 5, cloudAssistant: "offline" },
    tag: "payments-prod",
    expected: "failed:CloudAssistantOffline",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 5, agent: "none" },
    tag: "payments-prod",
    expected: "failed:AgentNotInstalled",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 5, heartbeat: "blocked" },
    tag: "payments-prod",
    expected: "failed:NoHeartbeat",
  },
  {
    entry: { account: "app-b", region: "cn-hangzhou", count: 5 },
    tag: "no-such-route",
    expected: "failed:UnknownRoute",
  },
  {
    entry: {
      account: "payments",
      region: "cn-hangzhou",
      count: 130,
      userDefinedIds: FOREIGN_PAYMENTS,
      idleLogs: ["/var/log/payments/old.log"],
    },
    tag: "payments-prod",
    expected: "collecting",
  },
  {
    entry: { account: "payments", region: "cn-hangzhou", count: 5, status: "Stopped" },
    tag: "payments-prod",
    expected: "pending",
  },
  {
    entry: { account: "payments", region: "cn-hangzhou", count: 5 },
    tag: "app-b-prod",
    expected: "failed:RouteNotAllowedForAccount",
  },
];

const FLEET = parseSimulatedFleet({
  accounts: [
    {
      id: HUB,
      name: "hub",
      roles: [
        { name: "logtail-xacct-event-forwarder", trustedAccounts: [APP_B, PAYMENTS] },
        { name: "logtail-xacct-fc", trustedServices: ["fc.aliyuncs.com"] },
        { name: "logtail-xacct-etl-write", trustedServices: [`${APP_B}@log.aliyuncs.com`] },
      ],
    },
    {
      id: APP_B,
      name: "app-b",
      roles: [
        { name: "logtail-xacct-spoke", trustedAccounts: [HUB] },
        { name: "logtail-xacct-etl-read", trustedServices: ["log.aliyuncs.com"] },
      ],
    },
    { id: PAYMENTS, name: "payments", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
  ],
  instances: GROUPS.map((group) => group.entry),
  // app-b's own collection, which app-b-prod retires and copies history from.
  projects: [
    {
      account: "app-b",
      region: "cn-hangzhou",
      name: "app-b-logs",
      logstores: ["app-b"],
      machineGroups: [{ name: "app-b-servers", identifiers: ["app-b-web"] }],
      configs: [{ name: "app-b-files", logstore: "app-b", filePaths: ["/var/log/app-b/*.log"] }],
      bindings: [{ machineGroup: "app-b-servers", config: "app-b-files" }],
    },
  ],
});

// One seeded stream per purpose (emulator/core/random.ts), so adding draws to one does not shift the others.

/** Each service's share of failures split among its kinds of failure, at random from the seed. */
function faultRules(random: () => number): FaultRuleInput[] {
  const kinds: Record<string, Array<Pick<FaultRuleInput, "error" | "lose">>> = {
    ecs: [
      {
        error: {
          status: 400,
          code: "Throttling.User",
          message: "Request was denied due to user flow control.",
        },
      },
      {
        error: {
          status: 503,
          code: "ServiceUnavailable",
          message: "The request has failed due to a temporary failure of the server.",
        },
      },
      {
        error: {
          status: 500,
          code: "InternalError",
          message: "The request processing has failed due to some unknown error.",
        },
      },
      { lose: "request" },
      { lose: "response" },
    ],
    sts: [
      {
        error: {
          status: 400,
          code: "Throttling.User",
          message: "Request was denied due to user flow control.",
        },
      },
      {
        error: {
          status: 500,
          code: "InternalError",
          message: "The request processing has failed due to some unknown error.",
        },
      },
      { lose: "response" },
    ],
    sls: [
      { error: { status: 403, code: "ExceedQuota", message: "Project write quota exceed." } },
      { error: { status: 500, code: "InternalServerError", message: "Internal server error." } },
      { error: { status: 503, code: "ServerBusy", message: "Server is busy, please try again later." } },
      { lose: "request" },
      { lose: "response" },
    ],
    mns: [
      { error: { status: 503, code: "QpsLimitExceeded", message: "The QPS exceeds the limit." } },
      { error: { status: 500, code: "InternalError", message: "Internal error." } },
      { lose: "request" },
      { lose: "response" },
    ],
  };
  const rules: FaultRuleInput[] = [];
  for (const [service, failures] of Object.entries(kinds)) {
    const weights = failures.map(() => 0.25 + random());
    const total = weights.reduce((sum, w) => sum + w, 0);
    // Rules are tried in order and the first failing draw wins: rule i fails a call with the
    // conditional rate that makes its overall share weight_i / total of CALL_FAILURE_RATE.
    let left = 1;
    failures.forEach((failure, index) => {
      const share = (CALL_FAILURE_RATE * (weights[index] ?? 0)) / total;
      rules.push({ service: service as FaultRuleInput["service"], errorRate: share / left, ...failure });
      left -= share;
    });
  }
  return rules;
}

/** A host's identifier file and UID files, as one comparable value. */
function hostFiles(host: SimulatedHost): string {
  return JSON.stringify({ userDefinedId: host.identifierFile() ?? null, users: host.uidFiles() });
}

function onboardedFiles(foreign: readonly string[] | undefined, identifier: string): string {
  return JSON.stringify({
    userDefinedId: [...(foreign ?? []), identifier].map((l) => `${l}\n`).join(""),
    users: [HUB],
  });
}

/** Every failure names the seed that reproduces it. */
function chaosTest(name: string, fn: () => Promise<void>, timeoutMs: number): void {
  test(
    name,
    async () => {
      try {
        await fn();
      } catch (error) {
        if (error instanceof Error)
          error.message = `[chaos seed ${SEED}: rerun with LOGTAIL_XACCT_CHAOS_SEED=${SEED} npx jest test/chaos; the functions' log and each instance's status changes are kept in .tmp/chaos/]\n${error.message}`;
        throw error;
      }
    },
    timeoutMs,
  );
}

describeRequiring(sandboxRequirement(), `chaos (seed ${SEED})`, () => {
  let stack: LocalStack;
  let workDir: string;
  /** Instance id → its group, in fleet order. */
  const groupOf = new Map<string, Group>();
  /** Instance id → every distinct state of its files, in the order seen (consecutive repeats dropped). */
  const history = new Map<string, string[]>();
  const initial = new Map<string, string>();
  const restartsAfterOnboarding = new Map<string, number>();
  const poison: string[] = [];
  /** Instance id → each change of its status tag: emulated minutes since the start, by whom, to what. */
  const statusTimeline = new Map<string, string[]>();
  const lastChange = new Map<string, number>();
  let startedAt = 0;
  /** Off at the end, so the invocations under way finish and the stack stops promptly. */
  let chaosOn = true;

  const record = (host: SimulatedHost): void => {
    const states = history.get(host.instanceId) ?? [];
    const now = hostFiles(host);
    if (states.at(-1) !== now) states.push(now);
    history.set(host.instanceId, states);
  };
  const status = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get(routes.statusTagKey);
  const identifierOf = (group: Group) => routes.routes[group.tag]?.identifier.linux ?? "";

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-chaos-"));
    mkdirSync(KEPT_LOG_DIR, { recursive: true });
    writeFileSync(FUNCTIONS_LOG, "");
    const kill = randomKiller({ rate: KILL_RATE, maxRequest: 30, random: seededRandom(SEED ^ 0x4b11) });
    stack = await startLocalStack({
      fleet: FLEET,
      hubAccountId: HUB,
      hubRegion: REGION,
      workDir,
      endpointsFile: join(workDir, "endpoints.json"),
      template: join(ROOT, "s.yaml"),
      // The deployed buses and rules, under the newer reading of the routing limits and a bus that
      // drops aliyunoriginalaccountid: events are attributed from their payload alone.
      eventRouting: eventForwarding(routes),
      // The roles and policies setup.sh creates: chaos runs the pipeline with least privilege.
      deployedRoles: buildDeployment(routes).accounts.flatMap((account) => account.roles),
      busRouting: "to-custom-only",
      originalAccountId: "dropped",
      functionEnv: {
        LOGTAIL_XACCT_ROUTES_FILE: ROUTES_FILE,
        LOGTAIL_XACCT_LOG_FILE: FUNCTIONS_LOG,
      },
      hubQueues: WORK_QUEUES,
      deadLetterQueue: { name: HUB_QUEUES.deadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
      clock: { startAt: Date.UTC(2026, 5, 1, 8), scale: SCALE },
      faultSeed: SEED,
      // The runtime's own lines (each queue delivery received, invoked and settled) beside the
      // functions' lines, so that a message's every delivery can be followed in one file.
      logger: jsonLinesLogger((text) => appendFileSync(FUNCTIONS_LOG, text)),
      killer: (invocation) => (chaosOn ? kill(invocation) : undefined),
      onCommandFinished: record,
    });
    let index = 0;
    const ids = [...stack.fleet.hosts.keys()];
    for (const group of GROUPS) {
      for (let n = 0; n < (group.entry.count ?? 1); n += 1) {
        const id = ids[index++];
        if (id !== undefined) groupOf.set(id, group);
      }
    }
    for (const host of stack.fleet.hosts.values()) {
      initial.set(host.instanceId, hostFiles(host));
      history.set(host.instanceId, [hostFiles(host)]);
    }
    startedAt = stack.emulator.now();
    stack.emulator.ecs.onTagChange((change) => {
      for (const { instanceId, before, after } of change.changes) {
        const from = before[routes.statusTagKey];
        const to = after[routes.statusTagKey];
        const routeChanged = before[routes.tagKey] !== after[routes.tagKey];
        if (from === to && !routeChanged) continue;
        const minutes = ((change.at - startedAt) / 60_000).toFixed(1);
        const who = change.callerArn.split("/").at(-1) ?? change.callerArn;
        const what = routeChanged ? `route ${after[routes.tagKey] ?? "(removed)"}` : `${to ?? "(none)"}`;
        lastChange.set(instanceId, change.at);
        const line = statusTimeline.get(instanceId) ?? [];
        line.push(`${minutes}m ${who}: ${what}`);
        statusTimeline.set(instanceId, line);
      }
    });
    for (const rule of faultRules(seededRandom(SEED ^ 0xfa17))) stack.emulator.addFault(rule);
    stack.emulator.mns.injectDuplicateDeliveries({
      probability: DUPLICATE_DELIVERY_RATE,
      seed: SEED,
      outOfOrder: true,
    });
  }, 120_000);

  afterAll(async () => {
    chaosOn = false;
    stack?.emulator.clearFaults();
    stack?.emulator.mns.clearDuplicateDeliveries();
    await stack?.stop();
    if (workDir) {
      writeFileSync(
        join(KEPT_LOG_DIR, `timeline-${SEED}.txt`),
        [...statusTimeline]
          .map(([id, changes]) => `${id} ${groupOf.get(id)?.expected}: ${changes.join(" → ")}`)
          .join("\n"),
      );
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 120_000);

  /** The operator's tagging through the ECS API, calling again after a failure as any CLI would. */
  async function setTags(action: "tag" | "untag", ids: readonly string[], value = ""): Promise<void> {
    const byScope = new Map<string, string[]>();
    for (const id of ids) {
      const instance = stack.emulator.ecs.getInstance(id);
      if (!instance) throw new Error(`no instance ${id}`);
      const key = `${instance.accountId}|${instance.regionId}`;
      byScope.set(key, [...(byScope.get(key) ?? []), id]);
    }
    for (const [scope, scoped] of byScope) {
      const [accountId = "", region = ""] = scope.split("|");
      const ecs = operatorEcs(stack, accountId, region);
      if (!ecs) throw new Error(`no keys for ${accountId}`);
      for (let i = 0; i < scoped.length; i += 50) {
        const batch = scoped.slice(i, i + 50);
        for (let attempt = 1; ; attempt += 1) {
          try {
            if (action === "tag")
              await ecs.tagResources(
                new $Ecs.TagResourcesRequest({
                  regionId: region,
                  resourceType: "instance",
                  resourceId: batch,
                  tag: [new $Ecs.TagResourcesRequestTag({ key: routes.tagKey, value })],
                }),
              );
            else
              await ecs.untagResources(
                new $Ecs.UntagResourcesRequest({
                  regionId: region,
                  resourceType: "instance",
                  resourceId: batch,
                  tagKey: [routes.tagKey],
                }),
              );
            break;
          } catch (error) {
            if (attempt >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          }
        }
      }
    }
  }

  /** Waits until `settled` holds for 2 s of wall time; fails past the reconcile-period budget. */
  async function converge(what: string, unsettled: () => string[]): Promise<number> {
    const started = stack.emulator.now();
    const deadline = started + MAX_RECONCILE_PERIODS * RECONCILE_PERIOD_MS;
    let stableSince: number | undefined;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const left = unsettled();
      if (left.length === 0) {
        stableSince ??= stack.emulator.now();
        if (stack.emulator.now() - stableSince >= 2_000 * SCALE)
          return (stableSince - started) / RECONCILE_PERIOD_MS;
      } else {
        stableSince = undefined;
      }
      if (left.length > 0 && stack.emulator.now() > deadline)
        throw new Error(
          `${what}: not converged within ${MAX_RECONCILE_PERIODS} reconcile periods; ${left.length} left, e.g.\n${left.slice(0, 15).join("\n")}\nstatus changes of the first three:\n${left
            .slice(0, 3)
            .map(
              (line) =>
                `${line.split(":")[0]}: ${(statusTimeline.get(line.split(":")[0] ?? "") ?? []).join(" → ")}`,
            )
            .join("\n")}`,
        );
    }
  }

  function unexpectedStatuses(expectedOf: (id: string) => Expected | "revoked"): string[] {
    const wrong: string[] = [];
    for (const id of stack.fleet.hosts.keys()) {
      const expected = expectedOf(id);
      const actual = status(id) ?? "(none)";
      if (actual !== expected) wrong.push(`${id}: ${actual}, expected ${expected}`);
    }
    return wrong;
  }

  /** The destination's and the source's SLS resources, exactly one of each per route. */
  function cloudResources(): Record<string, unknown> {
    const sls = stack.emulator.sls;
    const hub = { accountId: HUB, region: REGION, action: "test" };
    const appB = { accountId: APP_B, region: REGION, action: "test" };
    const page = { offset: 0, size: 500 };
    const read = <T>(fn: () => T): T | string => {
      try {
        return fn();
      } catch (error) {
        return `(${error instanceof Error ? error.message : String(error)})`; // not there (yet)
      }
    };
    const groups = read(() => sls.listMachineGroups(hub, "central-logs", page, undefined).items);
    return {
      hubProjects: read(() => sls.listProjects(hub, page, undefined).items.map((p) => p.name)),
      groups,
      configs: read(() => sls.listConfigs(hub, "central-logs", page, {}).items),
      bindings: Array.isArray(groups)
        ? Object.fromEntries(
            groups.map((g) => [g, read(() => sls.getAppliedConfigs(hub, "central-logs", g))]),
          )
        : groups,
      retiredSourceBinding: read(() => sls.getAppliedConfigs(appB, "app-b-logs", "app-b-servers")),
      copyJobs: read(() => sls.listEtls(appB, "app-b-logs", page, undefined).items.map((etl) => etl.name)),
    };
  }

  const expectedResources = {
    hubProjects: ["central-logs"],
    groups: ["app-b-prod-linux", "payments-prod-linux"],
    configs: ["app-b-prod-linux", "payments-prod-linux"],
    bindings: { "app-b-prod-linux": ["app-b-prod-linux"], "payments-prod-linux": ["payments-prod-linux"] },
    retiredSourceBinding: [],
    // The handover's base job and one part for the writing hosts (position meta), by name.
    copyJobs: [0, 1]
      .map((part) => {
        const route = routes.routes["app-b-prod"];
        if (route === undefined) throw new Error("no route app-b-prod");
        return copyPartName(route, "app-b-prod", APP_B, part);
      })
      .sort(),
  };

  /** How many of these instances carry app-b's own identifier (members of its source group). */
  function untagGroupMembers(ids: ReadonlySet<string>): number {
    return [...ids].filter((id) => groupOf.get(id)?.entry.userDefinedIds?.includes("app-b-web")).length;
  }

  /** Every record on the dead-letter queue (the backend's peek is not held to MNS's 16). */
  function deadLetters(): Array<{ reason: string; original: string }> {
    let visible: ReturnType<typeof stack.emulator.mns.peek> = [];
    try {
      visible = stack.emulator.mns.peek(HUB, REGION, HUB_QUEUES.deadLetter, 10_000);
    } catch {
      return []; // MessageNotExist: the queue is empty
    }
    return visible.map((message) => {
      const text = Buffer.from(message.body, "base64").toString("utf8");
      const record = parseDeadLetter(text);
      // Not a record: a message the queue itself moved after its 10th delivery.
      return record
        ? { reason: record.reason, original: record.original }
        : { reason: "TooManyDeliveries", original: text };
    });
  }

  chaosTest(
    "onboarding under faults: every instance at its expected state, one of each resource, clean host files, only poison dead-lettered",
    async () => {
      const byTag = new Map<string, string[]>();
      for (const [id, group] of groupOf) byTag.set(group.tag, [...(byTag.get(group.tag) ?? []), id]);
      for (const [tag, ids] of byTag) await setTags("tag", ids, tag);

      // Two truly poison messages among the real ones: not a message at all, and a route nobody has.
      const notAMessage = '{"v":1,"type":"await-heartbeat"';
      const ghostRoute = encodeMessage({
        v: 1,
        type: "apply",
        accountId: APP_B,
        region: REGION,
        route: "ghost-route",
        instanceIds: [[...groupOf.keys()][0] ?? "i-none"],
      });
      poison.push(notAMessage, ghostRoute);
      stack.emulator.mns.send(HUB, REGION, HUB_QUEUES.heartbeat, [
        { body: Buffer.from(notAMessage).toString("base64"), delaySeconds: undefined, priority: undefined },
      ]);
      stack.emulator.mns.send(HUB, REGION, HUB_QUEUES.apply, [
        { body: Buffer.from(ghostRoute).toString("base64"), delaySeconds: undefined, priority: undefined },
      ]);

      const periods = await converge("onboarding", () => {
        const wrong = unexpectedStatuses((id) => groupOf.get(id)?.expected ?? "pending");
        const resources = cloudResources();
        if (JSON.stringify(resources) !== JSON.stringify(expectedResources))
          wrong.push(`resources ${JSON.stringify(resources)}`);
        return wrong;
      });
      const settled = [...groupOf.keys()]
        .map((id) => ((lastChange.get(id) ?? startedAt) - startedAt) / 60_000)
        .sort((a, b) => a - b);
      const at = (q: number) =>
        (settled[Math.min(settled.length - 1, Math.floor(q * settled.length))] ?? 0).toFixed(1);
      process.stderr.write(
        `chaos seed ${SEED}: onboarding converged in ${periods.toFixed(2)} reconcile periods; instances at their final status after p50 ${at(0.5)} / p90 ${at(0.9)} / max ${at(1)} emulated minutes\n`,
      );

      expect(cloudResources()).toEqual(expectedResources);
      for (const [id, group] of groupOf) {
        const host = stack.fleet.host(id);
        if (!host) throw new Error(`no host ${id}`);
        const states = history.get(id) ?? [];
        const before = initial.get(id);
        if (group.expected === "collecting") {
          const after = onboardedFiles(group.entry.userDefinedIds, identifierOf(group));
          expect({ id, files: hostFiles(host) }).toEqual({ id, files: after });
          // Before, then after: never a third content, never back and forth.
          expect({ id, states }).toEqual({ id, states: [before, after] });
          restartsAfterOnboarding.set(id, host.restartCount());
        } else {
          expect({
            id,
            states: states.filter(
              (s) => s !== before && s !== onboardedFiles(group.entry.userDefinedIds, identifierOf(group)),
            ),
          }).toEqual({ id, states: [] });
        }
      }
      // A converged host is restarted once, however often its command ran.
      const restarts = [...restartsAfterOnboarding.values()];
      expect(Math.max(...restarts)).toBe(1);

      const letters = deadLetters();
      expect(letters.length).toBeGreaterThan(0);
      // Nothing but the planted poison: a record of anything else names its reason here.
      expect(letters.filter((letter) => !poison.includes(letter.original))).toEqual([]);
      for (const planted of poison) expect(letters.map((l) => l.original)).toContain(planted);
      for (const letter of letters) expect(letter.reason).toMatch(/^(MalformedMessage|UnknownRoute)$/);
    },
    // Six reconcile periods at SCALE 5 are 720 s of wall time: the bound must fail, not jest's timeout.
    900_000,
  );

  chaosTest(
    "the data plane under the same faults: no line lost through the cutover, verify sees the agents' doubled lines",
    async () => {
      const appB = () =>
        cutovers(stack, routes).find((c) => c.route === "app-b-prod" && c.sourceAccount === APP_B);
      const deadline = stack.emulator.now() + 2 * RECONCILE_PERIOD_MS;
      for (;;) {
        const state = appB();
        if (state !== undefined && cutoverSettled(state) && state.copyJob === "SUCCEEDED") break;
        if (stack.emulator.now() > deadline)
          throw new Error(
            `app-b-prod's copy did not finish within 2 reconcile periods: ${JSON.stringify(state)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(await stopWritingAndDrain(stack, { maxWallMs: 60_000 })).toBe(true);

      const delivery = deliveryByRoute(stack, routes).find((route) => route.route === "app-b-prod");
      if (delivery === undefined) throw new Error("no delivery for app-b-prod");
      // verify reads both logstores through the SDK: asked without faults, then they resume.
      stack.emulator.clearFaults();
      let report: Awaited<ReturnType<typeof verifyRoute>>[number] | undefined;
      try {
        const session = await openCloud({
          config: ROUTES_FILE,
          endpointsFile: join(workDir, "endpoints.json"),
        });
        [report] = await verifyRoute(session.deps, "app-b-prod");
      } finally {
        for (const rule of faultRules(seededRandom(SEED ^ 0xfa17))) stack.emulator.addFault(rule);
      }
      if (report === undefined) throw new Error("verify gave no report for app-b-prod");
      process.stderr.write(
        `chaos seed ${SEED}: data plane: ${delivery.written} lines written by ${delivery.hosts} hosts, ${delivery.missing} lost, ${delivery.duplicated} doubled (${delivery.extraCopies} extra copies); verify: ${report.totals.missing} missing, ${report.totals.extraCopies} extra copies, ${report.totals.unplacedRepeated} history lines repeated in the source (${report.totals.unplacedResent} in packs sent again)\n`,
      );

      // What a failure needs to be understood: which lines, and where verify saw them missing.
      if (delivery.missing > 0 || report.totals.missing > 0)
        process.stderr.write(
          `chaos seed ${SEED}: lost lines ${JSON.stringify(delivery.missingSample)}; verify's missing offsets ${JSON.stringify(report.files.filter((f) => f.missing > 0).map((f) => ({ host: f.host, inode: f.inode, offsets: f.missingOffsets })))}\n`,
        );
      expect(delivery.hosts).toBe(WRITING_HOSTS);
      expect(delivery.written).toBeGreaterThan(5_000);
      expect(delivery.missing).toBe(0);
      expect(report.totals).toMatchObject({ missing: 0, unplacedMissing: 0, unplacedExtra: 0 });
      // verify finds every copy the agents made: by position and content, and, for a line an agent
      // doubled before the source config shipped position meta (doubled in the source too, and
      // copied as such), by host and content among the history lines.
      expect(copiesFound(report.totals)).toBe(delivery.extraCopies);
    },
    300_000,
  );

  chaosTest(
    "offboarding half under the same faults: revoked, host files exactly as before onboarding",
    async () => {
      const collecting = [...groupOf].filter(([, g]) => g.expected === "collecting").map(([id]) => id);
      const untag = new Set(collecting.filter((_, index) => index % 2 === 0));
      await setTags("untag", [...untag]);

      // Converged once every status is right and app-b's retired config reaches its group again
      // (some untagged hosts are its machines): an apply killed between its unbinding and its
      // second look leaves that restore to reconcile's next period.
      await converge("offboarding", () => [
        ...unexpectedStatuses((id) => (untag.has(id) ? "revoked" : (groupOf.get(id)?.expected ?? "pending"))),
        ...([cloudResources().retiredSourceBinding].flat().includes("app-b-files")
          ? []
          : ["app-b-servers: app-b-files not bound again"]),
      ]);
      for (const id of untag) {
        const host = stack.fleet.host(id);
        if (!host) throw new Error(`no host ${id}`);
        const group = groupOf.get(id);
        if (!group) throw new Error(`no group for ${id}`);
        const before = initial.get(id);
        const after = onboardedFiles(group.entry.userDefinedIds, identifierOf(group));
        expect({ id, files: hostFiles(host) }).toEqual({ id, files: before });
        expect({ id, states: history.get(id) }).toEqual({ id, states: [before, after, before] });
      }
      // The rest still collect, their files untouched by the others' offboarding.
      for (const id of collecting.filter((id) => !untag.has(id))) {
        const group = groupOf.get(id);
        const host = stack.fleet.host(id);
        if (!group || !host) throw new Error(`no host ${id}`);
        expect({ id, files: hostFiles(host) }).toEqual({
          id,
          files: onboardedFiles(group.entry.userDefinedIds, identifierOf(group)),
        });
      }
      // Some of the untagged hosts are machines of app-b's own group: the retired config goes back
      // to it, so that they are collected by their source again (README step 6).
      expect(untagGroupMembers(untag)).toBeGreaterThan(0);
      expect(cloudResources()).toEqual({ ...expectedResources, retiredSourceBinding: ["app-b-files"] });
      expect(deadLetters().filter((letter) => !poison.includes(letter.original))).toEqual([]);
    },
    900_000,
  );
});
