/**
 * The heartbeat step against the local stack: authorized hosts whose agents heartbeat go on to the
 * apply queue; the silent ones are looked at again with backoff, then diagnosed with the host
 * script's inspect once the route's timeout passes.
 */

import { decodeMessage, encodeMessage } from "../../shared/messages/queueMessages";
import { applyRoute } from "../../shared/usecases/applyRoute";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats, type HeartbeatDeps } from "../../shared/usecases/checkHeartbeats";
import { until } from "../support/localAccounts";
import {
  APPLY_QUEUE,
  config,
  HEARTBEAT_QUEUE,
  HUB,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const tagged = { [config.tagKey]: "app-b-prod" };
const ids = {
  up: "i-bp1hbup0000001",
  down: "i-bp1hbdown00001",
  noAgent: "i-bp1hbnoagent01",
  // Its agent was installed for cn-shanghai; the route's destination is in cn-hangzhou.
  otherRegion: "i-bp1hbregion001",
};

describeRequiring(sandboxRequirement(), "heartbeat checks on the local stack", () => {
  let kit: PipelineKit;
  let deps: HeartbeatDeps;

  beforeAll(async () => {
    kit = await startPipelineKit([
      // Its log exists and nobody writes it: an idle host.
      { account: "app-b", region: REGION, id: ids.up, tags: tagged, idleLogs: ["/var/log/app-b/old.log"] },
      { account: "app-b", region: REGION, id: ids.down, tags: tagged },
      { account: "app-b", region: REGION, id: ids.noAgent, agent: "none", tags: tagged },
      { account: "app-b", region: REGION, id: ids.otherRegion, slsRegion: "cn-shanghai", tags: tagged },
    ]);
    deps = {
      ...kit.deps,
      sls: (scope) => kit.adapters.sls(scope),
      heartbeatQueue: HEARTBEAT_QUEUE,
      applyQueue: APPLY_QUEUE,
    };
    await authorizeInstances(
      { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
      { accountId: SPOKE, region: REGION, instanceIds: Object.values(ids) },
    );
    // The agent crashes right after the restart that authorize caused.
    kit.stack.fleet.setAgentRunning(ids.down, false);
  });

  afterAll(async () => {
    await kit?.stop();
  });

  test("the first check makes the route's machine group, so the agents' heartbeats have a place to land", async () => {
    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 0, waiting: 4 });
    const group = await kit.adapters
      .sls({ accountId: HUB, region: REGION, project: "central-logs" })
      .listMachines("app-b-prod-linux");
    expect(group).toBeDefined();
  });

  test("a heartbeating host goes to apply; the silent ones wait, still authorized", async () => {
    kit.stack.emulator.advanceClock(40_000);

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 1, waiting: 3, diagnosed: 0 });
    expect(kit.messagesIn(APPLY_QUEUE)).toEqual([
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
    expect(kit.messagesIn(HEARTBEAT_QUEUE)).toEqual([]);
    expect([kit.status(ids.down), kit.status(ids.noAgent)]).toEqual(["authorized", "authorized"]);
  });

  test("past the routes' timeouts the silent hosts are inspected and get the reason found on them; the idle one collects", async () => {
    // Apply binds the route's config for the heartbeating host (the delivery timeout counts from there).
    const [received] = await kit.adapters.queue().receive(APPLY_QUEUE, 1, 0);
    const decoded = decodeMessage(received?.body ?? "");
    if (!decoded.ok || decoded.message.type !== "apply") throw new Error("no apply message");
    await applyRoute(
      {
        ...kit.deps,
        sls: (scope) => kit.adapters.sls(scope),
        slsDataEndpoint: (region) => kit.endpoints.slsDataEndpoint(region),
        applyQueue: APPLY_QUEUE,
      },
      decoded.message,
    );
    kit.stack.emulator.advanceClock(601_000);

    const outcome = await checkHeartbeats(deps);

    expect(outcome.diagnosed).toBe(4);
    // Every inspect is read at a later tick (no wait in the round): the statuses stand till then.
    expect(Object.values(ids).map((id) => kit.status(id))).toEqual(Array(4).fill("authorized"));
    // The stopped clock must not jump past the command's timeout while the host still runs it.
    await until("the inspect run ended", () => {
      const all = kit.stack.emulator.ecs.invocationsIn(SPOKE, REGION);
      return all.every((i) => i.results.every((r) => r.finishTime !== undefined)) ? true : undefined;
    });
    kit.stack.emulator.advanceClock(60_000);
    expect(await checkHeartbeats(deps)).toMatchObject({ commandsSettled: 4 });
    // Heartbeating, no line, and its one matching file unchanged since the config was bound.
    expect(kit.status(ids.up)).toBe("collecting");
    expect(kit.logs).toContainEqual(
      expect.objectContaining({
        action: "diagnose",
        outcome: "ok",
        instanceIds: [ids.up],
        detail: expect.stringMatching(/^idle: 1 files match and none changed since/),
      }),
    );
    expect(kit.status(ids.down)).toBe("failed:AgentNotRunning");
    expect(kit.status(ids.noAgent)).toBe("failed:AgentNotInstalled");
    // Its files and agent are in order: the region its agent was installed for is the reason.
    expect(kit.status(ids.otherRegion)).toBe("failed:AgentRegionMismatch");
    expect(kit.logs).toContainEqual(
      expect.objectContaining({
        action: "diagnose",
        reason: "AgentRegionMismatch",
        instanceIds: [ids.otherRegion],
        detail:
          "the agent is installed for cn-shanghai (ilogtail_config.json); the route's destination is in cn-hangzhou",
      }),
    );
    expect(kit.logs).toContainEqual(
      expect.objectContaining({ action: "diagnose", reason: "AgentNotRunning", instanceIds: [ids.down] }),
    );
  });

  test("the same silent hosts named by several messages (redelivered, duplicated, re-authorized) are inspected once", async () => {
    const message = (authorizedAt: number) =>
      encodeMessage({
        v: 1,
        type: "await-heartbeat",
        accountId: SPOKE,
        region: REGION,
        route: "app-b-prod",
        instanceIds: [ids.down, ids.noAgent],
        authorizedAt,
        checks: 5,
      });
    const longAgo = kit.stack.emulator.now() - 3_600_000;
    await kit.adapters
      .queue()
      .send(HEARTBEAT_QUEUE, [message(longAgo), message(longAgo), message(longAgo + 1)]);
    const logged = kit.logs.length;

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 3, diagnosed: 2 });
    const diagnoses = kit.logs.slice(logged).filter((line) => line.action === "diagnose");
    // One inspect for the two hosts, whatever the number of messages naming them.
    expect(diagnoses.map((line) => line.instanceIds)).toEqual([[ids.down, ids.noAgent]]);
    // The reasons found before stand until the later look reads the new ones; no re-check is queued.
    expect([kit.status(ids.down), kit.status(ids.noAgent)]).toEqual([
      "failed:AgentNotRunning",
      "failed:AgentNotInstalled",
    ]);
    expect(kit.messagesIn(HEARTBEAT_QUEUE)).toEqual([]);
  });

  test("a malformed message goes to the dead-letter queue with its reason, never retried forever", async () => {
    const body = '{"v":1,"type":"await-heartbeat","instanceIds":["i-$(reboot)"]}';
    await kit.adapters.queue().send(HEARTBEAT_QUEUE, [body]);

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(1);
    expect(kit.messagesIn(HEARTBEAT_QUEUE)).toEqual([]);
    expect(kit.logs.slice(-2)).toEqual([
      expect.objectContaining({ action: "heartbeat", outcome: "refused", reason: "MalformedMessage" }),
      // The delivery is accounted for: received once, deleted (its record is in the dead-letter queue).
      expect.objectContaining({
        action: "heartbeat-queue",
        outcome: "ok",
        dequeueCounts: [1],
        detail: "1 of 1 handled and deleted",
      }),
    ]);
    expect(kit.deadLetters()).toEqual([
      expect.objectContaining({
        source: HEARTBEAT_QUEUE,
        reason: "MalformedMessage",
        detail: expect.stringMatching(/^accountId: /),
        original: body,
        truncated: false,
      }),
    ]);
  });
});
