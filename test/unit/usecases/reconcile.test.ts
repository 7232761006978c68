/**
 * Reconcile on port fakes: what it observes (read-only, only a `…NotExist` answer counts as
 * missing), and what it does with the plan — status writes, host commands through authorize,
 * heartbeat checks and apply messages. The same scenarios as test/pipeline/reconcile.test.ts,
 * without the stack; the planner's own decisions are test/planner/plan.test.ts's.
 */

import { copyJobName } from "../../../shared/domain/copyJob";
import {
  type ApplyMessage,
  decodeMessage,
  encodeMessage,
  HUB_QUEUES,
  MAX_MESSAGE_BYTES,
} from "../../../shared/messages/queueMessages";
import { runHostActions } from "../../../shared/usecases/authorizeInstances";
import { hostWorkMessages, observeFleet, reconcile } from "../../../shared/usecases/reconcile";
import {
  APP_B,
  argsOf,
  cloudError,
  dataEndpoint,
  type FakeCloud,
  fakeCloud,
  instance,
  machineOf,
  PAYMENTS,
  REGION,
  routeFor,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const IDS = ["i-bp1recon00001", "i-bp1recon00002", "i-bp1recon00003"];
const APP_B_PROD = routeFor("app-b-prod");
const PAYMENTS_PROD = routeFor("payments-prod");

let cloud: FakeCloud;
let deps: UseCaseDeps;

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
});

const destination = () => cloud.sls(APP_B_PROD.destination);
const sourceProject = () => cloud.sls({ accountId: APP_B, region: REGION, project: "app-b-logs" });
const sent = (queue: string) => cloud.queue.sent(queue).flatMap((m) => (m.ok ? [m.message] : []));
const applies = () =>
  cloud.queue.sent(HUB_QUEUES.apply).flatMap((m) => (m.ok && m.message.type === "apply" ? [m.message] : []));
/** Journal entries of calls that change something (a read-only look has none). */
const writes = () =>
  cloud.journal.filter((entry) =>
    /\.(tagInstances|untagInstances|runCommand|ensure\w+|applyConfig|removeConfig|createEtl|send|delete|changeVisibility)$/.test(
      entry,
    ),
  );

/** The route's destination fully made: project, logstore, index, Linux group, config and binding. */
function destinationReady(route = APP_B_PROD): void {
  const sls = cloud.sls(route.destination);
  sls.projectExists = true;
  sls.logstores.add(route.route.logstore);
  sls.indexes.add(route.route.logstore);
  sls.machineGroups.set(route.group, [route.identifier]);
  sls.pipelineConfigs.set(route.config, {
    name: route.config,
    filePaths: ["/var/log/app-b/**/*.log"],
    processors: [],
    logstore: route.route.logstore,
    endpoint: dataEndpoint(REGION),
  });
  sls.bindings.set(route.group, new Set([route.config]));
}

/** These instances' agents heartbeat in the route's group now. */
function heartbeating(ids: readonly string[], route = APP_B_PROD): void {
  cloud.sls(route.destination).machines.set(
    route.group,
    ids.flatMap((id) => {
      const record = cloud.record(id);
      return record ? [machineOf(record, route.identifier, cloud.clock.now())] : [];
    }),
  );
}

/** The source's cutover done: old binding gone (no group bound), the copy job there. */
function cutoverDone(): void {
  const source = sourceProject();
  source.projectExists = true;
  const name = copyJobName("logtail-xacct", "app-b-prod", APP_B);
  source.etls.set(name, {
    name,
    displayName: "copy",
    status: "SUCCEEDED",
    logstore: "app-b",
    fromTime: 0,
    script: "*",
    toTime: 1,
    sinks: [],
  });
}

function convergedFleet(): void {
  cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod", "collecting") })));
  destinationReady();
  heartbeating(IDS);
  cutoverDone();
}

describe("reconcile", () => {
  test("instances tagged while no event arrived: pending, then authorized, and the route's resources handed to apply", async () => {
    cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod") })));

    const outcome = await reconcile(deps);

    expect(outcome.executed).toMatchObject({ ensureRoute: 1, authorize: 1, setStatus: 1, revoke: 0 });
    expect(IDS.map((id) => cloud.status(id))).toEqual(["authorized", "authorized", "authorized"]);
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });
    expect(argsOf(ecs.calls, "tagInstances")).toContainEqual([
      IDS,
      { [deps.config.statusTagKey]: "pending" },
    ]);
    expect(ecs.commandsRun("authorize").flatMap((c) => c.instanceIds)).toEqual(IDS);
    expect(sent(HUB_QUEUES.heartbeat)).toEqual([
      expect.objectContaining({ type: "await-heartbeat", route: "app-b-prod", instanceIds: IDS }),
    ]);
    expect(sent(HUB_QUEUES.apply)).toEqual([
      { v: 1, type: "apply", accountId: APP_B, region: REGION, route: "app-b-prod", instanceIds: IDS },
    ]);
    expect(cloud.logs.at(-1)).toMatchObject({
      action: "reconcile",
      outcome: "ok",
      detail: JSON.stringify(outcome.executed),
    });
  });

  test("a converged fleet plans nothing and writes nothing", async () => {
    convergedFleet();

    const outcome = await reconcile(deps);

    expect(outcome.plan.actions).toEqual([]);
    expect(writes()).toEqual([]);
    expect(Object.values(outcome.executed).every((n) => n === 0)).toBe(true);
  });

  test("drift: a binding removed in the destination sends the route to apply, without a host command", async () => {
    convergedFleet();
    destination().bindings.get(APP_B_PROD.group)?.clear();

    const outcome = await reconcile(deps);

    expect(outcome.plan.actions).toContainEqual({
      type: "ensureRoute",
      route: "app-b-prod",
      missing: ["binding:linux"],
    });
    expect(sent(HUB_QUEUES.apply)).toEqual([expect.objectContaining({ type: "apply", instanceIds: IDS })]);
    expect(cloud.ecs({ accountId: APP_B, region: REGION }).commandsRun()).toEqual([]);
  });

  test("applyNow: the apply work is run in place instead of queued", async () => {
    convergedFleet();
    destination().bindings.get(APP_B_PROD.group)?.clear();
    const applied: ApplyMessage[] = [];

    await reconcile(deps, { applyNow: async (message) => void applied.push(message) });

    expect(applied).toEqual([
      expect.objectContaining({ type: "apply", route: "app-b-prod", instanceIds: IDS }),
    ]);
    expect(sent(HUB_QUEUES.apply)).toEqual([]);
  });

  test("an instance whose tag is gone is offboarded through authorize: revoke commands, status revoked", async () => {
    convergedFleet();
    const [kept1, kept2, untagged = ""] = IDS;
    const record = cloud.record(untagged);
    if (!record) throw new Error("instance missing");
    record.tags = tags(undefined, "collecting");

    const outcome = await reconcile(deps);

    expect(outcome.executed.revoke).toBe(1);
    expect(cloud.status(untagged)).toBe("revoked");
    const revokes = cloud.ecs({ accountId: APP_B, region: REGION }).commandsRun("revoke");
    expect(revokes.map((c) => c.words[4])).toContain("app-b-prod-linux");
    expect(revokes.flatMap((c) => c.instanceIds)).not.toContain(kept1);
    expect([cloud.status(kept1 ?? ""), cloud.status(kept2 ?? "")]).toEqual(["collecting", "collecting"]);
  });

  test("untagged after the source config was retired: the config goes back to its group, the revoke waits a run", async () => {
    convergedFleet();
    const untagged = IDS[2] ?? "";
    const record = cloud.record(untagged);
    if (!record) throw new Error("instance missing");
    record.tags = tags(undefined, "collecting");
    record.privateIps = ["10.0.0.13"];
    // The customer's group and config, unbound by the retire; the group still lists every host
    // (each keeps the customer's own identifier).
    sourceProject().machineGroups.set("app-b-servers", ["app-b-web"]);
    sourceProject().pipelineConfigs.set("app-b-files", {
      name: "app-b-files",
      filePaths: ["/var/log/app-b/*.log"],
      processors: [],
      logstore: "app-b",
      endpoint: dataEndpoint(REGION),
    });
    sourceProject().machines.set(
      "app-b-servers",
      IDS.flatMap((id) => cloud.record(id)?.privateIps ?? []).map((ip, i) => ({
        machineUniqueId: `SRC-${i}`,
        userdefinedId: "app-b-web",
        lastHeartbeatTime: cloud.clock.now() / 1000,
        ip,
      })),
    );

    const first = await reconcile(deps);

    expect(first.executed).toMatchObject({ restoreSourceConfig: 1, revoke: 0 });
    expect([...(sourceProject().bindings.get("app-b-servers") ?? [])]).toEqual(["app-b-files"]);
    expect(cloud.ecs({ accountId: APP_B, region: REGION }).commandsRun("revoke")).toEqual([]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "restore-source-config",
        detail: expect.stringContaining(
          `1 machines of the group are collected by nobody (${record.privateIps[0]})`,
        ),
      }),
    );

    const second = await reconcile(deps);

    expect(second.executed).toMatchObject({ restoreSourceConfig: 0, revoke: 1 });
    expect(cloud.status(untagged)).toBe("revoked");
  });

  test("authorized hosts not heartbeating yet get a heartbeat check, not another command", async () => {
    cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod", "authorized") })));
    destinationReady();
    cutoverDone();

    const outcome = await reconcile(deps);

    expect(outcome.executed).toMatchObject({ awaitHeartbeat: 1, authorize: 0 });
    expect(sent(HUB_QUEUES.heartbeat)).toEqual([
      {
        v: 1,
        type: "await-heartbeat",
        accountId: APP_B,
        region: REGION,
        route: "app-b-prod",
        instanceIds: IDS,
        authorizedAt: cloud.clock.now(),
        checks: 0,
      },
    ]);
    expect(cloud.ecs({ accountId: APP_B, region: REGION }).commandsRun()).toEqual([]);
  });

  test("once every instance of the source collects, apply is sent the source's instances to cut over", async () => {
    convergedFleet();
    sourceProject().etls.clear();
    sourceProject().machineGroups.set("app-b-servers", ["app-b-legacy"]);
    sourceProject().bindings.set("app-b-servers", new Set(["app-b-files"]));

    const outcome = await reconcile(deps);

    // A handover: the copy is cut first; the retire comes after it (apply's order).
    expect(outcome.executed).toMatchObject({ retireSourceConfig: 0, createBackfill: 1 });
    expect(applies()).toEqual([
      expect.objectContaining({ type: "apply", accountId: APP_B, route: "app-b-prod" }),
    ]);
    expect(
      applies()
        .flatMap((m) => m.instanceIds)
        .sort(),
    ).toEqual([...IDS].sort());
    // The cutover itself is apply's: reconcile neither unbinds nor creates.
    expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
    expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
  });

  test("the copy cut, a machine of the source group not migrated: no retire is sent, the log says why", async () => {
    convergedFleet();
    sourceProject().machineGroups.set("app-b-servers", ["app-b-legacy"]);
    sourceProject().bindings.set("app-b-servers", new Set(["app-b-files"]));
    sourceProject().machines.set("app-b-servers", [
      { machineUniqueId: "LEGACY-9", userdefinedId: "app-b-legacy", lastHeartbeatTime: 0, ip: "10.9.9.9" },
    ]);

    const outcome = await reconcile(deps);

    expect(outcome.executed).toMatchObject({ retireSourceConfig: 0, createBackfill: 0 });
    expect(applies()).toEqual([]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "retire-source-config",
        outcome: "skipped",
        reason: "SourceGroupNotMigrated",
        route: "app-b-prod",
        detail: expect.stringContaining("1 machines of the source group are not migrated (10.9.9.9)"),
      }),
    );
  });

  test("an apply message never names an instance the route refuses (another account tagging this route)", async () => {
    cloud.add(
      instance("i-bp1recon00001", { tags: tags("app-b-prod") }),
      instance("i-bp1payments01", { accountId: PAYMENTS, tags: tags("app-b-prod") }),
    );

    await reconcile(deps);

    expect(applies().flatMap((m) => m.instanceIds)).toEqual(["i-bp1recon00001"]);
    expect(cloud.status("i-bp1payments01")).toBe("failed:RouteNotAllowedForAccount");
  });

  test("route option: only that route's actions run (the whole fleet is still observed)", async () => {
    cloud.add(
      instance("i-bp1appb000001", { tags: tags("app-b-prod") }),
      instance("i-bp1pay0000001", { tags: tags("payments-prod") }),
    );

    const outcome = await reconcile(deps, { route: "payments-prod" });

    expect(outcome.plan.actions.every((a) => !("route" in a) || a.route === "payments-prod")).toBe(true);
    expect(cloud.status("i-bp1pay0000001")).toBe("authorized");
    expect(cloud.status("i-bp1appb000001")).toBeUndefined();
    expect(
      cloud
        .ecs({ accountId: APP_B, region: REGION })
        .commandsRun()
        .flatMap((c) => c.instanceIds),
    ).toEqual(["i-bp1pay0000001"]);
    expect(applies().map((m) => m.route)).toEqual(["payments-prod"]);
  });

  test("accountId option: only that account is observed and acted on", async () => {
    cloud.add(
      instance("i-bp1appb000001", { tags: tags("app-b-prod") }),
      instance("i-bp1pay0000001", { accountId: PAYMENTS, tags: tags("payments-prod") }),
    );

    await reconcile(deps, { accountId: PAYMENTS });

    expect(cloud.journal.filter((e) => e.startsWith(`ecs:${APP_B}/`))).toEqual([]);
    expect(cloud.status("i-bp1pay0000001")).toBe("authorized");
    expect(cloud.status("i-bp1appb000001")).toBeUndefined();
  });

  test("a read refused for another reason than a missing resource stops the run: nothing taken for drift", async () => {
    convergedFleet();
    destination().fns.appliedConfigs = async () => {
      throw cloudError("Unauthorized", { message: "The security token you provided has expired" });
    };

    await expect(reconcile(deps)).rejects.toMatchObject({ code: "Unauthorized" });

    expect(writes()).toEqual([]);
    expect(IDS.map((id) => cloud.status(id))).toEqual(["collecting", "collecting", "collecting"]);
  });

  test("a retryable failure of a read is not taken for a missing resource either", async () => {
    convergedFleet();
    destination().fns.logstoreExists = async () => {
      throw cloudError("ServiceUnavailable", { retryable: true });
    };

    await expect(reconcile(deps)).rejects.toMatchObject({ code: "ServiceUnavailable" });
    expect(writes()).toEqual([]);
  });
});

describe("observeFleet", () => {
  test("only a …NotExist answer counts as missing", async () => {
    convergedFleet();
    destination().fns.appliedConfigs = async () => {
      throw cloudError("MachineGroupNotExist");
    };
    destination().fns.logstoreExists = async () => {
      throw cloudError("LogStoreNotExist");
    };

    const observed = await observeFleet(deps);

    expect(observed.routes["app-b-prod"]).toMatchObject({
      logstoreExists: false,
      indexExists: false,
      groups: { linux: { exists: false, appliedConfigs: [], machines: [] } },
    });
  });

  test("reads only: every route and account-region is looked at, nothing written", async () => {
    convergedFleet();
    const progress: string[] = [];

    const observed = await observeFleet(deps, { onProgress: (p) => progress.push(`${p.done}/${p.total}`) });

    expect(writes()).toEqual([]);
    // app-b in two regions, payments in one, and two routes.
    expect(progress).toEqual(["1/5", "2/5", "3/5", "4/5", "5/5"]);
    expect(observed.now).toBe(cloud.clock.now());
    expect(observed.routes["app-b-prod"]?.groups.linux).toMatchObject({
      exists: true,
      appliedConfigs: [APP_B_PROD.config],
      listedAt: cloud.clock.now(),
    });
    expect(observed.routes["app-b-prod"]?.groups.linux?.machines).toHaveLength(3);
    expect(observed.routes["app-b-prod"]?.sources[APP_B]).toEqual({
      retireBindingPresent: false,
      backfillJob: { name: copyJobName("logtail-xacct", "app-b-prod", APP_B), status: "SUCCEEDED" },
    });
  });

  test("instances carrying either tag are observed; instances with neither are not", async () => {
    cloud.add(
      instance("i-bp1routed0001", { tags: tags("app-b-prod") }),
      instance("i-bp1status0001", { tags: tags(undefined, "revoked") }),
      instance("i-bp1neither001", { tags: { team: "x" } }),
    );

    const observed = await observeFleet(deps);

    expect(observed.instances.map((i) => i.instanceId).sort()).toEqual([
      "i-bp1routed0001",
      "i-bp1status0001",
    ]);
  });

  test("Cloud Assistant is asked about running instances only when requested", async () => {
    cloud.add(
      instance("i-bp1online0001", { tags: tags("app-b-prod") }),
      instance("i-bp1offline001", { tags: tags("app-b-prod") }),
      instance("i-bp1stopped001", { status: "Stopped", tags: tags("app-b-prod") }),
    );
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });
    ecs.offline.add("i-bp1offline001");

    const plain = await observeFleet(deps);
    expect(argsOf(ecs.calls, "cloudAssistantStatus")).toEqual([]);
    expect(plain.instances.every((i) => i.cloudAssistantOnline === undefined)).toBe(true);

    const asked = await observeFleet(deps, { cloudAssistant: true });
    expect(argsOf(ecs.calls, "cloudAssistantStatus").map(([ids]) => [...ids].sort())).toEqual([
      ["i-bp1offline001", "i-bp1online0001"],
    ]);
    expect(Object.fromEntries(asked.instances.map((i) => [i.instanceId, i.cloudAssistantOnline]))).toEqual({
      "i-bp1online0001": true,
      "i-bp1offline001": false,
      "i-bp1stopped001": false,
    });
  });

  test("accounts option: other accounts' instances are not read", async () => {
    cloud.add(instance("i-bp1pay0000001", { accountId: PAYMENTS, tags: tags("payments-prod") }));
    heartbeating([], PAYMENTS_PROD);

    const observed = await observeFleet(deps, { accounts: [APP_B] });

    expect(observed.instances).toEqual([]);
    expect(cloud.journal.filter((e) => e.startsWith(`ecs:${PAYMENTS}/`))).toEqual([]);
  });
});

describe("reconcile hands its host commands out (the function's mode)", () => {
  const hostWork = () =>
    cloud.queue
      .sent(HUB_QUEUES.apply)
      .flatMap((m) => (m.ok && m.message.type === "host-work" ? [m.message] : []));

  test("no command runs in its own run: one host-work message per command's worth, statuses pending", async () => {
    const many = Array.from({ length: 150 }, (_, n) => `i-bp1queue${String(n).padStart(5, "0")}`);
    cloud.add(...many.map((id) => instance(id, { tags: tags("app-b-prod") })));

    const outcome = await reconcile(deps, { hostWork: "queue" });

    expect(outcome.executed.authorize).toBe(2);
    expect(cloud.ecs({ accountId: APP_B, region: REGION }).commandsRun()).toEqual([]);
    const messages = hostWork();
    expect(messages.map((m) => m.requests.flatMap((r) => r.instanceIds).length)).toEqual([100, 50]);
    expect(messages.flatMap((m) => m.requests.flatMap((r) => r.instanceIds)).sort()).toEqual(
      [...many].sort(),
    );
    expect(messages[0]).toMatchObject({
      accountId: APP_B,
      region: REGION,
      requests: [{ kind: "authorize", route: "app-b-prod", os: "linux" }],
    });
    expect(new Set(many.map((id) => cloud.status(id)))).toEqual(new Set(["pending"]));
  });

  test("what a consumer does with the message is what reconcile would have done in place", async () => {
    cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod") })));
    await reconcile(deps, { hostWork: "queue" });
    const [message] = hostWork();
    if (!message) throw new Error("no host-work message");

    await runHostActions(deps, { accountId: message.accountId, region: message.region }, message.requests);

    expect(IDS.map((id) => cloud.status(id))).toEqual(["authorized", "authorized", "authorized"]);
    expect(sent(HUB_QUEUES.heartbeat)).toEqual([
      expect.objectContaining({ type: "await-heartbeat", route: "app-b-prod", instanceIds: IDS }),
    ]);
  });

  test("a revoke naming hundreds of long routes is split to fit a message; nothing is lost", () => {
    const routes = Array.from(
      { length: 1000 },
      (_, n) => `route-${String(n).padStart(4, "0")}-${"x".repeat(50)}`,
    );
    const instanceIds = Array.from({ length: 100 }, (_, n) => `i-bp1split${String(n).padStart(5, "0")}`);
    const messages = hostWorkMessages({ accountId: APP_B, region: REGION }, [
      { kind: "authorize", route: "app-b-prod", os: "linux", instanceIds: instanceIds.slice(0, 10) },
      { kind: "revoke", routes, offboards: true, os: "linux", instanceIds },
    ]);

    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) {
      const body = encodeMessage(message);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(decodeMessage(body).ok).toBe(true);
    }
    const revoked = messages.flatMap((m) => m.requests.flatMap((r) => (r.kind === "revoke" ? r.routes : [])));
    expect(revoked).toEqual(routes);
    expect(messages[0]?.requests[0]).toEqual({
      kind: "authorize",
      route: "app-b-prod",
      os: "linux",
      instanceIds: instanceIds.slice(0, 10),
    });
  });

  test("a host-work message is outside data: bad ids, route names and sizes are refused by field", () => {
    const good = {
      v: 1,
      type: "host-work",
      accountId: APP_B,
      region: REGION,
      requests: [{ kind: "authorize", route: "app-b-prod", os: "linux", instanceIds: ["i-bp1good000001"] }],
    };
    expect(decodeMessage(JSON.stringify(good)).ok).toBe(true);
    const refused = (message: unknown) => {
      const decoded = decodeMessage(JSON.stringify(message));
      return decoded.ok ? "accepted" : decoded.reason;
    };
    expect(refused({ ...good, requests: [{ ...good.requests[0], route: "app;reboot" }] })).toMatch(
      /^requests\.0\.route: must be a route name/,
    );
    expect(refused({ ...good, requests: [{ ...good.requests[0], instanceIds: ["$(id)"] }] })).toMatch(
      /^requests\.0\.instanceIds\.0: must be an ECS instance id/,
    );
    expect(refused({ ...good, requests: [{ ...good.requests[0], os: "plan9" }] })).toMatch(
      /^requests\.0\.os/,
    );
    expect(refused({ ...good, requests: [{ ...good.requests[0], command: "rm -rf /" }] })).toMatch(
      /^requests\.0/,
    );
    const ids = (from: number) =>
      Array.from({ length: 60 }, (_, n) => `i-bp1many${String(from + n).padStart(6, "0")}`);
    expect(
      refused({
        ...good,
        requests: [
          { ...good.requests[0], instanceIds: ids(0) },
          { ...good.requests[0], instanceIds: ids(60) },
        ],
      }),
    ).toBe("requests: names more than 100 instances");
  });
});
