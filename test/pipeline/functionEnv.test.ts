import { FunctionEnvError, readFunctionEnv } from "../../functions/common/functionEnv";

describe("the functions' environment", () => {
  test("defaults for everything but the local stack's endpoints file", () => {
    const env = readFunctionEnv({});

    expect(env).toMatchObject({
      LOGTAIL_XACCT_NETWORK: "public",
      LOGTAIL_XACCT_HEARTBEAT_QUEUE: "logtail-xacct-heartbeat",
      LOGTAIL_XACCT_APPLY_QUEUE: "logtail-xacct-apply",
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
});
