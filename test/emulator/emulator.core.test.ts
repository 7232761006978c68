import dns from "node:dns";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Sls from "@alicloud/sls20201230";
import { z } from "zod";
import { EmulatorClock, type WallTime } from "../../emulator/core/clock";
import { RateLimiter } from "../../emulator/core/limits";
import { installLocalhostResolver } from "../../emulator/core/resolver";
import { loadFleet } from "../../emulator/fleet/load";
import { accountSchema, createFleetSchema, instanceSchema } from "../../emulator/fleet/schema";
import { type EmulatorHandle, parseFleet, runEmulatorCommand, startEmulator } from "../../emulator/index";
import { $Ecs, $Sts, ecsClient, hub, region, spokeA, startTestEmulator, stsClient } from "./emulatorKit";
import { mnsClient } from "./mnsTestKit";
import { slsClient } from "./slsTestKit";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "emulator-core-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const endpointsSchema = z.object({
  version: z.literal(1),
  port: z.number(),
  admin: z.string(),
  accounts: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      accessKeyId: z.string(),
      accessKeySecret: z.string(),
      sts: z.string(),
      regions: z.record(z.string(), z.object({ ecs: z.string(), sls: z.string(), mns: z.string() })),
    }),
  ),
});

function adminCall(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path: `/_admin${path}` }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          json: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        }),
      );
    });
    request.on("error", reject);
    request.end(body);
  });
}

describe("start, endpoints file and the four official SDKs", () => {
  test("the endpoints file exists once startEmulator resolves, and its endpoints and keys work", async () => {
    const endpointsFile = join(directory, "endpoints.json");
    const started = await startEmulator({
      fleetFile: await writeFleet(),
      endpointsFile,
      clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
    });
    try {
      const document = endpointsSchema.parse(JSON.parse(await readFile(endpointsFile, "utf8")));
      const account = document.accounts.find((entry) => entry.name === "spoke-a");
      const endpoint = account?.regions[region]?.ecs ?? "";

      const response = await ecsClient(started, {
        accessKeyId: account?.accessKeyId ?? "",
        accessKeySecret: account?.accessKeySecret ?? "",
      }).describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region }));

      expect(document.port).toBe(started.port);
      expect(new URL(endpoint).host).toBe(`ecs.${region}.localhost:${started.port}`);
      expect(account?.regions[region]?.mns).toBe(
        `http://${account?.id}.mns.${region}.localhost:${started.port}`,
      );
      expect(response.body?.totalCount).toBe(2);
    } finally {
      await started.stop();
    }
  });

  test("SLS and MNS are served on the same port; an assumed role's keys work on SLS", async () => {
    const emulator = await startTestEmulator();
    try {
      const assumed = await stsClient(emulator, hub).assumeRole(
        new $Sts.AssumeRoleRequest({
          roleArn: `acs:ram::${spokeA.id}:role/logtail-xacct-spoke`,
          roleSessionName: "sls-check",
        }),
      );
      const credentials = assumed.body?.credentials;
      const sls = slsClient(emulator.port, {
        accessKeyId: credentials?.accessKeyId ?? "",
        accessKeySecret: credentials?.accessKeySecret ?? "",
        securityToken: credentials?.securityToken ?? "",
      });
      const mns = mnsClient(emulator.port, { accountId: hub.id, ...hub });

      const projects = await sls.listProject(new $Sls.ListProjectRequest({}));
      await mns.createQueue("core-check");
      const sent = await mns.sendMessage("core-check", { MessageBody: "hello" });

      expect(projects.statusCode).toBe(200);
      expect(sent.code).toBe(201);
      const services = new Set(emulator.metrics().operations.map((entry) => entry.service));
      expect([...services].sort()).toEqual(["mns", "sls", "sts"]);
    } finally {
      await emulator.stop();
    }
  });

  test("an unknown host gets 404 InvalidHost", async () => {
    const emulator = await startTestEmulator();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(
            { host: "127.0.0.1", port: emulator.port, path: "/", headers: { host: "nothing.localhost" } },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          )
          .on("error", reject);
      });

      expect(status).toBe(404);
    } finally {
      await emulator.stop();
    }
  });

  test("runEmulatorCommand serves until stopped, then resolves with exit code 0", async () => {
    const endpointsFile = join(directory, "command-endpoints.json");
    const controller = new AbortController();
    const lines: string[] = [];

    const running = runEmulatorCommand({
      fleetFile: await writeFleet(),
      endpointsFile,
      log: (line) => lines.push(line),
      signal: controller.signal,
    });
    await waitFor(() => lines.some((line) => line.startsWith("endpoints written")));
    const document = endpointsSchema.parse(JSON.parse(await readFile(endpointsFile, "utf8")));
    const health = await adminCall(document.port, "GET", "/health");
    controller.abort();

    expect(health).toEqual({ status: 200, json: { ok: true } });
    await expect(running).resolves.toBe(0);
    expect(lines.at(-1)).toBe("emulator stopped");
  });
});

describe("admin HTTP API", () => {
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });

  afterAll(async () => {
    await emulator.stop();
  });

  test("loads a YAML fleet, lists instances, and resets to the initial fleet", async () => {
    const loaded = await adminCall(
      emulator.port,
      "POST",
      "/fleet",
      "accounts:\n  - id: '9000000000000009'\n    name: extra\ninstances:\n  - account: extra\n    region: cn-beijing\n    count: 3\n",
    );
    const listed = await adminCall(emulator.port, "GET", "/instances?account=9000000000000009");
    const reset = await adminCall(emulator.port, "POST", "/reset", "{}");

    expect(loaded.status).toBe(200);
    expect(listed.json).toMatchObject({ instances: [{ regionId: "cn-beijing" }, {}, {}] });
    expect(reset.status).toBe(200);
    expect(emulator.accounts.getAccount("9000000000000009")).toBeUndefined();
    expect(emulator.ecs.getInstance("i-spokea0000000000001")).toBeDefined();
  });

  test("an unknown key in a fleet is refused with its path", async () => {
    const response = await adminCall(
      emulator.port,
      "POST",
      "/fleet",
      JSON.stringify({ instances: [{ account: "hub", region, colour: "blue" }] }),
    );

    expect(response.status).toBe(400);
    expect(JSON.stringify(response.json)).toContain("instances.0");
    expect(JSON.stringify(response.json)).toContain("colour");
  });

  test("faults, rate limits, clock and metrics round-trip", async () => {
    const fault = await adminCall(
      emulator.port,
      "POST",
      "/faults",
      JSON.stringify({
        service: "ecs",
        operation: "DescribeInstances",
        error: { status: 500, code: "InternalError" },
      }),
    );
    const faults = await adminCall(emulator.port, "GET", "/faults");
    const cleared = await adminCall(emulator.port, "DELETE", "/faults");
    const limits = await adminCall(
      emulator.port,
      "PUT",
      "/rate-limits",
      JSON.stringify({ rules: [{ service: "ecs", limit: 5 }] }),
    );
    const before = emulator.now();
    const advanced = await adminCall(
      emulator.port,
      "POST",
      "/clock/advance",
      JSON.stringify({ seconds: 90 }),
    );
    const scaled = await adminCall(emulator.port, "PUT", "/clock", JSON.stringify({ scale: 0 }));
    await ecsClient(emulator, spokeA).describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId: region }),
    );
    const metrics = await adminCall(emulator.port, "GET", "/metrics");
    const badAdvance = await adminCall(
      emulator.port,
      "POST",
      "/clock/advance",
      JSON.stringify({ minutes: 1 }),
    );

    expect(fault.json).toMatchObject({ id: expect.stringMatching(/^fault-/), service: "ecs" });
    expect(faults.json).toMatchObject({ faults: [{ service: "ecs", error: { code: "InternalError" } }] });
    expect(cleared.json).toEqual({ faults: [] });
    expect(limits.json).toMatchObject({ rules: [{ service: "ecs", limit: 5, windowSeconds: 60 }] });
    expect(advanced.json).toMatchObject({ now: before + 90_000 });
    expect(scaled.json).toMatchObject({ scale: 0 });
    expect(metrics.json).toMatchObject({
      operations: [{ service: "ecs", operation: "DescribeInstances", accountId: spokeA.id, calls: 1 }],
    });
    expect(badAdvance.status).toBe(400);
    emulator.setRateLimits([]);
  });

  test("MNS duplicate deliveries are switched on and off", async () => {
    const on = await adminCall(
      emulator.port,
      "POST",
      "/mns/duplicate-deliveries",
      JSON.stringify({ nextCount: 1 }),
    );
    const off = await adminCall(emulator.port, "DELETE", "/mns/duplicate-deliveries");
    const bad = await adminCall(
      emulator.port,
      "POST",
      "/mns/duplicate-deliveries",
      JSON.stringify({ probability: 2 }),
    );

    expect([on.status, off.status, bad.status]).toEqual([200, 200, 400]);
  });

  test("an unknown admin route is 404", async () => {
    expect((await adminCall(emulator.port, "GET", "/nope")).status).toBe(404);
  });
});

describe("instance state transitions on the emulator clock", () => {
  test("with transitionSeconds, Starting lasts until the clock gets there", async () => {
    const emulator = await startEmulator({
      clock: { scale: 0 },
      ecs: { transitionSeconds: 30 },
      fleet: {
        accounts: [
          {
            id: spokeA.id,
            name: "a",
            accessKeyId: spokeA.accessKeyId,
            accessKeySecret: spokeA.accessKeySecret,
          },
        ],
        instances: [{ account: "a", region, id: "i-transition000000001", status: "Stopped" }],
      },
    });
    try {
      await ecsClient(emulator, spokeA).startInstance(
        new $Ecs.StartInstanceRequest({ instanceId: "i-transition000000001" }),
      );
      const during = emulator.ecs.getInstance("i-transition000000001")?.status;
      emulator.advanceClock(30_000);

      expect(during).toBe("Starting");
      expect(emulator.ecs.getInstance("i-transition000000001")?.status).toBe("Running");
    } finally {
      await emulator.stop();
    }
  });
});

describe("fleet file validation", () => {
  test.each([
    [
      "an unknown account key",
      { accounts: [{ id: "1000000000000001", name: "a", colour: "x" }] },
      "accounts.0",
    ],
    ["a malformed UID", { accounts: [{ id: "42", name: "a" }] }, "accounts.0.id"],
    [
      "a fixed id with count 2",
      { instances: [{ account: "a", region, id: "i-abcdefgh12", count: 2 }] },
      "instances.0.id",
    ],
    ["an unknown os", { instances: [{ account: "a", region, os: "beos" }] }, "instances.0.os"],
  ])("refuses %s, naming the path", (_label, document, path) => {
    expect(() => parseFleet(JSON.stringify(document))).toThrow(path);
  });

  test("a later layer can extend the instance schema and keep strictness and whole-fleet checks", async () => {
    const extended = createFleetSchema(
      instanceSchema.extend({ agent: z.enum(["ilogtail", "loongcollector", "none"]).default("ilogtail") }),
      accountSchema,
    );
    const fleet = extended.parse({
      accounts: [{ id: "1000000000000001", name: "one" }],
      instances: [{ account: "one", region, count: 2, agent: "none" }],
    });
    const emulator = await startEmulator({ clock: { scale: 0 } });
    try {
      const loaded = loadFleet(fleet, { accounts: emulator.accounts, ecs: emulator.ecs });

      expect(loaded.created.map((entry) => entry.spec.agent)).toEqual(["none", "none"]);
      expect(() => extended.parse({ instances: [{ account: "one", region, agnet: "none" }] })).toThrow(
        "agnet",
      );
      expect(() =>
        extended.parse({
          accounts: [
            { id: "1000000000000001", name: "a" },
            { id: "1000000000000001", name: "b" },
          ],
        }),
      ).toThrow("duplicate account id");
    } finally {
      await emulator.stop();
    }
  });

  test("an instance of an unknown account is refused before anything is loaded", async () => {
    const emulator = await startEmulator({ clock: { scale: 0 } });
    try {
      await expect(
        emulator.loadFleet({
          accounts: [{ id: "1000000000000001", name: "one" }],
          instances: [{ account: "two", region }],
        }),
      ).rejects.toThrow('instances.0.account: unknown account "two"');
      expect(emulator.accounts.getAccount("1000000000000001")).toBeUndefined();
    } finally {
      await emulator.stop();
    }
  });
});

describe("clock, rate limiter and resolver units", () => {
  function fakeWall(): WallTime & { advance(ms: number): void } {
    let now = 1_000_000;
    const timers: Array<{ at: number; run: () => void; cancelled: boolean }> = [];
    return {
      now: () => now,
      setTimeout: (run, ms) => {
        const timer = { at: now + ms, run, cancelled: false };
        timers.push(timer);
        return { cancel: () => (timer.cancelled = true) };
      },
      advance: (ms) => {
        now += ms;
        for (const timer of timers.filter((candidate) => !candidate.cancelled && candidate.at <= now)) {
          timer.cancelled = true;
          timer.run();
        }
      },
    };
  }

  test("scaled time runs faster than the wall clock and fires timers when it gets there", () => {
    const wall = fakeWall();
    const clock = new EmulatorClock({ startAt: 0, scale: 60, wallTime: wall });
    const fired: number[] = [];
    clock.setTimer(60_000, () => fired.push(clock.now()));

    wall.advance(999);
    const early = [...fired];
    wall.advance(1);

    expect(early).toEqual([]);
    expect(fired).toEqual([60_000]);
  });

  test("a frozen clock only moves with advance, firing timers in order", () => {
    const clock = new EmulatorClock({ startAt: 0, scale: 0, wallTime: fakeWall() });
    const fired: string[] = [];
    clock.setTimer(2_000, () => fired.push("second"));
    clock.setTimer(1_000, () => fired.push("first"));
    const cancel = clock.setTimer(1_500, () => fired.push("cancelled"));
    cancel();

    clock.advance(5_000);

    expect(fired).toEqual(["first", "second"]);
    expect(clock.now()).toBe(5_000);
  });

  test("rate-limit windows are aligned on the emulator minute", () => {
    const clock = new EmulatorClock({ startAt: 30_000, scale: 0, wallTime: fakeWall() });
    const limiter = new RateLimiter(clock);
    limiter.setRules([{ service: "ecs", limit: 1, windowSeconds: 60 }]);
    const call = { service: "ecs" as const, operation: "RunCommand", accountId: "1", region };

    const first = limiter.admit(call);
    const second = limiter.admit(call);
    clock.advance(30_000);
    const nextMinute = limiter.admit(call);

    expect([first, second, nextMinute]).toEqual([true, false, true]);
  });

  test("a service-wide limit is the management API's: the agents' PutLogs is limited only by name", () => {
    const clock = new EmulatorClock({ startAt: 0, scale: 0, wallTime: fakeWall() });
    const limiter = new RateLimiter(clock);
    const call = (operation: string) => ({ service: "sls" as const, operation, accountId: "1", region });
    limiter.setRules([{ service: "sls", limit: 1, windowSeconds: 60 }]);

    const management = [limiter.admit(call("GetLogs")), limiter.admit(call("GetLogs"))];
    const writes = [limiter.admit(call("PutLogs")), limiter.admit(call("PutLogs"))];
    limiter.setRules([{ service: "sls", operation: "PutLogs", limit: 1, windowSeconds: 60 }]);
    const named = [limiter.admit(call("PutLogs")), limiter.admit(call("PutLogs"))];

    expect({ management, writes, named }).toEqual({
      management: [true, false],
      writes: [true, true],
      named: [true, false],
    });
  });

  test("*.localhost resolves to 127.0.0.1 only while a resolver is installed", async () => {
    const lookup = (name: string) =>
      new Promise<string>((resolve) =>
        dns.lookup(name, (error, address) => resolve(error === null ? address : "error")),
      );
    const original = dns.lookup;
    const outer = installLocalhostResolver();
    const inner = installLocalhostResolver();
    inner();

    const whileInstalled = await lookup("myproject.cn-hangzhou.log.localhost");
    outer();

    expect(whileInstalled).toBe("127.0.0.1");
    expect(dns.lookup).toBe(original);
  });
});

async function writeFleet(): Promise<string> {
  const path = join(directory, `fleet-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    path,
    [
      "accounts:",
      "  - id: '2000000000000002'",
      "    name: spoke-a",
      "instances:",
      "  - account: spoke-a",
      `    region: ${region}`,
      "    count: 2",
      "",
    ].join("\n"),
  );
  return path;
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!condition()) throw new Error("condition not met in time");
}
