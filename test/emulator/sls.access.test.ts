import * as $Sls from "@alicloud/sls20201230";
import { createSlsService, type SlsService } from "../../emulator/sls";
import { type Harness, serveService } from "./serviceHarness";
import { accountA, accountB, permanentKey, region, slsClient, slsFailure } from "./slsTestKit";

const project = "hub-logs";
const temporary = {
  accessKeyId: "STS.temporary",
  accessKeySecret: "temporary-secret",
  securityToken: "token-of-role",
};

let harness: Harness<SlsService>;

beforeAll(async () => {
  harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  harness.addKey({
    accessKeyId: temporary.accessKeyId,
    accessKeySecret: temporary.accessKeySecret,
    accountId: accountB.accountId,
    arn: `acs:ram::${accountB.accountId}:assumed-role/logtail-xacct/hub`,
    securityToken: temporary.securityToken,
    expiresAt: harness.clock.now() + 3_600_000,
  });
  await slsClient(harness.port, accountA).createProject(
    new $Sls.CreateProjectRequest({ projectName: project, description: "" }),
  );
});

describe("signature verification", () => {
  it("accepts the SDK's default v1 signature and its opt-in v4 signature", async () => {
    expect((await slsClient(harness.port, accountA).getProject(project)).body?.projectName).toBe(project);
    const v4 = slsClient(harness.port, { ...accountA, signatureVersion: "v4" });
    expect((await v4.getProject(project)).body?.projectName).toBe(project);
  });

  it("answers 401 SignatureNotMatch to a wrong secret, in v1 and v4", async () => {
    for (const signatureVersion of ["v1", "v4"] as const) {
      const client = slsClient(harness.port, { ...accountA, accessKeySecret: "wrong", signatureVersion });
      const failure = await slsFailure(client.getProject(project));
      expect(failure).toMatchObject({ code: "SignatureNotMatch", statusCode: 401 });
      expect(failure.data?.requestId).toMatch(/^[0-9A-F]{24}$/);
    }
  });

  it("answers 401 Unauthorized 'AccessKeyId not found' to an unknown key, as the real service does", async () => {
    const client = slsClient(harness.port, { accessKeyId: "LTAI-unknown", accessKeySecret: "x" });
    const failure = await slsFailure(client.getProject(project));
    expect(failure).toMatchObject({ code: "Unauthorized", statusCode: 401 });
    expect(failure.message).toContain("AccessKeyId not found: LTAI-unknown");
  });
});

describe("STS tokens", () => {
  it("accepts a temporary key with its token and acts as the role's account", async () => {
    const client = slsClient(harness.port, temporary);
    await client.createProject(new $Sls.CreateProjectRequest({ projectName: "spoke-logs", description: "" }));
    const got = await client.getProject("spoke-logs");
    expect(got.body?.owner).toBe(accountB.accountId);
  });

  it("refuses a temporary key without its token or with a wrong one", async () => {
    for (const securityToken of [undefined, "forged"]) {
      const client = slsClient(harness.port, {
        accessKeyId: temporary.accessKeyId,
        accessKeySecret: temporary.accessKeySecret,
        ...(securityToken === undefined ? {} : { securityToken }),
      });
      const failure = await slsFailure(client.listProject(new $Sls.ListProjectRequest({})));
      expect(failure).toMatchObject({ code: "Unauthorized", statusCode: 401 });
      expect(failure.message).toContain("The security token you provided is invalid.");
    }
  });

  it("refuses an expired token once the emulator clock passes its expiry", async () => {
    harness.clock.advance(3_600_000);
    const failure = await slsFailure(
      slsClient(harness.port, temporary).listProject(new $Sls.ListProjectRequest({})),
    );
    expect(failure).toMatchObject({ code: "Unauthorized", statusCode: 401 });
    expect(failure.message).toContain("The security token you provided has expired.");
  });
});

describe("account isolation", () => {
  it("denies another account's project with Unauthorized and names the owner's resource", async () => {
    const failure = await slsFailure(slsClient(harness.port, accountB).getProject(project));
    expect(failure).toMatchObject({ code: "Unauthorized", statusCode: 401 });
    expect(failure.message).toContain(
      `denied by sts or ram, action: log:GetProject, resource: acs:log:${region}:${accountA.accountId}:project/${project}`,
    );
    const groups = await slsFailure(
      slsClient(harness.port, accountB).listMachineGroup(project, new $Sls.ListMachineGroupRequest({})),
    );
    expect(groups).toMatchObject({ code: "Unauthorized", statusCode: 401 });
  });

  it("answers ProjectNotExist for a project nobody owns", async () => {
    const failure = await slsFailure(slsClient(harness.port, accountB).getProject("nobody-owns-this"));
    expect(failure).toMatchObject({ code: "ProjectNotExist", statusCode: 404 });
  });
});

describe("admission (rate limits and injected faults)", () => {
  it("asks the core to admit each call with its operation, account and region", async () => {
    harness.admissions.length = 0;
    await slsClient(harness.port, accountA).getProject(project);
    expect(harness.admissions).toEqual([
      expect.objectContaining({
        service: "sls",
        operation: "GetProject",
        accountId: accountA.accountId,
        region,
      }),
    ]);
  });

  it("maps throttling to 403 ExceedQuota and faults to their own status and code", async () => {
    const client = slsClient(harness.port, accountA);
    harness.queueAdmissions(
      { kind: "throttled" },
      {
        kind: "fault",
        status: 503,
        code: "ServerBusy",
        message: "The server is busy, please try again later.",
      },
    );
    expect(await slsFailure(client.getProject(project))).toMatchObject({
      code: "ExceedQuota",
      statusCode: 403,
    });
    expect(await slsFailure(client.getProject(project))).toMatchObject({
      code: "ServerBusy",
      statusCode: 503,
    });
    expect((await client.getProject(project)).statusCode).toBe(200);
  });
});
