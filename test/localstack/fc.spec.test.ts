import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  HandlerLoadError,
  loadServerlessSpec,
  locateHandler,
  parseServerlessSpec,
  ServerlessSpecError,
} from "../../localstack/fc";

const FIXTURE_DIR = join(__dirname, "../fixtures/fc");
const FIXTURE = join(FIXTURE_DIR, "s.yaml");

describe("reading s.yaml (fc3)", () => {
  it("turns every fc3 resource into a function with its triggers, variables substituted", () => {
    const spec = loadServerlessSpec(FIXTURE, { env: { APP_STAGE: "ci" } });
    expect(spec.functions.map((fn) => fn.name)).toEqual([
      "fixture-echo",
      "fixture-flaky",
      "fixture-ticker",
      "fixture-consumer",
      "fixture-authorize",
    ]);
    const echo = spec.functions[0];
    expect(echo).toMatchObject({
      resource: "echo",
      region: "cn-hangzhou",
      runtime: "nodejs20",
      codeDir: join(FIXTURE_DIR, "functions/echo"),
      handler: "index.handler",
      memorySize: 256,
      timeout: 5,
      role: "acs:ram::1700000000000001:role/logtail-xacct-fc",
      environmentVariables: { APP_MODE: "local", APP_STAGE: "ci" },
    });
  });

  it("uses an env() default when the variable is not set", () => {
    const spec = loadServerlessSpec(FIXTURE, { env: {} });
    expect(spec.functions[0]?.environmentVariables.APP_STAGE).toBe("dev");
  });

  it("reads timer and eventbridge trigger configurations", () => {
    const spec = loadServerlessSpec(FIXTURE, { env: {} });
    const byName = new Map(spec.functions.map((fn) => [fn.resource, fn]));
    expect(byName.get("ticker")?.triggers).toEqual([
      {
        type: "timer",
        name: "every-five-minutes",
        cronExpression: "0 */5 * * * *",
        enabled: true,
        payload: "tick",
      },
    ]);
    expect(byName.get("flaky")?.triggers[0]).toMatchObject({ type: "timer", enabled: false });
    expect(byName.get("consumer")?.triggers).toEqual([
      expect.objectContaining({
        type: "eventbridge",
        name: "apply-queue",
        source: { kind: "mns", queueName: "apply-queue", base64Decode: false },
        mode: "event-streaming",
        batch: { count: 4, seconds: 0 },
      }),
      expect.objectContaining({
        name: "single-queue",
        source: { kind: "mns", queueName: "single-queue", base64Decode: true },
        mode: "event-driven",
        asyncInvocation: false,
      }),
    ]);
    expect(byName.get("authorize")?.triggers[0]).toMatchObject({
      type: "eventbridge",
      source: { kind: "default" },
      retry: { strategy: "BACKOFF_RETRY", maxRetries: 2 },
      deadLetterArn: "acs:mns:cn-hangzhou:1700000000000001:/queues/fixture-dlq",
    });
  });

  const base = (props: string, extra = ""): string => `edition: 3.0.0
${extra}
resources:
  f:
    component: fc3
    props:
${props}
`;
  const props = `      region: cn-hangzhou
      functionName: f
      runtime: nodejs20
      code: ./code
      handler: index.handler`;

  it.each([
    [
      "a missing env variable without default",
      base(`${props}\n      role: \${env(NOPE)}`),
      "props.role",
      "NOPE",
    ],
    ["an unknown var", base(`${props}\n      role: \${vars.nope}`), "props.role", "vars"],
    ["an unsupported expression", base(`${props}\n      role: \${file(x)}`), "props.role", "unsupported"],
    ["a missing handler", base(props.replace("      handler: index.handler", "")), "props.handler", ""],
    ["a bad handler", base(props.replace("index.handler", "index")), "props.handler", "<file>.<export>"],
    ["a wrong edition", base(props).replace("3.0.0", "2.0.0"), "edition", ""],
    [
      "a timer without cronExpression",
      base(
        `${props}\n      triggers:\n        - triggerName: t\n          triggerType: timer\n          triggerConfig: {enable: true}`,
      ),
      "triggers[0].triggerConfig.cronExpression",
      "",
    ],
    [
      "an event source that is not emulated",
      base(
        `${props}\n      triggers:\n        - triggerName: t\n          triggerType: eventbridge\n          triggerConfig:\n            eventRuleFilterPattern: "{}"\n            eventSourceConfig: {eventSourceType: Kafka}`,
      ),
      "eventSourceConfig",
      "Kafka",
    ],
  ])("refuses %s, saying where", (_title, text, where, reason) => {
    expect(() => parseServerlessSpec(text, "s.yaml", { env: {} })).toThrow(ServerlessSpecError);
    expect(() => parseServerlessSpec(text, "s.yaml", { env: {} })).toThrow(where);
    expect(() => parseServerlessSpec(text, "s.yaml", { env: {} })).toThrow(reason);
  });

  it("ignores resources of other components and keeps a whole-value variable's type", () => {
    const text = `edition: 3.0.0
vars:
  timeout: 60
resources:
  queue:
    component: mns
    props: {}
  f:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: f
      runtime: nodejs20
      code: ./code
      handler: index.handler
      timeout: \${vars.timeout}
      description: runs \${vars.timeout} s in \${config(AccountID)}
`;
    const spec = parseServerlessSpec(text, "/x/s.yaml", {
      env: {},
      config: { AccountID: "1700000000000001" },
    });
    expect(spec.functions).toHaveLength(1);
    expect(spec.functions[0]?.timeout).toBe(60);
    expect(spec.functions[0]?.codeDir).toBe("/x/code");
    // Unset: FC's one invocation per instance, and no limit on instances.
    expect(spec.functions[0]?.instanceConcurrency).toBe(1);
    expect(spec.functions[0]?.maxInstances).toBeUndefined();
  });

  it("reads a function's instance limit and invocations per instance", () => {
    const text = `edition: 3.0.0
vars:
  limit: 7
resources:
  f:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: f
      runtime: nodejs20
      code: ./code
      handler: index.handler
      instanceConcurrency: 2
      concurrencyConfig:
        reservedConcurrency: \${vars.limit}
`;
    const [fn] = parseServerlessSpec(text, "/x/s.yaml", { env: {} }).functions;
    expect(fn).toMatchObject({ instanceConcurrency: 2, maxInstances: 7 });
  });
});

describe("the bundle → source mapping", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fc-handler-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("maps ./dist/<name> to functions/<name>/index.ts", () => {
    expect(locateHandler(join(FIXTURE_DIR, "dist/flaky"), "index.handler")).toEqual({
      modulePath: join(FIXTURE_DIR, "functions/flaky/index.ts"),
      exportName: "handler",
    });
  });

  it("uses a code folder that holds the source itself", () => {
    expect(locateHandler(join(FIXTURE_DIR, "functions/echo"), "index.handler").modulePath).toBe(
      join(FIXTURE_DIR, "functions/echo/index.ts"),
    );
  });

  it("falls back to a built bundle, and says where it looked when nothing is there", () => {
    writeFileSync(join(dir, "main.js"), "exports.run = async () => 1;");
    expect(locateHandler(dir, "main.run")).toEqual({ modulePath: join(dir, "main.js"), exportName: "run" });
    expect(() => locateHandler(dir, "index.handler")).toThrow(HandlerLoadError);
    expect(() => locateHandler(dir, "index.handler")).toThrow(join(dir, "index.ts"));
  });
});
