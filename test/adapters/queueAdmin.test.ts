import { MnsQueueAdminAdapter } from "../../shared/adapters";
import { ensureHubQueues, HUB_QUEUES } from "../../shared/deploy/hubQueues";
import type { QueueAdminPort } from "../../shared/ports/queueAdmin";
import { calls, hub, type Kit, region, rejection, startKit } from "./adapterKit";

let kit: Kit;
let admin: QueueAdminPort;
const name = "ltx-admin";

beforeAll(async () => {
  kit = await startKit();
  admin = new MnsQueueAdminAdapter({ accountId: hub.id, region }, await kit.adapters());
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(async () => {
  await kit.emulator.reset();
});

describe("MNS queue administration port", () => {
  it("creates a queue with its attributes, then finds the same queue unchanged", async () => {
    expect(await admin.createQueue(name, { VisibilityTimeout: 45 })).toBe("created");
    expect(await admin.createQueue(name, { VisibilityTimeout: 45 })).toBe("unchanged");

    expect(kit.emulator.mns.getQueue(hub.id, region, name).attributes.visibilityTimeout).toBe(45);
    expect(calls(kit.emulator, "CreateQueue", hub.id)).toBe(2);
  });

  it("leaves a queue with other attributes as it is, and sets them when asked", async () => {
    await admin.createQueue(name, { VisibilityTimeout: 45 });

    expect(await admin.createQueue(name, { VisibilityTimeout: 90 })).toBe("exists");
    expect(kit.emulator.mns.getQueue(hub.id, region, name).attributes.visibilityTimeout).toBe(45);
    await admin.setQueueAttributes(name, { VisibilityTimeout: 90 });
    expect(kit.emulator.mns.getQueue(hub.id, region, name).attributes.visibilityTimeout).toBe(90);
  });

  it("reports the service's errors as CloudErrors naming the operation", async () => {
    expect(await rejection(admin.createQueue("-not-a-name", {}))).toMatchObject({
      code: "InvalidQueueName",
      service: "mns",
      operation: "CreateQueue",
      retryable: false,
    });
    expect(
      await rejection(admin.setQueueAttributes("no-such-queue", { VisibilityTimeout: 60 })),
    ).toMatchObject({
      code: "QueueNotExist",
      service: "mns",
      operation: "SetQueueAttributes",
      retryable: false,
    });
  });

  it("lets the deployment bring an existing hub queue with other attributes to its spec", async () => {
    await admin.createQueue(HUB_QUEUES.apply, { VisibilityTimeout: 30 });

    const outcomes = await ensureHubQueues(admin);

    expect(outcomes).toEqual([
      { name: HUB_QUEUES.deadLetter, outcome: "created" },
      { name: HUB_QUEUES.heartbeat, outcome: "created" },
      { name: HUB_QUEUES.apply, outcome: "updated" },
      { name: HUB_QUEUES.reconcile, outcome: "created" },
    ]);
    // A shard may run for the reconcile function's whole timeout before its message shows again.
    expect(kit.emulator.mns.getQueue(hub.id, region, HUB_QUEUES.reconcile).attributes.visibilityTimeout).toBe(
      600,
    );
    expect(kit.emulator.mns.getQueue(hub.id, region, HUB_QUEUES.apply).attributes.visibilityTimeout).toBe(
      300,
    );
  });
});
