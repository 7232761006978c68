import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { EmulatorHandle } from "../../emulator/index";
import {
  $Ecs,
  $Sts,
  ecsClient,
  failure,
  hub,
  region,
  spokeA,
  spokeB,
  startTestEmulator,
  stsClient,
} from "./emulatorKit";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
});

const describe1 = () => new $Ecs.DescribeInstancesRequest({ regionId: region, maxResults: 100 });
const spokeRole = `acs:ram::${spokeA.id}:role/logtail-xacct-spoke`;

async function assumeSpokeRole(durationSeconds?: number) {
  const response = await stsClient(emulator, hub).assumeRole(
    new $Sts.AssumeRoleRequest({ roleArn: spokeRole, roleSessionName: "logtail-xacct", durationSeconds }),
  );
  const credentials = response.body?.credentials;
  if (credentials?.accessKeyId === undefined || credentials.accessKeySecret === undefined) {
    throw new Error("AssumeRole returned no credentials");
  }
  return {
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken ?? "",
    expiration: credentials.expiration ?? "",
    arn: response.body?.assumedRoleUser?.arn ?? "",
  };
}

describe("request signatures (ACS3-HMAC-SHA256, as the official SDK sends)", () => {
  test("a correctly signed call succeeds and sees only the caller's account", async () => {
    const response = await ecsClient(emulator, spokeB).describeInstances(describe1());

    const ids = response.body?.instances?.instance?.map((instance) => instance.instanceId);
    expect(ids).toEqual(["i-spokeb0000000000001"]);
    expect(response.body?.requestId).toMatch(
      /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
    );
  });

  test("a wrong secret is refused with ECS's IncompleteSignature (400)", async () => {
    const error = await failure(
      ecsClient(emulator, { accessKeyId: spokeA.accessKeyId, accessKeySecret: "wrong" }).describeInstances(
        describe1(),
      ),
    );

    expect(error).toMatchObject({ code: "IncompleteSignature", statusCode: 400 });
    expect(error.message).toContain("server string to sign is:ACS3-HMAC-SHA256\n");
  });

  test("an unknown AccessKey id is refused with InvalidAccessKeyId.NotFound (404)", async () => {
    const error = await failure(
      ecsClient(emulator, { accessKeyId: "LTAInobody", accessKeySecret: "x" }).describeInstances(describe1()),
    );

    expect(error).toMatchObject({ code: "InvalidAccessKeyId.NotFound", statusCode: 404 });
  });

  test("STS answers a wrong secret with SignatureDoesNotMatch (400)", async () => {
    const error = await failure(
      stsClient(emulator, { accessKeyId: hub.accessKeyId, accessKeySecret: "wrong" }).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: spokeRole, roleSessionName: "s1" }),
      ),
    );

    expect(error).toMatchObject({ code: "SignatureDoesNotMatch", statusCode: 400 });
  });
});

describe("request signatures (legacy HMAC-SHA1 RPC, signed by hand as a second conforming client)", () => {
  function percent(text: string): string {
    return encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  }

  async function signedGet(secret: string, extra: Record<string, string> = {}) {
    const given: Record<string, string> = {
      Action: "DescribeInstances",
      Version: "2014-05-26",
      Format: "JSON",
      RegionId: region,
      AccessKeyId: spokeB.accessKeyId,
      SignatureMethod: "HMAC-SHA1",
      SignatureVersion: "1.0",
      SignatureNonce: randomUUID(),
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...extra,
    };
    // An empty value means "leave the parameter out".
    const params = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== ""));
    const canonical = Object.keys(params)
      .sort()
      .map((key) => `${percent(key)}=${percent(params[key] ?? "")}`)
      .join("&");
    const signature = createHmac("sha1", `${secret}&`)
      .update(`GET&${percent("/")}&${percent(canonical)}`)
      .digest("base64");
    const path = `/?${canonical}&Signature=${percent(signature)}`;
    return new Promise<{ status: number; body: Record<string, unknown>; text: string }>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port: emulator.port,
          path,
          headers: { host: `ecs.${region}.localhost:${emulator.port}` },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const isJson = (response.headers["content-type"] ?? "").startsWith("application/json");
            resolve({ status: response.statusCode ?? 0, body: isJson ? JSON.parse(text) : {}, text });
          });
        },
      );
      request.on("error", reject);
      request.end();
    });
  }

  test("a correctly signed HMAC-SHA1 request succeeds", async () => {
    const response = await signedGet(spokeB.accessKeySecret);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ TotalCount: 1 });
  });

  test("a wrong secret gets IncompleteSignature with the server's string to sign", async () => {
    const response = await signedGet("wrong");

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ Code: "IncompleteSignature", HostId: "ecs.aliyuncs.com" });
    expect(String(response.body.Message)).toContain("GET&%2F&AccessKeyId");
  });

  test("without Format the legacy scheme answers in XML, the RPC default", async () => {
    const response = await signedGet(spokeB.accessKeySecret, { Format: "" });
    const failed = await signedGet("wrong", { Format: "XML" });

    expect(response.status).toBe(200);
    expect(response.text).toContain("<DescribeInstancesResponse><RequestId>");
    expect(response.text).toContain("<Instances><Instance><InstanceId>i-spokeb0000000000001</InstanceId>");
    expect(failed.text).toMatch(
      /<Error><RequestId>[^<]+<\/RequestId><HostId>ecs.aliyuncs.com<\/HostId><Code>IncompleteSignature<\/Code>/,
    );
  });

  test("a replayed nonce is refused", async () => {
    const nonce = randomUUID();
    await signedGet(spokeB.accessKeySecret, { SignatureNonce: nonce });

    const replay = await signedGet(spokeB.accessKeySecret, { SignatureNonce: nonce });

    expect(replay.body).toMatchObject({ Code: "SignatureNonceUsed" });
  });

  test("a timestamp far from now is refused", async () => {
    const response = await signedGet(spokeB.accessKeySecret, { Timestamp: "2001-01-01T00:00:00Z" });

    expect(response).toMatchObject({ status: 400, body: { Code: "InvalidTimeStamp.Expired" } });
  });
});

describe("STS AssumeRole and temporary credentials", () => {
  test("the hub assumes a spoke role it is trusted by and acts as the spoke account", async () => {
    const credentials = await assumeSpokeRole();

    expect(credentials.accessKeyId).toMatch(/^STS\./);
    expect(credentials.securityToken).toMatch(/^CAIS/);
    expect(credentials.expiration).toBe("2026-01-01T01:00:00Z");
    expect(credentials.arn).toBe(`acs:ram::${spokeA.id}:assumed-role/logtail-xacct-spoke/logtail-xacct`);
    const seen = await ecsClient(emulator, credentials).describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: region,
        instanceIds: JSON.stringify(["i-spokea0000000000001"]),
      }),
    );
    expect(seen.body?.instances?.instance?.[0]?.instanceId).toBe("i-spokea0000000000001");
  });

  test("GetCallerIdentity reports the assumed role", async () => {
    const credentials = await assumeSpokeRole();

    const identity = await stsClient(emulator, credentials).getCallerIdentity();

    expect(identity.body).toMatchObject({ accountId: spokeA.id, identityType: "AssumedRoleUser" });
  });

  test("a role whose trust policy does not list the caller is refused with NoPermission (403)", async () => {
    const error = await failure(
      stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({
          roleArn: `acs:ram::${spokeB.id}:role/untrusting-role`,
          roleSessionName: "s1",
        }),
      ),
    );

    expect(error).toMatchObject({ code: "NoPermission", statusCode: 403 });
  });

  test("a spoke cannot assume another spoke's role (trust is per caller account)", async () => {
    const error = await failure(
      stsClient(emulator, spokeB).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: spokeRole, roleSessionName: "s1" }),
      ),
    );

    expect(error.code).toBe("NoPermission");
  });

  test("a missing role is EntityNotExist.Role (404)", async () => {
    const error = await failure(
      stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: `acs:ram::${spokeA.id}:role/nope`, roleSessionName: "s1" }),
      ),
    );

    expect(error).toMatchObject({ code: "EntityNotExist.Role", statusCode: 404 });
  });

  test.each([
    ["a", "InvalidParameter.RoleSessionName"],
    ["x".repeat(33), "InvalidParameter.RoleSessionName"],
    ["bad*name", "InvalidParameter.RoleSessionName"],
  ])("RoleSessionName %p is refused with %s", async (roleSessionName, code) => {
    const error = await failure(
      stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: spokeRole, roleSessionName }),
      ),
    );

    expect(error).toMatchObject({ code, statusCode: 400 });
  });

  test.each([899, 3601])("DurationSeconds %p is refused", async (durationSeconds) => {
    const error = await failure(
      stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: spokeRole, roleSessionName: "s1", durationSeconds }),
      ),
    );

    expect(error).toMatchObject({ code: "InvalidParameter.DurationSeconds", statusCode: 400 });
  });

  test("a malformed RoleArn is InvalidParameter.RoleArn", async () => {
    const error = await failure(
      stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: "role/x", roleSessionName: "s1" }),
      ),
    );

    expect(error.code).toBe("InvalidParameter.RoleArn");
  });

  test("a root AccessKey may not assume roles", async () => {
    await emulator.loadFleet({
      accounts: [
        {
          id: "4000000000000004",
          name: "rooted",
          accessKeyId: "LTAIroot0004",
          accessKeySecret: "root-secret",
          keyPrincipal: "root",
        },
      ],
    });
    await emulator.loadFleet({
      accounts: [
        {
          id: "5000000000000005",
          name: "target",
          roles: [{ name: "open", trustedAccounts: ["4000000000000004"] }],
        },
      ],
    });

    const error = await failure(
      stsClient(emulator, { accessKeyId: "LTAIroot0004", accessKeySecret: "root-secret" }).assumeRole(
        new $Sts.AssumeRoleRequest({ roleArn: "acs:ram::5000000000000005:role/open", roleSessionName: "s1" }),
      ),
    );

    expect(error).toMatchObject({ code: "NoPermission", statusCode: 403 });
    expect(error.message).toContain("Roles may not be assumed by root accounts.");
  });

  test("a temporary key without its token is refused with MissingSecurityToken", async () => {
    const { securityToken: _token, ...withoutToken } = await assumeSpokeRole();

    const error = await failure(ecsClient(emulator, withoutToken).describeInstances(describe1()));

    expect(error).toMatchObject({ code: "MissingSecurityToken", statusCode: 400 });
  });

  test("a temporary key with another session's token is refused", async () => {
    const first = await assumeSpokeRole();
    const second = await assumeSpokeRole();

    const error = await failure(
      ecsClient(emulator, { ...first, securityToken: second.securityToken }).describeInstances(describe1()),
    );

    expect(error).toMatchObject({ code: "InvalidSecurityToken.MismatchWithAccessKey", statusCode: 400 });
  });

  test("a garbled token is InvalidSecurityToken.Malformed", async () => {
    const credentials = await assumeSpokeRole();

    const error = await failure(
      ecsClient(emulator, { ...credentials, securityToken: "garbage" }).describeInstances(describe1()),
    );

    expect(error.code).toBe("InvalidSecurityToken.Malformed");
  });

  test("temporary credentials expire on the emulator clock", async () => {
    const credentials = await assumeSpokeRole(900);
    emulator.advanceClock(899_000);
    await ecsClient(emulator, credentials).describeInstances(describe1());

    emulator.advanceClock(1_000);
    const error = await failure(ecsClient(emulator, credentials).describeInstances(describe1()));

    expect(error).toMatchObject({ code: "InvalidSecurityToken.Expired", statusCode: 400 });
  });
});

describe("account isolation", () => {
  test("a key of one account sees none of another account's instances", async () => {
    const asHub = await ecsClient(emulator, hub).describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: region,
        instanceIds: JSON.stringify(["i-spokea0000000000001"]),
      }),
    );

    expect(asHub.body?.totalCount).toBe(0);
    expect(asHub.body?.instances?.instance ?? []).toEqual([]);
  });

  test("tagging another account's instance is InvalidResourceId.NotFound", async () => {
    const error = await failure(
      ecsClient(emulator, spokeB).tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: region,
          resourceType: "instance",
          resourceId: ["i-spokea0000000000001"],
          tag: [new $Ecs.TagResourcesRequestTag({ key: "k", value: "v" })],
        }),
      ),
    );

    expect(error).toMatchObject({ code: "InvalidResourceId.NotFound", statusCode: 404 });
  });

  test("running a command on another account's instance is InvalidInstance.NotFound", async () => {
    const error = await failure(
      ecsClient(emulator, spokeB).runCommand(
        new $Ecs.RunCommandRequest({
          regionId: region,
          type: "RunShellScript",
          commandContent: "echo hi",
          instanceId: ["i-spokea0000000000001"],
        }),
      ),
    );

    expect(error).toMatchObject({ code: "InvalidInstance.NotFound", statusCode: 404 });
  });

  test("stopping another account's instance is InvalidInstanceId.NotFound", async () => {
    const error = await failure(
      ecsClient(emulator, spokeB).stopInstance(
        new $Ecs.StopInstanceRequest({ instanceId: "i-spokea0000000000001" }),
      ),
    );

    expect(error).toMatchObject({ code: "InvalidInstanceId.NotFound", statusCode: 404 });
  });
});

describe("throttling and injected faults", () => {
  test("calls past a per-API, per-account, per-region limit get Throttling.User until the window passes", async () => {
    emulator.setRateLimits([{ service: "ecs", operation: "DescribeInstances", limit: 2 }]);
    const client = ecsClient(emulator, spokeA);
    await client.describeInstances(describe1());
    await client.describeInstances(describe1());

    const error = await failure(client.describeInstances(describe1()));
    const otherAccount = await ecsClient(emulator, spokeB).describeInstances(describe1());
    const otherApi = await client.describeCloudAssistantStatus(
      new $Ecs.DescribeCloudAssistantStatusRequest({ regionId: region }),
    );
    emulator.advanceClock(60_000);
    const nextWindow = await client.describeInstances(describe1());

    expect(error).toMatchObject({ code: "Throttling.User", statusCode: 400 });
    expect(error.message).toContain("Request was denied due to user flow control.");
    expect(otherAccount.body?.totalCount).toBe(1);
    expect(otherApi.statusCode).toBe(200);
    expect(nextWindow.statusCode).toBe(200);
    const throttled = emulator
      .metrics()
      .operations.find((entry) => entry.operation === "DescribeInstances" && entry.accountId === spokeA.id);
    expect(throttled).toMatchObject({ calls: 4, throttled: 1 });
  });

  test("an injected error code answers the chosen operation, then disappears after `times`", async () => {
    emulator.addFault({
      service: "ecs",
      operation: "RunCommand",
      error: { status: 503, code: "ServiceUnavailable", message: "try later" },
      times: 1,
    });
    const request = new $Ecs.RunCommandRequest({
      regionId: region,
      type: "RunShellScript",
      commandContent: "true",
      instanceId: ["i-spokea0000000000001"],
    });

    const error = await failure(ecsClient(emulator, spokeA).runCommand(request));
    const retry = await ecsClient(emulator, spokeA).runCommand(request);

    expect(error).toMatchObject({ code: "ServiceUnavailable", statusCode: 503 });
    expect(retry.body?.invokeId).toMatch(/^t-/);
  });

  test("injected latency delays the answer", async () => {
    emulator.addFault({ service: "ecs", operation: "DescribeInstances", latencyMs: 60 });
    const started = performance.now();

    await ecsClient(emulator, spokeA).describeInstances(describe1());

    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});
