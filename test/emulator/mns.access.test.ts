import { createMnsService, type MnsService } from "../../emulator/mns";
import { mnsClient, mnsFailure, region } from "./mnsTestKit";
import { type Harness, serveService } from "./serviceHarness";
import { accountA, accountB, permanentKey } from "./slsTestKit";

const queue = "logtail-xacct-heartbeat";
const temporary = {
  accountId: accountA.accountId,
  accessKeyId: "STS.mns-temporary",
  accessKeySecret: "temporary-secret",
  securityToken: "token-of-function-role",
};

let harness: Harness<MnsService>;

beforeAll(async () => {
  harness = await serveService(createMnsService, [permanentKey(accountA), permanentKey(accountB)]);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  harness.addKey({
    accessKeyId: temporary.accessKeyId,
    accessKeySecret: temporary.accessKeySecret,
    accountId: temporary.accountId,
    arn: `acs:ram::${temporary.accountId}:assumed-role/fc-apply/session`,
    securityToken: temporary.securityToken,
    expiresAt: harness.clock.now() + 900_000,
  });
  await mnsClient(harness.port, accountA).createQueue(queue);
});

describe("signature verification", () => {
  it("answers 403 SignatureDoesNotMatch to a wrong secret", async () => {
    const client = mnsClient(harness.port, { ...accountA, accessKeySecret: "wrong" });
    const failure = await mnsFailure(client.sendMessage(queue, { MessageBody: "x" }));
    expect(failure).toMatchObject({ code: "SignatureDoesNotMatch", status: 403 });
    expect(failure.message).toContain(`hostid: http://${accountA.accountId}.mns.${region}.localhost`);
  });

  it("answers 403 InvalidAccessKeyId to an unknown key", async () => {
    const client = mnsClient(harness.port, { ...accountA, accessKeyId: "LTAI-unknown" });
    expect(await mnsFailure(client.getQueueAttributes(queue))).toMatchObject({
      code: "InvalidAccessKeyId",
      status: 403,
    });
  });
});

describe("STS tokens", () => {
  it("accepts a temporary key with its security-token header", async () => {
    const client = mnsClient(harness.port, temporary);
    expect((await client.sendMessage(queue, { MessageBody: "ok" })).code).toBe(201);
  });

  it("refuses a temporary key without its token", async () => {
    const { securityToken: _omitted, ...withoutToken } = temporary;
    const client = mnsClient(harness.port, withoutToken);
    expect(await mnsFailure(client.getQueueAttributes(queue))).toMatchObject({
      code: "InvalidSecurityToken",
      status: 403,
    });
  });

  it("refuses an expired token once the emulator clock passes its expiry", async () => {
    harness.clock.advance(900_000);
    const client = mnsClient(harness.port, temporary);
    expect(await mnsFailure(client.getQueueAttributes(queue))).toMatchObject({
      code: "SecurityTokenExpired",
      status: 403,
    });
  });
});

describe("account isolation", () => {
  it("refuses a key of another account on this account's queues with 403 AccessDenied", async () => {
    const intruder = mnsClient(harness.port, accountB, accountA.accountId);
    expect(await mnsFailure(intruder.receiveMessage(queue))).toMatchObject({
      code: "AccessDenied",
      status: 403,
    });
  });

  it("keeps same-named queues of different accounts apart", async () => {
    const other = mnsClient(harness.port, accountB);
    expect(await mnsFailure(other.getQueueAttributes(queue))).toMatchObject({
      code: "QueueNotExist",
      status: 404,
    });
    await other.createQueue(queue, { VisibilityTimeout: 10 });
    await other.sendMessage(queue, { MessageBody: "b" });
    expect(await mnsFailure(mnsClient(harness.port, accountA).receiveMessage(queue))).toMatchObject({
      code: "MessageNotExist",
    });
  });
});

describe("admission (rate limits and injected faults)", () => {
  it("asks the core to admit each call with its operation, account and region", async () => {
    harness.admissions.length = 0;
    await mnsClient(harness.port, accountA).sendMessage(queue, { MessageBody: "x" });
    await mnsClient(harness.port, accountA).batchReceiveMessage(queue, 16);
    expect(harness.admissions).toEqual([
      expect.objectContaining({
        service: "mns",
        operation: "SendMessage",
        accountId: accountA.accountId,
        region,
      }),
      expect.objectContaining({
        service: "mns",
        operation: "BatchReceiveMessage",
        accountId: accountA.accountId,
        region,
      }),
    ]);
  });

  it("maps throttling to 403 QpsLimitExceeded and faults to their own status and code", async () => {
    const client = mnsClient(harness.port, accountA);
    harness.queueAdmissions(
      { kind: "throttled" },
      { kind: "fault", status: 500, code: "InternalError", message: "Interal error." },
    );
    expect(await mnsFailure(client.sendMessage(queue, { MessageBody: "x" }))).toMatchObject({
      code: "QpsLimitExceeded",
      status: 403,
    });
    expect(await mnsFailure(client.sendMessage(queue, { MessageBody: "x" }))).toMatchObject({
      code: "InternalError",
      status: 500,
    });
    expect((await client.sendMessage(queue, { MessageBody: "x" })).code).toBe(201);
  });
});
