/**
 * The local stack end to end, as production is wired: an operator tags a spoke's instance through
 * the ECS API; the spoke's event reaches the hub's function through EventBridge forwarding; the
 * real host script runs on the sandboxed host through RunCommand; the host's heartbeat appears in
 * the hub's machine group; a stopped agent goes stale.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Ecs from "@alicloud/ecs20140526";
import * as $Ecs from "@alicloud/ecs20140526";
import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { parseInstanceEvent } from "../../shared/events/instanceEvents";
import { renderHostCommand } from "../../shared/hostscript/hostCommand";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { calls } from "../fixtures/fc/functions/recorder";
import {
  ecsClient,
  HUB,
  IDENTIFIER,
  REGION,
  SPOKE,
  slsClient,
  stackFleet,
  until,
} from "../support/localAccounts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const INSTANCE = "i-bp1e2e000000001";
const KEYS = { tagKey: "logtail-xacct-route", statusTagKey: "logtail-xacct-status" };

const fleet = stackFleet([
  { account: "app-b", region: REGION, id: INSTANCE, userDefinedIds: ["team-x-web"] },
]);

describeRequiring(sandboxRequirement(), "the local stack end to end", () => {
  let workDir: string;
  let stack: LocalStack;
  let ecs: Ecs;
  let sls: Sls;
  const realIlogtail = existsSync("/etc/ilogtail");

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-stack-"));
    stack = await startLocalStack({
      fleet,
      hubAccountId: HUB.id,
      workDir,
      template: join(__dirname, "../fixtures/localstack/s.yaml"),
      clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
    });
    ecs = ecsClient(stack.emulator.port, SPOKE);
    sls = slsClient(stack.emulator.port, HUB);
    await sls.createProject(new $Sls.CreateProjectRequest({ projectName: "central-logs", description: "" }));
    await sls.createMachineGroup(
      "central-logs",
      new $Sls.CreateMachineGroupRequest({
        groupName: IDENTIFIER,
        machineIdentifyType: "userdefined",
        machineList: [IDENTIFIER],
      }),
    );
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
    expect(existsSync("/etc/ilogtail")).toBe(realIlogtail);
  });

  test("tagging an instance in the spoke wakes the hub's function with the spoke's event", async () => {
    calls.length = 0;

    await ecs.tagResources(
      new $Ecs.TagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: [INSTANCE],
        tag: [new $Ecs.TagResourcesRequestTag({ key: KEYS.tagKey, value: "app-b-prod" })],
      }),
    );
    await stack.bridge.idle();
    const call = await until("the authorize invocation", () => calls.find((c) => c.function === "authorize"));

    expect(call.isBuffer).toBe(true);
    expect(call.context).toMatchObject({
      accountId: HUB.id,
      region: REGION,
      credentials: { securityToken: expect.any(String) },
    });
    expect(parseInstanceEvent(call.event, KEYS)).toMatchObject({
      kind: "observe",
      source: "tag-change",
      accountId: SPOKE.id,
      region: REGION,
      instanceIds: [INSTANCE],
    });
  });

  test("the host script runs on the host, and its heartbeat appears in the hub's machine group", async () => {
    const rendered = renderHostCommand(
      "linux",
      { action: "authorize", uid: HUB.id, identifier: IDENTIFIER },
      readHostScripts(),
    );
    const run = await ecs.runCommand(
      new $Ecs.RunCommandRequest({
        regionId: REGION,
        type: rendered.type,
        commandContent: rendered.commandContent,
        contentEncoding: "Base64",
        instanceId: [INSTANCE],
        timeout: rendered.timeoutSeconds,
      }),
    );
    const result = await until("the invocation result", async () => {
      const page = await ecs.describeInvocationResults(
        new $Ecs.DescribeInvocationResultsRequest({ regionId: REGION, invokeId: run.body?.invokeId }),
      );
      const first = page.body?.invocation?.invocationResults?.invocationResult?.[0];
      return first && first.invocationStatus !== "Running" && first.invocationStatus !== "Pending"
        ? first
        : undefined;
    });
    expect(result.invocationStatus).toBe("Success");
    expect(stack.fleet.host(INSTANCE)?.root().identifierFile()).toBe(`team-x-web\n${IDENTIFIER}\n`);

    stack.emulator.advanceClock(10_000);
    const listed = await sls.listMachines(
      "central-logs",
      IDENTIFIER,
      new $Sls.ListMachinesRequest({ offset: 0, size: 500 }),
    );

    expect(listed.body?.machines?.map((m) => m.machineUniqueid?.toLowerCase())).toEqual([
      stack.emulator.ecs.getInstance(INSTANCE)?.serialNumber.toLowerCase(),
    ]);
  });

  test("stopping the agent makes the host go stale in ListMachines", async () => {
    stack.fleet.setAgentRunning(INSTANCE, false);

    stack.emulator.advanceClock(200_000);
    const listed = await sls.listMachines(
      "central-logs",
      IDENTIFIER,
      new $Sls.ListMachinesRequest({ offset: 0, size: 500 }),
    );

    expect(listed.body?.machines ?? []).toEqual([]);
  });

  test("stopping and starting the instance reaches the hub as state changes", async () => {
    calls.length = 0;

    await ecs.stopInstance(new $Ecs.StopInstanceRequest({ instanceId: INSTANCE }));
    stack.emulator.advanceClock(60_000);
    await stack.bridge.idle();
    const stateEvents = await until("a state event", () => {
      const found = calls
        .map((c) => parseInstanceEvent(c.event, KEYS))
        .filter((p) => p.kind === "observe" && p.source === "state-change");
      return found.length > 0 ? found : undefined;
    });

    expect(stateEvents[0]).toMatchObject({ accountId: SPOKE.id, instanceIds: [INSTANCE] });
  });
});
