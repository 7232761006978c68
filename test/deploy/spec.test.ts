/**
 * s.yaml as Serverless Devs reads it: parsed offline by its own parser (@serverless-devs/parse-spec)
 * with a throwaway access alias, every resource an fc3 function with the fields the component
 * requires, triggers complete, the pre-deploy build and queue steps present.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { packageFunctions } from "../../scripts/package";
import { HUB_QUEUES, hubQueueSpecs } from "../../shared/deploy/hubQueues";

const ROOT = join(__dirname, "../..");
const HUB = "1200000000000456";

interface Step {
  projectName: string;
  component: string;
  props: Record<string, unknown>;
}

let spec: { steps: Step[]; actions?: unknown[] };
let home: string;

beforeAll(async () => {
  // parse-spec resolves ${config('AccountID')} from the access file of `s config add`.
  home = mkdtempSync(join(tmpdir(), "ltx-s-home-"));
  mkdirSync(join(home, ".s"));
  // Encrypted as `s config add` writes them: the reader AES-decrypts every value, and a plain value
  // decrypts (with a random salt) to garbage that is now and then valid UTF-8 ("1{" for the UID).
  const { AES } = require("crypto-js") as {
    AES: { encrypt(text: string, key: string): { toString(): string } };
  };
  const { CRYPTO_STRING } = require("@serverless-devs/credential/lib/constant") as { CRYPTO_STRING: string };
  const sealed = (value: string) => JSON.stringify(AES.encrypt(value, CRYPTO_STRING).toString());
  writeFileSync(
    join(home, ".s", "access.yaml"),
    `default:\n  AccountID: ${sealed(HUB)}\n  AccessKeyID: ${sealed("LTAIexampleOnly01")}\n  AccessKeySecret: ${sealed("example-only")}\n`,
  );
  // The Serverless Devs credential module narrates its alias lookup on console.debug.
  jest.spyOn(console, "debug").mockImplementation(() => undefined);
  // Read when the Serverless Devs modules load: set before they are imported.
  process.env.serverless_devs_config_home = home;
  const { default: ParseSpec } =
    require("@serverless-devs/parse-spec") as typeof import("@serverless-devs/parse-spec");
  spec = (await new ParseSpec(join(ROOT, "s.yaml"), { argv: ["deploy"] }).start()) as unknown as typeof spec;
});

afterAll(() => {
  delete process.env.serverless_devs_config_home;
  rmSync(home, { recursive: true, force: true });
});

const FUNCTIONS = ["heartbeat", "reconcile", "apply", "authorize"];

describe("s.yaml", () => {
  test("parses with Serverless Devs' own parser into the four fc3 functions; authorize has no trigger; reconcile has a timer and a queue", () => {
    expect(spec.steps.map((step) => step.projectName)).toEqual(FUNCTIONS);
    expect(spec.steps.every((step) => step.component === "fc3")).toBe(true);
    const kinds = spec.steps.map((step) =>
      ((step.props.triggers as Array<{ triggerType: string }>) ?? []).map((t) => t.triggerType).join(","),
    );
    expect(kinds).toEqual(["timer", "timer,eventbridge", "eventbridge", ""]);
  });

  test("authorize, invoked asynchronously by the hub bus's rule, sends what fails past FC's retries to the dead-letter queue", () => {
    const props = spec.steps.find((step) => step.projectName === "authorize")?.props ?? {};
    expect(props.asyncInvokeConfig).toEqual({
      maxAsyncRetryAttempts: 3,
      destinationConfig: {
        onFailure: { destination: `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-dead-letter` },
      },
    });
  });

  test.each(FUNCTIONS)(
    "%s has the props fc3 requires, sized, with the function role and its queues",
    (name) => {
      const step = spec.steps.find((s) => s.projectName === name);
      const props = step?.props ?? {};
      expect(props).toMatchObject({
        region: "cn-hangzhou",
        functionName: `logtail-xacct-${name}`,
        runtime: "nodejs20",
        code: `./dist/${name}`,
        handler: "index.handler",
        role: `acs:ram::${HUB}:role/logtail-xacct-fc`,
      });
      expect(props.memorySize).toBe(512);
      expect(Number(props.timeout)).toBeGreaterThanOrEqual(300);
      const env = props.environmentVariables as Record<string, string>;
      expect(env).toMatchObject({
        LOGTAIL_XACCT_HEARTBEAT_QUEUE: "logtail-xacct-heartbeat",
        LOGTAIL_XACCT_APPLY_QUEUE: "logtail-xacct-apply",
        LOGTAIL_XACCT_RECONCILE_QUEUE: "logtail-xacct-reconcile",
        LOGTAIL_XACCT_DEAD_LETTER_QUEUE: "logtail-xacct-dead-letter",
        // The bundle's source map is used for stack traces only when node is told to.
        NODE_OPTIONS: "--enable-source-maps",
      });
      // FC allows 4 KB of environment in all.
      expect(Buffer.byteLength(JSON.stringify(env))).toBeLessThan(4096);
    },
  );

  test("one invocation per instance, a limit on every function, and budgets split among all of them", () => {
    const limits = spec.steps.map((step) => {
      const props = step.props as {
        instanceConcurrency?: unknown;
        concurrencyConfig?: { reservedConcurrency?: unknown };
        environmentVariables: Record<string, unknown>;
      };
      expect([step.projectName, props.instanceConcurrency]).toEqual([step.projectName, 1]);
      const reserved = Number(props.concurrencyConfig?.reservedConcurrency);
      expect(Number.isInteger(reserved) && reserved >= 1).toBe(true);
      return { reserved, sharing: Number(props.environmentVariables.LOGTAIL_XACCT_BUDGET_INSTANCES) };
    });
    // Each instance keeps to 1/N of every budget: N must count every instance that can run at once.
    const total = limits.reduce((sum, limit) => sum + limit.reserved, 0);
    expect(limits.map((limit) => limit.sharing)).toEqual(limits.map(() => total));
  });

  test("every trigger has the fields the fc3 component requires for its type", () => {
    for (const step of spec.steps) {
      for (const trigger of (step.props.triggers ?? []) as Array<Record<string, unknown>>) {
        expect(trigger).toEqual(
          expect.objectContaining({ triggerName: expect.any(String), triggerType: expect.any(String) }),
        );
        const config = trigger.triggerConfig as Record<string, unknown>;
        if (trigger.triggerType === "timer") {
          expect(config).toEqual(
            expect.objectContaining({ cronExpression: expect.stringMatching(/^@every \d+m$/), enable: true }),
          );
        } else {
          expect(config).toEqual(
            expect.objectContaining({
              triggerEnable: true,
              asyncInvocationType: expect.any(Boolean),
              eventRuleFilterPattern: expect.any(String),
              eventSourceConfig: expect.objectContaining({ eventSourceType: expect.any(String) }),
            }),
          );
          JSON.parse(String(config.eventRuleFilterPattern));
          const run = config.runOptions as { deadLetterQueue?: { Arn: string } };
          expect(run.deadLetterQueue?.Arn).toBe(
            `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-dead-letter`,
          );
        }
      }
    }
  });

  test("each queue trigger reads a hub work queue whose visibility timeout covers its function's timeout", () => {
    const consumed: string[] = [];
    for (const step of spec.steps) {
      for (const trigger of (step.props.triggers ?? []) as Array<Record<string, unknown>>) {
        if (trigger.triggerType !== "eventbridge") continue;
        const source = (trigger.triggerConfig as { eventSourceConfig: { eventSourceParameters: unknown } })
          .eventSourceConfig.eventSourceParameters as { sourceMNSParameters: { QueueName: string } };
        const queue = source.sourceMNSParameters.QueueName;
        consumed.push(queue);
        const visibility = hubQueueSpecs().find((q) => q.name === queue)?.attributes.VisibilityTimeout;
        // A run still working when its messages turn visible again would see them handled twice.
        expect([queue, Number(visibility) >= Number(step.props.timeout)]).toEqual([queue, true]);
      }
    }
    expect(consumed.sort()).toEqual([HUB_QUEUES.apply, HUB_QUEUES.reconcile]);
  });

  test("the deploy first builds the bundles (validating the routes file), then makes the queues", () => {
    const text = JSON.stringify(spec.actions ?? spec);
    expect(text).toContain("npm run package -- --config config/routes.yaml");
    expect(text).toContain("npx logtail-xacct queues --config config/routes.yaml");
  });

  test("every resource's code path holds, after the build, a bundle whose handler export is a function", async () => {
    const out = mkdtempSync(join(tmpdir(), "ltx-spec-dist-"));
    try {
      await packageFunctions({
        outDir: out,
        config: join(ROOT, "config/routes.example.yaml"),
        log: () => undefined,
      });
      for (const step of spec.steps) {
        const code = String(step.props.code);
        const [file = "", exportName = ""] = String(step.props.handler).split(".");
        expect(code).toMatch(/^\.\/dist\/[a-z]+$/);
        const bundle = join(out, basename(code), `${file}.js`);
        expect(existsSync(bundle)).toBe(true);
        const loaded = require(bundle) as Record<string, unknown>;
        expect(typeof loaded[exportName]).toBe("function");
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
