import {
  backoffDelayMs,
  CloudError,
  createAlibabaAdapters,
  isRetryableCode,
  toCloudError,
  withRetry,
} from "../../shared/adapters";
import type { EndpointResolver } from "../../shared/ports";
import { calls, hub, type Kit, region, rejection, spoke, startKit } from "./adapterKit";

describe("classification", () => {
  it.each([
    ["Throttling.User", 400, true],
    ["Throttling", 400, true],
    ["Throttling.Api", undefined, true],
    ["ExceedQuota", 403, true],
    ["QpsLimitExceeded", 403, true],
    ["ServiceUnavailable", 503, true],
    ["InternalError", 500, true],
    ["SomethingNew", 502, true],
    ["ECONNRESET", undefined, true],
    ["RequestTimeout", undefined, true],
    ["ExceedQuota", 400, false],
    ["InvalidInstanceId.NotFound", 404, false],
    ["Unauthorized", 401, false],
    ["EntityNotExist.Role", 404, false],
    ["ConfigNotExist", 404, false],
  ])("%s (HTTP %s) → retryable %s", (code, status, retryable) => {
    expect(isRetryableCode(code, status)).toBe(retryable);
  });

  it("reads the SDKs' error shapes: Tea (RPC), SLS, MNS, and sockets", () => {
    const rpc = toCloudError(
      Object.assign(new Error("code: 400, denied"), {
        code: "Throttling.User",
        statusCode: 400,
        requestId: "R-1",
      }),
      "ecs",
      "DescribeInstances",
    );
    expect(rpc).toMatchObject({
      code: "Throttling.User",
      httpStatus: 400,
      requestId: "R-1",
      retryable: true,
    });
    const sls = toCloudError(
      Object.assign(new Error("x"), { code: "ConfigNotExist", statusCode: 404, data: { requestId: "S-1" } }),
      "sls",
      "GetConfig",
    );
    expect(sls).toMatchObject({
      code: "ConfigNotExist",
      httpStatus: 404,
      requestId: "S-1",
      retryable: false,
    });
    const mns = toCloudError(
      Object.assign(
        new Error("GET http://q failed with 403. requestid: ABC, hostid: h, message: slow down"),
        {
          name: "MNSQpsLimitExceededError",
        },
      ),
      "mns",
      "BatchReceiveMessage",
    );
    expect(mns).toMatchObject({
      code: "QpsLimitExceeded",
      httpStatus: 403,
      requestId: "ABC",
      retryable: true,
    });
    const socket = toCloudError(
      Object.assign(new Error("reset"), { code: "ECONNRESET" }),
      "sls",
      "ListMachines",
    );
    expect(socket).toMatchObject({ code: "ECONNRESET", retryable: true });
    const timeout = toCloudError(
      Object.assign(new Error("ReadTimeout"), { name: "RequestTimeoutError" }),
      "mns",
      "X",
    );
    expect(timeout).toMatchObject({ code: "RequestTimeout", retryable: true });
    const bug = toCloudError(new TypeError("undefined is not a function"), "ecs", "X");
    expect(bug).toMatchObject({ code: "UnknownError", retryable: false, name: "CloudError" });
    expect(bug.cause).toBeInstanceOf(TypeError);
    expect(toCloudError(rpc, "sls", "Other")).toBe(rpc);
  });
});

describe("withRetry", () => {
  const retryable = new CloudError("busy", {
    code: "ServiceUnavailable",
    service: "ecs",
    operation: "X",
    retryable: true,
  });
  const terminal = new CloudError("no", {
    code: "Forbidden",
    service: "ecs",
    operation: "X",
    retryable: false,
  });

  it("retries retryable errors with full-jitter backoff, up to the attempts", async () => {
    const sleeps: number[] = [];
    let tries = 0;
    const error = await rejection(
      withRetry(
        async () => {
          tries += 1;
          throw retryable;
        },
        {
          attempts: 4,
          baseDelayMs: 100,
          maxDelayMs: 250,
          random: () => 0.999,
          sleep: async (ms) => void sleeps.push(ms),
        },
      ),
    );
    expect(error).toBe(retryable);
    expect(tries).toBe(4);
    expect(sleeps).toEqual([99, 199, 249]);
  });

  it("returns the first success and never retries a terminal error", async () => {
    let tries = 0;
    const ok = await withRetry(
      async () => {
        tries += 1;
        if (tries < 3) throw retryable;
        return "done";
      },
      { attempts: 5, sleep: async () => undefined },
    );
    expect([ok, tries]).toEqual(["done", 3]);
    tries = 0;
    await rejection(
      withRetry(
        async () => {
          tries += 1;
          throw terminal;
        },
        { attempts: 5, sleep: async () => undefined },
      ),
    );
    expect(tries).toBe(1);
  });

  it("draws delays uniformly below the capped exponential", () => {
    expect(backoffDelayMs(1, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0 })).toBe(0);
    expect(backoffDelayMs(5, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.5 })).toBe(500);
  });
});

describe("throttling and faults through the SDKs", () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(async () => {
    await kit.emulator.stop();
  });
  beforeEach(async () => {
    await kit.emulator.reset();
  });

  it("classifies ECS Throttling.User as retryable and backs off until the next window", async () => {
    kit.emulator.setRateLimits([
      { service: "ecs", operation: "DescribeInstances", accountId: spoke.id, limit: 1 },
    ]);
    const impatient = (await kit.adapters()).ecs({ accountId: spoke.id, region });
    await impatient.describeInstances({ tagKey: "logtail-xacct-route" });
    expect(await rejection(impatient.describeInstances({ tagKey: "logtail-xacct-route" }))).toMatchObject({
      code: "Throttling.User",
      retryable: true,
      service: "ecs",
      operation: "DescribeInstances",
    });

    const sleeps: number[] = [];
    const patient = (
      await kit.adapters({
        retry: {
          attempts: 3,
          baseDelayMs: 60_000,
          maxDelayMs: 60_000,
          random: () => 1,
          sleep: async (ms) => {
            sleeps.push(ms);
            kit.emulator.advanceClock(ms);
          },
        },
      })
    ).ecs({ accountId: spoke.id, region });
    expect(await patient.describeInstances({ tagKey: "logtail-xacct-route" })).toHaveLength(1);
    expect(sleeps).toEqual([60_000]);
  });

  it("classifies SLS ExceedQuota and MNS QpsLimitExceeded as retryable", async () => {
    kit.emulator.setRateLimits([
      { service: "sls", limit: 0 },
      { service: "mns", limit: 0 },
    ]);
    const adapters = await kit.adapters();
    expect(
      await rejection(adapters.sls({ accountId: hub.id, region, project: "p-x" }).logstoreExists("a")),
    ).toMatchObject({ code: "ExceedQuota", httpStatus: 403, retryable: true });
    expect(await rejection(adapters.queue().receive("any", 1, 0))).toMatchObject({
      code: "QpsLimitExceeded",
      httpStatus: 403,
      retryable: true,
    });
  });

  it("retries injected 503s and gives up at once on a terminal error", async () => {
    const adapters = await kit.adapters({ retry: { attempts: 4, sleep: async () => undefined } });
    const ecs = adapters.ecs({ accountId: spoke.id, region });
    await ecs.describeInstances({ tagKey: "logtail-xacct-route" }); // assume the role first
    kit.emulator.resetMetrics();
    kit.emulator.addFault({ service: "ecs", operation: "DescribeInstances", errorRate: 1, times: 2 });
    expect(await ecs.describeInstances({ tagKey: "logtail-xacct-route" })).toHaveLength(1);
    expect(calls(kit.emulator, "DescribeInstances")).toBe(3);

    kit.emulator.addFault({
      service: "ecs",
      operation: "TagResources",
      error: { status: 400, code: "InvalidTagKey.Malformed" },
      times: 5,
    });
    expect(await rejection(ecs.tagInstances(["i-spoke00000000web01"], { a: "b" }))).toMatchObject({
      code: "InvalidTagKey.Malformed",
      retryable: false,
    });
    expect(calls(kit.emulator, "TagResources")).toBe(1);
  });

  it("classifies a refused connection as retryable", async () => {
    const closed: EndpointResolver = {
      ecs: () => ({ host: "127.0.0.1:1", protocol: "http" }),
      sls: () => ({ host: "127.0.0.1:1", protocol: "http" }),
      sts: () => ({ host: "127.0.0.1:1", protocol: "http" }),
      oss: () => ({ host: "127.0.0.1:1", protocol: "http" }),
      mns: () => "http://127.0.0.1:1",
      slsDataEndpoint: () => "127.0.0.1:1",
    };
    const adapters = createAlibabaAdapters({
      endpoints: closed,
      hub: { accountId: hub.id, region, credentials: () => ({ accessKeyId: "k", accessKeySecret: "s" }) },
      roles: new Map(),
      retry: { attempts: 1 },
    });
    expect(await rejection(adapters.ecs({ accountId: hub.id, region }).describeInstances())).toMatchObject({
      code: "ECONNREFUSED",
      retryable: true,
    });
    expect(await rejection(adapters.queue().receive("q", 1, 0))).toMatchObject({ retryable: true });
  });
});
