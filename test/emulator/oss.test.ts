/**
 * OSS through the whole emulator (core HTTP server, accounts, STS, RAM, faults, metrics), driven by the
 * official `@alicloud/oss20190517` SDK over HTTP.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import * as $OpenApi from "@alicloud/openapi-client";
import Oss, * as $Oss from "@alicloud/oss20190517";
import * as $Util from "@alicloud/tea-util";
import { z } from "zod";
import { type EmulatorHandle, startEmulator } from "../../emulator/index";
import { $Sts, type Credentials, stsClient } from "./emulatorKit";

const region = "cn-hangzhou";
const bucket = "logtail-xacct-hub-state";
const hub = {
  id: "1000000000000001",
  name: "hub",
  accessKeyId: "LTAIossHub0001",
  accessKeySecret: "oss-hub-secret",
};
const spoke = {
  id: "2000000000000002",
  name: "spoke",
  accessKeyId: "LTAIossSpoke0002",
  accessKeySecret: "oss-spoke-secret",
};
/** A role of the hub without policies: its sessions act as administrators of the hub. */
const writerRole = "oss-writer";
/** A policy-bound role of the hub: it may read objects under `listings/` and do nothing else. */
const listingsReaderRole = "oss-listings-reader";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startEmulator({
    fleet: {
      accounts: [
        {
          ...hub,
          roles: [
            { name: writerRole, trustedAccounts: [hub.id] },
            {
              name: listingsReaderRole,
              trustedAccounts: [hub.id],
              policies: [
                {
                  Version: "1",
                  Statement: [
                    {
                      Effect: "Allow",
                      Action: "oss:GetObject",
                      Resource: `acs:oss:*:${hub.id}:${bucket}/listings/*`,
                    },
                  ],
                },
              ],
            },
          ],
        },
        { ...spoke, roles: [] },
      ],
    },
    clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
  });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
});

/** The SDK's client: openapi-client's Config (the older Tea generation), endpoint = the regional host. */
function ossClient(credentials: Credentials, endpointRegion = region): Oss {
  return new Oss(
    new $OpenApi.Config({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      securityToken: credentials.securityToken,
      endpoint: `oss-${endpointRegion}.localhost:${emulator.port}`,
      protocol: "http",
      regionId: region,
    }),
  );
}

/**
 * PutBucket signed by the SDK but with `bodyType: "none"`: OSS answers PutBucket with an empty body,
 * which the SDK's own `putBucket` (bodyType xml) cannot parse (see the test on that quirk).
 */
async function createBucket(client: Oss, name = bucket): Promise<{ statusCode: number; headers: unknown }> {
  const response = await client.execute(
    new $OpenApi.Params({
      action: "PutBucket",
      version: "2019-05-17",
      protocol: "HTTPS",
      pathname: "/",
      method: "PUT",
      authType: "AK",
      style: "ROA",
      reqBodyType: "xml",
      bodyType: "none",
    }),
    new $OpenApi.OpenApiRequest({ hostMap: { bucket: name } }),
    new $Util.RuntimeOptions({}),
  );
  return z.object({ statusCode: z.number(), headers: z.record(z.string(), z.string()) }).parse(response);
}

function putObject(client: Oss, key: string, body: Buffer, name = bucket) {
  return client.putObject(name, key, new $Oss.PutObjectRequest({ body: Readable.from([body]) }));
}

function getObject(client: Oss, key: string, name = bucket) {
  return client.getObject(name, key, new $Oss.GetObjectRequest({}));
}

async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const ossSdkError = z.object({
  // The error's Code from the XML body; a body-less answer (HEAD) gives the HTTP status instead.
  code: z.union([z.string(), z.number()]),
  statusCode: z.number(),
  message: z.string(),
  data: z.object({ requestId: z.string(), hostId: z.string().optional() }),
});

/** Awaits a call that must fail and returns the SDK's error. */
async function ossFailure(call: Promise<unknown>): Promise<z.infer<typeof ossSdkError>> {
  try {
    await call;
  } catch (error) {
    return ossSdkError.parse(error);
  }
  throw new Error("expected the OSS call to fail");
}

async function assumeRole(role: string): Promise<Required<Credentials>> {
  const response = await stsClient(emulator, hub).assumeRole(
    new $Sts.AssumeRoleRequest({ roleArn: `acs:ram::${hub.id}:role/${role}`, roleSessionName: "oss-test" }),
  );
  const credentials = response.body?.credentials;
  if (
    credentials?.accessKeyId === undefined ||
    credentials.accessKeySecret === undefined ||
    credentials.securityToken === undefined
  )
    throw new Error("AssumeRole returned no credentials");
  return {
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken,
  };
}

describe("buckets", () => {
  test("PutBucket creates a private bucket in the endpoint's region; GetBucketInfo describes it", async () => {
    const client = ossClient(hub);
    const created = await createBucket(client);
    expect(created).toMatchObject({ statusCode: 200, headers: { location: `/${bucket}` } });

    const info = await client.getBucketInfo(bucket);
    expect(info.body.bucket).toMatchObject({
      name: bucket,
      location: `oss-${region}`,
      storageClass: "Standard",
      owner: { ID: hub.id },
      accessControlList: { grant: "private" },
      creationDate: new Date(emulator.now()).toISOString(),
    });
    expect(emulator.oss.findBucket(bucket)).toMatchObject({ ownerAccountId: hub.id, region });
  });

  test("the SDK's own putBucket creates the bucket, then throws on OSS's empty 200 answer", async () => {
    const client = ossClient(hub);
    // gateway-oss parses the empty body as XML (null) and darabonba-map's keySet(null) throws.
    await expect(client.putBucket(bucket, new $Oss.PutBucketRequest({}))).rejects.toThrow(
      "not a valid value for parameter",
    );
    expect((await client.getBucketInfo(bucket)).body.bucket?.name).toBe(bucket);
  });

  test("PutBucketLifecycle keeps the rules (the SDK throws on the empty 200 answer, as for putBucket)", async () => {
    const client = ossClient(hub);
    await createBucket(client);
    const rule = (fields: Record<string, unknown>) =>
      new $Oss.PutBucketLifecycleRequest({
        lifecycleConfiguration: new $Oss.LifecycleConfiguration({
          rule: [
            new $Oss.LifecycleRule({ ID: "leases", prefix: "budgets/v1/", status: "Enabled", ...fields }),
          ],
        }),
      });
    const expiring = rule({ lifecycleExpiration: new $Oss.LifecycleRuleLifecycleExpiration({ days: 1 }) });
    await expect(client.putBucketLifecycle(bucket, expiring)).rejects.toThrow(
      "not a valid value for parameter",
    );
    expect(emulator.oss.findBucket(bucket)?.lifecycle).toEqual([
      { id: "leases", prefix: "budgets/v1/", status: "Enabled", expirationDays: 1 },
    ]);
    // A rule the emulator does not model is refused, not kept half-read.
    expect(await ossFailure(client.putBucketLifecycle(bucket, rule({})))).toMatchObject({
      code: "MalformedXML",
      statusCode: 400,
    });
  });

  test("the owner re-creating its bucket gets 200; another account gets 409 BucketAlreadyExists", async () => {
    await createBucket(ossClient(hub));
    expect((await createBucket(ossClient(hub))).statusCode).toBe(200);
    expect(await ossFailure(createBucket(ossClient(spoke)))).toMatchObject({
      code: "BucketAlreadyExists",
      statusCode: 409,
    });
    expect(emulator.oss.findBucket(bucket)?.ownerAccountId).toBe(hub.id);
  });

  test("an invalid bucket name is 400 InvalidBucketName; a missing bucket is 404 NoSuchBucket", async () => {
    expect(await ossFailure(createBucket(ossClient(hub), "ab"))).toMatchObject({
      code: "InvalidBucketName",
      statusCode: 400,
    });
    expect(await ossFailure(ossClient(hub).getBucketInfo("no-such-bucket"))).toMatchObject({
      code: "NoSuchBucket",
      statusCode: 404,
    });
    expect(await ossFailure(getObject(ossClient(hub), "listings/a.json", "no-such-bucket"))).toMatchObject({
      code: "NoSuchBucket",
      statusCode: 404,
    });
    expect(
      await ossFailure(putObject(ossClient(hub), "listings/a.json", Buffer.from("x"), "no-such-bucket")),
    ).toMatchObject({ code: "NoSuchBucket", statusCode: 404 });
  });

  test("the -internal endpoint is an alias; another region's endpoint is refused with AccessDenied", async () => {
    await createBucket(ossClient(hub));
    await putObject(ossClient(hub, `${region}-internal`), "listings/a.json", Buffer.from("via internal"));
    expect((await readBody((await getObject(ossClient(hub), "listings/a.json")).body)).toString()).toBe(
      "via internal",
    );
    expect(await ossFailure(getObject(ossClient(hub, "cn-shanghai"), "listings/a.json"))).toMatchObject({
      code: "AccessDenied",
      statusCode: 403,
    });
  });

  test("a host without a bucket is answered with 501 NotImplemented", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        { host: "127.0.0.1", port: emulator.port, path: "/", headers: { host: `oss-${region}.localhost` } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        },
      );
      request.on("error", reject);
      request.end();
    });
    expect(answer.status).toBe(501);
    expect(answer.body).toContain("<Code>NotImplemented</Code>");
    expect(answer.body).toContain("&lt;bucket&gt;.oss-&lt;region&gt;.localhost");
  });
});

describe("objects", () => {
  beforeEach(async () => {
    await createBucket(ossClient(hub));
  });

  test("a 2 MB gzip body round-trips byte for byte under a key with slashes", async () => {
    const client = ossClient(hub);
    const body = gzipSync(randomBytes(2 * 1024 * 1024));
    const md5 = createHash("md5").update(body).digest();
    const key = "listings/2026/01/spoke-a.json.gz";

    // The SDK compares its own CRC-64 and MD5 with x-oss-hash-crc64ecma and Content-MD5: a mismatch throws.
    const put = await putObject(client, key, body);
    expect(put.statusCode).toBe(200);
    expect(put.headers.etag).toBe(`"${md5.toString("hex").toUpperCase()}"`);

    const got = await getObject(client, key);
    const bytes = await readBody(got.body);
    expect(bytes.equals(body)).toBe(true);
    expect(got.headers).toMatchObject({
      "content-length": String(body.length),
      "content-type": "application/octet-stream",
      etag: `"${md5.toString("hex").toUpperCase()}"`,
      "content-md5": md5.toString("base64"),
      "last-modified": new Date(emulator.now()).toUTCString(),
    });
    expect(emulator.oss.listKeys(bucket)).toEqual([key]);
  });

  test("GetObject's response-* parameters are signed sub-resources and replace the answer's headers", async () => {
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("{}"));
    const got = await client.getObject(
      bucket,
      "listings/a.json",
      new $Oss.GetObjectRequest({
        responseContentType: "application/json",
        responseCacheControl: "no-cache",
      }),
    );
    expect(got.headers).toMatchObject({ "content-type": "application/json", "cache-control": "no-cache" });
  });

  test("GetObject of a missing key is 404 NoSuchKey with OSS's request id", async () => {
    const failure = await ossFailure(getObject(ossClient(hub), "listings/missing.json"));
    expect(failure).toMatchObject({
      code: "NoSuchKey",
      statusCode: 404,
      message: "NoSuchKey: The specified key does not exist.",
      data: { hostId: `${bucket}.oss-${region}.localhost` },
    });
    expect(failure.data.requestId).toMatch(/^[0-9A-F]{24}$/);
  });

  test("HeadObject answers the object's headers; a missing key comes back as the bare status 404", async () => {
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("12345"));
    const head = await client.headObject(bucket, "listings/a.json", new $Oss.HeadObjectRequest({}));
    expect(head.headers).toMatchObject({ "content-length": "5", "x-oss-object-type": "Normal" });
    // HEAD answers have no body, so the SDK has no Code to read: it throws the status as the code.
    expect(
      await ossFailure(client.headObject(bucket, "listings/b.json", new $Oss.HeadObjectRequest({}))),
    ).toMatchObject({ code: 404, statusCode: 404 });
  });

  test("x-oss-forbid-overwrite: true refuses to replace an object with 409 FileAlreadyExists", async () => {
    const client = ossClient(hub);
    const key = "listings/a.json";
    await putObject(client, key, Buffer.from("first"));
    const putNoOverwrite = (objectKey: string, body: string) =>
      client.putObjectWithOptions(
        bucket,
        objectKey,
        new $Oss.PutObjectRequest({ body: Readable.from([Buffer.from(body)]) }),
        new $Oss.PutObjectHeaders({ forbidOverwrite: true }),
        new $Util.RuntimeOptions({}),
      );
    expect(await ossFailure(putNoOverwrite(key, "second"))).toMatchObject({
      code: "FileAlreadyExists",
      statusCode: 409,
    });
    expect((await readBody((await getObject(client, key)).body)).toString()).toBe("first");

    await putObject(client, key, Buffer.from("third"));
    expect((await readBody((await getObject(client, key)).body)).toString()).toBe("third");
    expect((await putNoOverwrite("listings/b.json", "a new key")).statusCode).toBe(200);
  });

  test("DeleteObject answers 204, also for a key that does not exist", async () => {
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("x"));
    const deleteObject = () =>
      client.deleteObject(bucket, "listings/a.json", new $Oss.DeleteObjectRequest({}));
    expect((await deleteObject()).statusCode).toBe(204);
    expect((await deleteObject()).statusCode).toBe(204);
    expect((await ossFailure(getObject(client, "listings/a.json"))).code).toBe("NoSuchKey");
  });
});

describe("authentication and account isolation", () => {
  beforeEach(async () => {
    await createBucket(ossClient(hub));
    await putObject(ossClient(hub), "listings/a.json", Buffer.from("hub data"));
  });

  test("a wrong secret is 403 SignatureDoesNotMatch; an unknown key is 403 InvalidAccessKeyId", async () => {
    expect(
      await ossFailure(getObject(ossClient({ ...hub, accessKeySecret: "wrong-secret" }), "listings/a.json")),
    ).toMatchObject({ code: "SignatureDoesNotMatch", statusCode: 403 });
    expect(
      await ossFailure(getObject(ossClient({ ...hub, accessKeyId: "LTAIunknown0000" }), "listings/a.json")),
    ).toMatchObject({ code: "InvalidAccessKeyId", statusCode: 403 });
  });

  test("another account's key is refused with 403 AccessDenied on the bucket and its objects", async () => {
    const intruder = ossClient(spoke);
    expect(await ossFailure(getObject(intruder, "listings/a.json"))).toMatchObject({
      code: "AccessDenied",
      statusCode: 403,
    });
    expect(await ossFailure(putObject(intruder, "listings/b.json", Buffer.from("x")))).toMatchObject({
      code: "AccessDenied",
      statusCode: 403,
    });
    expect(await ossFailure(intruder.getBucketInfo(bucket))).toMatchObject({ code: "AccessDenied" });
  });

  test("an STS session of the hub works, with its token, until the token expires", async () => {
    const session = await assumeRole(writerRole);
    await putObject(ossClient(session), "listings/b.json", Buffer.from("by session"));
    expect((await readBody((await getObject(ossClient(session), "listings/b.json")).body)).toString()).toBe(
      "by session",
    );
    expect(
      await ossFailure(getObject(ossClient({ ...session, securityToken: "CAIS-wrong" }), "listings/b.json")),
    ).toMatchObject({ code: "InvalidSecurityToken", statusCode: 403 });

    emulator.advanceClock(3600_000);
    expect(await ossFailure(getObject(ossClient(session), "listings/b.json"))).toMatchObject({
      code: "SecurityTokenExpired",
      statusCode: 403,
    });
  });
});

describe("RAM", () => {
  beforeEach(async () => {
    await createBucket(ossClient(hub));
    await putObject(ossClient(hub), "listings/a.json", Buffer.from("listing"));
    await putObject(ossClient(hub), "state/cursor.json", Buffer.from("cursor"));
  });

  test("a session allowed oss:GetObject on bucket/listings/* reads there and nothing else", async () => {
    const reader = ossClient(await assumeRole(listingsReaderRole));
    expect((await readBody((await getObject(reader, "listings/a.json")).body)).toString()).toBe("listing");
    // HeadObject is authorized as oss:GetObject.
    expect(
      (await reader.headObject(bucket, "listings/a.json", new $Oss.HeadObjectRequest({}))).statusCode,
    ).toBe(200);

    const refusedPut = await ossFailure(putObject(reader, "listings/b.json", Buffer.from("x")));
    expect(refusedPut).toMatchObject({ code: "AccessDenied", statusCode: 403 });
    expect(refusedPut.message).toContain(`oss:PutObject on acs:oss:*:${hub.id}:${bucket}/listings/b.json`);
    expect(await ossFailure(getObject(reader, "state/cursor.json"))).toMatchObject({
      code: "AccessDenied",
      statusCode: 403,
    });
    expect(await ossFailure(reader.getBucketInfo(bucket))).toMatchObject({ code: "AccessDenied" });
    expect(emulator.oss.listKeys(bucket, "listings/")).toEqual(["listings/a.json"]);
  });
});

describe("admission: metrics, faults, rate limits", () => {
  beforeEach(async () => {
    await createBucket(ossClient(hub));
  });

  test("the metrics count OSS calls by operation against the bucket owner", async () => {
    emulator.resetMetrics();
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("x"));
    await getObject(client, "listings/a.json");
    await ossFailure(getObject(client, "listings/missing.json"));
    await client.headObject(bucket, "listings/a.json", new $Oss.HeadObjectRequest({}));
    await client.deleteObject(bucket, "listings/a.json", new $Oss.DeleteObjectRequest({}));

    const oss = emulator.metrics().operations.filter((entry) => entry.service === "oss");
    const byOperation = Object.fromEntries(oss.map((entry) => [entry.operation, entry]));
    expect(byOperation).toMatchObject({
      PutObject: { calls: 1, errors: 0, accountId: hub.id },
      GetObject: { calls: 2, errors: 1, accountId: hub.id },
      HeadObject: { calls: 1, errors: 0 },
      DeleteObject: { calls: 1, errors: 0 },
    });
  });

  test("an injected fault answers the chosen operation in OSS's error format", async () => {
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("x"));
    emulator.addFault({
      service: "oss",
      operation: "GetObject",
      error: { status: 503, code: "ServiceUnavailable", message: "try later" },
      times: 1,
    });
    expect(await ossFailure(getObject(client, "listings/a.json"))).toMatchObject({
      code: "ServiceUnavailable",
      statusCode: 503,
    });
    expect((await getObject(client, "listings/a.json")).statusCode).toBe(200);
  });

  test("a rate limit answers 503 SlowDown", async () => {
    emulator.setRateLimits([{ service: "oss", operation: "PutObject", limit: 1 }]);
    const client = ossClient(hub);
    await putObject(client, "listings/a.json", Buffer.from("x"));
    expect(await ossFailure(putObject(client, "listings/b.json", Buffer.from("y")))).toMatchObject({
      code: "SlowDown",
      statusCode: 503,
    });
  });
});

test("the endpoints document names OSS's regional endpoint", () => {
  const { port } = emulator;
  expect(emulator.endpoints.templates.oss).toBe(`http://oss-{region}.localhost:${port}`);
  expect(emulator.endpoints.accounts.find((account) => account.id === hub.id)?.regions[region]?.oss).toBe(
    `http://oss-${region}.localhost:${port}`,
  );
});
