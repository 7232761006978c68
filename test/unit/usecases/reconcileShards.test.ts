/**
 * Reconcile fanned out, on port fakes: the timer reads no instance and sends one message per
 * source account; a shard observes and acts for its account alone and leaves its census; members no
 * census accounts for are traced by their route's shards and reported as strangers only when they
 * stay unaccounted for.
 */
import { HUB_QUEUES, type ReconcileAccountMessage } from "../../../shared/messages/queueMessages";
import { AGENT_ID_TAG_KEY } from "../../../shared/planner/heartbeating";
import type { Plan } from "../../../shared/planner/types";
import { accountsShare, reconcile } from "../../../shared/usecases/reconcile";
import { reconcileBatch } from "../../../shared/usecases/reconcileBatch";
import { CENSUS_MAX_AGE_MS, censusKey, fanOutReconcile } from "../../../shared/usecases/reconcileShards";
import { WORK_START_BUDGET_MS } from "../../../shared/usecases/workBatch";
import {
  APP_B,
  type FakeCloud,
  fakeCloud,
  instance,
  machineOf,
  memorySnapshotStore,
  PAYMENTS,
  REGION,
  routeFor,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const APP_B_PROD = routeFor("app-b-prod");
const PAYMENTS_PROD = routeFor("payments-prod");

let cloud: FakeCloud;
let store: ReturnType<typeof memorySnapshotStore>;
let deps: UseCaseDeps;

const shardMessages = () =>
  cloud.queue
    .sent(HUB_QUEUES.reconcile)
    .flatMap((m) => (m.ok && m.message.type === "reconcile-account" ? [m.message] : []));
const hostWork = () =>
  cloud.queue
    .sent(HUB_QUEUES.apply)
    .flatMap((m) => (m.ok && m.message.type === "host-work" ? [m.message] : []));
const ecsCalls = (accountId: string, region = REGION) => cloud.ecs({ accountId, region }).calls;
const strangerLines = () => cloud.logs.filter((line) => line.detail?.startsWith("stranger:") === true);

/** Runs each account's shard as the reconcile queue's consumer would, with the messages the timer sent. */
async function runShards(messages: readonly ReconcileAccountMessage[]): Promise<void> {
  for (const message of messages)
    await reconcile(deps, {
      shard: { accountId: message.accountId, ...(message.trace ? { trace: message.trace } : {}) },
      hostWork: "queue",
    });
}

/** The route's destination made, with these instances heartbeating in its group. */
function heartbeatingIn(route: typeof APP_B_PROD, ids: readonly string[], extra = 0): void {
  const sls = cloud.sls(route.destination);
  sls.projectExists = true;
  sls.logstores.add(route.route.logstore);
  sls.indexes.add(route.route.logstore);
  sls.machineGroups.set(route.group, [route.identifier]);
  sls.bindings.set(route.group, new Set([route.config]));
  const machines = ids.flatMap((id) => {
    const record = cloud.record(id);
    return record
      ? [{ ...machineOf(record, route.identifier, cloud.clock.now()), ip: record.privateIps[0] ?? "" }]
      : [];
  });
  for (let n = 0; n < extra; n += 1)
    machines.push({
      machineUniqueId: `0000000${n}-AAAA-BBBB-CCCC-DDDDEEEEFFFF`,
      userdefinedId: route.identifier,
      lastHeartbeatTime: Math.floor(cloud.clock.now() / 1000),
      ip: `192.168.77.${n + 1}`,
    });
  sls.machines.set(route.group, machines);
}

beforeEach(() => {
  cloud = fakeCloud();
  store = memorySnapshotStore();
  deps = useCaseDeps(cloud, { snapshots: store });
});

describe("the timer fans the period out", () => {
  test("it reads no instance: one message per source account, nothing judged without censuses", async () => {
    cloud.add(instance("i-bp1shard00001", { tags: tags("app-b-prod") }));

    const outcome = await fanOutReconcile(deps);

    expect(shardMessages().map((m) => m.accountId)).toEqual([APP_B, PAYMENTS]);
    // The shards have their queue: none waits behind the apply queue's work.
    expect(cloud.queue.sent(HUB_QUEUES.apply)).toEqual([]);
    expect(ecsCalls(APP_B)).toEqual([]);
    expect(ecsCalls(PAYMENTS)).toEqual([]);
    expect(outcome).toEqual({
      shards: 2,
      unaccounted: 0,
      strangers: 0,
      unjudgedRoutes: ["app-b-prod", "payments-prod"],
    });
  });

  test("a shard observes and acts for its account alone, and leaves its census", async () => {
    cloud.add(
      instance("i-bp1shard00001", { tags: tags("app-b-prod") }),
      instance("i-bp1shard00002", { accountId: PAYMENTS, tags: tags("payments-prod") }),
    );

    await runShards([{ v: 1, type: "reconcile-account", accountId: PAYMENTS }]);

    expect(ecsCalls(APP_B)).toEqual([]);
    expect(ecsCalls(PAYMENTS).length).toBeGreaterThan(0);
    expect(hostWork().map((m) => [m.accountId, m.requests.flatMap((r) => r.instanceIds)])).toEqual([
      [PAYMENTS, ["i-bp1shard00002"]],
    ]);
    expect(cloud.status("i-bp1shard00001")).toBeUndefined();
    // payments sources one route: app-b-prod's destination is not read.
    expect(cloud.sls(APP_B_PROD.destination).calls.filter((c) => c.method === "listMachines")).toEqual([]);
    expect([...store.objects.keys()]).toContain(censusKey(PAYMENTS));
  });

  test("a source's cutover is decided by the shard of that source's account only", () => {
    const planned: Plan = {
      actions: [
        { type: "retireSourceConfig", route: "payments-prod", sourceAccount: PAYMENTS },
        { type: "retireSourceConfig", route: "payments-prod", sourceAccount: APP_B },
        { type: "ensureRoute", route: "payments-prod", missing: ["binding:linux"] },
      ],
      verdicts: [],
      waits: [
        {
          route: "payments-prod",
          sourceAccount: PAYMENTS,
          step: "retireSourceConfig",
          reason: "SourceGroupNotMigrated",
        },
        {
          route: "payments-prod",
          sourceAccount: APP_B,
          step: "retireSourceConfig",
          reason: "SourceGroupNotMigrated",
        },
      ],
    };

    const share = accountsShare(planned, APP_B);

    expect(share.actions).toEqual([
      { type: "retireSourceConfig", route: "payments-prod", sourceAccount: APP_B },
      { type: "ensureRoute", route: "payments-prod", missing: ["binding:linux"] },
    ]);
    expect(share.waits.map((w) => w.sourceAccount)).toEqual([APP_B]);
  });
});

describe("members no census accounts for", () => {
  const APP_IDS = ["i-bp1shard00011", "i-bp1shard00012"];
  const PAY_IDS = ["i-bp1shard00021"];

  function converged(strangers = 0): void {
    // Each host its own address: a member is also accounted for by an instance's private IP.
    const ip = (id: string) => [`10.0.1.${Number(id.slice(-2))}`];
    cloud.add(
      ...APP_IDS.map((id) => instance(id, { privateIps: ip(id), tags: tags("app-b-prod", "collecting") })),
      ...PAY_IDS.map((id) =>
        instance(id, { accountId: PAYMENTS, privateIps: ip(id), tags: tags("payments-prod", "collecting") }),
      ),
    );
    heartbeatingIn(APP_B_PROD, APP_IDS, strangers);
    heartbeatingIn(PAYMENTS_PROD, PAY_IDS);
  }

  /** One period: the timer, then every shard it asked for. */
  async function period() {
    const before = shardMessages().length;
    const outcome = await fanOutReconcile(deps);
    await runShards(shardMessages().slice(before));
    return outcome;
  }

  test("every host accounted for: nothing to trace, no stranger, and the fleet is covered every period", async () => {
    converged();
    await period();
    const second = await period();

    expect(second).toMatchObject({ shards: 2, unaccounted: 0, strangers: 0, unjudgedRoutes: [] });
    expect(strangerLines()).toEqual([]);
    expect(new Set(shardMessages().map((m) => m.accountId))).toEqual(new Set([APP_B, PAYMENTS]));
  });

  test("a stranger is handed to its route's shards first, and reported when it stays", async () => {
    converged(1);
    await period(); // censuses made

    const second = await period();
    expect(second).toMatchObject({ unaccounted: 1, strangers: 0 });
    const traced = shardMessages().filter((m) => m.trace !== undefined);
    expect(traced.map((m) => m.accountId)).toEqual([APP_B]);
    expect(strangerLines()).toEqual([]);

    const third = await period();
    expect(third).toMatchObject({ unaccounted: 1, strangers: 1 });
    expect(strangerLines()).toEqual([
      expect.objectContaining({ detail: expect.stringContaining("route app-b-prod's linux group") }),
    ]);
  });

  test("a host stripped of every tag is traced by its account's shard and offboarded", async () => {
    converged();
    await period();
    const [stripped = ""] = APP_IDS;
    const record = cloud.record(stripped);
    if (!record) throw new Error("instance missing");
    record.tags = {};

    // app-b's shard finds its census's instance without tags, looks it up by id and traces it.
    await period();
    const revokes = hostWork().flatMap((m) => m.requests.filter((r) => r.kind === "revoke"));
    expect(revokes).toEqual([
      expect.objectContaining({
        kind: "revoke",
        routes: ["app-b-prod"],
        offboards: true,
        instanceIds: [stripped],
      }),
    ]);
    expect(strangerLines()).toEqual([]);
  });

  test("an account without a fresh census: its routes are not judged, so nothing is called a stranger", async () => {
    converged(1);
    await period();
    await period();
    store.objects.delete(censusKey(PAYMENTS));

    const outcome = await fanOutReconcile(deps);
    expect(outcome).toMatchObject({ unjudgedRoutes: ["payments-prod"], strangers: 1 });

    await cloud.clock.sleep(CENSUS_MAX_AGE_MS + 60_000);
    const late = await fanOutReconcile(deps);
    expect(late).toMatchObject({ unaccounted: 0, strangers: 0 });
    expect(late.unjudgedRoutes.sort()).toEqual(["app-b-prod", "payments-prod"]);
  });

  test("an agent-id is a census key too: an ARM host whose serial differs is accounted for", async () => {
    converged();
    const [arm = ""] = APP_IDS;
    const record = cloud.record(arm);
    if (!record) throw new Error("instance missing");
    const uuid = "12345678-9ABC-DEF0-1234-56789ABCDEF0";
    record.tags = { ...record.tags, [AGENT_ID_TAG_KEY]: uuid };
    const sls = cloud.sls(APP_B_PROD.destination);
    sls.machines.set(
      APP_B_PROD.group,
      (sls.machines.get(APP_B_PROD.group) ?? []).map((m, n) =>
        n === 0 ? { ...m, machineUniqueId: uuid } : m,
      ),
    );
    record.serialNumber = "00000000-0000-0000-0000-000000000000";

    await period();
    expect(await period()).toMatchObject({ unaccounted: 0 });
  });
});

describe("shards lost, duplicated or failing", () => {
  test("a shard that fails is sent again alone; the other account's shard runs", async () => {
    cloud.add(
      instance("i-bp1shard00031", { tags: tags("app-b-prod") }),
      instance("i-bp1shard00032", { accountId: PAYMENTS, tags: tags("payments-prod") }),
    );
    cloud.ecs({ accountId: PAYMENTS, region: REGION }).fns.describeInstances = async () => {
      throw Object.assign(new Error("busy"), { code: "ServiceUnavailable", retryable: true });
    };
    await fanOutReconcile(deps);

    const outcome = await reconcileBatch(deps, shardMessages());

    expect(outcome).toMatchObject({ shards: 1, requeued: 1, deadLettered: 0 });
    expect(hostWork().map((m) => m.accountId)).toEqual([APP_B]);
    const again = shardMessages().filter((m) => m.failedAttempts !== undefined);
    expect(again).toEqual([{ v: 1, type: "reconcile-account", accountId: PAYMENTS, failedAttempts: 1 }]);
  });

  test("a shard the run has no time left for goes back to the reconcile queue unstarted", async () => {
    cloud.add(instance("i-bp1shard00035", { tags: tags("app-b-prod") }));
    await fanOutReconcile(deps);
    const late = useCaseDeps(cloud, {
      snapshots: store,
      deadline: () => cloud.clock.now() + WORK_START_BUDGET_MS - 1,
    });

    const outcome = await reconcileBatch(late, shardMessages().slice(0, 1));

    expect(outcome).toEqual({ shards: 0, requeued: 1, deadLettered: 0 });
    expect(ecsCalls(APP_B)).toEqual([]);
    // Not a failure: sent again as it was, with no failed try counted.
    expect(shardMessages()).toEqual([
      { v: 1, type: "reconcile-account", accountId: APP_B },
      { v: 1, type: "reconcile-account", accountId: PAYMENTS },
      { v: 1, type: "reconcile-account", accountId: APP_B },
    ]);
  });

  test("a shard delivered twice decides the same for every instance", async () => {
    cloud.add(
      instance("i-bp1shard00041", { tags: tags("app-b-prod") }),
      instance("i-bp1shard00042", { tags: tags("app-b-prod", "collecting") }),
    );
    const message = { shard: { accountId: APP_B }, hostWork: "queue" as const };

    const first = await reconcile(deps, message);
    const second = await reconcile(deps, message);

    const decided = (outcome: typeof first) =>
      Object.fromEntries(outcome.plan.verdicts.map((v) => [v.instanceId, v.stage]));
    expect(decided(second)).toEqual(decided(first));
  });

  test("a lost period leaves nobody out: every period asks every account again", async () => {
    await fanOutReconcile(deps);
    await fanOutReconcile(deps);
    expect(shardMessages().map((m) => m.accountId)).toEqual([APP_B, PAYMENTS, APP_B, PAYMENTS]);
  });
});
