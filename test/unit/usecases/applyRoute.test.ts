/**
 * The apply step on port fakes: the destination made ready, `collecting` written for the hosts that
 * heartbeat, the cutover (retire the source config, create the copy job once) only when every
 * running instance of the source account on the route collects, and the copy job's watch. The same
 * scenarios as test/pipeline/applyRoute.test.ts, without the stack.
 */

import type { RoutesFile } from "../../../shared/config/routesSchema";
import { copyJobName, copyPartName } from "../../../shared/domain/copyJob";
import {
  type ApplyMessage,
  HUB_QUEUES,
  type WatchCopyJobMessage,
} from "../../../shared/messages/queueMessages";
import type { LogRow } from "../../../shared/ports/sls";
import { applyRoute, watchCopyJob } from "../../../shared/usecases/applyRoute";
import { READY_MAX_AGE_MS } from "../../../shared/usecases/destinationReady";
import {
  APP_B,
  argsOf,
  cloudError,
  dataEndpoint,
  type FakeCloud,
  type FakeSls,
  fakeCloud,
  instance,
  machineOf,
  memorySnapshotStore,
  PAYMENTS,
  REGION,
  ROUTE_KEY,
  ROUTES,
  routeFor,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const APPLY = HUB_QUEUES.apply;
/** What a full pass makes in the destination, one call each. */
const MADE = [
  "ensureProject",
  "ensureLogstore",
  "ensureIndex",
  "ensureMachineGroup",
  "ensurePipelineConfig",
  "applyConfig",
] as const;
const IDS = ["i-bp1apply00001", "i-bp1apply00002"];
const APP_B_PROD = routeFor("app-b-prod");
const JOB = copyJobName("logtail-xacct", "app-b-prod", APP_B);

let cloud: FakeCloud;
let deps: UseCaseDeps;

const applyMessage = (fields: Partial<ApplyMessage> = {}): ApplyMessage => ({
  v: 1,
  type: "apply",
  accountId: APP_B,
  region: REGION,
  route: "app-b-prod",
  instanceIds: IDS,
  ...fields,
});
const destination = () => cloud.sls(APP_B_PROD.destination);
/** The source project of app-b: its old collection (retired at cutover) and its history (copied). */
const sourceProject = () => cloud.sls({ accountId: APP_B, region: REGION, project: "app-b-logs" });
const status = (id: string) => cloud.status(id);
/** The agents of these instances heartbeat in the route's group now. */
const heartbeat = (...ids: string[]) => {
  const machines = ids.flatMap((id) => {
    const record = cloud.record(id);
    return record ? [machineOf(record, APP_B_PROD.identifier, cloud.clock.now())] : [];
  });
  destination().machines.set(APP_B_PROD.group, machines);
};
const watches = () =>
  cloud.queue
    .sent(APPLY)
    .flatMap((m) =>
      m.ok && m.message.type === "watch-copy-job" ? [{ ...m.message, delay: m.delaySeconds }] : [],
    );

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
  cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod", "authorized") })));
  const source = sourceProject();
  source.projectExists = true;
  source.logstores.add("app-b");
  source.machineGroups.set("app-b-servers", ["app-b-legacy"]);
  source.pipelineConfigs.set("app-b-files", {
    name: "app-b-files",
    filePaths: ["/var/log/app-b/*.log"],
    processors: [],
    logstore: "app-b",
    endpoint: dataEndpoint(REGION),
  });
  source.bindings.set("app-b-servers", new Set(["app-b-files"]));
  // The source config has shipped position meta for long: the destination config may start.
  source.pipelineInputs.set("app-b-files", {
    input: { Type: "input_file", FilePaths: ["/var/log/app-b/*.log"], AppendingLogPositionMeta: true },
    logstore: "app-b",
    lastModifyTime: 0,
  });
});

describe("applyRoute", () => {
  test("makes the destination ready, marks the heartbeating instances collecting and cuts the source over", async () => {
    heartbeat(...IDS);

    const outcome = await applyRoute(deps, applyMessage());

    const dest = destination();
    expect(dest.projectExists).toBe(true);
    expect([...dest.logstores]).toEqual(["app-b"]);
    expect([...dest.indexes]).toEqual(["app-b"]);
    expect(dest.machineGroups.get("app-b-prod-linux")).toEqual(["app-b-prod-linux"]);
    expect(dest.pipelineConfigs.get("app-b-prod-linux")).toMatchObject({
      logstore: "app-b",
      // The route crosses regions (network: internet): agents ship to the public endpoint.
      endpoint: dataEndpoint(REGION, "internet"),
      filePaths: ["/var/log/app-b/**/*.log"],
    });
    expect([...(dest.bindings.get("app-b-prod-linux") ?? [])]).toEqual(["app-b-prod-linux"]);
    // Only the OS in use gets a group.
    expect(dest.machineGroups.has("app-b-prod-windows")).toBe(false);

    expect([...outcome.collecting].sort()).toEqual([...IDS].sort());
    expect(IDS.map(status)).toEqual(["collecting", "collecting"]);

    // Cutover: the old binding is gone and the copy job made, from the route's start to now.
    expect([...(sourceProject().bindings.get("app-b-servers") ?? [])]).toEqual([]);
    expect(sourceProject().etls.get(JOB)).toMatchObject({
      logstore: "app-b",
      fromTime: Date.parse("2026-01-01T00:00:00Z") / 1000,
      // The copy's range ends the route's margin before the cutover looked.
      toTime: Math.floor(cloud.clock.now() / 1000) - 60,
      sinks: [{ name: "destination", project: "central-logs", logstore: "app-b" }],
    });
    const [created] = argsOf(sourceProject().calls, "createEtl");
    expect(created?.[0]).toMatchObject({
      roleArn: "acs:ram::1700000000000397:role/logtail-xacct-etl-read",
      sinks: [
        {
          roleArn: "acs:ram::1200000000000456:role/logtail-xacct-etl-write",
          endpoint: dataEndpoint(REGION, "internet"),
        },
      ],
    });
    expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
    expect(watches()).toEqual([
      {
        v: 1,
        type: "watch-copy-job",
        accountId: APP_B,
        region: REGION,
        route: "app-b-prod",
        checks: 0,
        delay: 60,
      },
    ]);
    expect(cloud.logs.map((l) => [l.action, l.outcome])).toEqual([
      ["apply", "ok"],
      ["create-copy-job", "ok"],
      ["cutover", "ok"],
      ["retire-source-config", "ok"],
    ]);
  });

  test("applying again changes nothing: no status write, no second copy job or watch, the destination as it was", async () => {
    heartbeat(...IDS);
    await applyRoute(deps, applyMessage());
    const snapshot = (sls: FakeSls) =>
      JSON.stringify([
        sls.projectExists,
        [...sls.logstores],
        [...sls.indexes],
        [...sls.machineGroups],
        [...sls.pipelineConfigs],
        [...sls.bindings].map(([g, c]) => [g, [...c]]),
        [...sls.etls],
      ]);
    const before = [snapshot(destination()), snapshot(sourceProject())];
    const sends = argsOf(cloud.queue.calls, "send").length;
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });
    const tagWrites = argsOf(ecs.calls, "tagInstances").length;

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
    expect([snapshot(destination()), snapshot(sourceProject())]).toEqual(before);
    expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(1);
    expect(argsOf(sourceProject().calls, "removeConfig")).toHaveLength(1);
    expect(argsOf(cloud.queue.calls, "send")).toHaveLength(sends);
    expect(argsOf(ecs.calls, "tagInstances")).toHaveLength(tagWrites);
  });

  test("a cutover half done (the old binding gone, no copy job yet) only creates the job", async () => {
    heartbeat(...IDS);
    sourceProject().bindings.get("app-b-servers")?.clear();

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
    expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
    expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(1);
    expect(cloud.logs.map((l) => l.action)).not.toContain("retire-source-config");
  });

  test("a cutover half done the other way (the job there, the binding back) only retires the binding", async () => {
    heartbeat(...IDS);
    sourceProject().etls.set(JOB, {
      name: JOB,
      displayName: "copy",
      status: "SUCCEEDED",
      logstore: "app-b",
      fromTime: 0,
      script: "*",
      toTime: 1,
      sinks: [],
    });

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
    expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([["app-b-servers", "app-b-files"]]);
    expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
    expect(watches()).toEqual([]);
  });

  test("only the heartbeating instances become collecting; the cutover waits for the others", async () => {
    heartbeat("i-bp1apply00001");

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.collecting).toEqual(["i-bp1apply00001"]);
    expect(IDS.map(status)).toEqual(["collecting", "authorized"]);
    expect(outcome.cutover).toBeUndefined();
    expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
    expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
    expect(watches()).toEqual([]);
  });

  describe("lines earn collecting", () => {
    const [FIRST, SECOND] = IDS as [string, string];
    /** Both heartbeat, each from its own IP. */
    const heartbeatFrom = () => {
      heartbeat(FIRST, SECOND);
      destination().machines.set(
        APP_B_PROD.group,
        (destination().machines.get(APP_B_PROD.group) ?? []).map((machine, i) => ({
          ...machine,
          ip: `172.16.1.${i + 1}`,
        })),
      );
    };
    const deliveryQueries = () =>
      argsOf(destination().calls, "queryLogs").filter(([, query]) => query.query.includes("__source__"));

    test("a heartbeating instance whose lines have not arrived stays authorized, and the cutover waits", async () => {
      heartbeatFrom();
      destination().delivering = new Set(["172.16.1.1"]);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.collecting).toEqual([FIRST]);
      expect(IDS.map(status)).toEqual(["collecting", "authorized"]);
      expect(outcome.cutover).toBeUndefined();
      expect(deliveryQueries()).toHaveLength(1);
    });

    test("once collecting, an instance stays so while it heartbeats, lines or not (an idle host sends none)", async () => {
      heartbeatFrom();
      destination().delivering = new Set(["172.16.1.1", "172.16.1.2"]);
      await applyRoute(deps, applyMessage());
      destination().delivering = new Set();

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.collecting).toEqual(IDS);
      expect(IDS.map(status)).toEqual(["collecting", "collecting"]);
      // Nobody needed lines the second time: no query.
      expect(deliveryQueries()).toHaveLength(1);
    });
  });

  test("a heartbeat older than the fresh window does not count", async () => {
    heartbeat(...IDS);
    cloud.clock.advance(181_000);

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.collecting).toEqual([]);
    expect(IDS.map(status)).toEqual(["authorized", "authorized"]);
  });

  test("the cutover waits for every running instance of the account on the route, in every region", async () => {
    heartbeat(...IDS);
    // app-b is also configured in cn-shanghai: an instance there has not been onboarded yet.
    cloud.add(instance("i-bp1shanghai01", { region: "cn-shanghai", tags: tags("app-b-prod", "authorized") }));

    const outcome = await applyRoute(deps, applyMessage());

    expect(IDS.map(status)).toEqual(["collecting", "collecting"]);
    expect(outcome.cutover).toBeUndefined();
    expect([...(sourceProject().bindings.get("app-b-servers") ?? [])]).toEqual(["app-b-files"]);
    expect(sourceProject().etls.size).toBe(0);
  });

  test("stopped instances and other accounts' instances do not hold the cutover back", async () => {
    heartbeat(...IDS);
    cloud.add(
      instance("i-bp1stopped001", { status: "Stopped", tags: tags("app-b-prod", "pending") }),
      instance("i-bp1payments01", { accountId: PAYMENTS, tags: tags("payments-prod", "authorized") }),
    );

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
  });

  test("instances of the message that moved to another route or stopped are not marked", async () => {
    heartbeat(...IDS);
    const [moved, stopped] = IDS;
    const movedRecord = cloud.record(moved ?? "");
    const stoppedRecord = cloud.record(stopped ?? "");
    if (!movedRecord || !stoppedRecord) throw new Error("instances missing");
    movedRecord.tags = tags("payments-prod", "authorized");
    stoppedRecord.status = "Stopped";

    const outcome = await applyRoute(deps, applyMessage());

    expect(outcome.collecting).toEqual([]);
    expect(IDS.map(status)).toEqual(["authorized", "authorized"]);
  });

  test.each([
    ["an account outside the routes file", { accountId: "1900000000000789" }, "AccountNotConfigured"],
    ["a region the account is not configured for", { region: "cn-beijing" }, "RegionNotConfigured"],
    ["a route the account may not use", { accountId: PAYMENTS }, "RouteNotAllowedForAccount"],
    ["a route that does not exist", { route: "ghost-route" }, "UnknownRoute"],
  ])("a message naming %s is refused before any cloud call", async (_what, fields, reason) => {
    const outcome = await applyRoute(deps, applyMessage(fields));

    expect(outcome).toMatchObject({ refused: reason, refusedDetail: expect.any(String), collecting: [] });
    expect(outcome.cutover).toBeUndefined();
    expect(cloud.journal).toEqual([]);
    expect(cloud.logs).toEqual([expect.objectContaining({ action: "apply", outcome: "refused", reason })]);
  });

  test("a cutover that cannot succeed (the source project is gone) is logged, and apply still succeeds", async () => {
    heartbeat(...IDS);
    sourceProject().projectExists = false;

    const outcome = await applyRoute(deps, applyMessage());

    expect(IDS.map(status)).toEqual(["collecting", "collecting"]);
    expect(outcome.cutover).toBeUndefined();
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({ action: "cutover", outcome: "failed", reason: "ProjectNotExist" }),
    );
  });

  test("a retryable failure during the cutover fails the run, so the message comes back", async () => {
    heartbeat(...IDS);
    sourceProject().fns.getEtl = async () => {
      throw cloudError("ServiceUnavailable", { retryable: true });
    };

    await expect(applyRoute(deps, applyMessage())).rejects.toMatchObject({ code: "ServiceUnavailable" });
    expect(IDS.map(status)).toEqual(["collecting", "collecting"]);
  });

  test("an apply within the minute of a full pass finds it in the store and makes nothing again", async () => {
    deps = useCaseDeps(cloud, { snapshots: memorySnapshotStore() });
    const made = () => MADE.reduce((sum, method) => sum + argsOf(destination().calls, method).length, 0);
    heartbeat(...IDS);
    await applyRoute(deps, applyMessage({ instanceIds: [IDS[0] ?? ""] }));
    const firstPass = made();

    await applyRoute(deps, applyMessage({ instanceIds: [IDS[1] ?? ""] }));

    expect(firstPass).toBeGreaterThanOrEqual(MADE.length);
    expect(made()).toBe(firstPass);
    // Collecting is still earned: the second host's lines were looked for and found.
    expect(status(IDS[1] ?? "")).toBe("collecting");
    // Past the minute, the pass is made again; a route that asks for something else does not
    // take the record either.
    cloud.clock.advance(READY_MAX_AGE_MS + 1);
    await applyRoute(deps, applyMessage());
    expect(made()).toBe(2 * firstPass);
    const changed = structuredClone(deps.config);
    const logtail = changed.routes["app-b-prod"]?.logtailConfig.linux;
    if (!logtail) throw new Error("example changed");
    logtail.filePaths = ["/var/log/app-b/other/*.log"];
    await applyRoute({ ...deps, config: changed }, applyMessage());
    expect(argsOf(destination().calls, "ensurePipelineConfig")).toHaveLength(3);
  });

  test("a route without retire or backfill for the account never cuts over", async () => {
    cloud.add(
      instance("i-bp1payments01", { accountId: PAYMENTS, tags: tags("payments-prod", "authorized") }),
    );
    const payments = routeFor("payments-prod");
    const record = cloud.record("i-bp1payments01");
    if (!record) throw new Error("instance missing");
    cloud
      .sls(payments.destination)
      .machines.set(payments.group, [machineOf(record, payments.identifier, cloud.clock.now())]);

    const outcome = await applyRoute(
      deps,
      applyMessage({ accountId: PAYMENTS, route: "payments-prod", instanceIds: ["i-bp1payments01"] }),
    );

    expect(outcome).toEqual({ collecting: ["i-bp1payments01"], cutover: undefined });
    expect(status("i-bp1payments01")).toBe("collecting");
  });
});

describe("applyRoute: the exactly-once handover", () => {
  const nowSeconds = () => Math.floor(cloud.clock.now() / 1000);
  /** The copy's range ends the route's copyMarginSeconds (60 s) before the cutover looks. */
  const until = () => nowSeconds() - 60;
  const FROM = Date.parse("2026-01-01T00:00:00Z") / 1000;
  const PART_1 = copyPartName(APP_B_PROD.route, "app-b-prod", APP_B, 1);
  const applies = () => cloud.queue.sent(APPLY).filter((m) => m.ok && m.message.type === "apply");
  /** The destination's first line per file (the cutover's first query). */
  const destinationFirst = (...rows: Array<[string, string, number, number]>) => {
    // The cutover's destination queries: first read time per file, the offset read then, and the
    // reads from offset 0 (here: the first read when it started at 0).
    destination().answer = (_logstore, { query }) =>
      rows.flatMap(([host, inode, first, since]): LogRow[] => {
        if (query.includes("as since")) return [{ host, inode, since: String(since) }];
        if (query.includes("__time__ in (")) return [{ host, inode, t: String(since), pos: String(first) }];
        return first === 0 ? [{ host, inode, t: String(since) }] : [];
      });
  };
  /**
   * The source's last line per file before `until`, read a second before it was received (and no
   * lines without position meta): its read time, then the offset reached at that time.
   */
  const sourceLast = (...rows: Array<[string, string, number, number]>) => {
    sourceProject().answer = (_logstore, { query }) =>
      query.includes("is null")
        ? []
        : rows.map(
            ([host, inode, last, received]): LogRow =>
              query.includes("__time__ in (")
                ? { host, inode, t: String(received - 1), pos: String(last) }
                : {
                    host,
                    inode,
                    lastRead: String(received - 1),
                    last: String(last),
                    received: String(received),
                  },
          );
  };
  const binding = () => [...(sourceProject().bindings.get("app-b-servers") ?? [])];
  const sourceGroupIps = (...ips: string[]) => {
    sourceProject().machines.set(
      "app-b-servers",
      ips.map((ip, i) => ({
        machineUniqueId: `LEGACY-${i}`,
        userdefinedId: "app-b-legacy",
        lastHeartbeatTime: nowSeconds(),
        ip,
      })),
    );
  };

  /** The routes file with app-b-prod's handover waiting this long for the destination's checkpoints. */
  const checkpointWait = (seconds: number): RoutesFile => {
    const route = ROUTES.routes["app-b-prod"];
    if (route === undefined) throw new Error("the example has no app-b-prod");
    return {
      ...ROUTES,
      routes: {
        ...ROUTES.routes,
        "app-b-prod": { ...route, handover: { ...route.handover, checkpointSeconds: seconds } },
      },
    };
  };
  // The cut's other rules without the checkpoint wait, which has its own test.
  beforeEach(() => {
    deps = useCaseDeps(cloud, { config: checkpointWait(0) });
  });

  describe("the gate: the destination config waits for the source config's position meta", () => {
    beforeEach(() => {
      // The customer's config as it was: no position meta.
      sourceProject().pipelineInputs.set("app-b-files", {
        input: { Type: "input_file", FilePaths: ["/var/log/app-b/*.log"] },
        logstore: "app-b",
        lastModifyTime: 0,
      });
    });

    test("sets the meta on the source config, does not bind the destination config, marks nobody and looks again later", async () => {
      heartbeat(...IDS);

      const outcome = await applyRoute(deps, applyMessage());

      expect(argsOf(sourceProject().calls, "ensurePipelineInputOptions")).toEqual([
        ["app-b-files", { AppendingLogPositionMeta: true }],
      ]);
      expect(sourceProject().pipelineInputs.get("app-b-files")).toMatchObject({
        input: { AppendingLogPositionMeta: true },
        lastModifyTime: nowSeconds(),
      });
      // The position fields are indexed in both logstores for the cutover's queries.
      expect([...(sourceProject().indexKeys.get("app-b") ?? [])]).toContain("__tag__:__inode__");
      expect([...(destination().indexKeys.get("app-b") ?? [])]).toContain("__file_offset__");
      // The destination config exists, starts at each file's end, and is not bound yet.
      expect(destination().pipelineConfigs.get(APP_B_PROD.config)?.inputOptions).toEqual({
        AppendingLogPositionMeta: true,
        TailSizeKB: 0,
      });
      expect(argsOf(destination().calls, "applyConfig")).toEqual([]);
      expect(destination().bindings.get(APP_B_PROD.group)).toBeUndefined();

      expect(outcome).toEqual({ collecting: [], cutover: undefined });
      expect(IDS.map(status)).toEqual(["authorized", "authorized"]);
      expect(argsOf(cloud.ecs({ accountId: APP_B, region: REGION }).calls, "tagInstances")).toEqual([]);
      // The same message again, once the change is configPropagationSeconds (120 s) old.
      expect(applies()).toEqual([{ ok: true, message: applyMessage(), delaySeconds: 120 }]);
      expect(cloud.logs).toEqual([
        expect.objectContaining({ action: "apply", outcome: "skipped", reason: "SourceMetaPending" }),
      ]);
      // No cutover while the destination does not read.
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(binding()).toEqual(["app-b-files"]);
    });

    test("looks again with the wait left, then binds once the change is old enough", async () => {
      await applyRoute(deps, applyMessage());
      cloud.clock.advance(100_000);

      const early = await applyRoute(deps, applyMessage());

      expect(early.collecting).toEqual([]);
      // Already set: not changed again, the wait counts from the first change.
      expect(argsOf(sourceProject().calls, "ensurePipelineInputOptions")).toHaveLength(2);
      expect(applies().map((m) => m.delaySeconds)).toEqual([120, 20]);

      cloud.clock.advance(20_000);
      heartbeat(...IDS);
      const outcome = await applyRoute(deps, applyMessage());

      expect([...(destination().bindings.get(APP_B_PROD.group) ?? [])]).toEqual([APP_B_PROD.config]);
      expect([...outcome.collecting].sort()).toEqual([...IDS].sort());
      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      expect(applies()).toHaveLength(2);
    });

    test("a destination config already bound is not held back by the gate", async () => {
      heartbeat(...IDS);
      const dest = destination();
      dest.projectExists = true;
      dest.machineGroups.set(APP_B_PROD.group, [APP_B_PROD.identifier]);
      dest.bindings.set(APP_B_PROD.group, new Set([APP_B_PROD.config]));

      const outcome = await applyRoute(deps, applyMessage());

      expect([...outcome.collecting].sort()).toEqual([...IDS].sort());
      expect(argsOf(sourceProject().calls, "ensurePipelineInputOptions")).toEqual([]);
    });
  });

  describe("the cut: the source must have shipped past the destination's first line", () => {
    test("the source behind the destination's start: no copy, no retire, apply looks again in 30 s", async () => {
      heartbeat(...IDS);
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 90]);
      sourceLast(["app-b-1", "11", 300, until() - 5]);

      const outcome = await applyRoute(deps, applyMessage());

      expect(IDS.map(status)).toEqual(["collecting", "collecting"]);
      expect(outcome.cutover).toBeUndefined();
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
      expect(binding()).toEqual(["app-b-files"]);
      expect(watches()).toEqual([]);
      expect(applies()).toEqual([
        { ok: true, message: applyMessage({ handoverChecks: 1 }), delaySeconds: 30 },
      ]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          action: "cutover",
          outcome: "skipped",
          reason: "HandoverWaiting",
          detail: expect.stringContaining("host app-b-1 inode 11, source at 300, destination from 500"),
        }),
      );
      // The source's last lines are those received before `until`, over the route's range.
      const [[logstore, query] = []] = argsOf(sourceProject().calls, "queryLogs");
      expect(logstore).toBe("app-b");
      expect(query).toMatchObject({ from: FROM, to: until() + 86_400 });
      expect(query?.query).toContain(`cast("__tag__:__receive_time__" as bigint) < ${until()}`);
    });

    test("destination readers younger than checkpointSeconds (default 960) hold the cut back", async () => {
      deps = useCaseDeps(cloud, { config: checkpointWait(960) });
      heartbeat(...IDS);
      // The source is past F: only the readers' age holds the cut back.
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 900]);
      sourceLast(["app-b-1", "11", 620, until() - 5]);

      expect((await applyRoute(deps, applyMessage())).cutover).toBeUndefined();
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(binding()).toEqual(["app-b-files"]);
      expect(applies()).toEqual([
        { ok: true, message: applyMessage({ handoverChecks: 1 }), delaySeconds: 30 },
      ]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          reason: "HandoverWaiting",
          detail: expect.stringContaining(
            "the destination readers of 1 hosts may have no checkpoint yet (first: app-b-1)",
          ),
        }),
      );

      // 960 s after the host's first destination line the cut is made.
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 960]);
      expect((await applyRoute(deps, applyMessage())).cutover).toEqual({ retired: true, backfillJob: JOB });
    });

    test("the checks count up; the 120th is the last", async () => {
      heartbeat(...IDS);
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 90]);
      sourceLast(["app-b-1", "11", 300, until() - 5]);

      await applyRoute(deps, applyMessage({ handoverChecks: 119 }));
      expect(applies()).toEqual([
        { ok: true, message: applyMessage({ handoverChecks: 120 }), delaySeconds: 30 },
      ]);

      await applyRoute(deps, applyMessage({ handoverChecks: 120 }));
      expect(applies()).toHaveLength(1);
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(binding()).toEqual(["app-b-files"]);
    });

    test("copy parts left without the base job by an earlier run stopped midway: nothing made again, said", async () => {
      heartbeat(...IDS);
      sourceProject().etls.set(PART_1, {
        name: PART_1,
        displayName: "part",
        status: "RUNNING",
        logstore: "app-b",
        fromTime: 0,
        script: "*",
        toTime: 1,
        sinks: [],
      });

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toBeUndefined();
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
      expect(cloud.logs).toContainEqual(expect.objectContaining({ reason: "CopyPartsOrphaned" }));
    });

    test("a file the source ships that the destination has not read yet, on a host it reads: waiting too", async () => {
      heartbeat(...IDS);
      destinationFirst(["app-b-2", "20", 0, nowSeconds() - 90]);
      sourceLast(["app-b-2", "21", 900, until() - 10]);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toBeUndefined();
      expect(argsOf(sourceProject().calls, "createEtl")).toEqual([]);
      expect(applies()).toEqual([expect.objectContaining({ delaySeconds: 30 })]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          reason: "HandoverWaiting",
          detail: expect.stringContaining("the destination has not read 1 files"),
        }),
      );
    });

    test("ready: a copy part per host batch with the exclusions, the base job last, cut at now − 60 s, then the retire", async () => {
      heartbeat(...IDS);
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 90], ["app-b-1", "12", 0, nowSeconds() - 90]);
      // app-b-1 past the destination's start in file 11; app-b-2's only file idle for an hour.
      sourceLast(["app-b-1", "11", 620, until() - 5], ["app-b-2", "21", 900, until() - 3600]);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      const created = argsOf(sourceProject().calls, "createEtl").map(([job]) => job);
      expect(created.map((job) => job.name)).toEqual([PART_1, JOB]);
      const [part, base] = created;
      expect(part?.script).toBe(
        `* | where "__tag__:__inode__" is not null and (` +
          // From the destination's first read time (90 s ago, less the read skew) at or past its start.
          `("__tag__:__hostname__" = 'app-b-1' and not (("__tag__:__inode__" = '11' and __time__ >= ${nowSeconds() - 92} and cast("__file_offset__" as bigint) >= 500) or ("__tag__:__inode__" = '12' and __time__ >= ${nowSeconds() - 92} and cast("__file_offset__" as bigint) >= 0)))` +
          ` or "__tag__:__hostname__" = 'app-b-2')`,
      );
      expect(part?.displayName).toMatch(/\(part 1\)$/);
      expect(base?.script).toBe(`* | where "__tag__:__inode__" is null`);
      for (const job of created) {
        expect(job).toMatchObject({
          logstore: "app-b",
          fromTime: FROM,
          toTime: until(),
          roleArn: "acs:ram::1700000000000397:role/logtail-xacct-etl-read",
          sinks: [{ project: "central-logs", logstore: "app-b" }],
        });
      }
      // The copy first, the retire last; one watch, of the base job.
      const order = cloud.journal.filter((call) => /\.(createEtl|removeConfig)$/.test(call));
      expect(order.map((call) => call.split(".").at(-1))).toEqual(["createEtl", "createEtl", "removeConfig"]);
      expect(binding()).toEqual([]);
      expect(watches()).toEqual([expect.objectContaining({ type: "watch-copy-job", checks: 0 })]);
      expect(applies()).toEqual([]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          action: "cutover",
          outcome: "ok",
          detail: expect.stringContaining("2 files handed over by position, 2 source hosts in 2 copy jobs"),
        }),
      );
    });

    test("the route's SPL runs after the filter in every part", async () => {
      const route = deps.config.routes["app-b-prod"];
      const backfill = route?.backfill;
      if (!route || !backfill) throw new Error("app-b-prod has no backfill");
      const config = {
        ...deps.config,
        routes: {
          ...deps.config.routes,
          "app-b-prod": { ...route, backfill: { ...backfill, spl: "* | where level = 'ERROR'" } },
        },
      };
      deps = { ...deps, config };
      heartbeat(...IDS);
      destinationFirst(["app-b-1", "11", 500, nowSeconds() - 90]);
      sourceLast(["app-b-1", "11", 620, until() - 5]);

      await applyRoute(deps, applyMessage());

      const scripts = argsOf(sourceProject().calls, "createEtl").map(([job]) => job.script);
      expect(scripts).toHaveLength(2);
      for (const script of scripts) expect(script.endsWith(" | where level = 'ERROR'")).toBe(true);
    });
  });

  describe("the retire: only a fully migrated source group loses the source config", () => {
    test("a machine of the source group that no collecting instance has keeps the binding", async () => {
      heartbeat(...IDS);
      sourceGroupIps("10.0.0.1", "10.0.0.77");

      const outcome = await applyRoute(deps, applyMessage());

      // The copy is made; the binding stays for the host that was never migrated.
      expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(1);
      expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([]);
      expect(binding()).toEqual(["app-b-files"]);
      expect(outcome.cutover).toEqual({ retired: false, backfillJob: JOB });
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          action: "retire-source-config",
          outcome: "skipped",
          reason: "SourceGroupNotMigrated",
          detail: expect.stringContaining("1 machines of the group are not migrated (10.0.0.77)"),
        }),
      );
    });

    test("once that machine is a collecting instance (in another region), the next apply retires", async () => {
      heartbeat(...IDS);
      sourceGroupIps("10.0.0.1", "10.0.0.77");
      await applyRoute(deps, applyMessage());
      cloud.add(
        instance("i-bp1shanghai77", {
          region: "cn-shanghai",
          privateIps: ["10.0.0.77"],
          tags: tags("app-b-prod", "collecting"),
        }),
      );

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      expect(argsOf(sourceProject().calls, "removeConfig")).toEqual([["app-b-servers", "app-b-files"]]);
      // The copy was made once.
      expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(1);
    });
    test("an instance that leaves the route between the look and the unbinding gets the binding back", async () => {
      cloud.add(
        instance("i-bp1leaving001", { privateIps: ["10.0.0.9"], tags: tags("app-b-prod", "collecting") }),
      );
      heartbeat(...IDS, "i-bp1leaving001");
      sourceGroupIps("10.0.0.1", "10.0.0.9");
      // Its offboarding runs while apply unbinds: the tag goes, authorize binds the config again,
      // then the unbinding that was decided before lands.
      const source = sourceProject();
      const unbind = source.fns.removeConfig;
      source.fns.removeConfig = async (group, config) => {
        await cloud
          .ecs({ accountId: APP_B, region: REGION })
          .untagInstances(["i-bp1leaving001"], [ROUTE_KEY]);
        source.bindings.get(group)?.add(config);
        await unbind(group, config);
      };

      const outcome = await applyRoute(deps, applyMessage({ instanceIds: [...IDS, "i-bp1leaving001"] }));

      expect(binding()).toEqual(["app-b-files"]);
      expect(outcome.cutover).toEqual({ retired: false, backfillJob: JOB });
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          action: "retire-source-config",
          outcome: "skipped",
          reason: "SourceGroupNotMigrated",
          detail: expect.stringContaining(
            "bound again right after its retire: 1 machines of the group left the route meanwhile (10.0.0.9)",
          ),
        }),
      );
      expect(cloud.logs.map((l) => [l.action, l.outcome])).not.toContainEqual(["retire-source-config", "ok"]);
    });
  });

  describe("a later copy round: hosts migrated after the copy was cut", () => {
    /**
     * After the first cut the destination reads a host that began after it ("late", IP 10.0.0.77),
     * from offset 300 of its file 71; the source has shipped that file up to 450.
     */
    const lateHostReads = (began: number) => {
      destination().answer = (_logstore, { query }) => {
        if (query.includes("arbitrary(__source__) as ip") && query.includes("group by host limit"))
          return [{ host: "late", since: String(began), ip: "10.0.0.77" }];
        if (query.includes("as since")) return [{ host: "late", inode: "71", since: String(began) }];
        if (query.includes("__time__ in ("))
          return [{ host: "late", inode: "71", t: String(began), pos: "300" }];
        return [];
      };
      sourceLast(["late", "71", 450, until() - 5]);
    };
    const tagLateHost = () =>
      cloud.add(
        instance("i-bp1late77", { privateIps: ["10.0.0.77"], tags: tags("app-b-prod", "collecting") }),
      );
    const LATE_PART = (part: number) => copyPartName(APP_B_PROD.route, "app-b-prod", APP_B, part);

    test("its lines from the first cut on, below where the destination began, are copied before the retire", async () => {
      heartbeat(...IDS);
      sourceGroupIps("10.0.0.1", "10.0.0.77");
      await applyRoute(deps, applyMessage());
      const firstCut = until();
      cloud.clock.advance(3_600_000);
      tagLateHost();
      lateHostReads(nowSeconds() - 120);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      const created = argsOf(sourceProject().calls, "createEtl").map(([job]) => job);
      expect(created.map((job) => job.name)).toEqual([JOB, LATE_PART(1)]);
      expect(created[1]).toMatchObject({
        fromTime: firstCut,
        toTime: until(),
        displayName: expect.stringMatching(/\(part 1, hosts migrated later\)$/),
        script: `* | where (("__tag__:__hostname__" = 'late' and ("__tag__:__inode__" is null or not (("__tag__:__inode__" = '71' and __time__ >= ${nowSeconds() - 122} and cast("__file_offset__" as bigint) >= 300)))))`,
      });
      const order = cloud.journal.filter((call) => /\.(createEtl|removeConfig)$/.test(call));
      expect(order.map((call) => call.split(".").at(-1))).toEqual(["createEtl", "createEtl", "removeConfig"]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          action: "cutover",
          outcome: "ok",
          detail: expect.stringContaining("later copy round from"),
        }),
      );

      // Named in a part already: never copied twice.
      await applyRoute(deps, applyMessage());
      expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(2);
    });

    test("while the source has not shipped past where the destination began, the round and the retire wait", async () => {
      heartbeat(...IDS);
      sourceGroupIps("10.0.0.1", "10.0.0.77");
      await applyRoute(deps, applyMessage());
      cloud.clock.advance(3_600_000);
      tagLateHost();
      lateHostReads(nowSeconds() - 120);
      sourceLast(["late", "71", 250, until() - 5]);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toBeUndefined();
      expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(1);
      expect(binding()).toEqual(["app-b-files"]);
      expect(applies()).toEqual([
        expect.objectContaining({
          delaySeconds: 30,
          message: expect.objectContaining({ handoverChecks: 1 }),
        }),
      ]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          reason: "HandoverWaiting",
          detail: expect.stringMatching(
            /^later copy round for 1 hosts migrated after the copy was cut \(first: late\): the source has not shipped/,
          ),
        }),
      );
    });

    test("a host the first round handed over by position (the destination read it at the cut): no later round", async () => {
      heartbeat(...IDS);
      sourceGroupIps("10.0.0.1", "10.0.0.77");
      lateHostReads(nowSeconds() - 120);
      await applyRoute(deps, applyMessage());
      expect(argsOf(sourceProject().calls, "createEtl")[0]?.[0].script).toContain(
        `("__tag__:__hostname__" = 'late' and not (`,
      );
      cloud.clock.advance(3_600_000);
      tagLateHost();
      lateHostReads(nowSeconds() - 120);

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      expect(argsOf(sourceProject().calls, "createEtl")).toHaveLength(2);
    });
  });

  describe("failed hosts", () => {
    test("a failed host of the account does not hold the cutover back; its IP keeps the source config bound", async () => {
      heartbeat(...IDS);
      cloud.add(
        instance("i-bp1failed0001", {
          privateIps: ["10.0.0.5"],
          tags: tags("app-b-prod", "failed:NoHeartbeat"),
        }),
      );
      sourceGroupIps("10.0.0.1", "10.0.0.5");

      const outcome = await applyRoute(deps, applyMessage());

      expect(argsOf(sourceProject().calls, "createEtl").map(([job]) => job.name)).toEqual([JOB]);
      expect(outcome.cutover).toEqual({ retired: false, backfillJob: JOB });
      expect(binding()).toEqual(["app-b-files"]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({
          reason: "SourceGroupNotMigrated",
          detail: expect.stringContaining("(10.0.0.5)"),
        }),
      );
    });

    test("a failed host outside the source group: the cutover and the retire both happen", async () => {
      heartbeat(...IDS);
      cloud.add(
        instance("i-bp1failed0001", {
          privateIps: ["10.0.0.5"],
          tags: tags("app-b-prod", "failed:NoHeartbeat"),
        }),
      );
      sourceGroupIps("10.0.0.1");

      const outcome = await applyRoute(deps, applyMessage());

      expect(outcome.cutover).toEqual({ retired: true, backfillJob: JOB });
      expect(binding()).toEqual([]);
    });
  });
});

describe("watchCopyJob", () => {
  const watch = (fields: Partial<WatchCopyJobMessage> = {}): WatchCopyJobMessage => ({
    v: 1,
    type: "watch-copy-job",
    accountId: APP_B,
    region: REGION,
    route: "app-b-prod",
    checks: 0,
    ...fields,
  });
  const job = (status: string) => {
    sourceProject().etls.set(JOB, {
      name: JOB,
      displayName: "copy",
      status,
      logstore: "app-b",
      fromTime: Date.parse("2026-01-01T00:00:00Z") / 1000,
      script: "*",
      toTime: Date.parse("2026-04-01T00:00:00Z") / 1000,
      sinks: [{ name: "destination", project: "central-logs", logstore: "app-b" }],
    });
  };

  test("a running job is looked at again later, with a longer delay each time", async () => {
    job("RUNNING");

    const report = await watchCopyJob(deps, watch({ checks: 2 }));

    expect(report).toBe("running");
    expect(watches()).toEqual([expect.objectContaining({ checks: 3, delay: 480 })]);
    expect(cloud.logs.at(-1)).toMatchObject({
      action: "copy-job",
      outcome: "ok",
      detail: expect.stringContaining(
        "RUNNING: copying 2026-01-01T00:00:00.000Z to 2026-04-01T00:00:00.000Z",
      ),
    });
  });

  test("the delay stops growing at 15 minutes", async () => {
    job("STARTING");

    await watchCopyJob(deps, watch({ checks: 40 }));

    expect(watches()).toEqual([expect.objectContaining({ checks: 41, delay: 900 })]);
  });

  test("a job that succeeded is reported with what was copied, and not watched again", async () => {
    job("SUCCEEDED");

    const report = await watchCopyJob(deps, watch());

    expect(report).toBe("succeeded");
    expect(watches()).toEqual([]);
    expect(cloud.logs.at(-1)).toMatchObject({
      outcome: "ok",
      detail: expect.stringMatching(
        /SUCCEEDED: app-b from 2026-01-01T00:00:00.000Z to 2026-04-01T00:00:00.000Z copied into central-logs\/app-b$/,
      ),
    });
  });

  test.each([
    ["FAILED", "failed", "CopyJobFailed"],
    ["STOPPED", "stopped", "CopyJobStopped"],
  ])("a %s job is reported with what to check, and not watched again", async (state, report, reason) => {
    job(state);

    expect(await watchCopyJob(deps, watch({ checks: 3 }))).toBe(report);
    expect(watches()).toEqual([]);
    expect(cloud.logs.at(-1)).toMatchObject({
      outcome: "failed",
      reason,
      detail: expect.stringContaining("logtail-xacct-etl-read"),
    });
  });

  test("a job that is gone is reported missing, for reconcile to make again", async () => {
    expect(await watchCopyJob(deps, watch())).toBe("missing");
    expect(cloud.logs.at(-1)).toMatchObject({ outcome: "failed", reason: "CopyJobMissing" });
    expect(watches()).toEqual([]);
  });

  test("a job still running after the last watch is left to reconcile", async () => {
    job("RUNNING");

    expect(await watchCopyJob(deps, watch({ checks: 199 }))).toBe("unwatched");
    expect(watches()).toEqual([]);
    expect(cloud.logs.at(-1)).toMatchObject({ outcome: "skipped", reason: "CopyJobStillRunning" });
  });

  test("a route without backfill for the account has nothing to watch", async () => {
    expect(await watchCopyJob(deps, watch({ accountId: PAYMENTS, route: "payments-prod" }))).toBe(
      "not-configured",
    );
    expect(cloud.logs.at(-1)).toMatchObject({ outcome: "skipped", reason: "BackfillNotConfigured" });
    expect(cloud.journal).toEqual([]);
  });

  test("a watch outside the routes file's scope is refused without a cloud call", async () => {
    expect(await watchCopyJob(deps, watch({ accountId: PAYMENTS }))).toBe("not-configured");
    expect(cloud.logs.at(-1)).toMatchObject({ outcome: "refused", reason: "RouteNotAllowedForAccount" });
    expect(cloud.journal).toEqual([]);
  });
});
