/**
 * Simulated hosts end to end, below the emulator: the real rendered host script runs through the
 * simulated Cloud Assistant on a sandboxed host, and the simulated agent heartbeats what the script
 * left on disk.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identifiersFromFile } from "../../localstack/agent/agentRules";
import { AgentSimulator, type Heartbeat } from "../../localstack/agent/agentSimulator";
import {
  type HostCommand,
  MAX_OUTPUT_BYTES,
  SimulatedCloudAssistant,
} from "../../localstack/fleet/cloudAssistant";
import { SimulatedHost, type SimulatedHostSpec } from "../../localstack/fleet/simulatedHost";
import { renderHostCommand } from "../../shared/hostscript/hostCommand";
import { parseHostReport } from "../../shared/hostscript/hostReport";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const HUB = "1200000000000456";
const SPOKE = "1700000000000397";
const scripts = readHostScripts();

class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  /** A wait on this clock moves it: a slow host's delay becomes a number to assert on. */
  readonly sleep = async (ms: number): Promise<void> => {
    this.ms += ms;
  };
}

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "ltx-fleet-"));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

let counter = 0;
function host(spec: Partial<SimulatedHostSpec> = {}, status = "Running"): SimulatedHost {
  counter += 1;
  const id = `i-bp1host${String(counter).padStart(6, "0")}`;
  return new SimulatedHost(
    {
      instanceId: id,
      accountId: SPOKE,
      region: "cn-hangzhou",
      os: "linux",
      ip: `172.16.0.${counter}`,
      serialNumber: `4c4c4544-0000-0000-0000-${String(counter).padStart(12, "0")}`,
      cloudAssistant: "online",
      agent: "ilogtail",
      agentRunning: true,
      heartbeat: "ok",
      ...spec,
    },
    join(workDir, id),
    () => status,
  );
}

function command(text: string, timeoutSeconds = 20): HostCommand {
  return { invokeId: `t-${counter}`, type: "RunShellScript", content: text, timeoutSeconds };
}

function authorizeCommand(identifier = "app-b-prod"): HostCommand {
  const rendered = renderHostCommand("linux", { action: "authorize", uid: HUB, identifier }, scripts);
  return command(Buffer.from(rendered.commandContent, "base64").toString("utf8"));
}

/** An agent simulator on this clock that records every heartbeat (period 10 s). */
function agentsOn(
  clock: FakeClock,
  refreshIntervalMs: number,
): { beats: Heartbeat[]; agents: AgentSimulator } {
  const beats: Heartbeat[] = [];
  const agents = new AgentSimulator(
    clock,
    { heartbeat: (beat) => beats.push(beat) },
    { heartbeatPeriodMs: 10_000, refreshIntervalMs },
  );
  return { beats, agents };
}

describe("the simulated agent reads its files like the real one", () => {
  test("one identifier per line, spaces trimmed, CR and tab kept, empty lines skipped", () => {
    expect(identifiersFromFile("a\n  b  \n\nc\r\n\td\n")).toEqual(["a", "b", "c\r", "\td"]);
    expect(identifiersFromFile(undefined)).toEqual([]);
  });
});

describe("the simulated agent's heartbeats", () => {
  function agentWith(spec: Partial<SimulatedHostSpec>) {
    const clock = new FakeClock();
    const { beats, agents } = agentsOn(clock, 60_000);
    const simulated = host(spec);
    agents.add(simulated);
    return { clock, beats, agents, simulated };
  }

  test("a running agent heartbeats once per period with its identity and its own account", () => {
    const { clock, beats, agents, simulated } = agentWith({ userDefinedIds: ["team-x"] });

    for (let i = 0; i < 6; i++) {
      clock.ms += 10_000;
      agents.tick();
    }

    expect(beats).toHaveLength(6);
    expect(beats[0]).toEqual({
      region: "cn-hangzhou",
      accountIds: [SPOKE],
      identifiers: ["team-x"],
      ip: simulated.ip,
      machineUniqueId: simulated.spec.serialNumber,
      // Logtail's host-id is unverified: none by default.
      hostId: "",
      at: expect.any(Number),
    });
  });

  test.each<[string, Partial<SimulatedHostSpec>, (host: SimulatedHost) => { uuid: string; hostId: string }]>([
    [
      "a LoongCollector host: host-id is the instance id",
      { agent: "loongcollector" },
      (h) => ({ uuid: h.spec.serialNumber, hostId: h.instanceId }),
    ],
    [
      "an ARM host: a UUID of the agent's own, not the serial",
      { arch: "arm64" },
      (h) => ({ uuid: h.machineUniqueId, hostId: "" }),
    ],
    [
      "an agent with an unrelated UUID",
      { agentUuid: "7d1e0c55-3a0b-4f6e-9c2d-81b7a64e5f10" },
      () => ({ uuid: "7d1e0c55-3a0b-4f6e-9c2d-81b7a64e5f10", hostId: "" }),
    ],
  ])("%s", (_name, spec, expected) => {
    const { clock, beats, agents, simulated } = agentWith(spec);

    clock.ms += 10_000;
    agents.tick();

    const want = expected(simulated);
    expect(beats[0]).toMatchObject({ machineUniqueId: want.uuid, hostId: want.hostId });
    if (spec.arch === "arm64") expect(want.uuid).not.toBe(simulated.spec.serialNumber);
  });

  test.each<[string, Partial<SimulatedHostSpec>]>([
    ["no agent installed", { agent: "none" }],
    ["a stopped agent", { agentRunning: false }],
    ["no network to SLS", { heartbeat: "blocked" }],
  ])("%s sends nothing", (_name, spec) => {
    const { clock, beats, agents } = agentWith(spec);

    clock.ms += 60_000;
    agents.tick();

    expect(beats).toEqual([]);
  });

  test("a heartbeat period missed entirely is not made up with a burst", () => {
    const { clock, beats, agents } = agentWith({});

    clock.ms += 600_000;
    agents.tick();

    expect(beats).toHaveLength(1);
  });
});

describeRequiring(sandboxRequirement(), "Cloud Assistant on simulated hosts", () => {
  const clock = new FakeClock();
  const assistant = () =>
    new SimulatedCloudAssistant({
      workDir: join(workDir, "ca"),
      maxConcurrent: 4,
      now: () => clock.now(),
      sleep: clock.sleep,
    });

  test("authorize runs the exact script: Success, the report as output, the files on the host", async () => {
    const simulated = host({ userDefinedIds: ["team-x"] });

    const outcome = await assistant().run(simulated, authorizeCommand());

    expect(outcome).toMatchObject({ invocationStatus: "Success", errorCode: "", exitCode: 0, dropped: 0 });
    const report = parseHostReport(outcome.output);
    expect(report.ok && report.report.identifiers).toEqual(["team-x", "app-b-prod"]);
    expect(simulated.uidFiles()).toEqual([HUB]);
    expect(simulated.root().identifierFile()).toBe("team-x\napp-b-prod\n");
  });

  test("a slow host starts its command only after its delay, on the emulated clock", async () => {
    const simulated = host({ commandDelaySeconds: 45 });
    const sentAt = clock.now();
    let startedAt: number | undefined;

    const outcome = await assistant().run(simulated, authorizeCommand(), () => {
      startedAt = clock.now();
    });

    expect(outcome.invocationStatus).toBe("Success");
    expect({ delayMs: (startedAt ?? 0) - sentAt, outcomeStart: outcome.startTime }).toEqual({
      delayMs: 45_000,
      outcomeStart: startedAt,
    });
  });

  test("after authorize and the restart, the agent heartbeats for the destination account at once", async () => {
    const { beats, agents } = agentsOn(clock, 3_600_000);
    const simulated = host();
    agents.add(simulated);

    await assistant().run(simulated, authorizeCommand("app-b-prod"));
    agents.hostChanged(simulated.instanceId);
    clock.ms += 10_000;
    agents.tick();

    expect(beats.at(-1)).toMatchObject({ accountIds: [HUB, SPOKE].sort(), identifiers: ["app-b-prod"] });
  });

  test("a file change without a restart is picked up only at the next refresh", async () => {
    const { beats, agents } = agentsOn(clock, 60_000);
    const simulated = host();
    agents.add(simulated);
    const rendered = renderHostCommand(
      "linux",
      { action: "authorize", uid: HUB, identifier: "late" },
      scripts,
    );
    const withoutRestart = Buffer.from(rendered.commandContent, "base64")
      .toString("utf8")
      .replace("'--id' 'late'", "'--id' 'late' '--restart' 'never'");

    await assistant().run(simulated, command(withoutRestart));
    agents.hostChanged(simulated.instanceId);
    clock.ms += 10_000;
    agents.tick();
    const before = beats.at(-1)?.identifiers;
    clock.ms += 60_000;
    agents.tick();

    expect(before).toEqual([]);
    expect(beats.at(-1)?.identifiers).toEqual(["late"]);
  });

  test("a stopped agent drops out: no heartbeat after it stops", () => {
    const { beats, agents } = agentsOn(clock, 60_000);
    const simulated = host();
    agents.add(simulated);
    clock.ms += 10_000;
    agents.tick();

    simulated.setAgentRunning(false);
    agents.hostChanged(simulated.instanceId);
    const sentBefore = beats.length;
    clock.ms += 100_000;
    agents.tick();

    expect(sentBefore).toBe(1);
    expect(beats).toHaveLength(1);
  });

  test("a non-zero exit is Failed with ExitCodeNonzero and the exit code", async () => {
    const outcome = await assistant().run(host(), command("#!/bin/sh\necho oops >&2\nexit 7\n"));

    expect(outcome).toMatchObject({
      invocationStatus: "Failed",
      errorCode: "ExitCodeNonzero",
      exitCode: 7,
      output: "oops\n",
    });
  });

  test("stdout and stderr come back as one stream in the order written", async () => {
    const outcome = await assistant().run(host(), command("#!/bin/sh\necho one\necho two >&2\necho three\n"));

    expect(outcome.output).toBe("one\ntwo\nthree\n");
  });

  test("a command that outlives its timeout is stopped: Timeout with ExecutionTimeout", async () => {
    const outcome = await assistant().run(host(), command("#!/bin/sh\nsleep 30\n", 1));

    expect(outcome).toMatchObject({ invocationStatus: "Timeout", errorCode: "ExecutionTimeout" });
  });

  test("output past 24 KB is truncated and the dropped bytes counted", async () => {
    const outcome = await assistant().run(
      host(),
      command("#!/bin/sh\nhead -c 30000 /dev/zero | tr '\\0' x\n"),
    );

    expect(outcome.invocationStatus).toBe("Success");
    expect(outcome.output).toHaveLength(MAX_OUTPUT_BYTES);
    expect(outcome.dropped).toBe(30000 - MAX_OUTPUT_BYTES);
  });

  test.each<[string, string, Partial<SimulatedHostSpec>, string]>([
    ["a stopped instance", "InstanceNotRunning", {}, "Stopped"],
    ["Cloud Assistant offline", "ClientNotRunning", { cloudAssistant: "offline" }, "Running"],
    ["a Windows host", "ClientNotResponse", { os: "windows" }, "Running"],
  ])("%s never runs the command: Failed with %s", async (_name, errorCode, spec, status) => {
    const simulated = host(spec, status);

    const outcome = await assistant().run(simulated, authorizeCommand());

    expect(outcome).toMatchObject({ invocationStatus: "Failed", errorCode, exitCode: null, output: "" });
    expect(existsSync(join(workDir, simulated.instanceId))).toBe(false);
  });

  test("100 hosts at once all complete, with at most the configured concurrency", async () => {
    const hosts = Array.from({ length: 100 }, () => host());
    const ca = new SimulatedCloudAssistant({
      workDir: join(workDir, "ca100"),
      maxConcurrent: 8,
      now: () => clock.now(),
      sleep: clock.sleep,
    });

    const outcomes = await Promise.all(hosts.map((h) => ca.run(h, authorizeCommand("burst"))));

    expect(outcomes.filter((o) => o.invocationStatus === "Success")).toHaveLength(100);
    expect(hosts.every((h) => h.uidFiles().includes(HUB))).toBe(true);
  });
});
