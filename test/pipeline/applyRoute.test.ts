/**
 * authorize → heartbeat → apply on the local stack, with the real adapters: the destination is made
 * ready, the heartbeating instances become `collecting`, and once the source's instances all
 * collect, the old source config is unbound and the cross-account copy job created — once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultQueueAttributes } from "../../emulator/mns/backend";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import {
  type AlibabaAdapters,
  createAlibabaAdapters,
  localEndpoints,
  readEndpointsFile,
  rolesFromRoutes,
} from "../../shared/adapters";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { decodeMessage } from "../../shared/messages/queueMessages";
import { type ApplyDeps, applyRoute, copyJobName } from "../../shared/usecases/applyRoute";
import { authorizeInstances, type LogLine } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const HUB = config.hub.accountId;
const SPOKE = "1700000000000397";
const REGION = "cn-hangzhou";
const HEARTBEAT = "logtail-xacct-heartbeat";
const APPLY = "logtail-xacct-apply";
const ids = ["i-bp1apply000001", "i-bp1apply000002"];

const fleet = parseSimulatedFleet({
  accounts: [
    { id: HUB, name: "hub", roles: [] },
    { id: SPOKE, name: "app-b", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
    { id: "1800000000000512", name: "payments", roles: [] },
  ],
  instances: ids.map((id) => ({
    account: "app-b",
    region: REGION,
    id,
    tags: { [config.tagKey]: "app-b-prod" },
  })),
});

describeRequiring(sandboxRequirement(), "apply and cutover on the local stack", () => {
  let stack: LocalStack;
  let workDir: string;
  let adapters: AlibabaAdapters;
  let deps: ApplyDeps;
  const logs: LogLine[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-apply-"));
    const endpointsFile = join(workDir, "endpoints.json");
    stack = await startLocalStack({
      fleet,
      hubAccountId: HUB,
      workDir,
      endpointsFile,
      clock: { startAt: Date.UTC(2026, 3, 1), scale: 0 },
    });
    for (const queue of [HEARTBEAT, APPLY])
      stack.emulator.mns.createQueue(HUB, REGION, queue, defaultQueueAttributes);
    const endpoints = await readEndpointsFile(endpointsFile);
    const hubKey = endpoints.accounts.find((a) => a.id === HUB);
    if (!hubKey) throw new Error("no hub key");
    const resolver = localEndpoints(endpoints);
    adapters = createAlibabaAdapters({
      endpoints: resolver,
      hub: {
        accountId: HUB,
        region: REGION,
        credentials: () => ({ accessKeyId: hubKey.accessKeyId, accessKeySecret: hubKey.accessKeySecret }),
      },
      roles: rolesFromRoutes(config),
      now: () => stack.emulator.now(),
    });
    // The source account's existing collection, which the cutover retires, and its history logstore.
    const source = adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    await source.ensureProject();
    await source.ensureLogstore("app-b");
    await source.ensureMachineGroup("app-b-servers", ["app-b-legacy"]);
    await source.ensurePipelineConfig({
      name: "app-b-files",
      filePaths: ["/var/log/app-b/*.log"],
      processors: [],
      logstore: "app-b",
      endpoint: resolver.slsDataEndpoint(REGION),
    });
    await source.applyConfig("app-b-servers", "app-b-files");

    const common = {
      config,
      ecs: (scope: { accountId: string; region: string }) => adapters.ecs(scope),
      queue: adapters.queue(),
      scripts: readHostScripts(),
      now: () => stack.emulator.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      log: (line: LogLine) => logs.push(line),
      resultPollMs: 25,
    };
    deps = {
      ...common,
      sls: (scope) => adapters.sls(scope),
      slsDataEndpoint: (region) => resolver.slsDataEndpoint(region),
    };
    await authorizeInstances(
      { ...common, heartbeatQueue: HEARTBEAT },
      { accountId: SPOKE, region: REGION, instanceIds: ids },
    );
    // The machine group exists only once apply made it: create it as a first apply would, then heartbeat.
    await adapters.sls({ accountId: HUB, region: REGION, project: "central-logs" }).ensureProject();
    await adapters
      .sls({ accountId: HUB, region: REGION, project: "central-logs" })
      .ensureMachineGroup("app-b-prod-linux", ["app-b-prod-linux"]);
    stack.emulator.advanceClock(10_000);
    await checkHeartbeats({
      ...common,
      sls: (scope) => adapters.sls(scope),
      heartbeatQueue: HEARTBEAT,
      applyQueue: APPLY,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function nextApplyMessage() {
    const [received] = await adapters.queue().receive(APPLY, 1, 0);
    const decoded = decodeMessage(received?.body ?? "");
    if (!decoded.ok || decoded.message.type !== "apply") throw new Error("no apply message");
    return decoded.message;
  }

  test("apply makes the destination ready, marks the instances collecting and cuts over the source", async () => {
    const message = await nextApplyMessage();

    const outcome = await applyRoute(deps, message);

    expect(outcome.collecting.sort()).toEqual([...ids].sort());
    expect(ids.map((id) => stack.emulator.ecs.getInstance(id)?.tags.get(config.statusTagKey))).toEqual([
      "collecting",
      "collecting",
    ]);
    const destination = adapters.sls({ accountId: HUB, region: REGION, project: "central-logs" });
    expect(await destination.appliedConfigs("app-b-prod-linux")).toEqual(["app-b-prod-linux"]);
    expect(await destination.logstoreExists("app-b")).toBe(true);
    const source = adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    expect(await source.appliedConfigs("app-b-servers")).toEqual([]);
    const job = await source.getEtl(copyJobName("logtail-xacct", "app-b-prod", SPOKE));
    expect(job).toMatchObject({
      logstore: "app-b",
      fromTime: Date.parse("2026-01-01T00:00:00Z") / 1000,
      toTime: Math.floor(stack.emulator.now() / 1000),
      sinks: [{ project: "central-logs", logstore: "app-b" }],
    });
    expect(outcome.cutover).toMatchObject({ retired: true, backfillJob: job?.name });
  });

  test("applying again is a no-op: no create, no second copy job, no status write", async () => {
    const before = stack.emulator.metrics();
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

    const after = stack.emulator.metrics();
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
    const jobs = await adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" }).listEtls();
    expect(jobs).toHaveLength(1);
  });
});
