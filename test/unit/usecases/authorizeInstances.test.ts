/**
 * The authorize step on port fakes: which hosts get which host command, the status each instance
 * ends with, what goes to the heartbeat queue and what the log says. The same scenarios as
 * test/pipeline/authorizeInstances.test.ts and slowHosts.test.ts, without the stack.
 */
import type { RoutesFile } from "../../../shared/config/routesSchema";
import { HUB_QUEUES } from "../../../shared/messages/queueMessages";
import type { InvocationResult } from "../../../shared/ports";
import { authorizeInstances } from "../../../shared/usecases/authorizeInstances";
import {
  APP_B,
  argsOf,
  dataEndpoint,
  type FakeCloud,
  failedRun,
  fakeCloud,
  HUB,
  hostReport,
  instance,
  machineOf,
  PAYMENTS,
  REGION,
  ROUTES,
  routeFor,
  stillRunning,
  succeeded,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const HEARTBEAT = HUB_QUEUES.heartbeat;
const APP_B_PROD = tags("app-b-prod");

let cloud: FakeCloud;
let deps: UseCaseDeps;

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
});

const authorize = (instanceIds: string[], accountId = APP_B, region = REGION) =>
  authorizeInstances(deps, { accountId, region, instanceIds });
const ecs = (accountId = APP_B) => cloud.ecs({ accountId, region: REGION });
/** The host script's arguments of every command run in the account, with the hosts it ran on. */
const commands = (accountId = APP_B) =>
  ecs(accountId)
    .commandsRun()
    .map((c) => ({ words: c.words, instanceIds: c.instanceIds }));
const heartbeatChecks = () =>
  cloud.queue
    .sent(HEARTBEAT)
    .flatMap((m) => (m.ok && m.message.type === "await-heartbeat" ? [m.message] : []));
const commandChecks = () =>
  cloud.queue
    .sent(HEARTBEAT)
    .flatMap((m) =>
      m.ok && m.message.type === "check-command" ? [{ ...m.message, delay: m.delaySeconds }] : [],
    );

/** The example's routes plus `count` copies of `template`, each with its own Linux identifier and group. */
function withRoutesLike(template: string, count: number, identifier: (i: number) => string) {
  const spec = ROUTES.routes[template];
  if (spec === undefined) throw new Error(`the example lost ${template}`);
  const routes = { ...ROUTES.routes };
  for (let i = 0; i < count; i += 1)
    routes[`${template}-copy-${i}`] = {
      ...spec,
      identifier: { linux: identifier(i) },
      machineGroup: { linux: `${template}-copy-${i}-group` },
    };
  return { ...ROUTES, routes };
}

/** The example's routes with app-b-prod's Windows hosts handed over as `windows` says. */
const handoverForWindows = (windows: "keep-source" | "protocol"): RoutesFile => {
  const route = ROUTES.routes["app-b-prod"];
  if (route === undefined) throw new Error("the example has no app-b-prod");
  return {
    ...ROUTES,
    routes: { ...ROUTES.routes, "app-b-prod": { ...route, handover: { ...route.handover, windows } } },
  };
};
const authorizeWords = (identifier: string) => ["authorize", "--uid", HUB, "--id", identifier];
const revokeWords = (identifier: string, other: string) => [
  "revoke",
  "--uid",
  HUB,
  "--id",
  identifier,
  "--other-id",
  other,
];

describe("authorizeInstances: onboarding", () => {
  test("a tagged running host gets the route's authorize command, is marked authorized and queued for its heartbeat check", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: APP_B_PROD }));

    const outcome = await authorize(["i-bp1web0000001"]);

    expect(commands()).toEqual([
      { words: authorizeWords("app-b-prod-linux"), instanceIds: ["i-bp1web0000001"] },
    ]);
    expect(outcome.commands).toBe(1);
    expect(outcome.statuses.get("i-bp1web0000001")).toBe("authorized");
    expect(cloud.status("i-bp1web0000001")).toBe("authorized");
    expect(heartbeatChecks()).toEqual([
      {
        v: 1,
        type: "await-heartbeat",
        accountId: APP_B,
        region: REGION,
        route: "app-b-prod",
        instanceIds: ["i-bp1web0000001"],
        authorizedAt: expect.any(Number),
        checks: 0,
      },
    ]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "authorize",
        outcome: "ok",
        route: "app-b-prod",
        instanceIds: ["i-bp1web0000001"],
        invokeId: expect.stringMatching(/^t-/),
      }),
    );
  });

  test("the status is written before the heartbeat check is queued (the check acts only on authorized hosts)", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: APP_B_PROD }));

    await authorize(["i-bp1web0000001"]);

    const tagAt = cloud.journal.findIndex((entry) => entry.endsWith(".tagInstances"));
    const sendAt = cloud.journal.indexOf("queue.send");
    expect(tagAt).toBeGreaterThanOrEqual(0);
    expect(sendAt).toBeGreaterThan(tagAt);
  });

  test("a Windows host gets the PowerShell command with the route's Windows identifier", async () => {
    // app-b hands over: its Windows hosts take part only with handover.windows: protocol.
    deps = useCaseDeps(cloud, { config: handoverForWindows("protocol") });
    cloud.add(instance("i-bp1win0000001", { os: "windows", tags: APP_B_PROD }));

    await authorize(["i-bp1win0000001"]);

    const [run] = ecs().commandsRun();
    expect(run?.command.type).toBe("RunPowerShellScript");
    expect(run?.words).toEqual(authorizeWords("app-b-prod-windows"));
    expect(cloud.status("i-bp1win0000001")).toBe("authorized");
  });

  test("a second pass on an authorized host writes no status", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: tags("app-b-prod", "authorized") }));

    await authorize(["i-bp1web0000001"]);

    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
    expect(cloud.status("i-bp1web0000001")).toBe("authorized");
  });

  test("a Linux host an earlier authorize set up is authorized with --adopt, in its own command; fresh and Windows hosts without", async () => {
    deps = useCaseDeps(cloud, { config: handoverForWindows("protocol") });
    cloud.add(
      instance("i-bp1web0000001", { tags: APP_B_PROD }),
      instance("i-bp1web0000002", { tags: tags("app-b-prod", "collecting") }),
      instance("i-bp1web0000003", { tags: tags("app-b-prod", "failed:UidFileMissing") }),
      instance("i-bp1web0000004", { tags: tags("app-b-prod", "failed:CloudAssistantOffline") }),
      instance("i-bp1win0000001", { os: "windows", tags: tags("app-b-prod", "collecting") }),
    );

    await authorize([
      "i-bp1web0000001",
      "i-bp1web0000002",
      "i-bp1web0000003",
      "i-bp1web0000004",
      "i-bp1win0000001",
    ]);

    // (The onboarded ones are also revoked from the account's other route: their old route is unknown.)
    expect(commands().filter((c) => c.words[0] === "authorize")).toEqual(
      expect.arrayContaining([
        {
          words: authorizeWords("app-b-prod-linux"),
          instanceIds: ["i-bp1web0000001", "i-bp1web0000004"],
        },
        {
          words: [...authorizeWords("app-b-prod-linux"), "--adopt"],
          instanceIds: ["i-bp1web0000002", "i-bp1web0000003"],
        },
        { words: authorizeWords("app-b-prod-windows"), instanceIds: ["i-bp1win0000001"] },
      ]),
    );
    expect(commands().filter((c) => c.words[0] === "authorize")).toHaveLength(3);
  });

  test("150 hosts: two RunCommands (100 a call) and two heartbeat messages (100 ids a message)", async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `i-bp1many${String(i).padStart(6, "0")}`);
    cloud.add(...ids.map((id) => instance(id, { tags: APP_B_PROD })));

    const outcome = await authorize(ids);

    expect(outcome.commands).toBe(2);
    expect(commands().map((c) => c.instanceIds.length)).toEqual([100, 50]);
    expect(heartbeatChecks().map((m) => m.instanceIds.length)).toEqual([100, 50]);
    expect(ids.every((id) => cloud.status(id) === "authorized")).toBe(true);
  });

  test("a retried host failure keeps its reason until the heartbeat check decides, and that check is queued", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: tags("app-b-prod", "failed:NoHeartbeat") }));

    await authorize(["i-bp1web0000001"]);

    expect(commands().filter((c) => c.words[0] === "authorize")).toEqual([
      { words: [...authorizeWords("app-b-prod-linux"), "--adopt"], instanceIds: ["i-bp1web0000001"] },
    ]);
    expect(cloud.status("i-bp1web0000001")).toBe("failed:NoHeartbeat");
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
    expect(heartbeatChecks().map((m) => m.instanceIds)).toEqual([["i-bp1web0000001"]]);
  });

  test("an instance the event names that ECS no longer has is logged as released", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: APP_B_PROD }));

    await authorize(["i-bp1web0000001", "i-bp1gone000001"]);

    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        outcome: "skipped",
        reason: "InstanceReleased",
        instanceIds: ["i-bp1gone000001"],
      }),
    );
    expect(commands().flatMap((c) => c.instanceIds)).toEqual(["i-bp1web0000001"]);
  });
});

describe("authorizeInstances: hosts that get no command", () => {
  test.each([["Stopped"], ["Starting"]])(
    "a tagged %s host is marked pending and gets no command",
    async (state) => {
      cloud.add(instance("i-bp1stop000001", { status: state, tags: APP_B_PROD }));

      await authorize(["i-bp1stop000001"]);

      expect(cloud.status("i-bp1stop000001")).toBe("pending");
      expect(commands()).toEqual([]);
      expect(heartbeatChecks()).toEqual([]);
    },
  );

  test("a host whose Cloud Assistant is offline is failed CloudAssistantOffline; the others still run", async () => {
    cloud.add(
      instance("i-bp1offl000001", { tags: APP_B_PROD }),
      instance("i-bp1web0000001", { tags: APP_B_PROD }),
    );
    ecs().offline.add("i-bp1offl000001");

    await authorize(["i-bp1offl000001", "i-bp1web0000001"]);

    expect(cloud.status("i-bp1offl000001")).toBe("failed:CloudAssistantOffline");
    expect(cloud.status("i-bp1web0000001")).toBe("authorized");
    expect(commands().flatMap((c) => c.instanceIds)).toEqual(["i-bp1web0000001"]);
  });

  test("an untagged host never onboarded is left alone: no command, no status", async () => {
    cloud.add(instance("i-bp1untag00001"));

    await authorize(["i-bp1untag00001"]);

    expect(commands()).toEqual([]);
    expect(cloud.status("i-bp1untag00001")).toBeUndefined();
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
  });

  test("an untagged host already revoked is left alone", async () => {
    cloud.add(instance("i-bp1untag00001", { tags: tags(undefined, "revoked") }));

    await authorize(["i-bp1untag00001"]);

    expect(commands()).toEqual([]);
    expect(cloud.status("i-bp1untag00001")).toBe("revoked");
  });
});

describe("authorizeInstances: refusals", () => {
  test.each([
    ["a tag value that is not a route name", APP_B, "$(reboot)", "InvalidRouteTag"],
    ["a route the routes file does not have", APP_B, "no-such-route", "UnknownRoute"],
    ["a route the account may not use", PAYMENTS, "app-b-prod", "RouteNotAllowedForAccount"],
  ])("%s: failed with the reason, logged refused, no command", async (_what, accountId, route, reason) => {
    cloud.add(instance("i-bp1refused001", { accountId, tags: tags(route) }));

    await authorize(["i-bp1refused001"], accountId);

    expect(cloud.status("i-bp1refused001")).toBe(`failed:${reason}`);
    expect(commands(accountId)).toEqual([]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "authorize",
        outcome: "refused",
        reason,
        instanceIds: ["i-bp1refused001"],
      }),
    );
  });

  test("a Windows host on a route without Windows settings is refused OsNotSupportedByRoute", async () => {
    cloud.add(
      instance("i-bp1win0000001", { accountId: PAYMENTS, os: "windows", tags: tags("payments-prod") }),
    );

    await authorize(["i-bp1win0000001"], PAYMENTS);

    expect(cloud.status("i-bp1win0000001")).toBe("failed:OsNotSupportedByRoute");
    expect(commands(PAYMENTS)).toEqual([]);
  });

  describe("Windows hosts of a source that hands over from its old config (app-b on app-b-prod)", () => {
    const WINDOWS = "i-bp1win0000002";
    beforeEach(() => {
      cloud.add(instance(WINDOWS, { os: "windows", tags: APP_B_PROD }));
    });

    test("by default they keep their own collection: refused, no host command", async () => {
      await authorize([WINDOWS], APP_B);

      expect(cloud.status(WINDOWS)).toBe("failed:HandoverUnverifiedOnWindows");
      expect(commands(APP_B)).toEqual([]);
    });

    test("handover.windows: protocol onboards them like Linux hosts", async () => {
      deps = useCaseDeps(cloud, { config: handoverForWindows("protocol") });

      await authorize([WINDOWS], APP_B);

      expect(cloud.status(WINDOWS)).not.toMatch(/^failed:/);
      expect(commands(APP_B)).toHaveLength(1);
    });
  });

  test.each([
    ["an account outside the routes file", "1999999999999999", REGION, "AccountNotConfigured"],
    ["a region the account is not configured for", APP_B, "cn-beijing", "RegionNotConfigured"],
  ])(
    "an event for %s is refused in the log and no cloud API is called",
    async (_what, accountId, region, reason) => {
      cloud.add(instance("i-bp1web0000001", { accountId, region, tags: APP_B_PROD }));

      const outcome = await authorize(["i-bp1web0000001"], accountId, region);

      expect(cloud.journal).toEqual([]);
      expect(outcome).toEqual({ statuses: new Map(), commands: 0 });
      expect(cloud.logs).toEqual([
        expect.objectContaining({ outcome: "refused", reason, instanceIds: ["i-bp1web0000001"] }),
      ]);
    },
  );
});

describe("authorizeInstances: offboarding and re-tagging", () => {
  describe("both tags removed at once (tooling that owns the tag set): the machine groups remember", () => {
    const ID = "i-bp1bothgone001";
    /** The host heartbeats in the route's group, under its identifier. */
    const heartbeatingIn = (route: string) => {
      const seen = routeFor(route);
      const record = cloud.record(ID);
      if (!record) throw new Error("no instance");
      const sls = cloud.sls(seen.destination);
      sls.projectExists = true;
      sls.machineGroups.set(seen.group, [seen.identifier]);
      sls.machines.set(seen.group, [machineOf(record, seen.identifier, cloud.clock.now())]);
    };

    test("a host still heartbeating in app-b-prod's group is revoked from it and marked revoked", async () => {
      cloud.add(instance(ID));
      heartbeatingIn("app-b-prod");

      await authorize([ID]);

      expect(commands()).toEqual([
        { words: revokeWords("app-b-prod-linux", "payments-prod-linux"), instanceIds: [ID] },
      ]);
      expect(cloud.status(ID)).toBe("revoked");
    });

    test("its status key comes back before the revoke: RAM lets the spoke role command only instances with a tool key", async () => {
      cloud.add(instance(ID));
      heartbeatingIn("app-b-prod");

      await authorize([ID]);

      const order = ecs()
        .calls.filter((call) => call.method === "tagInstances" || call.method === "runCommand")
        .map((call) => (call.method === "runCommand" ? "runCommand" : JSON.stringify(call.args[1])));
      expect(order).toEqual([
        JSON.stringify({ "logtail-xacct-status": "pending" }),
        "runCommand",
        JSON.stringify({ "logtail-xacct-status": "revoked" }),
      ]);
    });

    test("a host in no group was never onboarded: no command, no status, only the groups read", async () => {
      cloud.add(instance(ID));

      await authorize([ID]);

      expect(commands()).toEqual([]);
      expect(cloud.status(ID)).toBeUndefined();
      expect(
        argsOf(cloud.sls(routeFor("app-b-prod").destination).calls, "listMachines").length,
      ).toBeGreaterThan(0);
    });

    test("a batch without such a host reads no group", async () => {
      cloud.add(instance(ID, { tags: tags(undefined, "revoked") }));

      await authorize([ID]);

      expect(argsOf(cloud.sls(routeFor("app-b-prod").destination).calls, "listMachines")).toEqual([]);
    });
  });

  test("an untagged host that was onboarded is revoked from every route its account may use in one command, then marked revoked", async () => {
    cloud.add(instance("i-bp1untag00001", { tags: tags(undefined, "collecting") }));

    await authorize(["i-bp1untag00001"]);

    // Both routes send to the hub: one revoke carries both identifiers, and the UID file goes.
    expect(commands()).toEqual([
      {
        words: ["revoke", "--uid", HUB, "--id", "app-b-prod-linux", "--id", "payments-prod-linux"],
        instanceIds: ["i-bp1untag00001"],
      },
    ]);
    expect(cloud.status("i-bp1untag00001")).toBe("revoked");
    expect(heartbeatChecks()).toEqual([]);
    for (const route of ["app-b-prod", "payments-prod"])
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({ action: "revoke", outcome: "ok", route, instanceIds: ["i-bp1untag00001"] }),
      );
  });

  test("60 routes to one destination: offboarding is one RunCommand, not 60", async () => {
    deps = useCaseDeps(cloud, {
      config: withRoutesLike("app-b-prod", 58, (i) => `extra-${String(i).padStart(2, "0")}-linux`),
    });
    cloud.add(instance("i-bp1untag00001", { tags: tags(undefined, "collecting") }));

    const outcome = await authorize(["i-bp1untag00001"]);

    expect(outcome.commands).toBe(1);
    const [revoke] = commands();
    expect(revoke?.words.filter((word) => word === "--id")).toHaveLength(60);
    expect(revoke?.words).not.toContain("--other-id");
    expect(cloud.status("i-bp1untag00001")).toBe("revoked");
  });

  test("a revoke too large to send fails its own hosts only; the batch's authorize still runs", async () => {
    // FAKE_SCRIPTS are tiny: 200 identifiers of 120 characters are what does not fit.
    deps = useCaseDeps(cloud, {
      config: withRoutesLike("payments-prod", 200, (i) => `${"l".repeat(116)}-${String(i).padStart(3, "0")}`),
    });
    cloud.add(
      instance("i-bp1untag00001", { tags: tags(undefined, "collecting") }),
      instance("i-bp1web0000001", { tags: APP_B_PROD }),
    );

    await authorize(["i-bp1untag00001", "i-bp1web0000001"]);

    expect(cloud.status("i-bp1untag00001")).toBe("collecting");
    expect(cloud.status("i-bp1web0000001")).toBe("authorized");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "failed",
        reason: "CommandNotRendered",
        instanceIds: ["i-bp1untag00001"],
      }),
    );
  });

  test("an untagged machine of a retired source group: the source config goes back first, the revoke waits for reconcile", async () => {
    cloud.add(
      instance("i-bp1untag00001", { tags: tags(undefined, "collecting"), privateIps: ["10.0.0.13"] }),
      instance("i-bp1untag00002", { tags: tags(undefined, "collecting"), privateIps: ["10.0.0.14"] }),
    );
    // app-b's own collection, retired by the cutover; its group still lists one of the two.
    const source = cloud.sls({ accountId: APP_B, region: REGION, project: "app-b-logs" });
    source.projectExists = true;
    source.machineGroups.set("app-b-servers", ["app-b-web"]);
    source.pipelineConfigs.set("app-b-files", {
      name: "app-b-files",
      filePaths: ["/var/log/app-b/*.log"],
      processors: [],
      logstore: "app-b",
      endpoint: dataEndpoint(REGION),
    });
    source.machines.set("app-b-servers", [
      { machineUniqueId: "SRC-1", userdefinedId: "app-b-web", lastHeartbeatTime: 0, ip: "10.0.0.13" },
    ]);

    await authorize(["i-bp1untag00001", "i-bp1untag00002"]);

    expect([...(source.bindings.get("app-b-servers") ?? [])]).toEqual(["app-b-files"]);
    // Only the host outside the group is revoked now.
    expect(commands().flatMap((c) => c.instanceIds)).not.toContain("i-bp1untag00001");
    expect(commands().flatMap((c) => c.instanceIds)).toContain("i-bp1untag00002");
    expect(cloud.status("i-bp1untag00001")).toBe("collecting");
    expect(cloud.status("i-bp1untag00002")).toBe("revoked");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "skipped",
        reason: "SourceConfigRestored",
        instanceIds: ["i-bp1untag00001"],
      }),
    );

    // Bound again: the next pass revokes it.
    await authorize(["i-bp1untag00001"]);
    expect(cloud.status("i-bp1untag00001")).toBe("revoked");
  });

  test("an untagged host is not marked revoked while one of its revokes failed", async () => {
    cloud.add(instance("i-bp1untag00001", { tags: tags(undefined, "collecting") }));
    ecs().answer = (id, words) =>
      words[0] === "revoke" ? failedRun(id, { errorCode: "InvalidCommand" }) : succeeded(id);

    await authorize(["i-bp1untag00001"]);

    expect(cloud.status("i-bp1untag00001")).toBe("collecting");
    for (const route of ["app-b-prod", "payments-prod"])
      expect(cloud.logs).toContainEqual(
        expect.objectContaining({ action: "revoke", outcome: "failed", route }),
      );
  });

  test("re-tagging an onboarded host to another route removes the old route's identifier first, then authorizes the new one", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: tags("payments-prod", "collecting") }));

    await authorize(["i-bp1web0000001"]);

    expect(commands()).toEqual([
      { words: revokeWords("app-b-prod-linux", "payments-prod-linux"), instanceIds: ["i-bp1web0000001"] },
      // Set up before: what it has without the script's record is taken as ours (the record wins).
      { words: [...authorizeWords("payments-prod-linux"), "--adopt"], instanceIds: ["i-bp1web0000001"] },
    ]);
    expect(cloud.status("i-bp1web0000001")).toBe("authorized");
    expect(heartbeatChecks().map((m) => m.route)).toEqual(["payments-prod"]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "ok",
        route: "app-b-prod",
        instanceIds: ["i-bp1web0000001"],
        detail: "re-tagged: this route's identifier removed",
      }),
    );
  });

  test("re-tagging an onboarded host to a route it may not use takes it off its routes and says why", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: tags("no-such-route", "collecting") }));

    await authorize(["i-bp1web0000001"]);

    expect(cloud.status("i-bp1web0000001")).toBe("failed:UnknownRoute");
    expect(commands().map((c) => c.words[0])).toEqual(["revoke"]);
    expect(heartbeatChecks()).toEqual([]);
  });

  test("a host refused from the start is not revoked", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: tags("no-such-route", "failed:UnknownRoute") }));

    await authorize(["i-bp1web0000001"]);

    expect(commands()).toEqual([]);
    expect(cloud.status("i-bp1web0000001")).toBe("failed:UnknownRoute");
  });
});

describe("authorizeInstances: command results", () => {
  const report = (fields: Parameters<typeof hostReport>[0]) => hostReport(fields);
  test.each<[string, string, string, (id: string) => InvocationResult]>([
    [
      "the script reports an error",
      "failed:HostScriptFailed",
      "HostScriptFailed",
      (id) => succeeded(id, report({ ok: false, error: { code: "NoAgent", message: "no agent found" } })),
    ],
    [
      "the script's last line is not a report",
      "failed:HostScriptFailed",
      "HostScriptFailed",
      (id) => ({ ...succeeded(id), output: "garbage\n" }),
    ],
    [
      "Cloud Assistant is not running on the host",
      "failed:CloudAssistantOffline",
      "ClientNotRunning",
      (id) => failedRun(id, { errorCode: "ClientNotRunning", errorInfo: "agent stopped" }),
    ],
    [
      "no agent picked the command up",
      "failed:CloudAssistantOffline",
      "DeliveryTimeout",
      (id) => failedRun(id, { errorCode: "DeliveryTimeout" }),
    ],
    [
      "the command ran past its timeout",
      "failed:HostCommandTimeout",
      "HostCommandTimeout",
      (id) => failedRun(id, { status: "Timeout", errorCode: "ExecutionTimeout" }),
    ],
    [
      "the script exited non-zero",
      "failed:HostScriptFailed",
      "ExitCodeNonzero",
      (id) => failedRun(id, { exitCode: 3, errorCode: "ExitCodeNonzero" }),
    ],
    [
      "the instance stopped meanwhile",
      "pending",
      "InstanceNotRunning",
      (id) => failedRun(id, { errorCode: "InstanceNotRunning" }),
    ],
  ])("%s: status %s, logged failed with %s, no heartbeat check", async (_what, status, reason, result) => {
    cloud.add(instance("i-bp1web0000001", { tags: APP_B_PROD }));
    ecs().answer = (id) => result(id);

    await authorize(["i-bp1web0000001"]);

    expect(cloud.status("i-bp1web0000001")).toBe(status);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "authorize",
        outcome: "failed",
        reason,
        instanceIds: ["i-bp1web0000001"],
        invokeId: expect.stringMatching(/^t-/),
      }),
    );
    expect(heartbeatChecks()).toEqual([]);
  });

  test("the script's error message is kept in the log line", async () => {
    cloud.add(instance("i-bp1web0000001", { tags: APP_B_PROD }));
    ecs().answer = (id) =>
      succeeded(id, report({ ok: false, error: { code: "Locked", message: "lock held" } }));

    await authorize(["i-bp1web0000001"]);

    expect(cloud.logs).toContainEqual(
      expect.objectContaining({ reason: "HostScriptFailed", detail: "lock held" }),
    );
  });
});

describe("authorizeInstances: slow hosts", () => {
  test("a host whose command is still running is not failed: it stays pending and is looked at later", async () => {
    cloud.add(
      instance("i-bp1fast000001", { tags: APP_B_PROD }),
      instance("i-bp1slow000001", { tags: APP_B_PROD }),
    );
    ecs().answer = (id) => (id === "i-bp1slow000001" ? stillRunning(id, "Pending") : succeeded(id));
    const start = cloud.clock.now();

    const outcome = await authorize(["i-bp1fast000001", "i-bp1slow000001"]);

    expect(outcome.commands).toBe(1);
    expect(cloud.status("i-bp1fast000001")).toBe("authorized");
    expect(cloud.status("i-bp1slow000001")).toBe("pending");
    const [run] = ecs().commandsRun("authorize");
    expect(commandChecks()).toEqual([
      expect.objectContaining({
        type: "check-command",
        accountId: APP_B,
        route: "app-b-prod",
        instanceIds: ["i-bp1slow000001"],
        invokeId: run?.invokeId,
        action: "authorize",
        checks: 0,
        sentAt: start,
        delay: 50,
      }),
    ]);
    expect(heartbeatChecks().map((m) => m.instanceIds)).toEqual([["i-bp1fast000001"]]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        outcome: "skipped",
        reason: "HostCommandRunning",
        instanceIds: ["i-bp1slow000001"],
      }),
    );
    expect(cloud.logs.filter((line) => line.outcome === "failed")).toEqual([]);
    // Waited 90 s for the result at most, on the fake clock.
    expect(cloud.clock.now() - start).toBeLessThanOrEqual(90_000);
  });

  test("a slow host keeps the status it had (a retried failure is not turned pending)", async () => {
    cloud.add(instance("i-bp1slow000001", { tags: tags("app-b-prod", "failed:NoHeartbeat") }));
    // Onboarded before: the other route's identifier comes off first (quickly), then authorize runs.
    ecs().answer = (id, words) => (words[0] === "authorize" ? stillRunning(id) : succeeded(id));

    await authorize(["i-bp1slow000001"]);

    expect(cloud.status("i-bp1slow000001")).toBe("failed:NoHeartbeat");
    expect(commandChecks().map((m) => [m.action, m.instanceIds])).toEqual([
      ["authorize", ["i-bp1slow000001"]],
    ]);
  });

  test("no wait goes past the invocation's deadline", async () => {
    cloud.add(instance("i-bp1slow000001", { tags: APP_B_PROD }));
    ecs().answer = (id) => stillRunning(id);
    const start = cloud.clock.now();
    deps = useCaseDeps(cloud, { deadline: () => start + 12_000 });

    await authorize(["i-bp1slow000001"]);

    expect(cloud.clock.now()).toBeLessThanOrEqual(start + 12_000);
    expect(cloud.status("i-bp1slow000001")).toBe("pending");
    expect(commandChecks()).toHaveLength(1);
  });

  test("a slow revoke is read later too: the host is not marked revoked yet", async () => {
    cloud.add(instance("i-bp1untag00001", { tags: tags(undefined, "authorized") }));
    ecs().answer = (id) => stillRunning(id);

    await authorize(["i-bp1untag00001"]);

    expect(cloud.status("i-bp1untag00001")).toBe("authorized");
    expect(commandChecks().map((m) => m.action)).toEqual(["revoke"]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        reason: "HostCommandRunning",
        instanceIds: ["i-bp1untag00001"],
      }),
    );
  });
});
