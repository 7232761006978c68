/**
 * The simulated fleet inside the emulator, driven only through the official SDKs: RunCommand sends
 * the real rendered host script, the sandboxed host runs it, DescribeInvocationResults reports it
 * as Cloud Assistant does, and the host's agent appears in — and drops out of — ListMachines.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Ecs from "@alicloud/ecs20140526";
import * as $Ecs from "@alicloud/ecs20140526";
import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { type EmulatorHandle, startEmulator } from "../../emulator/index";
import {
  parseSimulatedFleet,
  type SimulatedFleet,
  startSimulatedFleet,
} from "../../localstack/fleet/simulatedFleet";
import { renderHostCommand } from "../../shared/hostscript/hostCommand";
import { parseHostReport } from "../../shared/hostscript/hostReport";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { ecsClient, HUB, IDENTIFIER, REGION, SPOKE, slsClient } from "../support/localAccounts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ids = {
  linux: "i-bp1linux00000001",
  foreign: "i-bp1foreign000001",
  stopped: "i-bp1stopped000001",
  offline: "i-bp1offline000001",
  noAgent: "i-bp1noagent000001",
  windows: "i-bp1windows000001",
};

const fleetDocument = {
  accounts: [
    { ...HUB, roles: [] },
    { ...SPOKE, roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB.id] }] },
  ],
  instances: [
    { account: "app-b", region: REGION, id: ids.linux },
    {
      account: "app-b",
      region: REGION,
      id: ids.foreign,
      userDefinedIds: ["team-x-web"],
      agent: "loongcollector",
    },
    { account: "app-b", region: REGION, id: ids.stopped, status: "Stopped" },
    { account: "app-b", region: REGION, id: ids.offline, cloudAssistant: "offline" },
    { account: "app-b", region: REGION, id: ids.noAgent, agent: "none" },
    { account: "app-b", region: REGION, id: ids.windows, os: "windows" },
  ],
};

describeRequiring(sandboxRequirement(), "simulated fleet in the emulator", () => {
  let workDir: string;
  let emulator: EmulatorHandle;
  let fleet: SimulatedFleet;
  let ecs: Ecs;
  let sls: Sls;
  const realIlogtail = existsSync("/etc/ilogtail");

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-sim-fleet-"));
    emulator = await startEmulator({ clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 } });
    fleet = await startSimulatedFleet(emulator, parseSimulatedFleet(fleetDocument), { workDir });
    ecs = ecsClient(emulator.port, SPOKE);
    sls = slsClient(emulator.port, HUB);
    await sls.createProject(
      new $Sls.CreateProjectRequest({ projectName: "central-logs", description: "hub" }),
    );
    await sls.createMachineGroup(
      "central-logs",
      new $Sls.CreateMachineGroupRequest({
        groupName: "app-b-prod-linux",
        machineIdentifyType: "userdefined",
        machineList: [IDENTIFIER],
        groupType: "",
        groupAttribute: new $Sls.CreateMachineGroupRequestGroupAttribute({
          externalName: "",
          groupTopic: "",
        }),
      }),
    );
  });

  afterAll(async () => {
    fleet?.stop();
    await emulator?.stop();
    rmSync(workDir, { recursive: true, force: true });
    expect(existsSync("/etc/ilogtail")).toBe(realIlogtail);
  });

  async function runAndWait(
    type: "RunShellScript" | "RunPowerShellScript",
    content: string,
    instanceIds: string[],
  ) {
    const run = await ecs.runCommand(
      new $Ecs.RunCommandRequest({
        regionId: REGION,
        type,
        commandContent: content,
        contentEncoding: "Base64",
        instanceId: instanceIds,
        timeout: 60,
      }),
    );
    const invokeId = run.body?.invokeId;
    for (let attempt = 0; attempt < 200; attempt++) {
      const page = await ecs.describeInvocationResults(
        new $Ecs.DescribeInvocationResultsRequest({ regionId: REGION, invokeId, maxResults: 50 }),
      );
      const results = page.body?.invocation?.invocationResults?.invocationResult ?? [];
      const done = results.filter(
        (r) => !["Pending", "Running", "Scheduled"].includes(r.invocationStatus ?? ""),
      );
      if (results.length === instanceIds.length && done.length === results.length) {
        return new Map(results.map((r) => [r.instanceId ?? "", r]));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("the invocation did not finish");
  }

  async function machines(): Promise<Array<{ uuid: string; id: string }>> {
    const response = await sls.listMachines(
      "central-logs",
      "app-b-prod-linux",
      new $Sls.ListMachinesRequest({ offset: 0, size: 500 }),
    );
    return (response.body?.machines ?? []).map((m) => ({
      uuid: m.machineUniqueid ?? "",
      id: m.userdefinedId ?? "",
    }));
  }

  test("one RunCommand authorizes every host that can run it, and reports the others as Cloud Assistant does", async () => {
    const scripts = readHostScripts();
    const rendered = renderHostCommand(
      "linux",
      { action: "authorize", uid: HUB.id, identifier: IDENTIFIER },
      scripts,
    );

    const results = await runAndWait("RunShellScript", rendered.commandContent, [
      ids.linux,
      ids.foreign,
      ids.stopped,
      ids.offline,
      ids.noAgent,
    ]);

    const status = (id: string) => [results.get(id)?.invocationStatus, results.get(id)?.errorCode];
    expect(status(ids.linux)).toEqual(["Success", ""]);
    expect(status(ids.foreign)).toEqual(["Success", ""]);
    expect(status(ids.noAgent)).toEqual(["Success", ""]);
    expect(status(ids.stopped)).toEqual(["Failed", "InstanceNotRunning"]);
    expect(status(ids.offline)).toEqual(["Failed", "ClientNotRunning"]);
    const output = Buffer.from(results.get(ids.foreign)?.output ?? "", "base64").toString("utf8");
    const report = parseHostReport(output);
    expect(report.ok && report.report).toMatchObject({
      identifiers: ["team-x-web", IDENTIFIER],
      uidFiles: [HUB.id],
      agent: { flavor: "loongcollector", restarted: true },
    });
    expect(fleet.host(ids.foreign)?.root().identifierFile()).toBe(`team-x-web\n${IDENTIFIER}\n`);
  });

  test("a Windows host never reports a success it did not earn", async () => {
    const rendered = renderHostCommand("windows", { action: "inspect" }, readHostScripts());

    const results = await runAndWait("RunPowerShellScript", rendered.commandContent, [ids.windows]);

    expect(results.get(ids.windows)?.invocationStatus).toBe("Failed");
    expect(results.get(ids.windows)?.errorCode).toBe("ClientNotResponse");
  });

  test("the authorized hosts heartbeat into the hub's machine group, matched by their ECS SerialNumber", async () => {
    emulator.advanceClock(10_000);

    const listed = await machines();

    const serials = [ids.linux, ids.foreign].map((id) =>
      emulator.ecs.getInstance(id)?.serialNumber.toLowerCase(),
    );
    expect(listed.map((m) => m.uuid.toLowerCase()).sort()).toEqual([...serials].sort());
    expect(listed.every((m) => m.id.split(" ").includes(IDENTIFIER))).toBe(true);
  });

  test("a stopped agent goes stale and drops out of ListMachines", async () => {
    fleet.setAgentRunning(ids.linux, false);

    emulator.advanceClock(200_000);
    const listed = await machines();

    const stoppedSerial = emulator.ecs.getInstance(ids.linux)?.serialNumber.toLowerCase();
    expect(listed.map((m) => m.uuid.toLowerCase())).not.toContain(stoppedSerial);
    expect(listed).toHaveLength(1);
  });

  test("hosts that never ran a command have no files on disk", () => {
    const created = readdirSync(workDir).filter((name) => name.startsWith("i-"));

    expect(created.sort()).toEqual([ids.foreign, ids.linux, ids.noAgent].sort());
  });
});
