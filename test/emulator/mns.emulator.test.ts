/**
 * MNS through the whole emulator (core HTTP server, accounts, admin API, clock), driven by the official
 * `@alicloud/mns` SDK.
 */
import { type EmulatorHandle, startEmulator } from "../../emulator";
import { mnsClient, mnsFailure, receivedMessage } from "./mnsTestKit";

const hubId = "1000000000000001";
const spokeId = "2000000000000002";
const queue = "logtail-xacct-apply";

let emulator: EmulatorHandle;

function key(id: string) {
  const found = emulator.endpoints.accounts.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`account ${id} is not seeded`);
  return { accountId: found.id, accessKeyId: found.accessKeyId, accessKeySecret: found.accessKeySecret };
}

beforeAll(async () => {
  emulator = await startEmulator({
    fleet: {
      accounts: [
        { id: hubId, name: "hub" },
        { id: spokeId, name: "spoke" },
      ],
    },
  });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
  await mnsClient(emulator.port, key(hubId)).createQueue(queue, { VisibilityTimeout: 30 });
});

describe("MNS in the emulator", () => {
  it("serves the hub's queue to the hub and refuses the spoke's key", async () => {
    const hub = mnsClient(emulator.port, key(hubId));
    await hub.sendMessage(queue, { MessageBody: "hello" });
    expect(receivedMessage.parse((await hub.receiveMessage(queue)).body).MessageBody).toBe("hello");

    const spokeOnHubQueue = mnsClient(emulator.port, key(spokeId), hubId);
    expect(await mnsFailure(spokeOnHubQueue.receiveMessage(queue))).toMatchObject({
      code: "AccessDenied",
      status: 403,
    });
  });

  it("redelivers after the visibility timeout when the admin API advances the clock", async () => {
    const hub = mnsClient(emulator.port, key(hubId));
    await hub.sendMessage(queue, { MessageBody: "retry me" });
    const first = receivedMessage.parse((await hub.receiveMessage(queue)).body);
    const advanced = await fetch(`http://127.0.0.1:${emulator.port}/_admin/clock/advance`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ms: 30_000 }),
    });
    expect(advanced.status).toBe(200);
    const second = receivedMessage.parse((await hub.receiveMessage(queue)).body);
    expect(second).toMatchObject({ MessageId: first.MessageId, DequeueCount: 2 });
    expect(await mnsFailure(hub.deleteMessage(queue, first.ReceiptHandle))).toMatchObject({
      code: "ReceiptHandleError",
      status: 400,
    });
  });

  it("duplicates deliveries when the admin API asks for it", async () => {
    const response = await fetch(`http://127.0.0.1:${emulator.port}/_admin/mns/duplicate-deliveries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ nextCount: 1 }),
    });
    expect(response.status).toBe(200);
    const hub = mnsClient(emulator.port, key(hubId));
    await hub.sendMessage(queue, { MessageBody: "twice" });
    const first = receivedMessage.parse((await hub.receiveMessage(queue)).body);
    const second = receivedMessage.parse((await hub.receiveMessage(queue)).body);
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
  });

  it("long-polls on the emulator clock and returns early when a message arrives", async () => {
    const hub = mnsClient(emulator.port, key(hubId));
    const started = Date.now();
    const waiting = hub.batchReceiveMessage(queue, 16, 30);
    setTimeout(() => void hub.sendMessage(queue, { MessageBody: "arrived" }), 50);
    const received = await waiting;
    // Far below the 30 s poll (a loaded machine is slow, never that slow): it returned early.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(received.code).toBe(200);
  });
});
