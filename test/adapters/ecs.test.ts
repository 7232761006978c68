import type { CommandExecutor } from "../../emulator/ecs/executor";
import { runCommandClientToken } from "../../shared/adapters";
import type { RenderedHostCommand } from "../../shared/hostscript/hostCommand";
import type { EcsPort, InvocationResults } from "../../shared/ports";
import { calls, hub, type Kit, region, spoke, startKit } from "./adapterKit";

let kit: Kit;
let ecs: EcsPort;
let spokeIds: string[];

const echoExecutor: CommandExecutor = {
  execute: async (execution) => ({
    kind: "exited",
    exitCode: 0,
    output: `{"host":"${execution.target.instanceId}","note":"<&> ünïcode"}\n`,
  }),
};

const command = (script: string): RenderedHostCommand => ({
  type: "RunShellScript",
  contentEncoding: "Base64",
  commandContent: Buffer.from(script).toString("base64"),
  timeoutSeconds: 60,
});

beforeAll(async () => {
  kit = await startKit();
  kit.emulator.setCommandExecutor(echoExecutor);
  ecs = (await kit.adapters()).ecs({ accountId: spoke.id, region });
  spokeIds = (await ecs.describeInstances()).map((instance) => instance.instanceId).sort();
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(() => {
  kit.emulator.resetMetrics();
});

async function settle(invokeId: string): Promise<InvocationResults> {
  for (let i = 0; i < 50; i += 1) {
    const results = await ecs.invocationResults(invokeId);
    if (results.finished) return results;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`invocation ${invokeId} did not finish`);
}

describe("describeInstances", () => {
  it("reads every page: 120 instances in two DescribeInstances calls of 100", async () => {
    const instances = await ecs.describeInstances();
    expect(instances).toHaveLength(120);
    expect(calls(kit.emulator, "DescribeInstances")).toBe(2);
    expect(instances.find((instance) => instance.instanceId === "i-spoke00000000web01")).toEqual({
      instanceId: "i-spoke00000000web01",
      accountId: spoke.id,
      region,
      os: "linux",
      status: "Running",
      serialNumber: expect.stringMatching(/^[0-9a-f-]{36}$/i),
      privateIps: ["10.0.0.11"],
      tags: { "logtail-xacct-route": "web" },
    });
    expect(instances.find((instance) => instance.instanceId === "i-spoke0000000win001")?.os).toBe("windows");
  });

  it("filters by tag key, and by key and value", async () => {
    expect((await ecs.describeInstances({ tagKey: "logtail-xacct-route" })).map((i) => i.instanceId)).toEqual(
      ["i-spoke00000000web01"],
    );
    expect(await ecs.describeInstances({ tagKey: "logtail-xacct-route", tagValue: "db" })).toEqual([]);
    expect(await ecs.describeInstances({ tagKey: "team", tagValue: "bulk" })).toHaveLength(118);
  });

  it("describes any number of ids, 100 per call", async () => {
    const instances = await ecs.describeInstances({ instanceIds: spokeIds });
    expect(instances.map((instance) => instance.instanceId).sort()).toEqual(spokeIds);
    expect(calls(kit.emulator, "DescribeInstances")).toBe(2);
  });

  it("sees only its own account's instances", async () => {
    const hubEcs = (await kit.adapters()).ecs({ accountId: hub.id, region });
    expect((await hubEcs.describeInstances()).map((instance) => instance.instanceId)).toEqual([
      "i-hub000000000000001",
    ]);
    expect(await hubEcs.describeInstances({ instanceIds: ["i-spoke00000000web01"] })).toEqual([]);
  });
});

describe("cloudAssistantStatus", () => {
  it("asks 50 ids per call and reports who is online", async () => {
    const others = spokeIds.filter((id) => !id.startsWith("i-spoke0000000"));
    const ids = others.slice(0, 58).concat("i-spoke0000000win001", "i-spoke00000000web01");
    const status = await ecs.cloudAssistantStatus(ids);
    expect(calls(kit.emulator, "DescribeCloudAssistantStatus")).toBe(2);
    expect(status.size).toBe(60);
    expect(status.get("i-spoke0000000win001")).toBe(false);
    expect(status.get("i-spoke00000000web01")).toBe(true);
  });
});

describe("tags", () => {
  it("tags and untags 60 instances in two calls each", async () => {
    const ids = spokeIds.filter((id) => id !== "i-spoke00000000web01").slice(0, 60);
    await ecs.tagInstances(ids, { "logtail-xacct-status": "pending" });
    expect(calls(kit.emulator, "TagResources")).toBe(2);
    expect(await ecs.describeInstances({ tagKey: "logtail-xacct-status", tagValue: "pending" })).toHaveLength(
      60,
    );

    await ecs.untagInstances(ids, ["logtail-xacct-status"]);
    expect(calls(kit.emulator, "UntagResources")).toBe(2);
    expect(await ecs.describeInstances({ tagKey: "logtail-xacct-status" })).toEqual([]);
  });
});

describe("runCommand and invocationResults", () => {
  it("runs on 119 instances with two RunCommand calls and reads all 100 results of one in a single call", async () => {
    const linux = spokeIds.filter((id) => id !== "i-spoke0000000win001");
    const invocations = await ecs.runCommand(command("echo batch"), linux, { attemptKey: "batch-1" });
    expect(calls(kit.emulator, "RunCommand")).toBe(2);
    expect(invocations.map((invocation) => invocation.instanceIds.length)).toEqual([100, 19]);

    const [first, second] = invocations;
    if (first === undefined || second === undefined) throw new Error("no invocation");
    await settle(first.invokeId);
    kit.emulator.resetMetrics();
    const results = await ecs.invocationResults(first.invokeId);
    expect(calls(kit.emulator, "DescribeInvocations")).toBe(1);
    expect(results.finished).toBe(true);
    expect(results.results).toHaveLength(100);
    expect(results.results.every((result) => result.status === "Success")).toBe(true);
    const all = [...results.results, ...(await settle(second.invokeId)).results];
    const web = all.find((result) => result.instanceId === "i-spoke00000000web01");
    expect(web).toMatchObject({ status: "Success", finished: true, exitCode: 0, dropped: 0 });
    expect(web?.output).toBe('{"host":"i-spoke00000000web01","note":"<&> ünïcode"}\n');
  });

  it("reports Cloud Assistant's per-instance error when the agent is offline", async () => {
    const powershell = { ...command("Write-Output hi"), type: "RunPowerShellScript" as const };
    const [invocation] = await ecs.runCommand(powershell, ["i-spoke0000000win001"], { attemptKey: "win" });
    const results = await settle(invocation?.invokeId ?? "");
    expect(results.results).toEqual([
      expect.objectContaining({
        status: "Failed",
        finished: true,
        errorCode: "ClientNotRunning",
        output: "",
      }),
    ]);
  });

  it("is idempotent per attempt key: a retried call returns the same invocation", async () => {
    const ids = spokeIds.slice(0, 3);
    const first = await ecs.runCommand(command("echo once"), ids, { attemptKey: "event-42" });
    const again = await ecs.runCommand(command("echo once"), [...ids].reverse(), { attemptKey: "event-42" });
    const next = await ecs.runCommand(command("echo once"), ids, { attemptKey: "event-43" });
    expect(again.map((invocation) => invocation.invokeId)).toEqual(
      first.map((invocation) => invocation.invokeId),
    );
    expect(next[0]?.invokeId).not.toBe(first[0]?.invokeId);
    expect(calls(kit.emulator, "RunCommand")).toBe(3);
  });

  it("derives a 64-character ASCII token from content, sorted ids and attempt key", () => {
    const token = runCommandClientToken(command("x"), ["i-b", "i-a"], "k");
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(runCommandClientToken(command("x"), ["i-a", "i-b"], "k")).toBe(token);
    expect(runCommandClientToken(command("y"), ["i-a", "i-b"], "k")).not.toBe(token);
    expect(runCommandClientToken(command("x"), ["i-a", "i-b"], "k2")).not.toBe(token);
  });
});
