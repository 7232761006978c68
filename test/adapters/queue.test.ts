import MnsClient from "@alicloud/mns";
import { MNS_LIMITS, packBatches } from "../../shared/adapters";
import type { QueuePort } from "../../shared/ports";
import { calls, hub, type Kit, region, rejection, startKit } from "./adapterKit";

let kit: Kit;
let queue: QueuePort;
const name = "ltx-apply";

beforeAll(async () => {
  kit = await startKit();
  queue = (await kit.adapters()).queue();
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(async () => {
  await kit.emulator.reset();
  // Queues are infrastructure (deployed by s.yaml), not something the port creates.
  const admin = new MnsClient(hub.id, {
    accessKeyId: hub.accessKeyId,
    accessKeySecret: hub.accessKeySecret,
    endpoint: `http://${hub.id}.mns.${region}.localhost:${kit.emulator.port}`,
  });
  await admin.createQueue(name, { VisibilityTimeout: 30 });
});

describe("MNS queue port", () => {
  it("sends 20 bodies in two batches and receives them intact, XML-special characters included", async () => {
    const bodies = Array.from({ length: 20 }, (_, n) => `{"n":${n},"text":"<a & 'b'> ]]> \u00e9 \u{1F600}"}`);
    const ids = await queue.send(name, bodies);
    expect(ids).toHaveLength(20);
    expect(calls(kit.emulator, "BatchSendMessage")).toBe(2);

    const first = await queue.receive(name, 16, 0);
    const second = await queue.receive(name, 16, 0);
    const received = [...first, ...second];
    expect(first).toHaveLength(16);
    expect(received.map((message) => message.body).sort()).toEqual([...bodies].sort());
    expect(received.every((message) => message.dequeueCount === 1)).toBe(true);
    expect(new Set(received.map((message) => message.messageId))).toEqual(new Set(ids));
  });

  it("answers [] on an empty queue", async () => {
    expect(await queue.receive(name, 16, 0)).toEqual([]);
  });

  it("deletes by receipt handle and reports stale handles instead of throwing", async () => {
    await queue.send(name, ["one", "two"]);
    const messages = await queue.receive(name, 16, 0);
    const handles = messages.map((message) => message.receiptHandle);
    expect(await queue.delete(name, handles)).toEqual([]);
    const failures = await queue.delete(name, handles);
    expect(failures.map((failure) => failure.code)).toEqual(["ReceiptHandleError", "ReceiptHandleError"]);
    expect(await queue.receive(name, 16, 0)).toEqual([]);
  });

  it("changes visibility and returns the new handle; the old one dies", async () => {
    await queue.send(name, ["later"]);
    const [message] = await queue.receive(name, 1, 0);
    if (message === undefined) throw new Error("nothing received");
    const handle = await queue.changeVisibility(name, message.receiptHandle, 120);
    expect(handle).not.toBe(message.receiptHandle);
    kit.emulator.advanceClock(60_000);
    expect(await queue.receive(name, 1, 0)).toEqual([]);
    kit.emulator.advanceClock(61_000);
    const [again] = await queue.receive(name, 1, 0);
    expect(again).toMatchObject({ body: "later", dequeueCount: 2 });
    expect(await queue.delete(name, [handle])).toEqual([
      expect.objectContaining({ code: "ReceiptHandleError" }),
    ]);
  });

  it("refuses a body over 64 KB once encoded, before sending anything", async () => {
    const error = await rejection(queue.send(name, ["ok", "x".repeat(49_200)]));
    expect(error).toMatchObject({ code: "MessageTooLarge", retryable: false });
    expect(calls(kit.emulator, "BatchSendMessage")).toBe(0);
  });

  it("packs batches by count (16) and by total size (64 KB)", () => {
    const small = Array.from({ length: 33 }, () => "a");
    expect(packBatches(small).map((batch) => batch.length)).toEqual([16, 16, 1]);
    const big = Array.from({ length: 5 }, () => "b".repeat(30_000));
    expect(packBatches(big).map((batch) => batch.length)).toEqual([2, 2, 1]);
    expect(MNS_LIMITS.batchBytes).toBe(65_536);
  });

  it("classifies a missing queue as terminal", async () => {
    expect(await rejection(queue.send("no-such-queue", ["x"]))).toMatchObject({
      code: "QueueNotExist",
      httpStatus: 404,
      retryable: false,
      service: "mns",
    });
  });
});
