import { createHmac } from "node:crypto";
import SlsGateway from "@alicloud/gateway-sls";
import type { ServiceRequest } from "../../emulator/core/types";
import { v1StringToSign } from "../../emulator/sls/auth";
import { SlsBackend } from "../../emulator/sls/backend";
import { parseQuery, parseSlsHost } from "../../emulator/sls/protocol";
import { routeSlsRequest } from "../../emulator/sls/routing";
import { ManualClock } from "./serviceHarness";

function request(overrides: Partial<ServiceRequest>): ServiceRequest {
  return {
    method: "GET",
    rawPath: "/",
    path: "/",
    rawQuery: "",
    query: {},
    headers: {},
    host: "cn-hangzhou.log.localhost",
    body: Buffer.alloc(0),
    ...overrides,
  };
}

describe("SLS host names", () => {
  it("reads the region, and the project when the host carries one", () => {
    expect(parseSlsHost("cn-hangzhou.log.localhost")).toEqual({ region: "cn-hangzhou", project: undefined });
    expect(parseSlsHost("hub-logs.cn-shanghai.log.localhost")).toEqual({
      region: "cn-shanghai",
      project: "hub-logs",
    });
    expect(parseSlsHost("hub-logs.cn-shanghai-intranet.log.localhost")).toEqual({
      region: "cn-shanghai",
      project: "hub-logs",
    });
  });

  it("refuses hosts with too many labels", () => {
    expect(() => parseSlsHost("a.b.c.log.localhost")).toThrow(
      expect.objectContaining({ code: "InvalidHost" }),
    );
  });
});

describe("SLS v1 string to sign", () => {
  it("signs exactly what the official gateway signs, query values unencoded and sorted", async () => {
    const headers = {
      "content-md5": "0123456789ABCDEF0123456789ABCDEF",
      "content-type": "application/json",
      date: "Tue, 24 Nov 2026 16:00:00 GMT",
      "x-log-apiversion": "0.6.0",
      "x-log-bodyrawsize": "12",
      "x-log-signaturemethod": "hmac-sha256",
      "x-acs-security-token": "token",
    };
    const query = { size: "500", offset: "0", groupName: "a b" };
    const expected = await new SlsGateway().getSignature("/machinegroups", "GET", query, headers, "secret");
    const req = request({
      path: "/machinegroups",
      rawPath: "/machinegroups",
      rawQuery: "size=500&offset=0&groupName=a%20b",
      headers,
    });
    const ours = createHmac("sha256", "secret")
      .update(v1StringToSign(req, parseQuery(req.rawQuery)))
      .digest("base64");
    expect(ours).toBe(expected);
  });
});

describe("SLS backend", () => {
  const scope = (accountId: string) => ({ accountId, region: "cn-hangzhou", action: "Test" });

  function seeded(): { backend: SlsBackend; clock: ManualClock } {
    const clock = new ManualClock();
    const backend = new SlsBackend(clock);
    backend.createProject(scope("1"), { projectName: "hub", description: "" });
    backend.createLogstore(scope("1"), "hub", { logstoreName: "app" });
    return { backend, clock };
  }

  it("matches `ip` machine groups by the heartbeat's IP", () => {
    const { backend } = seeded();
    backend.createMachineGroup(scope("1"), "hub", {
      groupName: "by-ip",
      machineIdentifyType: "ip",
      machineList: ["10.1.1.1"],
    });
    const machine = { ip: "10.1.1.1", uuid: "U-1", hostId: "h" };
    backend.recordHeartbeat({
      region: "cn-hangzhou",
      authorizedAccounts: ["1"],
      userDefinedIds: [],
      machine,
    });
    expect(backend.listMachines(scope("1"), "hub", "by-ip", { offset: 0, size: 10 }).total).toBe(1);
    backend.forgetMachine("cn-hangzhou", "u-1");
    expect(backend.listMachines(scope("1"), "hub", "by-ip", { offset: 0, size: 10 }).total).toBe(0);
  });

  it("fails a copy whose sink project does not exist in the sink's region", () => {
    const { backend, clock } = seeded();
    const etl = backend.createEtl(scope("1"), "hub", {
      name: "copy",
      displayName: "copy",
      configuration: {
        script: "",
        lang: "SPL",
        logstore: "app",
        roleArn: "acs:ram::1:role/read",
        fromTime: 1,
        toTime: 2,
        sinks: [
          {
            name: "s",
            project: "hub",
            logstore: "app",
            endpoint: "cn-beijing.log.aliyuncs.com",
            roleArn: "acs:ram::1:role/write",
          },
        ],
      },
    });
    clock.advance(backend.settings.etlStartingMs);
    expect(backend.etlStatus(etl)).toBe("FAILED");
    expect(backend.etlFailure(etl)).toContain("does not exist in cn-beijing");
  });

  it("restarts a finished job on StartETL", () => {
    const { backend, clock } = seeded();
    const etl = backend.createEtl(scope("1"), "hub", {
      name: "copy",
      displayName: "copy",
      configuration: {
        script: "*",
        lang: "SPL",
        logstore: "app",
        roleArn: "acs:ram::1:role/read",
        fromTime: 0,
        toTime: 60,
        sinks: [
          {
            name: "s",
            project: "hub",
            logstore: "app",
            endpoint: "cn-hangzhou.log.aliyuncs.com",
            roleArn: "acs:ram::1:role/w",
          },
        ],
      },
    });
    clock.advance(backend.settings.etlStartingMs + backend.settings.etlMinRunMs);
    expect(backend.etlStatus(etl)).toBe("SUCCEEDED");
    backend.startEtl(scope("1"), "hub", "copy");
    expect(backend.etlStatus(etl)).toBe("STARTING");
  });
});

describe("SLS routing", () => {
  it("accepts CreateProject on the bare endpoint (official TS SDK) and on the project host (Go/Python SDKs)", () => {
    expect(routeSlsRequest("POST", "/", false, []).operation).toBe("CreateProject");
    expect(routeSlsRequest("POST", "/", true, []).operation).toBe("CreateProject");
  });

  it("tells StartETL and StopETL from UpdateETL by the action query", () => {
    const action = (value: string) => [{ key: "action", value }];
    expect(routeSlsRequest("PUT", "/etls/job", true, action("START")).operation).toBe("StartETL");
    expect(routeSlsRequest("PUT", "/etls/job", true, action("STOP")).operation).toBe("StopETL");
    expect(routeSlsRequest("PUT", "/etls/job", true, []).operation).toBe("UpdateETL");
    expect(() => routeSlsRequest("GET", "/alerts", true, [])).toThrow(
      expect.objectContaining({ code: "OperationNotSupported" }),
    );
  });
});
