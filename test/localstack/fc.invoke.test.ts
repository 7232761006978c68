import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type InvokeCommandIo, runInvokeCommand } from "../../localstack/fc";
import { callsOf, resetCalls } from "../fixtures/fc/functions/recorder";

const HUB = "1700000000000001";
const TEMPLATE = join(__dirname, "../fixtures/fc/s.yaml");

describe("logtail-xacct invoke", () => {
  let dir: string;
  let out: string;
  let err: string;
  const roles: Array<string | undefined> = [];

  const io = (overrides: Partial<InvokeCommandIo> = {}): InvokeCommandIo => ({
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    env: {},
    cwd: dir,
    roleCredentials: (caller, sts) => async (request) => {
      roles.push(request.role);
      expect(caller.accessKeyId).toBe("LTAI-hub");
      expect(sts).toBe("http://sts.localhost:4566");
      return { accessKeyId: "STS.role-key", accessKeySecret: "role-secret", securityToken: "role-token" };
    },
    ...overrides,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fc-invoke-"));
    out = "";
    err = "";
    roles.length = 0;
    resetCalls();
    writeFileSync(
      join(dir, "endpoints.json"),
      JSON.stringify({
        hubAccountId: HUB,
        accounts: [
          { id: HUB, name: "hub", accessKeyId: "LTAI-hub", accessKeySecret: "hub-secret" },
          {
            id: "1700000000000397",
            name: "spoke",
            accessKeyId: "LTAI-spoke",
            accessKeySecret: "spoke-secret",
          },
        ],
        endpoints: {
          sts: "http://sts.localhost:4566",
          mns: "http://{accountId}.mns.{region}.localhost:4566",
        },
      }),
    );
    writeFileSync(join(dir, "event.json"), '{"replayed": true}');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("invokes the function once with the file's bytes and the function role's keys", async () => {
    const code = await runInvokeCommand(
      {
        functionName: "fixture-echo",
        eventFile: "event.json",
        endpointsFile: "endpoints.json",
        template: TEMPLATE,
      },
      io(),
    );

    expect(code).toBe(0);
    expect(roles).toEqual(["acs:ram::1700000000000001:role/logtail-xacct-fc"]);
    const [call] = callsOf("echo");
    expect(call?.isBuffer).toBe(true);
    expect(call?.event).toEqual({ replayed: true });
    expect(call?.context).toMatchObject({ accountId: HUB, credentials: { accessKeyId: "STS.role-key" } });
    expect(call?.env.ALIBABA_CLOUD_SECURITY_TOKEN).toBe("role-token");
    expect(JSON.parse(out)).toMatchObject({ function: "fixture-echo", result: { keyId: "STS.role-key" } });
    expect(err).toContain('"msg":"fc.invocation"');
  });

  it("finds the function by its resource name too, and falls back to the hub's keys when STS refuses", async () => {
    const code = await runInvokeCommand(
      { functionName: "echo", eventFile: "event.json", endpointsFile: "endpoints.json", template: TEMPLATE },
      io({
        roleCredentials: () => () => Promise.reject(new Error("NoPermission: not trusted")),
      }),
    );
    expect(code).toBe(0);
    expect(err).toContain("warning: cannot assume acs:ram::1700000000000001:role/logtail-xacct-fc");
    expect(callsOf("echo")[0]?.context).toMatchObject({
      credentials: { accessKeyId: "LTAI-hub", securityToken: "" },
    });
  });

  it("exits 1 and says why when the handler fails", async () => {
    writeFileSync(join(dir, "event.json"), '"fail"');
    const code = await runInvokeCommand(
      {
        functionName: "fixture-flaky",
        eventFile: "event.json",
        endpointsFile: "endpoints.json",
        template: TEMPLATE,
      },
      io(),
    );
    expect(code).toBe(1);
    expect(err).toContain("fixture-flaky failed");
    expect(err).toContain("flaky failed on purpose");
  });

  it.each([
    ["an unknown function", { functionName: "nope" }, "no function nope"],
    ["a missing event file", { eventFile: "missing.json" }, "cannot read the event file"],
    ["a missing endpoints file", { endpointsFile: "missing.json" }, "cannot read the endpoints file"],
  ])("exits 1 on %s", async (_title, overrides, message) => {
    const code = await runInvokeCommand(
      {
        functionName: "fixture-echo",
        eventFile: "event.json",
        endpointsFile: "endpoints.json",
        template: TEMPLATE,
        ...overrides,
      },
      io(),
    );
    expect(code).toBe(1);
    expect(err).toContain(message);
  });

  it("reads the emulator's endpoints file: the hub is the account of the function's role", async () => {
    writeFileSync(
      join(dir, "endpoints.json"),
      JSON.stringify({
        version: 1,
        port: 4566,
        templates: {
          sts: "http://sts.localhost:4566",
          mns: "http://{accountId}.mns.{region}.localhost:4566",
        },
        accounts: [
          {
            id: "1700000000000397",
            name: "app-b",
            accessKeyId: "LTAI-spoke",
            accessKeySecret: "s",
            principalArn: "acs:ram::1700000000000397:user/emulator-admin",
            roles: [],
            sts: "http://sts.localhost:4566",
            regions: {},
          },
          {
            id: HUB,
            name: "central",
            accessKeyId: "LTAI-hub",
            accessKeySecret: "hub-secret",
            principalArn: `acs:ram::${HUB}:user/emulator-admin`,
            roles: [
              { name: "logtail-xacct-fc", arn: `acs:ram::${HUB}:role/logtail-xacct-fc`, trustedAccounts: [] },
            ],
            sts: "http://sts.localhost:4566",
            regions: { "cn-hangzhou": { mns: "http://1700000000000001.mns.cn-hangzhou.localhost:4566" } },
          },
        ],
      }),
    );
    const code = await runInvokeCommand(
      {
        functionName: "fixture-echo",
        eventFile: "event.json",
        endpointsFile: "endpoints.json",
        template: TEMPLATE,
      },
      io(),
    );
    expect(err).not.toContain("warning");
    expect(code).toBe(0);
    expect(callsOf("echo")[0]?.context).toMatchObject({ accountId: HUB });
  });

  it("refuses an endpoints file that does not say which account is the hub when the role does not either", async () => {
    writeFileSync(
      join(dir, "endpoints.json"),
      JSON.stringify({
        accounts: [
          { id: HUB, accessKeyId: "a", accessKeySecret: "b" },
          { id: "1700000000000397", accessKeyId: "c", accessKeySecret: "d" },
        ],
      }),
    );
    const code = await runInvokeCommand(
      {
        functionName: "fixture-ticker",
        eventFile: "event.json",
        endpointsFile: "endpoints.json",
        template: TEMPLATE,
      },
      io(),
    );
    expect(code).toBe(1);
    expect(err).toContain("set hubAccountId");
  });
});
