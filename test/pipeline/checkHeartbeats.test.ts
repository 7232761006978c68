/**
 * The heartbeat step against the local stack: authorized hosts whose agents heartbeat go on to the
 * apply queue; one whose agent is down is looked at again with backoff, then diagnosed with the
 * host script's inspect once the route's timeout passes.
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
import { authorizeInstances, type LogLine } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats, type HeartbeatDeps } from "../../shared/usecases/checkHeartbeats";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const HUB = config.hub.accountId;
const SPOKE = "1700000000000397";
const REGION = "cn-hangzhou";
const HEARTBEAT = "logtail-xacct-heartbeat";
const APPLY = "logtail-xacct-apply";
const ids = { up: "i-bp1hbup0000001", down: "i-bp1hbdown00001", noAgent: "i-bp1hbnoagent01" };

const fleet = parseSimulatedFleet({
  accounts: [
    { id: HUB, name: "hub", roles: [] },
    { id: SPOKE, name: "app-b", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
    { id: "1800000000000512", name: "payments", roles: [] },
  ],
  instances: [
    { account: "app-b", region: REGION, id: ids.up, tags: { [config.tagKey]: "app-b-prod" } },
    { account: "app-b", region: REGION, id: ids.down, tags: { [config.tagKey]: "app-b-prod" } },
    {
      account: "app-b",
      region: REGION,
      id: ids.noAgent,
      agent: "none",
      tags: { [config.tagKey]: "app-b-prod" },
    },
  ],
});

describeRequiring(sandboxRequirement(), "heartbeat checks on the local stack", () => {
  let stack: LocalStack;
  let workDir: string;
  let adapters: AlibabaAdapters;
  let deps: HeartbeatDeps;
  const logs: LogLine[] = [];
  const messagesIn = (queue: string) => {
    try {
      return stack.emulator.mns
        .peek(HUB, REGION, queue, 16)
        .map((m) => decodeMessage(Buffer.from(m.body, "base64").toString("utf8")));
    } catch {
      return []; // MessageNotExist: nothing visible
    }
  };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-heartbeat-"));
    const endpointsFile = join(workDir, "endpoints.json");
    stack = await startLocalStack({
      fleet,
      hubAccountId: HUB,
      workDir,
      endpointsFile,
      clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
    });
    for (const queue of [HEARTBEAT, APPLY])
      stack.emulator.mns.createQueue(HUB, REGION, queue, defaultQueueAttributes);
    const endpoints = await readEndpointsFile(endpointsFile);
    const hubKey = endpoints.accounts.find((a) => a.id === HUB);
    if (!hubKey) throw new Error("no hub key");
    adapters = createAlibabaAdapters({
      endpoints: localEndpoints(endpoints),
      hub: {
        accountId: HUB,
        region: REGION,
        credentials: () => ({ accessKeyId: hubKey.accessKeyId, accessKeySecret: hubKey.accessKeySecret }),
      },
      roles: rolesFromRoutes(config),
      now: () => stack.emulator.now(),
    });
    const sls = adapters.sls({ accountId: HUB, region: REGION, project: "central-logs" });
    await sls.ensureProject();
    await sls.ensureMachineGroup("app-b-prod-linux", ["app-b-prod-linux"]);
    const common = {
      config,
      ecs: (scope: { accountId: string; region: string }) => adapters.ecs(scope),
      queue: adapters.queue(),
      scripts: readHostScripts(),
      now: () => stack.emulator.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      log: (line: LogLine) => logs.push(line),
      resultPollMs: 25,
      resultWaitMs: 20_000,
    };
    deps = { ...common, sls: (scope) => adapters.sls(scope), heartbeatQueue: HEARTBEAT, applyQueue: APPLY };
    await authorizeInstances(
      { ...common, heartbeatQueue: HEARTBEAT },
      { accountId: SPOKE, region: REGION, instanceIds: Object.values(ids) },
    );
    // The agent crashes right after the restart that authorize caused.
    stack.fleet.setAgentRunning(ids.down, false);
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const status = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get(config.statusTagKey);

  test("a heartbeating host goes to apply; the silent ones wait, still authorized", async () => {
    stack.emulator.advanceClock(10_000);

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 1, waiting: 2, diagnosed: 0 });
    expect(messagesIn(APPLY)).toEqual([
      {
        ok: true,
        message: {
          v: 1,
          type: "apply",
          accountId: SPOKE,
          region: REGION,
          route: "app-b-prod",
          instanceIds: [ids.up],
        },
      },
    ]);
    // The re-check is held back (30 s), so nothing is visible on the heartbeat queue yet.
    expect(messagesIn(HEARTBEAT)).toEqual([]);
    expect([status(ids.down), status(ids.noAgent)]).toEqual(["authorized", "authorized"]);
  });

  test("past the route's timeout the silent hosts are inspected and get the reason found on them", async () => {
    stack.emulator.advanceClock(601_000);

    const outcome = await checkHeartbeats(deps);

    expect(outcome.diagnosed).toBe(2);
    expect(status(ids.down)).toBe("failed:AgentNotRunning");
    expect(status(ids.noAgent)).toBe("failed:AgentNotInstalled");
    expect(logs).toContainEqual(
      expect.objectContaining({ action: "diagnose", reason: "AgentNotRunning", instanceIds: [ids.down] }),
    );
  });

  test("a malformed message is removed with its reason, never retried forever", async () => {
    await adapters
      .queue()
      .send(HEARTBEAT, ['{"v":1,"type":"await-heartbeat","instanceIds":["i-$(reboot)"]}']);

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(1);
    expect(messagesIn(HEARTBEAT)).toEqual([]);
    expect(logs.at(-1)).toMatchObject({ action: "heartbeat", outcome: "refused" });
  });
});
