import { readFile } from "node:fs/promises";
import {
  alibabaEndpoints,
  credentialsFromFcContext,
  localAccountCredentials,
  localEndpoints,
  parseEndpointsDocument,
} from "../../shared/adapters";
import { hub, type Kit, startKit } from "./adapterKit";

describe("Alibaba's endpoints", () => {
  it("resolves the public https endpoints by default", () => {
    const endpoints = alibabaEndpoints();
    expect(endpoints.ecs("cn-shanghai")).toEqual({ host: "ecs.cn-shanghai.aliyuncs.com", protocol: "https" });
    expect(endpoints.sls("cn-shanghai")).toEqual({ host: "cn-shanghai.log.aliyuncs.com", protocol: "https" });
    expect(endpoints.sts("cn-shanghai")).toEqual({ host: "sts.aliyuncs.com", protocol: "https" });
    expect(endpoints.mns(hub.id, "cn-shanghai")).toBe(`https://${hub.id}.mns.cn-shanghai.aliyuncs.com`);
    expect(endpoints.slsDataEndpoint("cn-shanghai")).toBe("cn-shanghai-intranet.log.aliyuncs.com");
    // A route across regions (routes file `network: internet`): the public endpoint.
    expect(endpoints.slsDataEndpoint("cn-shanghai", "internet")).toBe("cn-shanghai.log.aliyuncs.com");
    expect(endpoints.slsDataEndpoint("cn-shanghai", "intranet")).toBe(
      "cn-shanghai-intranet.log.aliyuncs.com",
    );
  });

  it("resolves the VPC endpoints for functions attached to a VPC", () => {
    const endpoints = alibabaEndpoints({ network: "vpc", slsDataNetwork: "public" });
    expect(endpoints.ecs("cn-beijing").host).toBe("ecs-vpc.cn-beijing.aliyuncs.com");
    expect(endpoints.sls("cn-beijing").host).toBe("cn-beijing-intranet.log.aliyuncs.com");
    expect(endpoints.sts("cn-beijing").host).toBe("sts-vpc.cn-beijing.aliyuncs.com");
    expect(endpoints.mns(hub.id, "cn-beijing")).toBe(`http://${hub.id}.mns.cn-beijing-internal.aliyuncs.com`);
    expect(endpoints.slsDataEndpoint("cn-beijing")).toBe("cn-beijing.log.aliyuncs.com");
  });
});

describe("the local stack's endpoints file", () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(async () => {
    await kit.emulator.stop();
  });

  it("resolves every service to the emulator over http, for any region", async () => {
    const document = parseEndpointsDocument(JSON.parse(await readFile(kit.endpointsFile, "utf8")));
    const endpoints = localEndpoints(document);
    const port = kit.emulator.port;
    expect(endpoints.ecs("eu-central-1")).toEqual({
      host: `ecs.eu-central-1.localhost:${port}`,
      protocol: "http",
    });
    expect(endpoints.sls("cn-hangzhou")).toEqual({
      host: `cn-hangzhou.log.localhost:${port}`,
      protocol: "http",
    });
    expect(endpoints.sts("cn-hangzhou")).toEqual({ host: `sts.localhost:${port}`, protocol: "http" });
    expect(endpoints.mns(hub.id, "cn-hangzhou")).toBe(`http://${hub.id}.mns.cn-hangzhou.localhost:${port}`);
    expect(endpoints.slsDataEndpoint("cn-hangzhou")).toBe(`cn-hangzhou.log.localhost:${port}`);
  });

  it("gives the seeded key of an account, and refuses an unknown one", () => {
    const document = parseEndpointsDocument(kit.emulator.endpoints);
    expect(localAccountCredentials(document, hub.id)).toEqual({
      accessKeyId: hub.accessKeyId,
      accessKeySecret: hub.accessKeySecret,
    });
    expect(() => localAccountCredentials(document, "9999999999999999")).toThrow(/not in the endpoints file/);
  });

  it("refuses a document that is not an endpoints file", () => {
    expect(() => parseEndpointsDocument({ version: 2 })).toThrow();
  });
});

describe("the hub's credentials in Function Compute", () => {
  it("reads them from the invocation context", () => {
    const context = {
      requestId: "r-1",
      credentials: { accessKeyId: "STS.fc", accessKeySecret: "secret", securityToken: "CAIS-token" },
    };
    expect(credentialsFromFcContext(context)).toEqual({
      accessKeyId: "STS.fc",
      accessKeySecret: "secret",
      securityToken: "CAIS-token",
    });
  });

  it("fails loudly when the function has no role", () => {
    expect(() => credentialsFromFcContext({ requestId: "r-1" })).toThrow(/give the function a role/);
  });
});
