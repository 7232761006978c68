import http from "node:http";
import { AccountStore } from "../../emulator/core/accounts";
import { EmulatorClock } from "../../emulator/core/clock";
import { LocalEventBridge, roleTrust } from "../../localstack/eventbridge";
import {
  cachingProvider,
  emulatorRoleCredentials,
  LocalFcError,
  stsRoleCredentials,
} from "../../localstack/fc";

const HUB = "1700000000000001";
const SPOKE = "1700000000000397";
const request = (role?: string) => ({
  functionName: "authorize",
  accountId: HUB,
  region: "cn-hangzhou",
  ...(role ? { role } : {}),
});

describe("function role credentials from the emulator's accounts", () => {
  function accounts(): { store: AccountStore; clock: EmulatorClock } {
    const clock = new EmulatorClock({ startAt: Date.UTC(2026, 0, 1), scale: 0 });
    const store = new AccountStore(clock);
    store.addAccount({
      id: HUB,
      name: "hub",
      roles: [
        { name: "logtail-xacct-fc", trustedServices: ["fc.aliyuncs.com"] },
        { name: "not-for-fc", trustedAccounts: [HUB] },
      ],
    });
    return { store, clock };
  }

  it("issues temporary keys of the function's role that the emulator then recognizes", async () => {
    const { store } = accounts();
    const provider = emulatorRoleCredentials(store);
    const keys = await provider(request(`acs:ram::${HUB}:role/logtail-xacct-fc`));
    expect(keys.securityToken).not.toBe("");
    expect(store.lookupKey(keys.accessKeyId)).toMatchObject({
      accountId: HUB,
      arn: `acs:ram::${HUB}:assumed-role/logtail-xacct-fc/fc-authorize`,
      securityToken: keys.securityToken,
    });
  });

  it.each([
    [undefined, "has no role"],
    [`acs:ram::${HUB}:role/missing`, "does not exist"],
    [`acs:ram::${HUB}:role/not-for-fc`, "does not trust fc.aliyuncs.com"],
  ])("refuses %s", async (role, reason) => {
    const { store } = accounts();
    await expect(emulatorRoleCredentials(store)(request(role))).rejects.toThrow(LocalFcError);
    await expect(emulatorRoleCredentials(store)(request(role))).rejects.toThrow(reason);
  });

  it("reuses keys until shortly before they expire", async () => {
    const { store, clock } = accounts();
    const provider = cachingProvider(emulatorRoleCredentials(store, 900), clock, 300_000);
    const role = `acs:ram::${HUB}:role/logtail-xacct-fc`;
    const first = await provider(request(role));
    clock.advance(500_000);
    expect(await provider(request(role))).toBe(first);
    clock.advance(200_000);
    expect((await provider(request(role))).accessKeyId).not.toBe(first.accessKeyId);
  });
});

describe("cross-account trust from the emulator's RAM roles", () => {
  it("lets a spoke publish to the hub only through a role that trusts it", async () => {
    const clock = new EmulatorClock({ startAt: 0, scale: 0 });
    const store = new AccountStore(clock);
    store.addAccount({
      id: HUB,
      name: "hub",
      roles: [
        { name: "forwarder", trustedServices: [`${SPOKE}@eventbridge.aliyuncs.com`] },
        { name: "other", trustedAccounts: ["1700000000000999"] },
      ],
    });
    const trust = roleTrust(store);
    expect(trust(`acs:ram::${HUB}:role/forwarder`, SPOKE)).toBe(true);
    expect(trust(`acs:ram::${HUB}:role/other`, SPOKE)).toBe(false);
    expect(trust(`acs:ram::${HUB}:role/missing`, SPOKE)).toBe(false);
    expect(trust("not-an-arn", SPOKE)).toBe(false);

    const bridge = new LocalEventBridge({ trust, scheduler: clock });
    const delivered: string[] = [];
    bridge.putRule({
      accountId: HUB,
      region: "cn-hangzhou",
      busName: "default",
      name: "sink",
      pattern: {},
      targets: [{ kind: "function", id: "sink", deliver: (event) => void delivered.push(event.id) }],
    });
    for (const role of ["forwarder", "other"]) {
      bridge.putRule({
        accountId: SPOKE,
        region: "cn-hangzhou",
        busName: "default",
        name: `via-${role}`,
        pattern: { id: [role] },
        targets: [
          {
            kind: "bus",
            id: "hub",
            accountId: HUB,
            region: "cn-hangzhou",
            busName: "default",
            roleArn: `acs:ram::${HUB}:role/${role}`,
          },
        ],
      });
    }
    bridge.putEvents(
      { accountId: SPOKE, region: "cn-hangzhou", busName: "default" },
      ["forwarder", "other"].map((id) => ({
        id,
        source: "acs.ecs",
        type: "t",
        time: "2026-01-01T00:00:00Z",
        data: {},
      })),
    );
    await bridge.idle();
    expect(delivered).toEqual(["forwarder"]);
    expect(bridge.deadLetters.map((letter) => letter.event.id)).toEqual(["other"]);
  });
});

describe("STS AssumeRole through the official SDK", () => {
  it("sends AssumeRole for the function's role with the caller's keys and maps the answer", async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        seen.push(
          `${String(req.headers["x-acs-action"])} ${req.url ?? ""} ${body} ${req.headers.authorization ?? ""}`,
        );
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            RequestId: "R1",
            AssumedRoleUser: { Arn: "x", AssumedRoleId: "y" },
            Credentials: {
              AccessKeyId: "STS.issued",
              AccessKeySecret: "issued-secret",
              SecurityToken: "issued-token",
              Expiration: "2026-01-01T01:00:00Z",
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    const { port } = address;
    try {
      const provider = stsRoleCredentials({
        endpoint: `http://127.0.0.1:${port}`,
        caller: { accessKeyId: "LTAI-hub", accessKeySecret: "hub-secret", securityToken: "" },
      });
      const keys = await provider(request(`acs:ram::${HUB}:role/logtail-xacct-fc`));
      expect(keys).toEqual({
        accessKeyId: "STS.issued",
        accessKeySecret: "issued-secret",
        securityToken: "issued-token",
        expiresAt: Date.parse("2026-01-01T01:00:00Z"),
      });
      const call = decodeURIComponent(seen.join("\n"));
      expect(call).toContain("AssumeRole");
      expect(call).toContain(`acs:ram::${HUB}:role/logtail-xacct-fc`);
      expect(call).toContain("fc-authorize");
      expect(call).toContain("LTAI-hub");
      // A function without a role keeps the caller's keys.
      expect(await provider(request())).toMatchObject({ accessKeyId: "LTAI-hub" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
