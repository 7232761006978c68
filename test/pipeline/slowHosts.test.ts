/**
 * Slow hosts are waited for, not failed: a command still running when authorize stops waiting is
 * handed to a later look (a check-command message the heartbeat step drains), and the instance is
 * authorized once its result is in. A command no agent picks up ends as Cloud Assistant reports it.
 */
import { decodeMessage, encodeMessage } from "../../shared/messages/queueMessages";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats, type HeartbeatDeps } from "../../shared/usecases/checkHeartbeats";
import {
  APPLY_QUEUE,
  config,
  HEARTBEAT_QUEUE,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const tagged = { [config.tagKey]: "app-b-prod" };
const ids = {
  fast: "i-bp1slowfast0001",
  slow: "i-bp1slowslow0001",
  stuck: "i-bp1slowstuck001",
};

describeRequiring(sandboxRequirement(), "slow hosts on the local stack", () => {
  let kit: PipelineKit;
  let deps: HeartbeatDeps;
  /** Messages on the heartbeat queue, received and deleted (the step under test is not running). */
  const drainedTypes = async (): Promise<string[]> => {
    const received = await kit.deps.queue.receive(HEARTBEAT_QUEUE, 16, 0);
    await kit.deps.queue.delete(
      HEARTBEAT_QUEUE,
      received.map((m) => m.receiptHandle),
    );
    return received.map((m) => {
      const decoded = decodeMessage(m.body);
      return decoded.ok ? decoded.message.type : "malformed";
    });
  };

  /** Waits (wall time) until every command the emulator ran on the host has its result recorded. */
  const commandsDone = async (instanceId: string): Promise<void> => {
    const pending = () =>
      kit.stack.emulator.ecs
        .invocationsIn(SPOKE, REGION)
        .flatMap((invocation) => invocation.results)
        .filter((result) => result.instanceId === instanceId && result.finishTime === undefined);
    for (let i = 0; i < 400 && pending().length > 0; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(pending()).toEqual([]);
  };

  beforeAll(async () => {
    kit = await startPipelineKit([
      { account: "app-b", region: REGION, id: ids.fast, tags: tagged },
      { account: "app-b", region: REGION, id: ids.slow, tags: tagged, commandDelaySeconds: 90 },
      { account: "app-b", region: REGION, id: ids.stuck, tags: tagged, commandDelaySeconds: 3_600 },
    ]);
    deps = {
      ...kit.deps,
      sls: (scope) => kit.adapters.sls(scope),
      heartbeatQueue: HEARTBEAT_QUEUE,
      applyQueue: APPLY_QUEUE,
    };
  });

  afterAll(async () => {
    await kit?.stop();
  });

  test("authorize does not fail a host whose command is still pending: it stays pending and is looked at later", async () => {
    // The emulator's clock stands still here; the invocation's deadline has come, so authorize
    // looks at the results once: the fast host has finished, the slow ones have not started.
    const outcome = await authorizeInstances(
      {
        ...kit.deps,
        heartbeatQueue: HEARTBEAT_QUEUE,
        deadline: () => kit.stack.emulator.now(),
        // Let the fast host's command finish before the one look.
        sleep: () => commandsDone(ids.fast),
      },
      { accountId: SPOKE, region: REGION, instanceIds: Object.values(ids) },
    );

    expect(outcome.commands).toBe(1);
    expect([kit.status(ids.fast), kit.status(ids.slow), kit.status(ids.stuck)]).toEqual([
      "authorized",
      "pending",
      "pending",
    ]);
    const messages = kit.messagesIn(HEARTBEAT_QUEUE);
    expect(messages.map((m) => (m.ok ? m.message.type : "malformed"))).toEqual(["await-heartbeat"]);
    expect(kit.logs).toContainEqual(
      expect.objectContaining({
        action: "authorize",
        outcome: "skipped",
        reason: "HostCommandRunning",
        instanceIds: [ids.slow, ids.stuck].sort(),
      }),
    );
    expect(kit.logs.filter((line) => line.outcome === "failed")).toEqual([]);
  });

  test("the later look authorizes the slow host once its command ran, and keeps waiting for the other", async () => {
    expect(await drainedTypes()).toEqual(["await-heartbeat"]); // the fast host's: not under test here
    // The check message is delayed 50 s; the slow host starts its command 90 s after it was sent.
    kit.stack.emulator.advanceClock(95_000);
    await commandsDone(ids.slow);

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ commandsSettled: 1, commandsRunning: 1 });
    expect([kit.status(ids.slow), kit.status(ids.stuck)]).toEqual(["authorized", "pending"]);
    // The newly authorized host's heartbeat is judged in the same run, not a tick later.
    expect(outcome.healthy + outcome.waiting).toBe(1);
    // The next look at the stuck host's command comes at the next tick.
    kit.stack.emulator.advanceClock(60_000);
    expect(kit.messagesIn(HEARTBEAT_QUEUE)).toContainEqual({
      ok: true,
      message: expect.objectContaining({ type: "check-command", instanceIds: [ids.stuck], checks: 1 }),
    });
  });

  test("a command never picked up ends as Cloud Assistant reports it: a delivery timeout, not a wait forever", async () => {
    // The emulator's Cloud Assistant ends a command no agent picked up after 10 minutes.
    kit.stack.emulator.advanceClock(10 * 60_000);

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ commandsSettled: 1, commandsRunning: 0 });
    expect(kit.status(ids.stuck)).toBe("failed:CloudAssistantOffline");
    expect(kit.logs).toContainEqual(
      expect.objectContaining({ outcome: "failed", reason: "DeliveryTimeout", instanceIds: [ids.stuck] }),
    );
  });

  test("a look at an invocation Cloud Assistant does not know settles its hosts at once instead of failing the run", async () => {
    const body = encodeMessage({
      v: 1,
      type: "check-command",
      accountId: SPOKE,
      region: REGION,
      route: "app-b-prod",
      instanceIds: [ids.stuck],
      invokeId: "t-hz0000gone0000",
      action: "authorize",
      sentAt: kit.stack.emulator.now(),
      checks: 0,
    });
    await kit.deps.queue.send(HEARTBEAT_QUEUE, [body]);

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ commandsSettled: 1, commandsRunning: 0 });
    expect(kit.status(ids.stuck)).toBe("failed:HostCommandTimeout");
    expect(kit.logs).toContainEqual(
      expect.objectContaining({ reason: "InvocationNotFound", invokeId: "t-hz0000gone0000" }),
    );
  });

  test("a slow host's revoke is read later too: revoked once its command ran, not a period later", async () => {
    await kit.adapters.ecs({ accountId: SPOKE, region: REGION }).untagInstances([ids.slow], [config.tagKey]);
    const slow = kit.stack.fleet.host(ids.slow);

    await authorizeInstances(
      { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE, deadline: () => kit.stack.emulator.now() },
      { accountId: SPOKE, region: REGION, instanceIds: [ids.slow] },
    );
    expect(kit.status(ids.slow)).toBe("authorized");
    expect(kit.logs).toContainEqual(
      expect.objectContaining({ action: "revoke", reason: "HostCommandRunning", instanceIds: [ids.slow] }),
    );

    kit.stack.emulator.advanceClock(95_000);
    await commandsDone(ids.slow);
    const outcome = await checkHeartbeats(deps);

    // app-b's hosts may carry both routes' identifiers, both to the hub: one revoke carries both.
    expect(outcome).toMatchObject({ commandsSettled: 1, commandsRunning: 0 });
    expect(kit.status(ids.slow)).toBe("revoked");
    expect(slow?.root().identifierFile()).toBeUndefined();
    expect(slow?.uidFiles()).toEqual([]);
  });
});
