import { join } from "node:path";
import { EmulatorClock } from "../../emulator/core/clock";
import { LocalEventBridge, publishEcsChange } from "../../localstack/eventbridge";
import {
  type CredentialsProvider,
  FunctionInvoker,
  type FunctionSpec,
  FunctionTimeoutError,
  HandlerLoadError,
  InvocationKilledError,
  LocalFcRuntime,
  loadServerlessSpec,
  MemoryQueue,
  memoryLogger,
  type ServerlessSpec,
} from "../../localstack/fc";
import { sleepOn } from "../../localstack/fc/asyncInvocation";
import { readQueueTrigger } from "../../shared/events/fcEvent";
import { callsOf, resetCalls } from "../fixtures/fc/functions/recorder";

const HUB = "1700000000000001";
const REGION = "cn-hangzhou";
const FIXTURE = join(__dirname, "../fixtures/fc/s.yaml");
const START = Date.UTC(2026, 0, 1);

/** Keys that say which function and which call they were issued for. */
function countingCredentials(): CredentialsProvider {
  let issued = 0;
  return async (request) => {
    issued += 1;
    return {
      accessKeyId: `STS.${request.functionName}.${issued}`,
      accessKeySecret: `secret-${issued}`,
      securityToken: `token-${issued}`,
    };
  };
}

interface Stack {
  clock: EmulatorClock;
  bridge: LocalEventBridge;
  runtime: LocalFcRuntime;
  queues: Map<string, MemoryQueue>;
  dlq: MemoryQueue;
  logger: ReturnType<typeof memoryLogger>;
}

function stack(
  spec: ServerlessSpec = loadServerlessSpec(FIXTURE, { env: {} }),
  options: { stopGraceMs?: number; loadModule?: (modulePath: string) => unknown } = {},
): Stack {
  const clock = new EmulatorClock({ startAt: START, scale: 0 });
  const bridge = new LocalEventBridge({ scheduler: clock });
  const dlq = new MemoryQueue("dlq", { clock });
  const queues = new Map<string, MemoryQueue>();
  for (const name of ["apply-queue", "single-queue"]) {
    queues.set(
      name,
      new MemoryQueue(name, { clock, visibilityTimeoutSeconds: 30, maxReceiveCount: 2, deadLetter: dlq }),
    );
  }
  const logger = memoryLogger();
  const runtime = new LocalFcRuntime({
    spec,
    accountId: HUB,
    credentials: countingCredentials(),
    scheduler: clock,
    bridge,
    queues: (ref) => {
      const queue = queues.get(ref.queueName);
      if (queue === undefined) throw new Error(`no queue ${ref.queueName}`);
      return queue;
    },
    logger,
    queueWaitSeconds: 0.02,
    asyncRetry: { maxRetries: 2, delayMs: () => 1000 },
    ...options,
  });
  return { clock, bridge, runtime, queues, dlq, logger };
}

/**
 * Lets microtasks and instant handlers run. It does not await `idle()`: work that waits for the
 * clock (a retry delay) would never settle while the test holds the clock still.
 */
async function settle(_s: Stack): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Advances the clock in steps, letting retries scheduled on it run. */
async function advance(s: Stack, ms: number, step = 1000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    s.clock.advance(step);
    await settle(s);
  }
}

beforeEach(() => resetCalls());

/** A nested field of an unknown value, without casts. */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path)
    current = typeof current === "object" && current !== null ? Reflect.get(current, key) : undefined;
  return current;
}

describe("FC 3.0 calling convention", () => {
  it("passes the event as a Buffer and a context with request id, credentials, function, region, account", async () => {
    const { runtime } = stack();
    const result = await runtime.invoke("fixture-echo", JSON.stringify({ hello: "world" }));

    expect(result.ok).toBe(true);
    const [call] = callsOf("echo");
    expect(call?.isBuffer).toBe(true);
    expect(call?.event).toEqual({ hello: "world" });
    expect(call?.context).toMatchObject({
      requestId: result.requestId,
      credentials: {
        accessKeyId: "STS.fixture-echo.1",
        accessKeySecret: "secret-1",
        securityToken: "token-1",
      },
      function: { name: "fixture-echo", handler: "index.handler", memory: 256, timeout: 5 },
      region: REGION,
      accountId: HUB,
    });
  });

  it("gives the handler FC's environment without leaking it into the runner's", async () => {
    const { runtime } = stack();
    const before = process.env;
    await runtime.invoke("fixture-echo", "{}");

    expect(callsOf("echo")[0]?.env).toEqual({
      ALIBABA_CLOUD_ACCESS_KEY_ID: "STS.fixture-echo.1",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-1",
      ALIBABA_CLOUD_SECURITY_TOKEN: "token-1",
      FC_FUNCTION_NAME: "fixture-echo",
      FC_REGION: REGION,
      FC_ACCOUNT_ID: HUB,
      APP_MODE: "local",
      APP_STAGE: "dev",
    });
    expect(process.env).toBe(before);
    expect(process.env.ALIBABA_CLOUD_ACCESS_KEY_ID).toBeUndefined();
    expect(process.env.FC_FUNCTION_NAME).toBeUndefined();
  });

  it("keeps each concurrent invocation's credentials in its own environment", async () => {
    const { runtime } = stack();
    // Calls overlap and end in another order than they started: a shared env would hand a waiting
    // call the keys of a later one, and the first call's end must not take the env from the others.
    const results = await Promise.all(
      [0, 60, 30].map((delayMs) => runtime.invoke("fixture-echo", JSON.stringify({ delayMs }))),
    );
    const contexts = callsOf("echo").map((call) => call.context);
    const keysSeen = results.map((result) => {
      const value = result.ok ? result.value : undefined;
      const context = contexts.find((c) => field(c, "requestId") === result.requestId);
      // What the handler read from process.env after its wait = the keys in its own context.
      expect(field(value, "keyId")).toBe(field(context, "credentials", "accessKeyId"));
      return field(value, "keyId");
    });
    expect(new Set(keysSeen).size).toBe(3);
  });

  it("loads a function deployed as ./dist/<name> from its TypeScript source", async () => {
    const { runtime } = stack();
    const result = await runtime.invoke("fixture-flaky", "{}");
    expect(result).toMatchObject({ ok: true, value: "ok" });
    expect(callsOf("flaky")).toHaveLength(1);
  });

  it("logs one structured line per invocation", async () => {
    const { runtime, logger } = stack();
    await runtime.invoke("fixture-flaky", '"fail"');
    expect(logger.lines).toEqual([
      expect.objectContaining({
        msg: "fc.invocation",
        function: "fixture-flaky",
        trigger: "invoke",
        requestId: expect.any(String),
        durationMs: expect.any(Number),
        outcome: "error",
        error: "Error: flaky failed on purpose",
      }),
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain("secret-");
  });
});

describe("function invoker limits", () => {
  const spec = (overrides: Partial<FunctionSpec> = {}): FunctionSpec => ({
    resource: "f",
    name: "f",
    region: REGION,
    runtime: "nodejs20",
    codeDir: join(__dirname, "../fixtures/fc/functions/echo"),
    handler: "index.handler",
    memorySize: 128,
    timeout: 5,
    environmentVariables: {},
    triggers: [],
    instanceConcurrency: 1,
    ...overrides,
  });
  const credentials = countingCredentials();

  /** A handler that takes 10 ms and counts how many of its runs overlapped at most. */
  const overlaps = () => {
    const counter = {
      running: 0,
      peak: 0,
      handler: async () => {
        counter.running += 1;
        counter.peak = Math.max(counter.peak, counter.running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        counter.running -= 1;
      },
    };
    return counter;
  };

  it("runs at most `concurrency` invocations of a function at once", async () => {
    const overlapping = overlaps();
    const invoker = new FunctionInvoker(spec(), {
      accountId: HUB,
      credentials,
      concurrency: 2,
      loadModule: () => ({ handler: overlapping.handler }),
    });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => invoker.invoke(Buffer.from("{}"), "t")),
    );
    expect(results.every((result) => result.ok)).toBe(true);
    expect(overlapping.peak).toBe(2);
  });

  it("runs as many invocations at once as the function's instances may: reservedConcurrency × instanceConcurrency", async () => {
    const overlapping = overlaps();
    const runtime = new LocalFcRuntime({
      spec: { file: "s.yaml", dir: ".", functions: [spec({ maxInstances: 3, instanceConcurrency: 1 })] },
      accountId: HUB,
      credentials,
      scheduler: new EmulatorClock({ startAt: START, scale: 1 }),
      loadModule: () => ({ handler: overlapping.handler }),
    });
    await Promise.all(Array.from({ length: 8 }, () => runtime.invoke("f", "{}")));
    expect(overlapping.peak).toBe(3);
  });

  it("fails an invocation that runs past the function's timeout", async () => {
    const logger = memoryLogger();
    const invoker = new FunctionInvoker(spec({ timeout: 0.05 }), {
      accountId: HUB,
      credentials,
      logger,
      loadModule: () => ({ handler: () => new Promise(() => {}) }),
    });
    const result = await invoker.invoke(Buffer.from("{}"), "t");
    expect(result).toMatchObject({ ok: false, timedOut: true });
    expect(result.ok ? undefined : result.error).toBeInstanceOf(FunctionTimeoutError);
    expect(logger.lines[0]).toMatchObject({ outcome: "timeout" });
  });

  it("counts the timeout on the scheduler's clock when it is given one, as the queues' visibility does", async () => {
    const clock = new EmulatorClock({ startAt: START, scale: 0 });
    const invoker = new FunctionInvoker(spec({ timeout: 300 }), {
      accountId: HUB,
      credentials,
      clock,
      loadModule: () => ({ handler: () => new Promise(() => {}) }),
    });
    let settled: unknown;
    const invocation = invoker.invoke(Buffer.from("{}"), "t").then((result) => {
      settled = result;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(299_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeUndefined();

    clock.advance(1_000);
    expect(await invocation).toMatchObject({ ok: false, timedOut: true });
  });

  it("keeps the wall-time timeout on a frozen scheduler's clock: a test that holds the clock still cannot hang a run", async () => {
    const clock = new EmulatorClock({ startAt: START, scale: 0 });
    const invoker = new FunctionInvoker(spec({ timeout: 0.05 }), {
      accountId: HUB,
      credentials,
      clock,
      loadModule: () => ({ handler: () => new Promise(() => {}) }),
    });
    expect(await invoker.invoke(Buffer.from("{}"), "t")).toMatchObject({ ok: false, timedOut: true });
  });

  it("reports a module without the handler export as a failed invocation", async () => {
    const invoker = new FunctionInvoker(spec(), { accountId: HUB, credentials, loadModule: () => ({}) });
    const result = await invoker.invoke(Buffer.from("{}"), "t");
    expect(result.ok ? undefined : result.error).toBeInstanceOf(HandlerLoadError);
  });
});

describe("timer triggers on the emulator clock", () => {
  it("fires a cron trigger at each matching time with FC's timer event", async () => {
    const s = stack();
    s.runtime.start();
    await advance(s, 11 * 60_000, 60_000);
    await s.runtime.stop();

    expect(callsOf("ticker").map((call) => call.event)).toEqual([
      { triggerTime: "2026-01-01T00:05:00Z", triggerName: "every-five-minutes", payload: "tick" },
      { triggerTime: "2026-01-01T00:10:00Z", triggerName: "every-five-minutes", payload: "tick" },
    ]);
  });

  it("catches up once per missed time when the clock jumps", async () => {
    const s = stack();
    s.runtime.start();
    s.clock.advance(16 * 60_000);
    await settle(s);
    await s.runtime.stop();
    expect(callsOf("ticker")).toHaveLength(3);
  });

  it("retries a failing @every invocation asynchronously, then dead-letters it", async () => {
    const base = loadServerlessSpec(FIXTURE, { env: {} });
    const spec: ServerlessSpec = {
      ...base,
      functions: base.functions
        .filter((fn) => fn.resource === "flaky")
        .map((fn) => ({ ...fn, triggers: fn.triggers.map((t) => ({ ...t, enabled: true })) })),
    };
    const s = stack(spec);
    s.runtime.start();
    await advance(s, 60_000, 60_000);
    s.runtime.stop();
    await advance(s, 3000);
    await s.runtime.stop();

    expect(callsOf("flaky")).toHaveLength(3);
    expect(s.runtime.deadLetters).toEqual([
      expect.objectContaining({
        function: "fixture-flaky",
        trigger: "every-minute",
        error: expect.any(String),
      }),
    ]);
    expect(JSON.parse(s.runtime.deadLetters[0]?.event.toString() ?? "{}")).toMatchObject({ payload: "fail" });
  });
});

describe("waiting on the scheduler's clock", () => {
  it("ends a wait whose time is already reached, which the scheduler calls back at once", async () => {
    const clock = new EmulatorClock({ startAt: START, scale: 0 });
    // The queue poller's back-off after a failed receive died here once (its cancel was used
    // before it was assigned), and the apply queue was never read again.
    await expect(sleepOn(clock, 0)).resolves.toBeUndefined();
    await expect(sleepOn(clock, 0, new AbortController().signal)).resolves.toBeUndefined();
  });

  it("ends a wait on the frozen clock when the stop is signalled", async () => {
    const clock = new EmulatorClock({ startAt: START, scale: 0 });
    const stop = new AbortController();
    const waiting = sleepOn(clock, 60_000, stop.signal);
    stop.abort();
    await expect(waiting).resolves.toBeUndefined();
  });
});

describe("stopping the runtime", () => {
  const neverEnds = () => ({ handler: () => new Promise(() => {}) });

  it("ends an invocation still under way once the grace is over; its message stays for redelivery", async () => {
    const s = stack(undefined, { stopGraceMs: 50, loadModule: neverEnds });
    const queue = s.queues.get("single-queue");
    queue?.send("stuck");
    s.runtime.start();
    await until(() => s.logger.lines.some((line) => line.msg === "fc.queue-received"), "the delivery");
    await s.runtime.stop();

    expect(s.logger.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: "fc.stopped-invocations", count: 1 }),
        expect.objectContaining({ msg: "fc.queue-settled", messages: "left for redelivery" }),
      ]),
    );
    expect(queue?.bodies()).toEqual(["stuck"]);
  });

  it("drops a retry that waits on a frozen clock once the grace is over, and runs again after the stop", async () => {
    const base = loadServerlessSpec(FIXTURE, { env: {} });
    const spec: ServerlessSpec = {
      ...base,
      functions: base.functions
        .filter((fn) => fn.resource === "flaky")
        .map((fn) => ({ ...fn, triggers: fn.triggers.map((t) => ({ ...t, enabled: true })) })),
    };
    const s = stack(spec, { stopGraceMs: 50 });
    s.runtime.start();
    await advance(s, 60_000, 60_000);
    await until(() => callsOf("flaky").length === 1, "the first attempt");
    await s.runtime.stop();

    expect(s.runtime.deadLetters).toEqual([]);
    expect(s.logger.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: "fc.retry-dropped-at-stop", function: "fixture-flaky", attempts: 1 }),
      ]),
    );
    // The stop is over: a direct invocation runs (and fails as the flaky fixture does) again.
    const after = await s.runtime.invoke("fixture-flaky", '{"payload":"fail"}');
    expect(after.ok ? undefined : after.error).not.toBeInstanceOf(InvocationKilledError);
    expect(callsOf("flaky")).toHaveLength(2);
  });
});

describe("EventBridge triggers on the default bus", () => {
  it("invokes the function with each matching event, as one CloudEvents object", async () => {
    const s = stack();
    s.runtime.start();
    const id = publishEcsChange(
      s.bridge,
      { kind: "state", accountId: HUB, region: REGION, instanceId: "i-bp1abcdef0001", state: "Running" },
      { now: START },
    );
    s.bridge.putEvents({ accountId: HUB, region: REGION, busName: "default" }, [
      {
        id: "oss-1",
        source: "acs.oss",
        type: "oss:ObjectCreated:PutObject",
        time: "2026-01-01T00:00:00Z",
        data: {},
      },
    ]);
    await settle(s);
    await s.runtime.stop();

    expect(callsOf("authorize").map((call) => call.event)).toEqual([
      expect.objectContaining({ id, type: "ecs:Instance:StateChange", aliyunaccountid: HUB }),
    ]);
  });

  it("lets EventBridge retry a failed push, then dead-letters it to the configured queue", async () => {
    const s = stack();
    s.runtime.start();
    publishEcsChange(
      s.bridge,
      { kind: "state", accountId: HUB, region: REGION, instanceId: "i-bp1failfail0001", state: "Running" },
      { now: START },
    );
    await settle(s);
    await advance(s, 45_000);
    await s.runtime.stop();

    expect(callsOf("authorize")).toHaveLength(3);
    expect(s.runtime.deadLetters).toEqual([
      expect.objectContaining({
        function: "fixture-authorize",
        trigger: "ecs-events",
        arn: "acs:mns:cn-hangzhou:1700000000000001:/queues/fixture-dlq",
      }),
    ]);
  });

  it("is triggered by a spoke's event forwarded to the hub's bus", async () => {
    const s = stack();
    const spoke = "1700000000000397";
    const role = `acs:ram::${HUB}:role/logtail-xacct-event-forwarder`;
    s.bridge.grantCrossAccount(role, [spoke]);
    s.bridge.putRule({
      accountId: spoke,
      region: REGION,
      busName: "default",
      name: "forward-to-hub",
      pattern: { source: ["acs.ecs"] },
      targets: [
        { kind: "bus", id: "hub", accountId: HUB, region: REGION, busName: "default", roleArn: role },
      ],
    });
    s.runtime.start();
    publishEcsChange(
      s.bridge,
      {
        kind: "tags",
        accountId: spoke,
        region: REGION,
        instanceIds: ["i-bp1abcdef0009"],
        eventName: "TagResources",
        tags: { "logtail-xacct-route": "app-b-prod" },
      },
      { now: START },
    );
    await settle(s);
    await s.runtime.stop();

    expect(callsOf("authorize").map((call) => call.event)).toEqual([
      expect.objectContaining({
        aliyunaccountid: HUB,
        aliyunoriginalaccountid: spoke,
        data: expect.objectContaining({ userIdentity: expect.objectContaining({ accountId: spoke }) }),
      }),
    ]);
  });

  it("removes its rule when stopped", async () => {
    const s = stack();
    s.runtime.start();
    await s.runtime.stop();
    publishEcsChange(
      s.bridge,
      { kind: "state", accountId: HUB, region: REGION, instanceId: "i-bp1abcdef0001", state: "Running" },
      { now: START },
    );
    await settle(s);
    expect(callsOf("authorize")).toHaveLength(0);
  });
});

describe("MNS queue triggers", () => {
  const bodiesOf = (event: unknown): string[] => readQueueTrigger(event).messages.map((m) => m.body);

  it("delivers batches (event-streaming) as a JSON array of up to CountBasedWindow messages and deletes them", async () => {
    const s = stack();
    const queue = s.queues.get("apply-queue");
    for (let i = 1; i <= 6; i += 1) queue?.send(`{"n":${i}}`);
    s.runtime.start();
    await until(() => callsOf("consumer").length >= 2, "two batches");
    await until(() => queue?.bodies().length === 0, "the deletes");
    await s.runtime.stop();

    const events = callsOf("consumer").map((call) => call.event);
    expect(events.every(Array.isArray)).toBe(true);
    expect(events.map(bodiesOf)).toEqual([
      ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'],
      ['{"n":5}', '{"n":6}'],
    ]);
    expect(events[0]).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: "mns:Queue:SendMessage",
          subject: `acs:mns:${REGION}:${HUB}:queues/apply-queue`,
          aliyunaccountid: HUB,
          data: expect.objectContaining({ messageId: expect.any(String), messageBody: '{"n":1}' }),
        }),
      ]),
    );
  });

  it("delivers one object per message in event-driven mode, Base64 bodies decoded", async () => {
    const s = stack();
    const queue = s.queues.get("single-queue");
    queue?.send(Buffer.from('{"instance":"i-1"}').toString("base64"));
    queue?.send("plain text");
    s.runtime.start();
    await until(() => queue?.bodies().length === 0, "both messages handled");
    await s.runtime.stop();

    const events = callsOf("consumer").map((call) => call.event);
    expect(events.some(Array.isArray)).toBe(false);
    expect(events.flatMap(bodiesOf).sort()).toEqual(["plain text", '{"instance":"i-1"}']);
  });

  it("leaves a failed batch in the queue: redelivered after the visibility timeout, then dead-lettered", async () => {
    const s = stack();
    const queue = s.queues.get("apply-queue");
    queue?.send("poison");
    s.runtime.start();
    await until(() => callsOf("consumer").length === 1, "first delivery");
    await settle(s);
    expect(queue?.bodies()).toEqual(["poison"]);

    s.clock.advance(31_000);
    queue?.wake();
    await until(() => callsOf("consumer").length === 2, "redelivery");
    await settle(s);
    s.clock.advance(31_000);
    queue?.wake();
    await until(() => s.dlq.bodies().length === 1, "dead-lettering");
    await s.runtime.stop();

    expect(callsOf("consumer")).toHaveLength(2);
    expect(queue?.bodies()).toEqual([]);
    expect(s.dlq.bodies()).toEqual(["poison"]);
    expect(s.logger.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: "fc.queue-received", dequeueCounts: [1] }),
        expect.objectContaining({
          msg: "fc.queue-settled",
          invocation: "error",
          messages: "left for redelivery",
        }),
        expect.objectContaining({
          msg: "fc.queue-settled",
          dequeueCounts: [2],
          messages: "left for redelivery",
        }),
      ]),
    );
  });
});
