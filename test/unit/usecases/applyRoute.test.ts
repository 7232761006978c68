/**
 * The apply step on port fakes: the destination made ready, `collecting` written for the hosts that
 * heartbeat, the cutover (retire the source config, create the copy job once) only when every
 * running instance of the source account on the route collects, and the copy job's watch. The same
 * scenarios as test/pipeline/applyRoute.test.ts, without the stack.
 */

import { copyJobName } from "../../../shared/domain/copyJob";
import {
  type ApplyMessage,
  HUB_QUEUES,
  type WatchCopyJobMessage,
} from "../../../shared/messages/queueMessages";
import { applyRoute, watchCopyJob } from "../../../shared/usecases/applyRoute";
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
  PAYMENTS,
  REGION,
  routeFor,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const APPLY = HUB_QUEUES.apply;
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
      endpoint: dataEndpoint(REGION),
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
        { roleArn: "acs:ram::1200000000000456:role/logtail-xacct-etl-write", endpoint: dataEndpoint(REGION) },
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
