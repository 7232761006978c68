/**
 * The heartbeat step on port fakes: heartbeating hosts go to apply, silent ones are looked at again
 * with backoff and diagnosed past the route's timeout, poison messages go to the dead-letter queue,
 * every delivery is deleted and accounted for, and slow hosts' command checks are settled in the
 * same run. The same scenarios as test/pipeline/checkHeartbeats.test.ts and slowHosts.test.ts.
 */
import {
  type AwaitHeartbeatMessage,
  type CheckCommandMessage,
  encodeMessage,
  HUB_QUEUES,
  MAX_RECEIVE_COUNT,
} from "../../../shared/messages/queueMessages";
import { DEFERRED_CODE } from "../../../shared/ports/errors";
import { checkHeartbeats, HEARTBEAT_ROUND_BUDGET_MS } from "../../../shared/usecases/checkHeartbeats";
import {
  APP_B,
  argsOf,
  cloudError,
  type FakeCloud,
  failedRun,
  fakeCloud,
  HUB,
  hostReport,
  instance,
  machineOf,
  PAYMENTS,
  REGION,
  routeFor,
  stillRunning,
  succeeded,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const HEARTBEAT = HUB_QUEUES.heartbeat;
const APPLY = HUB_QUEUES.apply;
const APP_B_PROD = routeFor("app-b-prod");
const UP = "i-bp1hbup000001";
const DOWN = "i-bp1hbdown0001";
const NO_AGENT = "i-bp1hbnoagent1";

let cloud: FakeCloud;
let deps: UseCaseDeps;

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
  cloud.add(...[UP, DOWN, NO_AGENT].map((id) => instance(id, { tags: tags("app-b-prod", "authorized") })));
});

const ecs = () => cloud.ecs({ accountId: APP_B, region: REGION });
const destination = () => cloud.sls(APP_B_PROD.destination);
/** Puts messages on the heartbeat queue as a sender would (not through the call log). */
const enqueue = (...bodies: string[]) => cloud.queue.fns.send(HEARTBEAT, bodies);
const awaitHeartbeat = (fields: Partial<AwaitHeartbeatMessage> = {}): string =>
  encodeMessage({
    v: 1,
    type: "await-heartbeat",
    accountId: APP_B,
    region: REGION,
    route: "app-b-prod",
    instanceIds: [UP, DOWN, NO_AGENT],
    authorizedAt: cloud.clock.now(),
    checks: 0,
    ...fields,
  });
/** The route's group exists, and these hosts heartbeat in it now. */
const heartbeating = (...ids: string[]) => {
  destination().projectExists = true;
  destination().machineGroups.set(APP_B_PROD.group, [APP_B_PROD.identifier]);
  destination().machines.set(
    APP_B_PROD.group,
    ids.flatMap((id) => {
      const record = cloud.record(id);
      return record ? [machineOf(record, APP_B_PROD.identifier, cloud.clock.now())] : [];
    }),
  );
};
/** The route's logstore exists, and these IPs' lines are in it (default: every heartbeating host's). */
const delivered = (ips?: string[]) => {
  destination().logstores.add(APP_B_PROD.route.logstore);
  destination().delivering = ips === undefined ? "every machine" : new Set(ips);
};
const applies = () =>
  cloud.queue.sent(APPLY).flatMap((m) => (m.ok && m.message.type === "apply" ? [m.message] : []));
const rechecks = () =>
  cloud.queue
    .sent(HEARTBEAT)
    .flatMap((m) =>
      m.ok && m.message.type === "await-heartbeat" ? [{ ...m.message, delay: m.delaySeconds }] : [],
    );
/** Original messages still on the queue (re-checks carry checks > 0). */
const unhandled = () =>
  cloud.queue
    .waiting(HEARTBEAT)
    .filter((m) => m.ok && m.message.type === "await-heartbeat" && m.message.checks === 0);
const inspected = () =>
  ecs()
    .commandsRun("inspect")
    .flatMap((c) => c.instanceIds);

describe("checkHeartbeats: heartbeats", () => {
  test("the first check makes the route's machine group (and project), so the heartbeats have a place to land", async () => {
    enqueue(awaitHeartbeat());

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 0, waiting: 3, diagnosed: 0 });
    expect(destination().projectExists).toBe(true);
    expect(destination().machineGroups.get(APP_B_PROD.group)).toEqual([APP_B_PROD.identifier]);
  });

  test("a heartbeating host that delivers goes to apply; the silent ones are looked at again in 30 s, still authorized", async () => {
    heartbeating(UP);
    delivered();
    enqueue(awaitHeartbeat());

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 1, waiting: 2, diagnosed: 0 });
    expect(applies()).toEqual([
      { v: 1, type: "apply", accountId: APP_B, region: REGION, route: "app-b-prod", instanceIds: [UP] },
    ]);
    expect(rechecks()).toEqual([
      expect.objectContaining({
        instanceIds: [DOWN, NO_AGENT],
        checks: 1,
        authorizedAt: cloud.clock.now(),
        delay: 30,
      }),
    ]);
    expect([cloud.status(UP), cloud.status(DOWN), cloud.status(NO_AGENT)]).toEqual([
      "authorized",
      "authorized",
      "authorized",
    ]);
    // The message received is gone; only the re-check waits on the queue.
    expect(cloud.queue.waiting(HEARTBEAT)).toEqual([
      { ok: true, message: expect.objectContaining({ instanceIds: [DOWN, NO_AGENT], checks: 1 }) },
    ]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "heartbeat",
        outcome: "ok",
        instanceIds: [UP],
        detail: "heartbeating and delivering: sent to apply",
      }),
    );
  });

  test("the looks back off: the fourth re-check comes 240 s later", async () => {
    enqueue(awaitHeartbeat({ checks: 3, authorizedAt: cloud.clock.now() - 200_000 }));

    await checkHeartbeats(deps);

    expect(rechecks().map((m) => [m.checks, m.delay])).toEqual([[4, 240]]);
  });

  test("a stale heartbeat (over 180 s old) is not a heartbeat", async () => {
    heartbeating(UP);
    cloud.clock.advance(181_000);
    enqueue(awaitHeartbeat({ instanceIds: [UP] }));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ healthy: 0, waiting: 1 });
    expect(applies()).toEqual([]);
  });

  test("a retried host failure that now heartbeats goes to apply", async () => {
    const record = cloud.record(UP);
    if (record) record.tags = tags("app-b-prod", "failed:NoHeartbeat");
    heartbeating(UP);
    enqueue(awaitHeartbeat({ instanceIds: [UP] }));

    await checkHeartbeats(deps);

    expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
  });

  test("hosts that moved on since the message (re-tagged, collecting, released) are left alone", async () => {
    const retagged = cloud.record(UP);
    const collecting = cloud.record(DOWN);
    if (!retagged || !collecting) throw new Error("instances missing");
    retagged.tags = tags("payments-prod", "authorized");
    collecting.tags = tags("app-b-prod", "collecting");
    ecs().instances.delete(NO_AGENT);
    heartbeating(UP, DOWN, NO_AGENT);
    enqueue(awaitHeartbeat({ authorizedAt: cloud.clock.now() - 3_600_000 }));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 0, waiting: 0, diagnosed: 0 });
    expect(applies()).toEqual([]);
    expect(rechecks()).toEqual([]);
    expect(inspected()).toEqual([]);
  });
});

describe("checkHeartbeats: lines earn collecting", () => {
  const IPS: Record<string, string> = {
    [UP]: "172.16.0.11",
    [DOWN]: "172.16.0.12",
    [NO_AGENT]: "172.16.0.13",
  };
  /** These hosts heartbeat now, each from its own IP. */
  const heartbeatingFrom = (...ids: string[]) => {
    heartbeating(...ids);
    destination().machines.set(
      APP_B_PROD.group,
      ids.flatMap((id) => {
        const record = cloud.record(id);
        return record
          ? [{ ...machineOf(record, APP_B_PROD.identifier, cloud.clock.now()), ip: IPS[id] ?? "" }]
          : [];
      }),
    );
  };
  const seenAt = (secondsAgo: number) => cloud.clock.now() - secondsAgo * 1000;
  const deliveryQueries = () =>
    argsOf(destination().calls, "queryLogs").filter(([, query]) => query.query.includes("__source__"));

  test("the first heartbeat without lines sends apply to bind the config; the check then waits for lines", async () => {
    heartbeatingFrom(UP);
    enqueue(awaitHeartbeat({ instanceIds: [UP] }));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ healthy: 1, waiting: 0, awaitingLines: 1, diagnosed: 0 });
    expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
    expect(rechecks()).toEqual([
      expect.objectContaining({
        instanceIds: [UP],
        checks: 0,
        heartbeatSeenAt: cloud.clock.now(),
        delay: 30,
      }),
    ]);
    expect(cloud.status(UP)).toBe("authorized");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "heartbeat",
        instanceIds: [UP],
        detail: "heartbeating: sent to apply to bind the config; waiting for lines",
      }),
    );
  });

  test("its own lines send it to apply, and nothing looks again; another host's lines do not count", async () => {
    heartbeatingFrom(UP, DOWN);
    delivered([IPS[UP] ?? "", "10.9.9.9"]);
    enqueue(awaitHeartbeat({ instanceIds: [UP, DOWN], heartbeatSeenAt: seenAt(30) }));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ healthy: 2, awaitingLines: 1 });
    expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
    expect(rechecks()).toEqual([
      expect.objectContaining({ instanceIds: [DOWN], checks: 1, heartbeatSeenAt: seenAt(30), delay: 30 }),
    ]);
  });

  test("one query per route for the whole batch, over the lines since the authorization", async () => {
    heartbeatingFrom(UP, DOWN, NO_AGENT);
    delivered([]);
    const authorizedAt = seenAt(90);
    enqueue(awaitHeartbeat({ authorizedAt, heartbeatSeenAt: seenAt(30) }));

    await checkHeartbeats(deps);

    expect(deliveryQueries()).toHaveLength(1);
    expect(deliveryQueries()[0]?.[1]).toMatchObject({ from: authorizedAt / 1000 - 120 });
  });

  describe("past the route's delivery timeout, the host is inspected with the route's paths", () => {
    const paths = APP_B_PROD.route.logtailConfig.linux?.filePaths ?? [];
    const filesReport = (files: { matched: number; changedSince: number; newestChange: number | null }) =>
      succeeded(UP, hostReport({ action: "inspect", files }));
    /** Apply bound the route's config to its group. */
    const bound = () => destination().bindings.set(APP_B_PROD.group, new Set([APP_B_PROD.config]));
    const pastDeliveryTimeout = () =>
      awaitHeartbeat({
        instanceIds: [UP],
        authorizedAt: seenAt(400),
        heartbeatSeenAt: seenAt(APP_B_PROD.route.deliveryTimeoutSeconds + 1),
        checks: 5,
      });

    /** The first tick sends inspect and queues its later look; returns that look's message. */
    const inspectSent = async () => {
      const outcome = await checkHeartbeats(deps);
      const [later] = cloud.queue
        .sent(HEARTBEAT)
        .flatMap((m) => (m.ok && m.message.type === "check-command" ? [m] : []));
      if (later?.message.type !== "check-command") throw new Error("no check-command queued");
      return { outcome, later: later.message, delaySeconds: later.delaySeconds };
    };

    test.each([
      [
        "no file matches the paths",
        { matched: 0, changedSince: 0, newestChange: null },
        "failed:NoMatchingFiles",
      ],
      [
        "files change and no line arrives",
        { matched: 3, changedSince: 1, newestChange: 1_775_001_500 },
        "failed:NoLinesDelivered",
      ],
      [
        "idle: nothing changed since the config was bound",
        { matched: 3, changedSince: 0, newestChange: 1 },
        "collecting",
      ],
    ])("%s: %s, decided at the next look", async (_what, files, status) => {
      heartbeatingFrom(UP);
      delivered([]);
      bound();
      ecs().answer = () => filesReport(files);
      enqueue(pastDeliveryTimeout());
      // Changes count from a host-clock skew (120 s) before the bind.
      const boundAt = Math.floor(seenAt(APP_B_PROD.route.deliveryTimeoutSeconds + 1) / 1000) - 120;

      const { outcome, later, delaySeconds } = await inspectSent();

      // No wait inside the round: the result is read by the check-command 50 s later.
      expect(outcome).toMatchObject({ diagnosed: 1 });
      expect(
        ecs()
          .commandsRun("inspect")
          .map((c) => c.words),
      ).toEqual([["inspect", "--since", String(boundAt), ...paths.flatMap((path) => ["--path", path])]]);
      expect(later).toMatchObject({ action: "inspect", instanceIds: [UP], boundAt, checks: 0 });
      expect(delaySeconds).toBe(50);
      expect(cloud.status(UP)).toBe("authorized");
      expect(rechecks()).toEqual([]);

      enqueue(encodeMessage(later));
      const read = await checkHeartbeats(deps);

      expect(read).toMatchObject({ commandsSettled: 1, commandsRunning: 0 });
      expect(cloud.status(UP)).toBe(status);
      // An idle host goes on to apply, which checks whether its account may cut over.
      expect(applies().flatMap((m) => m.instanceIds)).toEqual(status === "collecting" ? [UP] : []);
    });

    test("an inspect still running when read is looked at again; once ended, an idle host collects", async () => {
      heartbeatingFrom(UP);
      delivered([]);
      bound();
      ecs().answer = (id) => stillRunning(id);
      enqueue(pastDeliveryTimeout());
      const { later } = await inspectSent();
      enqueue(encodeMessage(later));

      const running = await checkHeartbeats(deps);

      expect(running).toMatchObject({ commandsSettled: 0, commandsRunning: 1 });
      expect(cloud.status(UP)).toBe("authorized");
      ecs().setResult(
        later.invokeId,
        succeeded(
          UP,
          hostReport({ action: "inspect", files: { matched: 2, changedSince: 0, newestChange: 1 } }),
        ),
      );
      enqueue(encodeMessage({ ...later, checks: 1 }));
      const ended = await checkHeartbeats(deps);

      expect(ended).toMatchObject({ commandsSettled: 1, commandsRunning: 0 });
      expect(cloud.status(UP)).toBe("collecting");
      expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
    });

    test("a config not bound yet (apply held it back) restarts the wait and asks apply again; nothing is inspected", async () => {
      heartbeatingFrom(UP);
      delivered([]);
      enqueue(pastDeliveryTimeout());

      const outcome = await checkHeartbeats(deps);

      expect(outcome).toMatchObject({ diagnosed: 0, awaitingLines: 1 });
      expect(inspected()).toEqual([]);
      expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
      expect(rechecks()).toEqual([
        expect.objectContaining({ instanceIds: [UP], checks: 0, heartbeatSeenAt: cloud.clock.now() }),
      ]);
    });

    test("idle files do not clear a delivery failure: only lines do", async () => {
      const record = cloud.record(UP);
      if (record) record.tags = tags("app-b-prod", "failed:NoLinesDelivered");
      heartbeatingFrom(UP);
      delivered([]);
      bound();
      ecs().answer = () => filesReport({ matched: 3, changedSince: 0, newestChange: 1 });
      enqueue(pastDeliveryTimeout());
      enqueue(encodeMessage((await inspectSent()).later));

      await checkHeartbeats(deps);

      expect(cloud.status(UP)).toBe("failed:NoLinesDelivered");
      expect(applies()).toEqual([]);
    });

    test("an IP two heartbeating machines report vouches for neither: no lines count, the host is inspected", async () => {
      heartbeatingFrom(UP, DOWN);
      destination().machines.set(
        APP_B_PROD.group,
        (destination().machines.get(APP_B_PROD.group) ?? []).map((machine) => ({
          ...machine,
          ip: "172.16.0.99",
        })),
      );
      delivered(["172.16.0.99"]);
      bound();
      ecs().answer = (id) =>
        succeeded(
          id,
          hostReport({ action: "inspect", files: { matched: 1, changedSince: 1, newestChange: 1 } }),
        );
      enqueue(pastDeliveryTimeout());
      enqueue(encodeMessage((await inspectSent()).later));

      await checkHeartbeats(deps);

      expect(applies()).toEqual([]);
      expect(cloud.status(UP)).toBe("failed:NoLinesDelivered");
    });

    test("inspect that cannot run is a host failure the next look retries, not a delivery verdict", async () => {
      heartbeatingFrom(UP);
      delivered([]);
      bound();
      ecs().answer = (id) => failedRun(id, { errorCode: "InstanceNotRunning" });
      enqueue(pastDeliveryTimeout());
      enqueue(encodeMessage((await inspectSent()).later));

      await checkHeartbeats(deps);

      expect(cloud.status(UP)).toBe("failed:HostScriptFailed");
    });
  });
});

describe("checkHeartbeats: diagnosis past the route's timeout", () => {
  const pastTimeout = () => awaitHeartbeat({ authorizedAt: cloud.clock.now() - 601_000, checks: 5 });
  /** The inspects' later looks (check-command messages) put back on the queue and read at the next tick. */
  const nextTick = async () => {
    const looks = cloud.queue
      .sent(HEARTBEAT)
      .flatMap((m) => (m.ok && m.message.type === "check-command" ? [m] : []));
    for (const look of looks) {
      expect(look.message).toMatchObject({ action: "inspect", inspectFor: "heartbeat", checks: 0 });
      expect(look.delaySeconds).toBe(50);
    }
    enqueue(...looks.map((look) => encodeMessage(look.message)));
    return checkHeartbeats(deps);
  };

  test("silent hosts are inspected and get the reason found on them; nothing is looked at again", async () => {
    heartbeating(UP);
    delivered();
    ecs().answer = (id) =>
      succeeded(
        id,
        hostReport({
          action: "inspect",
          uidFiles: [HUB],
          identifiers: [APP_B_PROD.identifier],
          agent: {
            flavor: id === NO_AGENT ? "none" : "ilogtail",
            control: "initd",
            running: false,
            restarted: false,
            restartError: null,
          },
        }),
      );
    enqueue(pastTimeout());

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ healthy: 1, diagnosed: 2 });
    expect(
      ecs()
        .commandsRun("inspect")
        .map((c) => c.words),
    ).toEqual([["inspect"]]);
    expect(inspected()).toEqual([DOWN, NO_AGENT]);
    // No wait inside the round: the statuses stand until the later look reads the results.
    expect([cloud.status(DOWN), cloud.status(NO_AGENT)]).toEqual(["authorized", "authorized"]);

    expect(await nextTick()).toMatchObject({ commandsSettled: 2, commandsRunning: 0 });
    expect(cloud.status(DOWN)).toBe("failed:AgentNotRunning");
    expect(cloud.status(NO_AGENT)).toBe("failed:AgentNotInstalled");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "diagnose",
        outcome: "failed",
        reason: "AgentNotRunning",
        instanceIds: [DOWN],
      }),
    );
    expect(rechecks()).toEqual([]);
  });

  test.each([
    [
      "the destination's UID file is missing",
      hostReport({ identifiers: ["app-b-prod-linux"] }),
      "UidFileMissing",
    ],
    [
      "the identifier line differs",
      hostReport({ uidFiles: [HUB], identifiers: ["app-b-prod-linux\r"] }),
      "IdentifierMismatch",
    ],
    [
      "files and agent are as they should be",
      hostReport({ uidFiles: [HUB], identifiers: ["app-b-prod-linux"] }),
      "NoHeartbeat",
    ],
  ])("%s: failed %s", async (_what, report, reason) => {
    ecs().answer = (id) => succeeded(id, report);
    enqueue(pastTimeout());

    await checkHeartbeats(deps);
    await nextTick();

    expect(cloud.status(DOWN)).toBe(`failed:${reason}`);
  });

  test("a host where inspect cannot run is failed NoHeartbeat, with why", async () => {
    ecs().answer = (id) => failedRun(id, { errorCode: "ClientNotRunning" });
    enqueue(pastTimeout());

    await checkHeartbeats(deps);
    await nextTick();

    expect(cloud.status(DOWN)).toBe("failed:NoHeartbeat");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "diagnose",
        instanceIds: [DOWN],
        detail: "inspect could not run: ClientNotRunning",
      }),
    );
  });

  test("the same silent hosts named by several messages (redelivered, duplicated, re-authorized) are inspected once", async () => {
    const longAgo = cloud.clock.now() - 3_600_000;
    enqueue(
      awaitHeartbeat({ instanceIds: [DOWN], authorizedAt: longAgo }),
      awaitHeartbeat({ instanceIds: [DOWN], authorizedAt: longAgo }),
      awaitHeartbeat({ instanceIds: [DOWN], authorizedAt: longAgo + 1 }),
    );

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 3, diagnosed: 1 });
    expect(inspected()).toEqual([DOWN]);
    // Only the inspect's one later look is left on the queue.
    expect(
      cloud.queue
        .waiting(HEARTBEAT)
        .map((m) =>
          m.ok && "instanceIds" in m.message ? `${m.message.type} ${m.message.instanceIds}` : "?",
        ),
    ).toEqual([`check-command ${DOWN}`]);
  });

  test("a fresh authorization does not restart the timeout of an older one in the same batch", async () => {
    enqueue(
      awaitHeartbeat({ instanceIds: [DOWN], authorizedAt: cloud.clock.now() }),
      awaitHeartbeat({ instanceIds: [DOWN], authorizedAt: cloud.clock.now() - 3_600_000 }),
    );

    await checkHeartbeats(deps);

    expect(inspected()).toEqual([DOWN]);
    expect(rechecks()).toEqual([]);
  });
});

describe("checkHeartbeats: the queue", () => {
  test("a malformed message goes to the dead-letter queue with its reason and is deleted, never retried", async () => {
    const body = '{"v":1,"type":"await-heartbeat","instanceIds":["i-$(reboot)"]}';
    enqueue(body);

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(1);
    expect(cloud.deadLetters).toEqual([
      expect.objectContaining({
        source: HEARTBEAT,
        reason: "MalformedMessage",
        detail: expect.stringMatching(/^accountId: /),
        original: body,
        messageId: expect.any(String),
      }),
    ]);
    expect(cloud.queue.waiting(HEARTBEAT)).toEqual([]);
    expect(cloud.logs).toEqual([
      expect.objectContaining({ action: "heartbeat", outcome: "refused", reason: "MalformedMessage" }),
      expect.objectContaining({
        action: "heartbeat-queue",
        outcome: "ok",
        dequeueCounts: [1],
        detail: "1 of 1 handled and deleted",
      }),
    ]);
  });

  test("a message of another queue's type is dead-lettered as WrongQueue", async () => {
    enqueue(
      encodeMessage({
        v: 1,
        type: "apply",
        accountId: APP_B,
        region: REGION,
        route: "app-b-prod",
        instanceIds: [UP],
      }),
    );

    await checkHeartbeats(deps);

    expect(cloud.deadLetters).toEqual([
      expect.objectContaining({ reason: "WrongQueue", detail: "a apply message" }),
    ]);
    expect(applies()).toEqual([]);
  });

  test("a message outside the routes file is dead-lettered and does not hold up the rest of the batch", async () => {
    heartbeating(UP);
    enqueue(
      awaitHeartbeat({ accountId: PAYMENTS, instanceIds: [UP] }),
      awaitHeartbeat({ instanceIds: [UP] }),
    );

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 2, healthy: 1 });
    expect(cloud.deadLetters).toEqual([expect.objectContaining({ reason: "RouteNotAllowedForAccount" })]);
    expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
  });

  test("a message delivered past the queue's limit is dead-lettered by the consumer, not worked on again", async () => {
    // A queue whose dead-letter policy did not take (the classic API's doubt, README "Dead letters").
    heartbeating(UP);
    const body = awaitHeartbeat({ instanceIds: [UP] });
    enqueue(body);
    const [stored] = cloud.queue.messages;
    if (stored === undefined) throw new Error("nothing enqueued");
    stored.dequeueCount = MAX_RECEIVE_COUNT;

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ messages: 1, healthy: 0 });
    expect(cloud.deadLetters).toEqual([
      expect.objectContaining({
        source: HEARTBEAT,
        reason: "TooManyDeliveries",
        detail: `delivered ${MAX_RECEIVE_COUNT + 1} times, past the queue's limit of ${MAX_RECEIVE_COUNT}: its work failed every time`,
        original: body,
      }),
    ]);
    expect(applies()).toEqual([]);
    expect(cloud.queue.waiting(HEARTBEAT)).toEqual([]);
  });

  test("a delete that fails (a stale handle) is logged, not thrown", async () => {
    enqueue(awaitHeartbeat());
    cloud.queue.fns.delete = async (_queue, handles) =>
      handles.map((receiptHandle) => ({ receiptHandle, code: "ReceiptHandleError", message: "stale" }));

    await checkHeartbeats(deps);

    expect(cloud.logs.at(-1)).toMatchObject({
      action: "heartbeat-queue",
      outcome: "failed",
      reason: "ReceiptHandleError",
      detail: "0 of 1 handled and deleted; 1 not deleted, redelivered",
    });
  });

  describe("a round whose work fails settles each of its messages; the queue is not left to count", () => {
    const failListing = (error: Error) => {
      destination().fns.listMachines = async () => {
        throw error;
      };
    };
    const sentAgain = () =>
      cloud.queue.sent(HEARTBEAT).flatMap((m) => (m.ok ? [{ ...m.message, delay: m.delaySeconds }] : []));

    test("a retryable failure: each message comes back in 30 s with one failed try, the deliveries deleted", async () => {
      failListing(cloudError("ServiceUnavailable", { retryable: true }));
      const first = awaitHeartbeat({ instanceIds: [UP] });
      const second = awaitHeartbeat({ instanceIds: [DOWN], checks: 2 });
      enqueue(first, second);

      const outcome = await checkHeartbeats(deps);

      expect(outcome).toMatchObject({ messages: 2, requeued: 2, deadLettered: 0 });
      expect(sentAgain()).toEqual([
        { ...JSON.parse(first), failedAttempts: 1, delay: 30 },
        { ...JSON.parse(second), failedAttempts: 1, delay: 30 },
      ]);
      // The deliveries themselves are gone: only the re-sent messages wait, held back.
      expect(
        cloud.queue.waiting(HEARTBEAT).filter((m) => m.ok && m.message.failedAttempts === undefined),
      ).toEqual([]);
      expect(cloud.deadLetters).toEqual([]);
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({ action: "heartbeat", outcome: "failed", reason: "ServiceUnavailable" }),
      );
    });

    test("the tenth failed try is dead-lettered by the consumer with the last error", async () => {
      failListing(cloudError("ServiceUnavailable", { retryable: true }));
      enqueue(awaitHeartbeat({ instanceIds: [UP], failedAttempts: MAX_RECEIVE_COUNT - 1 }));

      const outcome = await checkHeartbeats(deps);

      expect(outcome).toMatchObject({ requeued: 0, deadLettered: 1 });
      expect(sentAgain()).toEqual([]);
      expect(cloud.deadLetters).toEqual([
        expect.objectContaining({ source: HEARTBEAT, reason: "RetriesExhausted" }),
      ]);
    });

    test("a deferral (the throttle gate's wait would outlast the run) costs no try", async () => {
      failListing(cloudError(DEFERRED_CODE, { retryable: true }));
      enqueue(awaitHeartbeat({ instanceIds: [UP], failedAttempts: 3 }));

      await checkHeartbeats(deps);

      expect(sentAgain()).toEqual([expect.objectContaining({ failedAttempts: 3, delay: 60 })]);
    });

    test("a check that goes through starts the count again", async () => {
      heartbeating(UP);
      delivered([]);
      enqueue(awaitHeartbeat({ instanceIds: [UP], failedAttempts: 4 }));

      await checkHeartbeats(deps);

      expect(rechecks()).toEqual([expect.not.objectContaining({ failedAttempts: expect.anything() })]);
      expect(rechecks()).toHaveLength(1);
    });

    test("when the queue itself fails, the run fails and the deliveries stay for the queue to hand out again", async () => {
      failListing(cloudError("ServiceUnavailable", { retryable: true }));
      enqueue(awaitHeartbeat({ instanceIds: [UP] }));
      cloud.queue.fns.send = async () => {
        throw cloudError("QueueNotExist");
      };

      await expect(checkHeartbeats(deps)).rejects.toMatchObject({ code: "QueueNotExist" });
      expect(cloud.queue.waiting(HEARTBEAT)).toHaveLength(1);
    });
  });

  test("20 messages: two receive rounds (16 and 4), all deleted", async () => {
    enqueue(...Array.from({ length: 20 }, () => awaitHeartbeat({ instanceIds: [UP] })));

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(20);
    expect(argsOf(cloud.queue.calls, "receive")).toHaveLength(2);
    expect(unhandled()).toEqual([]);
  });

  test("maxRounds bounds the rounds of one run: the rest waits for the next tick", async () => {
    deps = useCaseDeps(cloud, { maxRounds: 1 });
    enqueue(...Array.from({ length: 20 }, () => awaitHeartbeat({ instanceIds: [UP] })));

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(16);
    expect(unhandled()).toHaveLength(4);
  });

  test("no second round starts unless a whole one ends before the invocation's deadline", async () => {
    const start = cloud.clock.now();
    deps = useCaseDeps(cloud, { deadline: () => start + HEARTBEAT_ROUND_BUDGET_MS - 1 });
    enqueue(...Array.from({ length: 20 }, () => awaitHeartbeat({ instanceIds: [UP] })));

    const outcome = await checkHeartbeats(deps);

    expect(outcome.messages).toBe(16);
    expect(argsOf(cloud.queue.calls, "receive")).toHaveLength(1);
  });

  test("an empty queue: one receive, nothing else", async () => {
    const outcome = await checkHeartbeats(deps);

    expect(outcome).toEqual({
      messages: 0,
      healthy: 0,
      waiting: 0,
      awaitingLines: 0,
      diagnosed: 0,
      commandsSettled: 0,
      commandsRunning: 0,
      requeued: 0,
      deadLettered: 0,
    });
    expect(cloud.journal).toEqual(["queue.receive"]);
  });
});

describe("checkHeartbeats: slow hosts' commands", () => {
  const checkCommand = (invokeId: string, fields: Partial<CheckCommandMessage> = {}): string =>
    encodeMessage({
      v: 1,
      type: "check-command",
      accountId: APP_B,
      region: REGION,
      route: "app-b-prod",
      instanceIds: [UP],
      invokeId,
      action: "authorize",
      sentAt: cloud.clock.now() - 95_000,
      checks: 0,
      ...fields,
    });
  /** A command that was still running when authorize stopped waiting. */
  const slowCommand = async (id: string): Promise<string> => {
    ecs().answer = (instanceId) => stillRunning(instanceId);
    const [invocation] = await ecs().fns.runCommand(
      { type: "RunShellScript", contentEncoding: "Base64", commandContent: "", timeoutSeconds: 60 },
      [id],
      { attemptKey: "slow" },
    );
    if (!invocation) throw new Error("no invocation");
    return invocation.invokeId;
  };

  test("a slow host whose command has ended is authorized and judged in the same run", async () => {
    const record = cloud.record(UP);
    if (record) record.tags = tags("app-b-prod", "pending");
    const invokeId = await slowCommand(UP);
    ecs().setResult(invokeId, succeeded(UP));
    heartbeating(UP);
    enqueue(checkCommand(invokeId));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ commandsSettled: 1, commandsRunning: 0, healthy: 1 });
    expect(cloud.status(UP)).toBe("authorized");
    expect(applies().flatMap((m) => m.instanceIds)).toEqual([UP]);
  });

  test("found authorized, then the round fails: its heartbeat check is sent again with the rest", async () => {
    const record = cloud.record(UP);
    if (record) record.tags = tags("app-b-prod", "pending");
    const invokeId = await slowCommand(UP);
    ecs().setResult(invokeId, succeeded(UP));
    destination().fns.listMachines = async () => {
      throw cloudError("ServiceUnavailable", { retryable: true });
    };
    enqueue(checkCommand(invokeId));

    const outcome = await checkHeartbeats(deps);

    // Authorized by this round: the check-command sent again would find it moved on, so the
    // heartbeat check it led to is what carries the host on.
    expect(cloud.status(UP)).toBe("authorized");
    expect(outcome).toMatchObject({ requeued: 2, deadLettered: 0 });
    expect(
      cloud.queue
        .sent(HEARTBEAT)
        .map((m) => (m.ok ? `${m.message.type} ${m.message.failedAttempts} ${m.delaySeconds}` : "?")),
    ).toEqual(["check-command 1 30", "await-heartbeat 1 30"]);
  });

  test("a command still running is looked at again at the next tick", async () => {
    const record = cloud.record(UP);
    if (record) record.tags = tags("app-b-prod", "pending");
    const invokeId = await slowCommand(UP);
    enqueue(checkCommand(invokeId));

    const outcome = await checkHeartbeats(deps);

    expect(outcome).toMatchObject({ commandsSettled: 0, commandsRunning: 1 });
    expect(cloud.status(UP)).toBe("pending");
    expect(cloud.queue.sent(HEARTBEAT)).toEqual([
      expect.objectContaining({
        ok: true,
        message: expect.objectContaining({ type: "check-command", instanceIds: [UP], checks: 1 }),
        delaySeconds: 50,
      }),
    ]);
  });
});
