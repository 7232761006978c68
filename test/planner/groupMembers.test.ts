/**
 * Members of a route's machine group that no listed instance accounts for: an instance whose tags
 * were all removed is traced back (by its heartbeat keys, or by a private IP only it has); what
 * stays unaccounted for is a stranger, reported and never acted on.
 */
import { join } from "node:path";
import { renderStatusText } from "../../cli/report/textReport";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import { traceMembers, unaccountedMembers } from "../../shared/planner/groupMembers";
import { plan } from "../../shared/planner/plan";
import type { Observed, ObservedInstance, ObservedMachine } from "../../shared/planner/types";
import { buildDriftReport } from "../../shared/status/driftReport";
import { buildFleetReport } from "../../shared/status/fleetReport";
import { machineFactory, observedInstance } from "../support/observedMachines";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const NOW = 1_800_000_000;
const ID = "app-b-prod-linux";

const machine = machineFactory(NOW, ID);
const instance = observedInstance;
const observedWith = (instances: ObservedInstance[], machines: ObservedMachine[]): Observed => ({
  now: NOW * 1000,
  instances,
  routes: {
    "app-b-prod": {
      logstoreExists: true,
      indexExists: true,
      groups: { linux: { exists: true, machines, appliedConfigs: [], listedAt: NOW * 1000 } },
      configExists: { linux: true },
      sources: {},
    },
  },
});

describe("members no listed instance accounts for", () => {
  const tagged = instance("i-bp1tagged00001", { tags: { [config.tagKey]: "app-b-prod" } });
  const ours = machine({ hostId: "i-bp1tagged00001", ip: "10.0.0.1" });
  const stale = machine({ ip: "10.0.0.2", lastHeartbeatTime: NOW - 3600 });
  const otherId = machine({ ip: "10.0.0.3", userdefinedId: "team-x-web" });
  const unknown = machine({ ip: "10.0.0.4" });
  // A listed ARM host before its agent-id tag is written: accounted for by its private IP.
  const armByIp = machine({ machineUniqueId: "9b2f3c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e", ip: "10.0.0.8" });
  const arm = instance("i-bp1armtagged01", {
    tags: { [config.tagKey]: "app-b-prod" },
    privateIps: ["10.0.0.8"],
  });

  test("only fresh members carrying the route's identifier that no listed instance matches", () => {
    const found = unaccountedMembers(
      config,
      observedWith([tagged, arm], [ours, stale, otherId, unknown, armByIp]),
    );

    expect(found).toEqual([{ route: "app-b-prod", os: "linux", machine: unknown }]);
  });

  test("traced by heartbeat key or by a private IP only one instance has; the rest are strangers", () => {
    const byHostId = machine({ hostId: "i-bp1stripped001", ip: "10.0.0.5" });
    const byIp = machine({ ip: "10.0.0.6" });
    const sharedIp = machine({ ip: "10.0.0.7" });
    const members = unaccountedMembers(config, observedWith([], [byHostId, byIp, sharedIp]));
    const candidates = [
      instance("i-bp1stripped001"),
      instance("i-bp1stripped002", { privateIps: ["10.0.0.6"] }),
      // The same address in two VPCs: no verdict from it.
      instance("i-bp1reusedip001", { privateIps: ["10.0.0.7"] }),
      instance("i-bp1reusedip002", { privateIps: ["10.0.0.7"] }),
      // An account the route does not name is never traced.
      instance("i-bp1otheracct01", { accountId: "1999999999999999", privateIps: ["10.0.0.5"] }),
    ];

    const { traced, strangers } = traceMembers(config, members, candidates, NOW);

    expect([...traced].map(([i, routes]) => [i.instanceId, routes])).toEqual([
      ["i-bp1stripped001", ["app-b-prod"]],
      ["i-bp1stripped002", ["app-b-prod"]],
    ]);
    expect(strangers.map((s) => s.machine.ip)).toEqual(["10.0.0.7"]);
  });

  test("status lists the strangers with what identifies them", () => {
    const observed: Observed = {
      ...observedWith([], []),
      strangers: [
        { route: "app-b-prod", os: "linux", machine: machine({ ip: "192.168.9.9", hostId: "i-xyz" }) },
      ],
    };

    const text = renderStatusText(buildFleetReport(config, observed));

    expect(text).toContain("machines in route groups that no instance accounts for (1):");
    const drift = buildDriftReport(config, observed, plan(config, observed));
    expect(drift.items).toContainEqual(
      expect.objectContaining({ kind: "stranger-in-group", route: "app-b-prod", remedy: "" }),
    );
    expect(drift.actions).toEqual([]);
    expect(text).toMatch(
      /app-b-prod\s+linux\s+192\.168\.9\.9\s+00000000-0000-0000-0000-000000000000\s+i-xyz/,
    );
  });
});
