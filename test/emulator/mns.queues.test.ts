import { createHash } from "node:crypto";
import type MNSClient from "@alicloud/mns";
import { z } from "zod";
import { createMnsService, type MnsService } from "../../emulator/mns";
import { mnsClient, mnsFailure, receivedMessage, sentMessage } from "./mnsTestKit";
import { type Harness, serveService } from "./serviceHarness";
import { accountA, accountB, permanentKey } from "./slsTestKit";

const queue = "logtail-xacct-apply";

let harness: Harness<MnsService>;
let mns: MNSClient;

beforeAll(async () => {
  harness = await serveService(createMnsService, [permanentKey(accountA), permanentKey(accountB)]);
  mns = mnsClient(harness.port, accountA);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  await mns.createQueue(queue, { VisibilityTimeout: 60 });
});

async function receiveOne(waitSeconds?: number) {
  const response = await mns.receiveMessage(queue, waitSeconds);
  return receivedMessage.parse(response.body);
}

describe("queues", () => {
  it("creates (201 + Location), re-creates identically (204) and refuses different attributes (409)", async () => {
    const created = await mns.createQueue("fresh");
    expect(created.code).toBe(201);
    expect(created.headers.location).toBe(
      `http://${accountA.accountId}.mns.cn-hangzhou.localhost:${harness.port}/queues/fresh`,
    );
    expect((await mns.createQueue("fresh")).code).toBe(204);
    const conflict = await mnsFailure(mns.createQueue("fresh", { VisibilityTimeout: 45 }));
    expect(conflict).toMatchObject({ code: "QueueAlreadyExist", status: 409 });
    expect(conflict.requestId).toMatch(/^[0-9A-F]{24}$/);
  });

  it("reads and sets attributes, including the dead-letter policy", async () => {
    await mns.createQueue("dlq");
    await mns.setQueueAttributes(queue, {
      DelaySeconds: 5,
      PollingWaitSeconds: 10,
      DlqPolicy: { Enabled: true, DeadLetterTargetQueue: "dlq", MaxReceiveCount: 3 },
    });
    const attributes = z
      .object({
        QueueName: z.string(),
        VisibilityTimeout: z.coerce.number(),
        DelaySeconds: z.coerce.number(),
        PollingWaitSeconds: z.coerce.number(),
        MaximumMessageSize: z.coerce.number(),
        MessageRetentionPeriod: z.coerce.number(),
        ActiveMessages: z.coerce.number(),
        DlqPolicy: z.array(
          z.object({ Enabled: z.string(), DeadLetterTargetQueue: z.string(), MaxReceiveCount: z.string() }),
        ),
      })
      .parse((await mns.getQueueAttributes(queue)).body);
    expect(attributes).toMatchObject({
      QueueName: queue,
      VisibilityTimeout: 60,
      DelaySeconds: 5,
      PollingWaitSeconds: 10,
      MaximumMessageSize: 65536,
      MessageRetentionPeriod: 345600,
      ActiveMessages: 0,
    });
    expect(attributes.DlqPolicy[0]).toEqual({
      Enabled: "true",
      DeadLetterTargetQueue: "dlq",
      MaxReceiveCount: "3",
    });
  });

  it("refuses attribute values out of range with InvalidArgument", async () => {
    for (const params of [{ VisibilityTimeout: 0 }, { PollingWaitSeconds: 31 }, { DelaySeconds: 604801 }]) {
      expect(await mnsFailure(mns.createQueue("bad-attrs", params))).toMatchObject({
        code: "InvalidArgument",
        status: 400,
      });
    }
  });

  it("lists queues by prefix with paging and deletes them", async () => {
    await mns.createQueue("logtail-xacct-dlq");
    await mns.createQueue("other");
    const page = await mns.listQueue("", 1, "logtail-xacct-");
    const urls = z.array(z.object({ QueueURL: z.string() })).parse(page.body);
    expect(urls.map((item) => item.QueueURL.split("/").pop())).toEqual([queue]);

    expect((await mns.deleteQueue("other")).code).toBe(204);
    expect(await mnsFailure(mns.getQueueAttributes("other"))).toMatchObject({
      code: "QueueNotExist",
      status: 404,
    });
    expect(await mnsFailure(mns.sendMessage("other", { MessageBody: "x" }))).toMatchObject({
      code: "QueueNotExist",
      status: 404,
    });
  });
});

describe("messages", () => {
  it("sends and receives with MD5, DequeueCount, EnqueueTime, FirstDequeueTime and NextVisibleTime", async () => {
    const body = '{"account":"1","instanceIds":["i-1"]} & <more>';
    const sent = sentMessage.parse(
      (
        await mns.sendMessage(queue, {
          MessageBody: body.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"),
        })
      ).body,
    );
    expect(sent.MessageBodyMD5).toBe(createHash("md5").update(body).digest("hex").toUpperCase());

    const received = await receiveOne();
    expect(received).toMatchObject({
      MessageId: sent.MessageId,
      MessageBody: body,
      DequeueCount: 1,
      EnqueueTime: harness.clock.now(),
      FirstDequeueTime: harness.clock.now(),
      NextVisibleTime: harness.clock.now() + 60_000,
      Priority: 8,
    });
  });

  it("answers 404 MessageNotExist on an empty queue", async () => {
    const failure = await mnsFailure(mns.receiveMessage(queue));
    expect(failure).toMatchObject({ code: "MessageNotExist", status: 404 });
  });

  it("deletes with the receipt handle (204) and refuses a stale handle with 400 ReceiptHandleError", async () => {
    await mns.sendMessage(queue, { MessageBody: "one" });
    const received = await receiveOne();
    expect((await mns.deleteMessage(queue, received.ReceiptHandle)).code).toBe(204);
    expect(await mnsFailure(mns.deleteMessage(queue, received.ReceiptHandle))).toMatchObject({
      code: "ReceiptHandleError",
      status: 400,
    });
  });

  it("redelivers after the visibility timeout with a new handle; the old handle dies", async () => {
    await mns.sendMessage(queue, { MessageBody: "again" });
    const first = await receiveOne();
    expect(await mnsFailure(mns.receiveMessage(queue))).toMatchObject({ code: "MessageNotExist" });
    harness.clock.advance(60_000);
    const second = await receiveOne();
    expect(second).toMatchObject({
      MessageId: first.MessageId,
      DequeueCount: 2,
      FirstDequeueTime: first.FirstDequeueTime,
    });
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    expect(await mnsFailure(mns.deleteMessage(queue, first.ReceiptHandle))).toMatchObject({
      code: "ReceiptHandleError",
    });
    expect((await mns.deleteMessage(queue, second.ReceiptHandle)).code).toBe(204);
  });

  it("ChangeMessageVisibility returns a new receipt handle and kills the old one", async () => {
    await mns.sendMessage(queue, { MessageBody: "slow" });
    const received = await receiveOne();
    const changed = z
      .object({ ReceiptHandle: z.string(), NextVisibleTime: z.coerce.number() })
      .parse((await mns.changeMessageVisibility(queue, received.ReceiptHandle, 300)).body);
    expect(changed.ReceiptHandle).not.toBe(received.ReceiptHandle);
    expect(changed.NextVisibleTime).toBe(harness.clock.now() + 300_000);
    expect(await mnsFailure(mns.changeMessageVisibility(queue, received.ReceiptHandle, 10))).toMatchObject({
      code: "ReceiptHandleError",
      status: 400,
    });
    harness.clock.advance(120_000);
    expect(await mnsFailure(mns.receiveMessage(queue))).toMatchObject({ code: "MessageNotExist" });
    expect((await mns.deleteMessage(queue, changed.ReceiptHandle)).code).toBe(204);
  });

  it("holds a delayed message until its delay has passed on the clock", async () => {
    await mns.sendMessage(queue, { MessageBody: "later", DelaySeconds: 30 });
    expect(await mnsFailure(mns.receiveMessage(queue))).toMatchObject({ code: "MessageNotExist" });
    harness.clock.advance(30_000);
    expect((await receiveOne()).MessageBody).toBe("later");
  });

  it("batches sends, receives (up to 16) and deletes", async () => {
    const sent = z.array(sentMessage).parse(
      (
        await mns.batchSendMessage(
          queue,
          [1, 2, 3].map((n) => ({ MessageBody: `m${n}` })),
        )
      ).body,
    );
    expect(sent).toHaveLength(3);

    const received = z.array(receivedMessage).parse((await mns.batchReceiveMessage(queue, 16)).body);
    expect(received.map((message) => message.MessageBody).sort()).toEqual(["m1", "m2", "m3"]);

    const [first, ...rest] = received.map((message) => message.ReceiptHandle);
    if (first === undefined) throw new Error("no message");
    expect((await mns.batchDeleteMessage(queue, rest)).code).toBe(204);
    const partial = await mns.batchDeleteMessage(queue, [first, "stale-handle"]);
    const errors = z
      .array(z.object({ ErrorCode: z.string(), ErrorMessage: z.string(), ReceiptHandle: z.string() }))
      .parse(partial.body);
    expect(errors).toEqual([
      {
        ErrorCode: "ReceiptHandleError",
        ErrorMessage: "The receipt handle you provided is not valid.",
        ReceiptHandle: "stale-handle",
      },
    ]);

    const tooMany = Array.from({ length: 17 }, (_, n) => ({ MessageBody: `x${n}` }));
    expect(await mnsFailure(mns.batchSendMessage(queue, tooMany))).toMatchObject({
      code: "InvalidArgument",
      status: 400,
    });
    expect(await mnsFailure(mns.batchReceiveMessage(queue, 17))).toMatchObject({
      code: "InvalidArgument",
      status: 400,
    });
  });
});

// The harness clock is manual: a long poll ends only through what each test does (a message, a
// clock advance), never by itself, so an answer at all proves the wait ended early. No wall-time
// bound: on a loaded machine one failed here at 20 s against 2 s.
describe("long polling", () => {
  it("returns early when a message arrives during the wait", async () => {
    const waiting = mns.receiveMessage(queue, 30);
    setTimeout(() => void mns.sendMessage(queue, { MessageBody: "arrived" }), 30);
    const received = receivedMessage.parse((await waiting).body);
    expect(received.MessageBody).toBe("arrived");
  });

  it("gives up with MessageNotExist once the wait has passed on the emulator clock", async () => {
    const waiting = mnsFailure(mns.batchReceiveMessage(queue, 16, 20));
    setTimeout(() => harness.clock.advance(20_000), 30);
    expect(await waiting).toMatchObject({ code: "MessageNotExist", status: 404 });
  });

  it("wakes for a delayed message that becomes visible as the clock moves", async () => {
    await mns.sendMessage(queue, { MessageBody: "delayed", DelaySeconds: 10 });
    const waiting = mns.receiveMessage(queue, 30);
    setTimeout(() => harness.clock.advance(10_000), 30);
    expect(receivedMessage.parse((await waiting).body).MessageBody).toBe("delayed");
  });
});

describe("dead-letter queue", () => {
  it("moves a message past MaxReceiveCount to the dead-letter queue", async () => {
    await mns.createQueue("apply-dlq");
    await mns.setQueueAttributes(queue, {
      DlqPolicy: { Enabled: true, DeadLetterTargetQueue: "apply-dlq", MaxReceiveCount: 2 },
    });
    await mns.sendMessage(queue, { MessageBody: "poison" });
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      expect((await receiveOne()).DequeueCount).toBe(attempt);
      harness.clock.advance(60_000);
    }
    expect(await mnsFailure(mns.receiveMessage(queue))).toMatchObject({ code: "MessageNotExist" });
    const dead = receivedMessage.parse((await mns.receiveMessage("apply-dlq")).body);
    expect(dead).toMatchObject({ MessageBody: "poison", DequeueCount: 1 });
  });

  it("plays a queue whose policy reads back but moves nothing (the classic API's doubt)", async () => {
    harness.service.backend.configure({ dlqPolicyHonoured: false });
    try {
      await mns.createQueue("apply-dlq");
      await mns.setQueueAttributes(queue, {
        DlqPolicy: { Enabled: true, DeadLetterTargetQueue: "apply-dlq", MaxReceiveCount: 2 },
      });
      await mns.sendMessage(queue, { MessageBody: "poison" });
      for (let attempt = 1; attempt <= 4; attempt += 1) {
        expect((await receiveOne()).DequeueCount).toBe(attempt);
        harness.clock.advance(60_000);
      }
      expect(await mnsFailure(mns.receiveMessage("apply-dlq"))).toMatchObject({ code: "MessageNotExist" });
    } finally {
      harness.service.backend.configure({ dlqPolicyHonoured: true });
    }
  });

  it("refuses a dead-letter target that does not exist", async () => {
    const failure = await mnsFailure(
      mns.setQueueAttributes(queue, {
        DlqPolicy: { Enabled: true, DeadLetterTargetQueue: "missing", MaxReceiveCount: 2 },
      }),
    );
    expect(failure).toMatchObject({ code: "QueueNotExist", status: 404 });
  });
});

describe("duplicate-delivery fault", () => {
  it("delivers the next message twice, each copy with its own handle", async () => {
    harness.service.backend.injectDuplicateDeliveries({ nextCount: 1 });
    await mns.sendMessage(queue, { MessageBody: "twice" });
    const first = await receiveOne();
    const second = await receiveOne();
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    expect((await mns.deleteMessage(queue, first.ReceiptHandle)).code).toBe(204);
    expect((await mns.deleteMessage(queue, second.ReceiptHandle)).code).toBe(204);
    await mns.sendMessage(queue, { MessageBody: "once" });
    await receiveOne();
    expect(await mnsFailure(mns.receiveMessage(queue))).toMatchObject({ code: "MessageNotExist" });
  });

  it("duplicates with a seeded probability, the same way on every run", async () => {
    const deliveriesWithSeed = async (): Promise<string[]> => {
      harness.service.reset();
      harness.service.backend.injectDuplicateDeliveries({ probability: 0.5, seed: 7 });
      await mns.createQueue(queue, { VisibilityTimeout: 60 });
      await mns.batchSendMessage(
        queue,
        Array.from({ length: 16 }, (_, n) => ({ MessageBody: `m${n}` })),
      );
      const bodies: string[] = [];
      for (;;) {
        const outcome = await mns.batchReceiveMessage(queue, 16).then(
          (response) => ({ body: response.body, error: undefined }),
          (error: unknown) => ({ body: undefined, error }),
        );
        if (outcome.error !== undefined) {
          expect(outcome.error).toMatchObject({ name: "MNSMessageNotExistError" });
          return bodies;
        }
        bodies.push(
          ...z
            .array(receivedMessage)
            .parse(outcome.body)
            .map((message) => message.MessageBody),
        );
      }
    };
    const first = await deliveriesWithSeed();
    expect(first.length).toBeGreaterThan(16);
    expect(await deliveriesWithSeed()).toEqual(first);
  });

  it("hands visible messages out of order when asked, the same order for a seed", async () => {
    const receivedOrder = async (outOfOrder: boolean): Promise<string[]> => {
      harness.service.reset();
      harness.service.backend.injectDuplicateDeliveries({ seed: 11, outOfOrder });
      await mns.createQueue(queue, { VisibilityTimeout: 60 });
      const sent = Array.from({ length: 16 }, (_, n) => `m${String(n).padStart(2, "0")}`);
      await mns.batchSendMessage(
        queue,
        sent.map((body) => ({ MessageBody: body })),
      );
      const bodies: string[] = [];
      while (bodies.length < sent.length) {
        const response = await mns.batchReceiveMessage(queue, 4);
        bodies.push(
          ...z
            .array(receivedMessage)
            .parse(response.body)
            .map((message) => message.MessageBody),
        );
      }
      return bodies;
    };
    const inOrder = await receivedOrder(false);
    const shuffled = await receivedOrder(true);
    expect(inOrder).toEqual([...inOrder].sort());
    expect(shuffled).not.toEqual(inOrder);
    expect([...shuffled].sort()).toEqual(inOrder);
    expect(await receivedOrder(true)).toEqual(shuffled);
  });
});
