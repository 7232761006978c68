import { createMnsService, type MnsService } from "../../emulator/mns";
import { type MnsClientLike, MnsQueueSource } from "../../localstack/fc";
import { mnsClient } from "../emulator/mnsTestKit";
import { type Harness, serveService } from "../emulator/serviceHarness";
import { accountA, permanentKey } from "../emulator/slsTestKit";

describe("MnsQueueSource over a fake SDK client", () => {
  function fakeClient(overrides: Partial<MnsClientLike>): MnsClientLike & { deletes: string[][] } {
    const deletes: string[][] = [];
    return {
      deletes,
      batchReceiveMessage: async () => ({ body: [] }),
      batchDeleteMessage: async (_queue, handles) => {
        deletes.push(handles);
        return { body: undefined };
      },
      changeMessageVisibility: async () => ({ body: { ReceiptHandle: "new-handle" } }),
      ...overrides,
    };
  }

  const sdkMessage = (id: string) => ({
    MessageId: id,
    ReceiptHandle: `h-${id}`,
    MessageBody: `body-${id}`,
    EnqueueTime: "1767225600000",
    DequeueCount: "1",
  });

  it("maps one message (the SDK unwraps a single element) and a list alike", async () => {
    const one = new MnsQueueSource(
      fakeClient({ batchReceiveMessage: async () => ({ body: sdkMessage("a") }) }),
      "q",
    );
    const many = new MnsQueueSource(
      fakeClient({ batchReceiveMessage: async () => ({ body: [sdkMessage("a"), sdkMessage("b")] }) }),
      "q",
    );
    expect(await one.receive(16, 0)).toEqual([
      { messageId: "a", receiptHandle: "h-a", body: "body-a", enqueueTime: 1767225600000, dequeueCount: 1 },
    ]);
    expect((await many.receive(16, 0)).map((m) => m.messageId)).toEqual(["a", "b"]);
  });

  it("treats MessageNotExist as an empty receive and passes other errors on", async () => {
    const empty = Object.assign(new Error("not found"), { name: "MNSMessageNotExistError" });
    const denied = Object.assign(new Error("denied"), { name: "MNSAccessDeniedError" });
    const q1 = new MnsQueueSource(fakeClient({ batchReceiveMessage: () => Promise.reject(empty) }), "q");
    const q2 = new MnsQueueSource(fakeClient({ batchReceiveMessage: () => Promise.reject(denied) }), "q");
    await expect(q1.receive(16, 1)).resolves.toEqual([]);
    await expect(q2.receive(16, 1)).rejects.toThrow("denied");
  });

  it("deletes in batches of 16 and returns the new handle of a visibility change", async () => {
    const client = fakeClient({});
    const queue = new MnsQueueSource(client, "q");
    await queue.delete(Array.from({ length: 20 }, (_, i) => `h${i}`));
    expect(client.deletes.map((batch) => batch.length)).toEqual([16, 4]);
    await expect(queue.changeVisibility("h0", 10)).resolves.toBe("new-handle");
  });
});

describe("MnsQueueSource against the emulator's MNS, through the official SDK", () => {
  let harness: Harness<MnsService>;
  beforeAll(async () => {
    harness = await serveService(createMnsService, [permanentKey(accountA)]);
  });
  afterAll(async () => {
    await harness.close();
  });

  it("receives, hides, deletes and changes visibility", async () => {
    const admin = mnsClient(harness.port, accountA);
    await admin.createQueue("fc-source", { VisibilityTimeout: 30 });
    await admin.sendMessage("fc-source", { MessageBody: "one" });
    await admin.sendMessage("fc-source", { MessageBody: "two" });
    const queue = MnsQueueSource.create({
      accountId: accountA.accountId,
      endpoint: `http://${accountA.accountId}.mns.cn-hangzhou.localhost:${harness.port}`,
      credentials: {
        accessKeyId: accountA.accessKeyId,
        accessKeySecret: accountA.accessKeySecret,
        securityToken: "",
      },
      queueName: "fc-source",
    });

    const received = await queue.receive(16, 0);
    expect(received.map((m) => m.body).sort()).toEqual(["one", "two"]);
    expect(received.every((m) => m.dequeueCount === 1)).toBe(true);
    await expect(queue.receive(16, 0)).resolves.toEqual([]);

    const [first, second] = received;
    if (first === undefined || second === undefined) throw new Error("two messages expected");
    await queue.delete([first.receiptHandle]);
    const handle = await queue.changeVisibility(second.receiptHandle, 1);
    expect(handle).not.toBe(second.receiptHandle);
    harness.clock.advance(2000);
    const again = await queue.receive(16, 0);
    expect(again.map((m) => [m.body, m.dequeueCount])).toEqual([[second.body, 2]]);
  });
});
