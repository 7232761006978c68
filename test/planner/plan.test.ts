import { join } from "node:path";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import { resolveRoute } from "../../shared/domain/routeResolution";
import { formatStatus, parseStatus } from "../../shared/domain/status";
import { plan } from "../../shared/planner/plan";
import { sameSmbiosUuid } from "../../shared/planner/smbiosUuid";
import type {
  Action,
  Observed,
  ObservedInstance,
  ObservedRoute,
  ObservedSource,
  Plan,
} from "../../shared/planner/types";
import { buildDriftReport } from "../../shared/status/driftReport";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const APP_B = "1700000000000397";
const PAYMENTS = "1800000000000512";
const NOW = 1_800_000_000_000;
const ROUTE_KEY = config.tagKey;
const STATUS_KEY = config.statusTagKey;

let serial = 0;
function instance(tags: Record<string, string>, extra: Partial<ObservedInstance> = {}): ObservedInstance {
  serial += 1;
  return {
    accountId: APP_B,
    region: "cn-hangzhou",
    instanceId: `i-bp1test${String(serial).padStart(6, "0")}`,
    os: "linux",
    status: "Running",
    serialNumber: `4c4c4544-0000-0000-0000-${String(serial).padStart(12, "0")}`,
    tags,
    cloudAssistantOnline: true,
    ...extra,
  };
}

/** Route app-b-prod fully set up for Linux, with these instances heartbeating in its group. */
function convergedRoute(members: ObservedInstance[], overrides: Partial<ObservedRoute> = {}): ObservedRoute {
  return {
    logstoreExists: true,
    indexExists: true,
    configExists: { linux: true },
    groups: {
      linux: {
        exists: true,
        appliedConfigs: ["app-b-prod-linux"],
        machines: members.map((m) => ({
          machineUniqueId: m.serialNumber.toUpperCase(),
          userdefinedId: "app-b-prod-linux",
          lastHeartbeatTime: NOW / 1000 - 20,
          ip: "10.0.0.1",
        })),
      },
    },
    sources: { [APP_B]: { retireBindingPresent: false, backfillJob: { name: "copy", status: "RUNNING" } } },
    ...overrides,
  };
}

const observe = (instances: ObservedInstance[], routes: Observed["routes"] = {}): Observed => ({
  now: NOW,
  instances,
  routes,
});
const types = (actions: Action[]) => actions.map((a) => a.type);
const tagged = (route = "app-b-prod", status?: string) => ({
  [ROUTE_KEY]: route,
  ...(status ? { [STATUS_KEY]: status } : {}),
});

describe("planner: desired × observed → actions", () => {
  test("a newly tagged instance: route resources, authorize, status pending", () => {
    const vm = instance(tagged());

    const result = plan(config, observe([vm]));

    expect(result.actions).toEqual([
      {
        type: "ensureRoute",
        route: "app-b-prod",
        missing: ["logstore", "index", "machineGroup:linux", "config:linux", "binding:linux"],
      },
      {
        type: "authorize",
        accountId: APP_B,
        region: "cn-hangzhou",
        route: "app-b-prod",
        os: "linux",
        instanceIds: [vm.instanceId],
      },
      {
        type: "setStatus",
        accountId: APP_B,
        region: "cn-hangzhou",
        status: "pending",
        instanceIds: [vm.instanceId],
      },
    ]);
    expect(result.verdicts).toEqual([
      expect.objectContaining({ instanceId: vm.instanceId, route: "app-b-prod", stage: "pending" }),
    ]);
  });

  test("converged: collecting, status already right, copy job present → nothing to do", () => {
    const vm = instance(tagged("app-b-prod", "collecting"));

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([vm]) }));

    expect(result.actions).toEqual([]);
    expect(result.verdicts[0]).toMatchObject({ stage: "collecting" });
  });

  test("freshness is judged when the machines were listed, not when a slow observation ended", () => {
    const vm = instance(tagged("app-b-prod", "collecting"));
    const route = convergedRoute([vm]);
    const group = route.groups.linux;
    if (!group) throw new Error("no linux group");
    // Listed 20 s after the last heartbeat; the observation then took 10 more minutes (retries,
    // throttling pauses) before it ended.
    const late = { ...observe([vm], { "app-b-prod": route }), now: NOW + 600_000 };

    expect(plan(config, late).verdicts[0]).toMatchObject({ stage: "pending" });
    route.groups.linux = { ...group, listedAt: NOW };
    const result = plan(config, late);
    expect(result.verdicts[0]).toMatchObject({ stage: "collecting" });
    expect(result.actions).toEqual([]);
  });

  test("heartbeating with every resource: an authorized host waits for its lines, a collecting one stays", () => {
    const waiting = instance(tagged("app-b-prod", "authorized"));
    const collecting = instance(tagged("app-b-prod", "collecting"));

    const result = plan(
      config,
      observe([waiting, collecting], { "app-b-prod": convergedRoute([waiting, collecting]) }),
    );

    expect(result.actions).toEqual([
      {
        type: "awaitHeartbeat",
        accountId: APP_B,
        region: "cn-hangzhou",
        route: "app-b-prod",
        instanceIds: [waiting.instanceId],
      },
      {
        type: "checkDelivery",
        accountId: APP_B,
        region: "cn-hangzhou",
        route: "app-b-prod",
        instanceIds: [waiting.instanceId],
      },
    ]);
  });

  test("authorized and not heartbeating yet: wait for the heartbeat, authorize nothing again", () => {
    const vm = instance(tagged("app-b-prod", "authorized"));

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([]) }));

    expect(types(result.actions)).toEqual(["awaitHeartbeat"]);
  });

  test.each<[string, (vm: ObservedInstance) => ObservedRoute, string[]]>([
    [
      // No group, no heartbeat to judge: the group is made again, the host is left alone.
      "machine group deleted",
      () => ({ ...convergedRoute([]), groups: {} }),
      ["ensureRoute"],
    ],
    [
      "binding removed",
      (vm) => {
        const route = convergedRoute([vm]);
        return {
          ...route,
          groups: {
            linux: { exists: true, appliedConfigs: [], machines: route.groups.linux?.machines ?? [] },
          },
        };
      },
      ["ensureRoute", "setStatus"],
    ],
    [
      // Authorized again; the account's other routes' identifiers come off in the same run.
      "identifier removed on the host (no longer in the group)",
      () => convergedRoute([]),
      ["revoke", "authorize", "setStatus"],
    ],
    [
      "heartbeat stale (agent stopped)",
      (vm) => {
        const route = convergedRoute([vm]);
        const machines = (route.groups.linux?.machines ?? []).map((m) => ({
          ...m,
          lastHeartbeatTime: NOW / 1000 - 3600,
        }));
        return {
          ...route,
          groups: { linux: { exists: true, appliedConfigs: ["app-b-prod-linux"], machines } },
        };
      },
      ["revoke", "authorize", "setStatus"],
    ],
  ])("drift — %s — is repaired", (_name, routeOf, expected) => {
    const vm = instance(tagged("app-b-prod", "collecting"));

    const result = plan(config, observe([vm], { "app-b-prod": routeOf(vm) }));

    expect(types(result.actions)).toEqual(expected);
  });

  test("untagged but still heartbeating with our identifier: revoked", () => {
    const vm = instance({ [STATUS_KEY]: "collecting" });

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([vm]) }));

    expect(result.actions).toEqual([
      {
        type: "revoke",
        accountId: APP_B,
        region: "cn-hangzhou",
        routes: ["app-b-prod"],
        offboards: true,
        presumed: false,
        os: "linux",
        instanceIds: [vm.instanceId],
      },
    ]);
    expect(result.verdicts[0]).toMatchObject({ stage: "revoked" });
  });

  test("a host failure is retried without flapping: authorize again, the reason stays, no status write", () => {
    const vm = instance({ ...tagged(), [STATUS_KEY]: "failed:AgentNotInstalled" });

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([]) }));

    // The account's other route comes off the host in the same run: it may have been re-tagged.
    expect(result.actions).toEqual([
      expect.objectContaining({ type: "revoke", routes: ["payments-prod"], offboards: false }),
      expect.objectContaining({ type: "authorize", route: "app-b-prod" }),
    ]);
    expect(result.verdicts[0]).toMatchObject({ stage: "failed", reason: "AgentNotInstalled" });
  });

  test("a refusal that no longer holds (the tag was fixed) is authorized as new: pending", () => {
    const vm = instance({ ...tagged(), [STATUS_KEY]: "failed:UnknownRoute" });

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([]) }));

    expect(types(result.actions)).toEqual(["authorize", "setStatus"]);
    expect(result.verdicts[0]).toMatchObject({ stage: "pending" });
  });

  test("untagged, onboarded once, not heartbeating: every route the account may use is revoked", () => {
    const vm = instance({ [STATUS_KEY]: "failed:AgentNotRunning" });

    const result = plan(config, observe([vm]));

    expect(result.actions).toEqual([
      expect.objectContaining({
        type: "revoke",
        routes: ["app-b-prod", "payments-prod"],
        instanceIds: [vm.instanceId],
      }),
    ]);
  });

  test("untagged and never onboarded, or already revoked: nothing", () => {
    const never = instance({});
    const revoked = instance({ [STATUS_KEY]: "revoked" });

    expect(plan(config, observe([never, revoked])).actions).toEqual([]);
  });

  test("re-tagged to another route: the old route is revoked, the new one authorized", () => {
    const vm = instance(tagged("payments-prod", "collecting"));

    const result = plan(config, observe([vm], { "app-b-prod": convergedRoute([vm]) }));

    expect(result.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "revoke", routes: ["app-b-prod"] }),
        expect.objectContaining({ type: "authorize", route: "payments-prod" }),
      ]),
    );
    expect(types(result.actions)[0]).toBe("revoke");
  });

  test.each<[string, Record<string, string>, Partial<ObservedInstance>, string]>([
    ["an unknown route", tagged("nope"), {}, "failed:UnknownRoute"],
    ["a tag value that is not a route name", tagged("App B; rm -rf /"), {}, "failed:InvalidRouteTag"],
    ["a prototype key as the tag value", tagged("constructor"), {}, "failed:UnknownRoute"],
    [
      "an account not in the routes file",
      tagged(),
      { accountId: "1999999999999999" },
      "failed:AccountNotConfigured",
    ],
    ["a region not configured", tagged(), { region: "cn-beijing" }, "failed:RegionNotConfigured"],
    [
      "a route the account may not use",
      tagged(),
      { accountId: PAYMENTS },
      "failed:RouteNotAllowedForAccount",
    ],
    ["an OS the route lacks", tagged("payments-prod"), { os: "windows" }, "failed:OsNotSupportedByRoute"],
    [
      "Windows on a source that hands over (handover.windows: keep-source)",
      tagged(),
      { os: "windows" },
      "failed:HandoverUnverifiedOnWindows",
    ],
    ["Cloud Assistant offline", tagged(), { cloudAssistantOnline: false }, "failed:CloudAssistantOffline"],
  ])("refused: %s → %s, no host command", (_name, tags, extra, status) => {
    const vm = instance(tags, extra);

    const result = plan(config, observe([vm]));

    expect(result.actions.filter((a) => a.type === "authorize" || a.type === "revoke")).toEqual([]);
    expect(result.actions).toContainEqual(
      expect.objectContaining({ type: "setStatus", status, instanceIds: [vm.instanceId] }),
    );
  });

  test("a stopped tagged instance waits as pending; it is onboarded when it starts", () => {
    const vm = instance(tagged(), { status: "Stopped" });

    const result = plan(config, observe([vm]));

    expect(types(result.actions)).toEqual(["ensureRoute", "setStatus"]);
    expect(result.verdicts[0]).toMatchObject({ stage: "pending", detail: "instance is Stopped" });
  });

  describe("cutover: apply's order and checks", () => {
    const a = instance(tagged("app-b-prod", "collecting"), { privateIps: ["10.0.0.1"] });
    const b = instance(tagged("app-b-prod", "collecting"), { privateIps: ["10.0.0.2"] });
    const JOB = { name: "j", status: "RUNNING" };
    const cases: Array<[string, ObservedSource, Plan["actions"], Plan["waits"]]> = [
      [
        "a handover without its copy: the copy is cut by position first, the retire waits for it",
        { retireBindingPresent: true, retireGroupIps: ["10.0.0.1", "10.0.0.2"] },
        [{ type: "createBackfill", route: "app-b-prod", sourceAccount: APP_B, byPosition: true }],
        [{ route: "app-b-prod", sourceAccount: APP_B, step: "retireSourceConfig", reason: "CopyNotCut" }],
      ],
      [
        "the copy cut, every machine of the source group migrated: retire",
        { retireBindingPresent: true, retireGroupIps: ["10.0.0.1", "10.0.0.2"], backfillJob: JOB },
        [{ type: "retireSourceConfig", route: "app-b-prod", sourceAccount: APP_B }],
        [],
      ],
      [
        "the copy cut, a machine of the source group not migrated: no retire, and the plan says why",
        {
          retireBindingPresent: true,
          retireGroupIps: ["10.0.0.1", "10.0.0.2", "10.0.0.7"],
          backfillJob: JOB,
        },
        [],
        [
          {
            route: "app-b-prod",
            sourceAccount: APP_B,
            step: "retireSourceConfig",
            reason: "SourceGroupNotMigrated",
            notMigrated: ["10.0.0.7"],
          },
        ],
      ],
      [
        "the source group could not be listed: apply checks it when it acts",
        { retireBindingPresent: true, backfillJob: JOB },
        [{ type: "retireSourceConfig", route: "app-b-prod", sourceAccount: APP_B }],
        [],
      ],
      ["retired and copied: nothing", { retireBindingPresent: false, backfillJob: JOB }, [], []],
    ];
    test("plan shows a held retire as cutover-waiting, with the machines that keep it", () => {
      const route = convergedRoute([a, b], {
        sources: {
          [APP_B]: { retireBindingPresent: true, retireGroupIps: ["10.0.0.1", "10.0.0.7"], backfillJob: JOB },
        },
      });
      const observed = observe([a, b], { "app-b-prod": route });

      const drift = buildDriftReport(config, observed, plan(config, observed));

      expect(drift.items).toEqual([
        expect.objectContaining({
          kind: "cutover-waiting",
          route: "app-b-prod",
          accountId: APP_B,
          detail: expect.stringContaining("1 machines of its group are not migrated (10.0.0.7)"),
        }),
      ]);
    });

    test.each(cases)("%s", (_name, source, actions, waits) => {
      const route = convergedRoute([a, b], { sources: { [APP_B]: source } });

      const result = plan(config, observe([a, b], { "app-b-prod": route }));

      expect(result.actions).toEqual(actions);
      expect(result.waits).toEqual(waits);
    });
  });

  test("no cutover while one of the source's instances does not collect yet", () => {
    const a = instance(tagged("app-b-prod", "collecting"));
    const b = instance(tagged("app-b-prod", "authorized"));
    const route = convergedRoute([a], { sources: { [APP_B]: { retireBindingPresent: true } } });

    const result = plan(config, observe([a, b], { "app-b-prod": route }));

    expect(types(result.actions)).not.toContain("retireSourceConfig");
    expect(types(result.actions)).not.toContain("createBackfill");
  });

  test("a copy job that exists is never created twice", () => {
    const a = instance(tagged("app-b-prod", "collecting"));
    const route = convergedRoute([a], {
      sources: { [APP_B]: { retireBindingPresent: false, backfillJob: { name: "j", status: "SUCCEEDED" } } },
    });

    expect(plan(config, observe([a], { "app-b-prod": route })).actions).toEqual([]);
  });

  describe("a retired source config goes back when a machine of its group is collected by nobody", () => {
    const retired = (groupIps: string[]) => ({
      sources: {
        [APP_B]: {
          retireBindingPresent: false,
          backfillJob: { name: "j", status: "SUCCEEDED" },
          retireGroupIps: groupIps,
        },
      },
    });

    test("an instance untagged after the retire: the config is bound again first, its revoke waits a run", () => {
      const kept = instance(tagged("app-b-prod", "collecting"), { privateIps: ["10.0.0.1"] });
      const left = instance({ [STATUS_KEY]: "collecting" }, { privateIps: ["10.0.0.2"] });
      const route = convergedRoute([kept, left], retired(["10.0.0.1", "10.0.0.2"]));

      const result = plan(config, observe([kept, left], { "app-b-prod": route }));

      expect(result.actions).toEqual([
        { type: "restoreSourceConfig", route: "app-b-prod", sourceAccount: APP_B, uncollected: ["10.0.0.2"] },
      ]);
      // The next run: bound again, so nothing is held back and the revoke goes.
      const bound = convergedRoute([kept, left], { sources: { [APP_B]: { retireBindingPresent: true } } });
      expect(types(plan(config, observe([kept, left], { "app-b-prod": bound })).actions)).toContain("revoke");
    });

    test("a failed instance, or a machine of the group that is no instance of the route: bound again", () => {
      const failed = instance(tagged("app-b-prod", "failed:NoLinesDelivered"), { privateIps: ["10.0.0.3"] });
      const route = convergedRoute([], retired(["10.0.0.3", "10.0.0.9"]));

      expect(plan(config, observe([failed], { "app-b-prod": route })).actions).toContainEqual({
        type: "restoreSourceConfig",
        route: "app-b-prod",
        sourceAccount: APP_B,
        uncollected: ["10.0.0.3", "10.0.0.9"],
      });
    });

    test("every machine migrated or on its way (tagged, being onboarded): stays retired", () => {
      const migrated = instance(tagged("app-b-prod", "collecting"), { privateIps: ["10.0.0.1"] });
      const coming = instance(tagged("app-b-prod", "authorized"), { privateIps: ["10.0.0.4"] });
      const route = convergedRoute([migrated], retired(["10.0.0.1", "10.0.0.4"]));

      expect(types(plan(config, observe([migrated, coming], { "app-b-prod": route })).actions)).not.toContain(
        "restoreSourceConfig",
      );
    });

    test("still bound, or the group not observed: nothing to restore", () => {
      const left = instance({ [STATUS_KEY]: "collecting" }, { privateIps: ["10.0.0.2"] });
      for (const sources of [{ retireBindingPresent: true }, { retireBindingPresent: false }]) {
        const route = convergedRoute([left], { sources: { [APP_B]: sources } });
        expect(types(plan(config, observe([left], { "app-b-prod": route })).actions)).toEqual(["revoke"]);
      }
    });
  });

  test("batches: 250 new instances → 3 RunCommand batches (≤100) and 5 status writes (≤50)", () => {
    const vms = Array.from({ length: 250 }, () => instance(tagged()));

    const result = plan(config, observe(vms));

    const authorize = result.actions.filter((a) => a.type === "authorize");
    const status = result.actions.filter((a) => a.type === "setStatus");
    expect(authorize.map((a) => a.instanceIds.length)).toEqual([100, 100, 50]);
    expect(status.map((a) => a.instanceIds.length)).toEqual([50, 50, 50, 50, 50]);
  });

  test("batches never mix accounts, regions, routes or operating systems", () => {
    // app-b hands over: its Windows hosts take part only with handover.windows: protocol.
    const route = config.routes["app-b-prod"];
    if (route === undefined) throw new Error("the example has no app-b-prod");
    const windowsHandedOver = {
      ...config,
      routes: {
        ...config.routes,
        "app-b-prod": { ...route, handover: { ...route.handover, windows: "protocol" as const } },
      },
    };
    const vms = [
      instance(tagged()),
      instance(tagged(), { region: "cn-shanghai" }),
      instance(tagged(), { os: "windows" }),
      instance(tagged("payments-prod"), { accountId: PAYMENTS }),
    ];

    const authorize = plan(windowsHandedOver, observe(vms)).actions.filter((a) => a.type === "authorize");

    expect(authorize).toHaveLength(4);
    expect(authorize.every((a) => a.instanceIds.length === 1)).toBe(true);
  });

  test("the plan is deterministic whatever the order of observation", () => {
    const vms = Array.from({ length: 20 }, (_, i) =>
      instance(i % 3 === 0 ? {} : tagged(i % 2 ? "app-b-prod" : "payments-prod")),
    );

    expect(plan(config, observe([...vms].reverse()))).toEqual(plan(config, observe(vms)));
  });
});

describe("domain helpers", () => {
  test("status tag values round-trip, foreign values are not statuses", () => {
    for (const value of ["pending", "authorized", "collecting", "revoked", "failed:NoHeartbeat"]) {
      const status = parseStatus(value);
      expect(status && formatStatus(status)).toBe(value);
    }
    expect(parseStatus("failed:Whatever")).toBeUndefined();
    expect(parseStatus("ok")).toBeUndefined();
  });

  test("SMBIOS UUIDs match in either case and byte order, and never loosely", () => {
    expect(
      sameSmbiosUuid("4C4C4544-0042-3510-8051-B7C04F4E3732", "4c4c4544-0042-3510-8051-b7c04f4e3732"),
    ).toBe(true);
    expect(
      sameSmbiosUuid("44454C4C-4200-1035-8051-B7C04F4E3732", "4c4c4544-0042-3510-8051-b7c04f4e3732"),
    ).toBe(true);
    expect(
      sameSmbiosUuid("4c4c4544-0042-3510-8051-b7c04f4e3733", "4c4c4544-0042-3510-8051-b7c04f4e3732"),
    ).toBe(false);
    expect(sameSmbiosUuid("", "")).toBe(false);
  });

  test("route resolution reads own properties only", () => {
    expect(
      resolveRoute(config, { accountId: APP_B, region: "cn-hangzhou", os: "linux" }, "__proto__"),
    ).toMatchObject({
      kind: "refused",
    });
  });
});
