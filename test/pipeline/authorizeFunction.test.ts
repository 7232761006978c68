/**
 * The authorize function as deployed, woken on the local stack: an operator tags an instance in a
 * spoke; the forwarded event runs the real handler with its role credentials; the handler assumes
 * the spoke's role, runs the host script and writes the status tag.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Ecs from "@alicloud/ecs20140526";
import type { LocalStack } from "../../localstack/stack";
import { parseDeadLetter } from "../../shared/messages/deadLetters";
import { HUB_QUEUES } from "../../shared/messages/queueMessages";
import {
  ecsClient,
  HUB,
  REGION,
  SPOKE,
  stackFleet,
  startFunctionStack,
  until,
  untilAdvancing,
} from "../support/localAccounts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const INSTANCE = "i-bp1fnauthz00001";
const DEAD_LETTER_QUEUE = HUB_QUEUES.deadLetter;

const fleet = stackFleet([
  {
    account: "app-b",
    region: REGION,
    id: INSTANCE,
    userDefinedIds: ["team-x-web"],
    // It writes where the route reads: its lines earn `collecting`.
    writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 1 }],
  },
]);

describeRequiring(sandboxRequirement(), "the pipeline's functions on the local stack", () => {
  let stack: LocalStack;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-authorize-fn-"));
    stack = await startFunctionStack(fleet, workDir, Date.UTC(2026, 0, 1));
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("tagging an instance onboards its host: files written, status authorized, heartbeat check queued", async () => {
    const ecs = ecsClient(stack.emulator.port, SPOKE);

    await ecs.tagResources(
      new $Ecs.TagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: [INSTANCE],
        tag: [new $Ecs.TagResourcesRequestTag({ key: "logtail-xacct-route", value: "app-b-prod" })],
      }),
    );
    const status = await until("the authorized status", async () => {
      await stack.bridge.idle();
      const value = stack.emulator.ecs.getInstance(INSTANCE)?.tags.get("logtail-xacct-status");
      return value === "authorized" ? value : undefined;
    });

    expect(status).toBe("authorized");
    expect(stack.fleet.host(INSTANCE)?.root().identifierFile()).toBe("team-x-web\napp-b-prod-linux\n");
    expect(stack.fleet.host(INSTANCE)?.uidFiles()).toEqual([HUB.id]);
    // The status is written first, the heartbeat check queued right after it.
    const queued = await until("the heartbeat check", () => {
      try {
        return stack.emulator.mns.peek(HUB.id, REGION, "logtail-xacct-heartbeat", 16);
      } catch {
        return undefined; // MessageNotExist: not sent yet
      }
    });
    expect(queued).toHaveLength(1);
  });

  test("a minute later the heartbeat timer finds the host and apply binds the config; its lines make it collecting", async () => {
    const bound = () => {
      try {
        return stack.emulator.sls
          .getAppliedConfigs(
            { accountId: HUB.id, region: REGION, action: "GetAppliedConfigs" },
            "central-logs",
            "app-b-prod-linux",
          )
          .includes("app-b-prod-linux");
      } catch {
        return false; // the project or group is not made yet
      }
    };
    // The heartbeat timer fires on the emulator clock; the agents heartbeat on it too.
    stack.emulator.advanceClock(60_000);
    await until("the config bound", () => (bound() ? true : undefined));
    // Heartbeating is not collecting yet: the agent loads the config and ships the host's lines,
    // and the timer's next looks see them.
    expect(stack.emulator.ecs.getInstance(INSTANCE)?.tags.get("logtail-xacct-status")).toBe("authorized");
    const status = await untilAdvancing("the collecting status", stack.emulator, () => {
      const value = stack.emulator.ecs.getInstance(INSTANCE)?.tags.get("logtail-xacct-status");
      return value === "collecting" ? value : undefined;
    });

    expect(status).toBe("collecting");
    const scope = { accountId: HUB.id, region: REGION, action: "GetAppliedConfigs" };
    expect(stack.emulator.sls.getAppliedConfigs(scope, "central-logs", "app-b-prod-linux")).toEqual([
      "app-b-prod-linux",
    ]);
  });

  test("a cutover that cannot succeed (the source project does not exist here) is not redelivered forever", async () => {
    const applyCalls = () =>
      stack.emulator
        .metrics()
        .operations.filter((o) => o.operation === "ApplyConfigToMachineGroup")
        .reduce((n, o) => n + o.calls, 0);
    // Let the apply invocation finish and its message be deleted (or left for redelivery).
    const queue = () => stack.emulator.mns.getQueue(HUB.id, REGION, "logtail-xacct-apply");
    for (let i = 0; i < 200 && queue().inactiveMessages + queue().activeMessages > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const before = applyCalls();

    // Well past MNS's visibility timeout: a message left undeleted would come back and run again.
    stack.emulator.advanceClock(120_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(applyCalls()).toBe(before);
    expect(stack.runtime?.deadLetters).toEqual([]);
  });

  /** Records on the hub's dead-letter queue, read without receiving them. */
  const deadLetters = () => {
    try {
      return stack.emulator.mns
        .peek(HUB.id, REGION, DEAD_LETTER_QUEUE, 16)
        .map((m) => parseDeadLetter(Buffer.from(m.body, "base64").toString("utf8")));
    } catch {
      return [];
    }
  };

  test("poison lands in the dead-letter queue with its reason: a malformed event, a message for a route that is gone", async () => {
    const event = '{"specversion":"1.0","type":"ecs:ActionTrail:ApiCall","source":"acs.ecs"}';
    const invoked = await stack.runtime?.invoke("logtail-xacct-authorize", event);
    expect(invoked?.ok).toBe(true);

    const ghost = JSON.stringify({
      v: 1,
      type: "apply",
      accountId: SPOKE.id,
      region: REGION,
      route: "retired-route",
      instanceIds: [INSTANCE],
    });
    // As the adapter sends it: Base64 (the trigger decodes it, IsBase64Decode).
    stack.emulator.mns.send(HUB.id, REGION, "logtail-xacct-apply", [
      { body: Buffer.from(ghost).toString("base64"), delaySeconds: undefined, priority: undefined },
    ]);
    const records = await until("two dead letters", () => {
      const found = deadLetters();
      return found.length >= 2 ? found : undefined;
    });

    expect(records).toEqual([
      expect.objectContaining({
        function: "authorize",
        source: "event",
        reason: "MalformedEvent",
        original: event,
      }),
      expect.objectContaining({
        function: "apply",
        source: "logtail-xacct-apply",
        reason: "UnknownRoute",
        original: ghost,
      }),
    ]);
    // The apply message itself was handled (deleted), not left to come back.
    expect(stack.emulator.mns.getQueue(HUB.id, REGION, "logtail-xacct-apply").activeMessages).toBe(0);
  });

  test("the status write's own tag event starts no second round of work", async () => {
    const before = stack.emulator
      .metrics()
      .operations.filter((o) => o.operation === "RunCommand")
      .reduce((n, o) => n + o.calls, 0);

    await stack.bridge.idle();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stack.bridge.idle();

    const after = stack.emulator
      .metrics()
      .operations.filter((o) => o.operation === "RunCommand")
      .reduce((n, o) => n + o.calls, 0);
    expect(after).toBe(before);
  });

  test("an event whose every invocation fails reaches the dead-letter queue as a record, Base64 like the functions' own", async () => {
    // ECS in app-b answers every DescribeInstances with 503 for the rest of this test: authorize
    // fails on each of FC's attempts (the tag call itself goes through).
    const fault = stack.emulator.addFault({
      service: "ecs",
      operation: "DescribeInstances",
      accountId: SPOKE.id,
      error: { status: 503, code: "ServiceUnavailable", message: "injected" },
    });
    try {
      await ecsClient(stack.emulator.port, SPOKE).tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: REGION,
          resourceType: "instance",
          resourceId: [INSTANCE],
          // The route tag again (its value unchanged): an event authorize must act on.
          tag: [new $Ecs.TagResourcesRequestTag({ key: "logtail-xacct-route", value: "app-b-prod" })],
        }),
      );
      const record = await untilAdvancing("the failed event's record", stack.emulator, () =>
        deadLetters().find((letter) => letter?.reason === "InvocationFailed"),
      );
      expect(record).toMatchObject({
        function: "logtail-xacct-authorize",
        source: expect.stringMatching(/^trigger /),
      });
      expect(record?.original).toContain('"TagResources"');
    } finally {
      stack.emulator.removeFault(fault.id);
    }
  });
});
