/**
 * authorize → heartbeat → apply on the local stack, with the real adapters: the destination is made
 * ready, the heartbeating instances become `collecting`, and once the source's instances all
 * collect, the old source config is unbound and the cross-account copy job created — once.
 */

import { copyJobName } from "../../shared/domain/copyJob";
import { decodeMessage } from "../../shared/messages/queueMessages";
import { type ApplyDeps, applyRoute, watchCopyJob } from "../../shared/usecases/applyRoute";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import {
  APPLY_QUEUE,
  config,
  HEARTBEAT_QUEUE,
  HUB,
  PAYMENTS,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ids = ["i-bp1apply000001", "i-bp1apply000002"];

describeRequiring(sandboxRequirement(), "apply and cutover on the local stack", () => {
  let kit: PipelineKit;
  let deps: ApplyDeps;

  beforeAll(async () => {
    // The hosts write where the route reads: their lines earn `collecting`.
    kit = await startPipelineKit(
      ids.map((id) => ({
        account: "app-b",
        region: REGION,
        id,
        tags: { [config.tagKey]: "app-b-prod" },
        writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 2 }],
      })),
    );
    const { adapters, endpoints } = kit;
    // The source account's existing collection, which the cutover retires, and its history logstore.
    const source = kit.adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    await source.ensureProject();
    await source.ensureLogstore("app-b");
    await source.ensureMachineGroup("app-b-servers", ["app-b-legacy"]);
    // Already shipping position meta, for longer than the route's configPropagationSeconds: the
    // route's config may start at once (the gate is tested on the fakes and in npm start's test).
    await source.ensurePipelineConfig({
      name: "app-b-files",
      filePaths: ["/var/log/app-b/*.log"],
      processors: [],
      logstore: "app-b",
      endpoint: endpoints.slsDataEndpoint(REGION),
      inputOptions: { AppendingLogPositionMeta: true },
    });
    await source.applyConfig("app-b-servers", "app-b-files");
    kit.stack.emulator.advanceClock(
      (config.routes["app-b-prod"]?.handover.configPropagationSeconds ?? 0) * 1000,
    );
    deps = {
      ...kit.deps,
      sls: (scope) => adapters.sls(scope),
      slsDataEndpoint: (region) => endpoints.slsDataEndpoint(region),
      applyQueue: APPLY_QUEUE,
    };

    await authorizeInstances(
      { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
      { accountId: SPOKE, region: REGION, instanceIds: ids },
    );
    // The machine group exists once a first apply made it: create it as that apply would, then heartbeat.
    const destination = kit.adapters.sls({ accountId: HUB, region: REGION, project: "central-logs" });
    await destination.ensureProject();
    await destination.ensureMachineGroup("app-b-prod-linux", ["app-b-prod-linux"]);
    kit.stack.emulator.advanceClock(10_000);
    await checkHeartbeats({
      ...kit.deps,
      sls: (scope) => adapters.sls(scope),
      heartbeatQueue: HEARTBEAT_QUEUE,
      applyQueue: APPLY_QUEUE,
    });
  });

  afterAll(async () => {
    await kit?.stop();
  });

  async function nextApplyMessage() {
    const [received] = await kit.adapters.queue().receive(APPLY_QUEUE, 1, 0);
    const decoded = decodeMessage(received?.body ?? "");
    if (!decoded.ok || decoded.message.type !== "apply") throw new Error("no apply message");
    return decoded.message;
  }

  test("apply binds the config; once the hosts' lines arrive it marks them collecting and cuts over the source", async () => {
    const message = await nextApplyMessage();
    const binding = await applyRoute(deps, message);
    // Heartbeating is not collecting: nothing is marked, nothing cut over, until lines arrive.
    expect(binding).toMatchObject({ collecting: [], cutover: undefined });
    expect(ids.map((id) => kit.status(id))).toEqual(["authorized", "authorized"]);
    // The config reaches the agents (10 s here), which read and ship what the hosts write. The
    // source config never read these files: past its silence window they are not its to hand over;
    // and the cut waits until the destination's readers have a checkpoint (checkpointSeconds).
    await kit.letLinesFlow(30);
    const handover = config.routes["app-b-prod"]?.handover;
    await kit.letLinesFlow(
      Math.max(handover?.sourceSilenceSeconds ?? 0, handover?.checkpointSeconds ?? 0) + 10,
      5,
    );

    const outcome = await applyRoute(deps, message);

    expect(outcome.collecting.sort()).toEqual([...ids].sort());
    expect(ids.map((id) => kit.stack.emulator.ecs.getInstance(id)?.tags.get(config.statusTagKey))).toEqual([
      "collecting",
      "collecting",
    ]);
    const destination = kit.adapters.sls({ accountId: HUB, region: REGION, project: "central-logs" });
    expect(await destination.appliedConfigs("app-b-prod-linux")).toEqual(["app-b-prod-linux"]);
    expect(await destination.logstoreExists("app-b")).toBe(true);
    const source = kit.adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    expect(await source.appliedConfigs("app-b-servers")).toEqual([]);
    const job = await source.getEtl(copyJobName("logtail-xacct", "app-b-prod", SPOKE));
    expect(job).toMatchObject({
      logstore: "app-b",
      fromTime: Date.parse("2026-01-01T00:00:00Z") / 1000,
      // The copy's range ends the route's copyMarginSeconds before the cutover looked.
      toTime: Math.floor(kit.stack.emulator.now() / 1000) - 60,
      sinks: [{ project: "central-logs", logstore: "app-b" }],
    });
    expect(outcome.cutover).toMatchObject({ retired: true, backfillJob: job?.name });
  });

  test("applying again is a no-op: no create, no second copy job, no status write", async () => {
    const before = kit.stack.emulator.metrics();
    const writes = (m: typeof before) =>
      m.operations
        .filter((o) => /^(Create|Update|TagResources)/.test(o.operation))
        .reduce((n, o) => n + o.calls, 0);

    await applyRoute(deps, {
      v: 1,
      type: "apply",
      accountId: SPOKE,
      region: REGION,
      route: "app-b-prod",
      instanceIds: ids,
    });

    const after = kit.stack.emulator.metrics();
    const changed = after.operations
      .filter((o) => /^(Create|Update|TagResources)/.test(o.operation))
      .filter(
        (o) =>
          before.operations.find((b) => b.operation === o.operation && b.accountId === o.accountId)?.calls !==
          o.calls,
      )
      .map((o) => o.operation);
    expect(changed).toEqual([]);
    expect(writes(after)).toBe(writes(before));
    const jobs = await kit.adapters
      .sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" })
      .listEtls();
    // The base job and one part for the hosts whose lines the destination read itself.
    expect(jobs.map((job) => job.displayName).sort()).toEqual([
      `logtail-xacct copy app-b-prod from ${SPOKE}`,
      `logtail-xacct copy app-b-prod from ${SPOKE} (part 1)`,
    ]);
  });

  test.each([
    [
      "an account outside the routes file",
      { accountId: "1900000000000789", route: "app-b-prod" },
      "AccountNotConfigured",
    ],
    [
      "a region the account is not configured for",
      { region: "cn-beijing", route: "app-b-prod" },
      "RegionNotConfigured",
    ],
    [
      "a route the account may not use",
      { accountId: PAYMENTS, route: "app-b-prod" },
      "RouteNotAllowedForAccount",
    ],
    ["a route that does not exist", { route: "ghost-route" }, "UnknownRoute"],
  ])("an apply message naming %s is refused before any cloud call", async (_what, fields, reason) => {
    const callsBefore = kit.stack.emulator.metrics().totalCalls;
    const outcome = await applyRoute(deps, {
      v: 1,
      type: "apply",
      accountId: SPOKE,
      region: REGION,
      instanceIds: ids,
      ...fields,
    });
    expect(outcome).toMatchObject({ refused: reason, refusedDetail: expect.any(String), collecting: [] });
    expect(kit.stack.emulator.metrics().totalCalls).toBe(callsBefore);
    expect(kit.logs.at(-1)).toMatchObject({ action: "apply", outcome: "refused", reason });
  });

  test("the copy job is watched until it ends, then reported: running, then SUCCEEDED with what was copied", async () => {
    const watches = kit.messagesIn(APPLY_QUEUE).filter((m) => m.ok && m.message.type === "watch-copy-job");
    // Sent with a delay: not visible yet.
    expect(watches).toEqual([]);
    // Looked at before that: the job is still starting.
    const early = await watchCopyJob(deps, {
      v: 1,
      type: "watch-copy-job",
      accountId: SPOKE,
      region: REGION,
      route: "app-b-prod",
      checks: 0,
    });
    expect(early).toBe("running");
    expect(kit.logs.at(-1)).toMatchObject({
      action: "copy-job",
      outcome: "ok",
      detail: expect.stringMatching(/RUNNING|STARTING/),
    });
    kit.stack.emulator.advanceClock(61_000);
    const received = await kit.adapters.queue().receive(APPLY_QUEUE, 16, 0);
    const decoded = received
      .map((m) => decodeMessage(m.body))
      .find((m) => m.ok && m.message.type === "watch-copy-job");
    if (!decoded?.ok || decoded.message.type !== "watch-copy-job") throw new Error("no watch message");
    expect(decoded.message).toEqual({
      v: 1,
      type: "watch-copy-job",
      accountId: SPOKE,
      region: REGION,
      route: "app-b-prod",
      checks: 0,
    });

    // The job copies what the source holds (nothing here) up to its range's end, then succeeds.
    for (
      let i = 0;
      i < 100 && (await watchCopyJob(deps, { ...decoded.message, checks: 1 })) === "running";
      i++
    )
      kit.stack.emulator.advanceClock(600_000);
    expect(kit.logs.at(-1)).toMatchObject({
      action: "copy-job",
      outcome: "ok",
      detail: expect.stringMatching(
        /SUCCEEDED: app-b from 2026-01-01T00:00:00.000Z to .* copied into central-logs\/app-b$/,
      ),
    });
  });

  test("a copy job that fails is reported with what to check, and not watched again", async () => {
    const source = kit.adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    const name = copyJobName("logtail-xacct", "app-b-prod", SPOKE);
    const missing = await watchCopyJob(deps, {
      v: 1,
      type: "watch-copy-job",
      accountId: "1800000000000512",
      region: REGION,
      route: "app-b-prod",
      checks: 0,
    });
    expect(missing).toBe("not-configured");
    expect(await source.getEtl(name)).toBeDefined();
    kit.stack.emulator.sls.stopEtl(
      { accountId: SPOKE, region: REGION, action: "StopETL" },
      "app-b-logs",
      name,
    );
    kit.stack.emulator.advanceClock(600_000);
    const sent = kit.stack.emulator.metrics().operations.filter((o) => o.operation === "BatchSendMessage");
    const report = await watchCopyJob(deps, {
      v: 1,
      type: "watch-copy-job",
      accountId: SPOKE,
      region: REGION,
      route: "app-b-prod",
      checks: 3,
    });
    expect(report).toBe("stopped");
    expect(kit.logs.at(-1)).toMatchObject({ outcome: "failed", reason: "CopyJobStopped" });
    expect(kit.stack.emulator.metrics().operations.filter((o) => o.operation === "BatchSendMessage")).toEqual(
      sent,
    );
  });
});
