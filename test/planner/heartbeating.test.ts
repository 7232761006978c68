/**
 * Which machine heartbeats for an instance, by every key a host gives: host-id (LoongCollector),
 * the UUID its agent reported to the host script (an ARM host), the serial number (x86 Logtail).
 */

import { join } from "node:path";
import { renderStatusText } from "../../cli/report/textReport";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import {
  AGENT_ID_TAG_KEY,
  agentIdToRecord,
  heartbeatMatch,
  isHeartbeating,
} from "../../shared/planner/heartbeating";
import type { Observed, ObservedMachine } from "../../shared/planner/types";
import { buildFleetReport } from "../../shared/status/fleetReport";
import { machineFactory } from "../support/observedMachines";

const NOW = 1_800_000_000;
const ID = "app-b-prod-linux";
const SERIAL = "4c4c4544-0042-3510-8051-b7c04f4e3732";
const ARM_AGENT = "9b2f3c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";

const machine = machineFactory(NOW, ID);
const instance = (tags: Record<string, string> = {}) => ({
  instanceId: "i-bp1match000001",
  serialNumber: SERIAL,
  tags,
});
const match = (machines: ObservedMachine[], tags: Record<string, string> = {}) =>
  heartbeatMatch(machines, instance(tags), ID, NOW, 180);

describe("the heartbeat match, key by key", () => {
  test("host-id equal to the instance id: a LoongCollector host, whatever its UUID", () => {
    const found = match([machine({ hostId: "i-bp1match000001", ip: "10.0.0.1" })]);

    expect(found).toEqual({ key: "host-id", machine: expect.objectContaining({ ip: "10.0.0.1" }) });
  });

  test("the agent's own UUID, kept on the instance: an ARM host whose agent does not read DMI", () => {
    const machines = [machine({ machineUniqueId: ARM_AGENT.toUpperCase(), ip: "10.0.0.2" })];

    expect(match(machines)).toBeUndefined();
    expect(match(machines, { [AGENT_ID_TAG_KEY]: ARM_AGENT })).toEqual({
      key: "agent-uuid",
      machine: expect.objectContaining({ ip: "10.0.0.2" }),
    });
  });

  test("the serial number in either byte order: an x86 Logtail host", () => {
    expect(match([machine({ machineUniqueId: "44454C4C-4200-1035-8051-B7C04F4E3732" })])?.key).toBe("serial");
  });

  test("keys in order: host-id first, then the agent's UUID, then the serial number", () => {
    const bySerial = machine({ machineUniqueId: SERIAL, ip: "10.0.0.3" });
    const byAgent = machine({ machineUniqueId: ARM_AGENT, ip: "10.0.0.4" });
    const byHost = machine({ hostId: "i-bp1match000001", ip: "10.0.0.5" });

    expect(match([bySerial, byAgent, byHost], { [AGENT_ID_TAG_KEY]: ARM_AGENT })?.machine.ip).toBe(
      "10.0.0.5",
    );
    expect(match([bySerial, byAgent], { [AGENT_ID_TAG_KEY]: ARM_AGENT })?.machine.ip).toBe("10.0.0.4");
  });

  test("a key that finds only a stale machine or one without the route's identifier falls through", () => {
    const stale = machine({ hostId: "i-bp1match000001", lastHeartbeatTime: NOW - 600 });
    const otherRoute = machine({ machineUniqueId: ARM_AGENT, userdefinedId: "payments-prod-linux" });
    const live = machine({ machineUniqueId: SERIAL, ip: "10.0.0.6" });

    expect(match([stale, otherRoute, live], { [AGENT_ID_TAG_KEY]: ARM_AGENT })).toEqual({
      key: "serial",
      machine: expect.objectContaining({ ip: "10.0.0.6" }),
    });
    expect(
      isHeartbeating([stale, otherRoute], instance({ [AGENT_ID_TAG_KEY]: ARM_AGENT }), ID, NOW, 180),
    ).toBe(false);
  });

  test("never loosely: another instance's host-id, a tag that is not a UUID, an empty serial", () => {
    expect(match([machine({ hostId: "i-bp1match000002" })])).toBeUndefined();
    expect(match([machine({ machineUniqueId: "" })], { [AGENT_ID_TAG_KEY]: "not a uuid" })).toBeUndefined();
    expect(
      heartbeatMatch([machine({ machineUniqueId: "" })], { ...instance(), serialNumber: "" }, ID, NOW, 180),
    ).toBeUndefined();
  });
});

describe("the agent id authorize records", () => {
  test("only where neither host-id nor the serial number would find the host", () => {
    expect(agentIdToRecord(instance(), { agentUuid: ARM_AGENT.toUpperCase(), agentHostId: null })).toBe(
      ARM_AGENT,
    );
    // LoongCollector: its host-id is the instance id.
    expect(
      agentIdToRecord(instance(), { agentUuid: ARM_AGENT, agentHostId: "i-bp1match000001" }),
    ).toBeUndefined();
    // x86 Logtail: its UUID is the serial number, in either byte order.
    expect(agentIdToRecord(instance(), { agentUuid: SERIAL })).toBeUndefined();
    expect(
      agentIdToRecord(instance(), { agentUuid: "44454c4c-4200-1035-8051-b7c04f4e3732" }),
    ).toBeUndefined();
    // Already recorded.
    expect(
      agentIdToRecord(instance({ [AGENT_ID_TAG_KEY]: ARM_AGENT }), { agentUuid: ARM_AGENT }),
    ).toBeUndefined();
  });

  test("a value from the host that is not a UUID is never written", () => {
    expect(agentIdToRecord(instance(), { agentUuid: "$(reboot)" })).toBeUndefined();
    expect(
      agentIdToRecord(instance(), { agentUuid: `${ARM_AGENT}\nlogtail-xacct-status=collecting` }),
    ).toBeUndefined();
    expect(agentIdToRecord(instance(), { agentUuid: null })).toBeUndefined();
    expect(agentIdToRecord(instance(), {})).toBeUndefined();
  });
});

describe("status says which key found each heartbeat", () => {
  const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
  const observed = (ids: Array<[string, Record<string, string>]>, machines: ObservedMachine[]): Observed => ({
    now: NOW * 1000,
    instances: ids.map(([instanceId, tags]) => ({
      accountId: "1700000000000397",
      region: "cn-hangzhou",
      instanceId,
      os: "linux",
      status: "Running",
      serialNumber: instanceId === "i-bp1match000003" ? SERIAL : "",
      tags: { [config.tagKey]: "app-b-prod", [config.statusTagKey]: "collecting", ...tags },
    })),
    routes: {
      "app-b-prod": {
        logstoreExists: true,
        indexExists: true,
        configExists: { linux: true },
        sources: {},
        groups: { linux: { exists: true, machines, appliedConfigs: [], listedAt: NOW * 1000 } },
      },
    },
  });

  test("per instance in the report, counted in the text", () => {
    const report = buildFleetReport(
      config,
      observed(
        [
          ["i-bp1match000001", {}],
          ["i-bp1match000002", { [AGENT_ID_TAG_KEY]: ARM_AGENT }],
          ["i-bp1match000003", {}],
          ["i-bp1match000004", {}],
        ],
        [
          machine({ hostId: "i-bp1match000001" }),
          machine({ machineUniqueId: ARM_AGENT }),
          machine({ machineUniqueId: SERIAL }),
        ],
      ),
    );

    expect(Object.fromEntries(report.instances.map((i) => [i.instanceId, i.heartbeatKey ?? null]))).toEqual({
      "i-bp1match000001": "host-id",
      "i-bp1match000002": "agent-uuid",
      "i-bp1match000003": "serial",
      "i-bp1match000004": null,
    });
    expect(renderStatusText(report)).toContain("heartbeats matched by: agent-uuid 1, host-id 1, serial 1\n");
  });
});
