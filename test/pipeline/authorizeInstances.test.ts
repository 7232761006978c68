/**
 * The authorize step against the local stack: real adapters (official SDKs, AssumeRole into the
 * spoke), real RunCommand of the real host script on sandboxed hosts, real status tags and queue.
 */
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import {
  config,
  HEARTBEAT_QUEUE,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ROUTE_KEY = config.tagKey;
const tagged = { [ROUTE_KEY]: "app-b-prod" };
const ids = {
  web: "i-bp1authweb00001",
  shared: "i-bp1authshared01",
  stopped: "i-bp1authstop0001",
  offline: "i-bp1authoffl0001",
  badTag: "i-bp1authbadtag01",
  wrongRoute: "i-bp1authwrong001",
  untagged: "i-bp1authuntag001",
};

describeRequiring(sandboxRequirement(), "authorize on the local stack", () => {
  let kit: PipelineKit;
  const authorize = (instanceIds: string[], accountId = SPOKE) =>
    authorizeInstances(
      { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
      { accountId, region: REGION, instanceIds },
    );

  beforeAll(async () => {
    kit = await startPipelineKit([
      { account: "app-b", region: REGION, id: ids.web, tags: tagged },
      { account: "app-b", region: REGION, id: ids.shared, tags: tagged, userDefinedIds: ["team-x-web"] },
      { account: "app-b", region: REGION, id: ids.stopped, status: "Stopped", tags: tagged },
      { account: "app-b", region: REGION, id: ids.offline, cloudAssistant: "offline", tags: tagged },
      { account: "app-b", region: REGION, id: ids.badTag, tags: { [ROUTE_KEY]: "$(reboot)" } },
      { account: "payments", region: REGION, id: ids.wrongRoute, tags: tagged },
      { account: "app-b", region: REGION, id: ids.untagged },
    ]);
  });

  afterAll(async () => {
    await kit?.stop();
  });

  test("one pass: authorized, pending, refused and offline instances each get their status; only runnable hosts get a command", async () => {
    const outcome = await authorize(Object.values(ids));

    expect(kit.status(ids.web)).toBe("authorized");
    expect(kit.status(ids.shared)).toBe("authorized");
    expect(kit.status(ids.stopped)).toBe("pending");
    expect(kit.status(ids.offline)).toBe("failed:CloudAssistantOffline");
    expect(kit.status(ids.badTag)).toBe("failed:InvalidRouteTag");
    expect(kit.status(ids.untagged)).toBeUndefined();
    expect(outcome.commands).toBe(1);
    expect(kit.stack.fleet.host(ids.shared)?.root().identifierFile()).toBe("team-x-web\napp-b-prod-linux\n");
    expect(kit.stack.fleet.host(ids.web)?.uidFiles()).toEqual([config.hub.accountId]);
    // Another account's instance id in a spoke's event is simply not found there.
    expect(kit.logs).toContainEqual(
      expect.objectContaining({ reason: "InstanceReleased", instanceIds: [ids.wrongRoute] }),
    );
  });

  test("the authorized instances are queued for the heartbeat check, identities only", () => {
    expect(kit.messagesIn(HEARTBEAT_QUEUE)).toEqual([
      {
        ok: true,
        message: expect.objectContaining({
          type: "await-heartbeat",
          accountId: SPOKE,
          route: "app-b-prod",
          instanceIds: [ids.web, ids.shared].sort(),
        }),
      },
    ]);
  });

  test("a second pass changes nothing on the hosts and writes no status", async () => {
    const tagCalls = () =>
      kit.stack.emulator
        .metrics()
        .operations.filter((o) => o.operation === "TagResources")
        .reduce((n, o) => n + o.calls, 0);
    const before = tagCalls();

    await authorize([ids.web, ids.shared]);

    expect(tagCalls()).toBe(before);
    expect(
      kit.stack.fleet
        .host(ids.web)
        ?.root()
        .agentEvents()
        .filter((e) => e === "restart"),
    ).toHaveLength(1);
  });

  test("retrying a host failure keeps its reason until the heartbeat check decides, and queues that check", async () => {
    const ecs = kit.deps.ecs({ accountId: SPOKE, region: REGION });
    await ecs.tagInstances([ids.web], { [config.statusTagKey]: "failed:NoHeartbeat" });
    kit.stack.emulator.advanceClock(1_000);

    await authorize([ids.web]);

    expect(kit.status(ids.web)).toBe("failed:NoHeartbeat");
    const checks = kit
      .messagesIn(HEARTBEAT_QUEUE)
      .filter((m) => m.ok && m.message.type === "await-heartbeat" && m.message.instanceIds.includes(ids.web));
    expect(checks.length).toBeGreaterThan(1);
    await ecs.tagInstances([ids.web], { [config.statusTagKey]: "authorized" });
    // The next command to this host is a new attempt, not this one again (same instant, same token).
    kit.stack.emulator.advanceClock(1_000);
  });

  test("re-tagging to another route moves the host: the old route's identifier comes off, the new one goes on", async () => {
    const ecs = kit.deps.ecs({ accountId: SPOKE, region: REGION });
    await ecs.tagInstances([ids.web], { [ROUTE_KEY]: "payments-prod" });

    await authorize([ids.web]);

    expect(kit.status(ids.web)).toBe("authorized");
    expect(kit.stack.fleet.host(ids.web)?.root().identifierFile()).toBe("payments-prod-linux\n");
    // Both routes send to the hub: its UID file stays.
    expect(kit.stack.fleet.host(ids.web)?.uidFiles()).toEqual([config.hub.accountId]);
    expect(kit.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "ok",
        route: "app-b-prod",
        instanceIds: [ids.web],
        detail: "re-tagged: this route's identifier removed",
      }),
    );
    await ecs.tagInstances([ids.web], { [ROUTE_KEY]: "app-b-prod" });
    await authorize([ids.web]);
    expect(kit.stack.fleet.host(ids.web)?.root().identifierFile()).toBe("app-b-prod-linux\n");
  });

  test("re-tagging an onboarded host to a route it may not use takes it off its route, with the reason", async () => {
    const ecs = kit.deps.ecs({ accountId: SPOKE, region: REGION });
    await ecs.tagInstances([ids.web], { [ROUTE_KEY]: "no-such-route" });
    // Commands are idempotent per attempt and instant: on this frozen clock, a new instant is a new attempt.
    kit.stack.emulator.advanceClock(1_000);

    await authorize([ids.web]);

    expect(kit.status(ids.web)).toBe("failed:UnknownRoute");
    // The host had neither file before onboarding: it has neither again.
    expect(kit.stack.fleet.host(ids.web)?.root().identifierFile()).toBeUndefined();
    expect(kit.stack.fleet.host(ids.web)?.uidFiles()).toEqual([]);
    // A second pass changes nothing on the host: no file, no restart.
    const host = kit.stack.fleet.host(ids.web);
    const restarts = host?.restartCount();
    kit.stack.emulator.advanceClock(1_000);
    await authorize([ids.web]);
    expect(host?.root().identifierFile()).toBeUndefined();
    expect(host?.restartCount()).toBe(restarts);
    expect(kit.status(ids.web)).toBe("failed:UnknownRoute");

    await ecs.tagInstances([ids.web], { [ROUTE_KEY]: "app-b-prod" });
    kit.stack.emulator.advanceClock(1_000);
    await authorize([ids.web]);
    expect(kit.stack.fleet.host(ids.web)?.root().identifierFile()).toBe("app-b-prod-linux\n");
  });

  test("untagging revokes: the host's files are as before onboarding, the status says revoked", async () => {
    await kit.deps.ecs({ accountId: SPOKE, region: REGION }).untagInstances([ids.shared], [ROUTE_KEY]);

    await authorize([ids.shared]);

    expect(kit.status(ids.shared)).toBe("revoked");
    expect(kit.stack.fleet.host(ids.shared)?.root().identifierFile()).toBe("team-x-web\n");
    expect(kit.stack.fleet.host(ids.shared)?.uidFiles()).toEqual([]);
  });

  test("an event for an account that is not in the routes file is refused in the log, nothing called", async () => {
    const calls = kit.stack.emulator.metrics().totalCalls;

    await authorize([ids.web], "1999999999999999");

    expect(kit.stack.emulator.metrics().totalCalls).toBe(calls);
    expect(kit.logs.at(-1)).toMatchObject({ outcome: "refused", reason: "AccountNotConfigured" });
  });
});
