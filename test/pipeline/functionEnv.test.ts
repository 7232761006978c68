import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FunctionEnvError, readFunctionEnv } from "../../functions/common/functionEnv";
import { handler as heartbeat } from "../../functions/heartbeat/index";

describe("the functions' environment", () => {
  test("defaults for everything but the local stack's endpoints file", () => {
    const env = readFunctionEnv({});

    expect(env).toMatchObject({
      LOGTAIL_XACCT_NETWORK: "public",
      LOGTAIL_XACCT_HEARTBEAT_QUEUE: "logtail-xacct-heartbeat",
      LOGTAIL_XACCT_APPLY_QUEUE: "logtail-xacct-apply",
      LOGTAIL_XACCT_RECONCILE_QUEUE: "logtail-xacct-reconcile",
    });
    expect(env.LOGTAIL_XACCT_ENDPOINTS_FILE).toBeUndefined();
  });

  test("a bad value is an error naming the variable", () => {
    expect(() => readFunctionEnv({ LOGTAIL_XACCT_APPLY_QUEUE: "apply queue; rm" })).toThrow(FunctionEnvError);
    expect(() => readFunctionEnv({ LOGTAIL_XACCT_APPLY_QUEUE: "apply queue; rm" })).toThrow(
      /^environment variable LOGTAIL_XACCT_APPLY_QUEUE: must be an MNS queue name$/,
    );
    expect(() => readFunctionEnv({ LOGTAIL_XACCT_NETWORK: "intranet" })).toThrow(/LOGTAIL_XACCT_NETWORK/);
  });

  test("the budgets are the deployment's, read as given, with the instances that share them", () => {
    const env = readFunctionEnv({
      LOGTAIL_XACCT_API_BUDGETS: "ecs=300,ecs:RunCommand=60",
      LOGTAIL_XACCT_BUDGET_INSTANCES: "27",
    });
    expect(env.LOGTAIL_XACCT_API_BUDGETS).toEqual([
      { service: "ecs", perMinute: 300 },
      { service: "ecs", operation: "RunCommand", perMinute: 60 },
    ]);
    expect(env.LOGTAIL_XACCT_BUDGET_INSTANCES).toBe(27);
    // Unset: one instance (a single process, as the operator's CLI).
    expect(readFunctionEnv({}).LOGTAIL_XACCT_BUDGET_INSTANCES).toBe(1);
  });

  test("a budget too small to leave each instance a call of its even share is an error naming it", () => {
    expect(() =>
      readFunctionEnv({
        LOGTAIL_XACCT_API_BUDGETS: "ecs:RunCommand=20",
        LOGTAIL_XACCT_BUDGET_INSTANCES: "27",
      }),
    ).toThrow(
      /^environment variable LOGTAIL_XACCT_API_BUDGETS: ecs:RunCommand=20 shared by 27 function instances leaves less than one call per minute each/,
    );
    expect(() => readFunctionEnv({ LOGTAIL_XACCT_BUDGET_INSTANCES: "0" })).toThrow(
      /LOGTAIL_XACCT_BUDGET_INSTANCES/,
    );
  });
});

describe("a function whose environment is bad", () => {
  const saved = { ...process.env };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ltx-env-"));
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  test("says why in its log file before it fails the invocation", async () => {
    const logFile = join(dir, "functions.log");
    process.env.LOGTAIL_XACCT_LOG_FILE = logFile;
    process.env.LOGTAIL_XACCT_API_BUDGETS = "ecs:TagResources=30";
    process.env.LOGTAIL_XACCT_BUDGET_INSTANCES = "35";

    await expect(heartbeat(Buffer.from(""), {})).rejects.toThrow(FunctionEnvError);

    const lines = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({
        function: "heartbeat",
        action: "environment",
        outcome: "failed",
        detail: expect.stringMatching(/LOGTAIL_XACCT_API_BUDGETS.*TagResources/),
      }),
    ]);
  });
});
