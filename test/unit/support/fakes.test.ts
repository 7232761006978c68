/**
 * The fakes' own defaults, where a use case test relies on them behaving as the real service does:
 * snapshots from describeInstances, receipt handles and visibility on the queue, the SLS reads of
 * a missing project, the words of a rendered command.
 */
import { renderHostCommand } from "../../../shared/hostscript/hostCommand";
import {
  APP_B,
  commandWords,
  FAKE_SCRIPTS,
  fakeCloud,
  fakeQueue,
  fakeSls,
  HUB,
  instance,
  REGION,
  tags,
} from "../../support/fakes";

describe("fake ECS", () => {
  test("describeInstances returns snapshots: a later tag write does not change a record already read", async () => {
    const cloud = fakeCloud();
    cloud.add(instance("i-bp1snap000001", { tags: tags("app-b-prod") }));
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });

    const [before] = await ecs.describeInstances({ instanceIds: ["i-bp1snap000001"] });
    await ecs.tagInstances(["i-bp1snap000001"], { team: "x" });

    expect(before?.tags).toEqual(tags("app-b-prod"));
    expect(cloud.record("i-bp1snap000001")?.tags).toEqual({ ...tags("app-b-prod"), team: "x" });
  });

  test("by tag: a key alone matches any value; a key and value match exactly", async () => {
    const cloud = fakeCloud();
    cloud.add(
      instance("i-bp1tagged0001", { tags: tags("app-b-prod") }),
      instance("i-bp1tagged0002", { tags: tags("payments-prod") }),
      instance("i-bp1untagged01"),
    );
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });
    const ids = async (filter: Parameters<typeof ecs.describeInstances>[0]) =>
      (await ecs.describeInstances(filter)).map((i) => i.instanceId);

    expect(await ids({ tagKey: "logtail-xacct-route" })).toEqual(["i-bp1tagged0001", "i-bp1tagged0002"]);
    expect(await ids({ tagKey: "logtail-xacct-route", tagValue: "payments-prod" })).toEqual([
      "i-bp1tagged0002",
    ]);
    expect(await ids({})).toHaveLength(3);
  });

  test("a replaced method is still logged; the rest keep their default", async () => {
    const cloud = fakeCloud();
    const ecs = cloud.ecs({ accountId: APP_B, region: REGION });
    ecs.fns.cloudAssistantStatus = async (ids) => new Map(ids.map((id) => [id, false]));

    const online = await ecs.cloudAssistantStatus(["i-bp1any0000001"]);

    expect(online.get("i-bp1any0000001")).toBe(false);
    expect(ecs.calls).toEqual([{ method: "cloudAssistantStatus", args: [["i-bp1any0000001"]] }]);
    expect(cloud.journal).toEqual([`ecs:${APP_B}/${REGION}.cloudAssistantStatus`]);
  });

  test("commandWords reads the arguments of a rendered Linux and Windows command", () => {
    const action = { action: "authorize", uid: HUB, identifier: "app-b-prod-linux" } as const;

    expect(commandWords(renderHostCommand("linux", action, FAKE_SCRIPTS))).toEqual([
      "authorize",
      "--uid",
      HUB,
      "--id",
      "app-b-prod-linux",
    ]);
    expect(commandWords(renderHostCommand("windows", { action: "inspect" }, FAKE_SCRIPTS))).toEqual([
      "inspect",
    ]);
  });
});

describe("fake queue", () => {
  test("a delayed message is received only once its delay has passed", async () => {
    let now = 0;
    const queue = fakeQueue(() => now);
    await queue.send("q", ["later"], { delaySeconds: 30 });

    expect(await queue.receive("q", 16, 0)).toEqual([]);
    now = 30_000;
    expect((await queue.receive("q", 16, 0)).map((m) => m.body)).toEqual(["later"]);
  });

  test("a received message is invisible until its visibility timeout, then comes back with a new handle", async () => {
    let now = 0;
    const queue = fakeQueue(() => now);
    await queue.send("q", ["body"]);

    const [first] = await queue.receive("q", 16, 0);
    expect(await queue.receive("q", 16, 0)).toEqual([]);
    now = queue.visibilitySeconds * 1000;
    const [second] = await queue.receive("q", 16, 0);

    expect(second).toMatchObject({ body: "body", dequeueCount: 2 });
    expect(second?.receiptHandle).not.toBe(first?.receiptHandle);
    // The first handle died with the second receive.
    expect(await queue.delete("q", [first?.receiptHandle ?? ""])).toEqual([
      expect.objectContaining({ code: "ReceiptHandleError" }),
    ]);
    expect(await queue.delete("q", [second?.receiptHandle ?? ""])).toEqual([]);
    expect(queue.messages).toEqual([]);
  });

  test("at most 16 messages a receive", async () => {
    const queue = fakeQueue(() => 0);
    await queue.send(
      "q",
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );

    expect(await queue.receive("q", 32, 0)).toHaveLength(16);
  });
});

describe("fake SLS", () => {
  const scope = { accountId: HUB, region: REGION, project: "central-logs" };

  test("reads of a missing project: existence checks say no, bindings and jobs throw ProjectNotExist", async () => {
    const sls = fakeSls(scope);

    expect(await sls.logstoreExists("app-b")).toBe(false);
    expect(await sls.listMachines("group")).toBeUndefined();
    await expect(sls.appliedConfigs("group")).rejects.toMatchObject({ code: "ProjectNotExist" });
    await expect(sls.getEtl("job")).rejects.toMatchObject({ code: "ProjectNotExist" });
  });

  test("ensure* say what they had to do", async () => {
    const sls = fakeSls(scope);

    expect(await sls.ensureProject()).toBe("created");
    expect(await sls.ensureProject()).toBe("unchanged");
    expect(await sls.ensureMachineGroup("group", ["a"])).toBe("created");
    expect(await sls.ensureMachineGroup("group", ["a"])).toBe("unchanged");
    expect(await sls.ensureMachineGroup("group", ["b"])).toBe("updated");
    expect(await sls.appliedConfigs("group")).toEqual([]);
  });
});
