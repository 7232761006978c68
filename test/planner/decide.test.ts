/**
 * The one place decisions are made: per instance (with what an event run sees, or with what
 * reconcile observed) and per cutover. Authorize, apply, reconcile and `plan` only act on these.
 */
import { join } from "node:path";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import {
  decideInstance,
  hostActionStillApplies,
  pendingCutoverSteps,
  readyForCutover,
  statusAfterAuthorize,
} from "../../shared/planner/decide";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const APP_B = "1700000000000397";
const PAYMENTS = "1800000000000512";
const ROUTE = config.tagKey;
const STATUS = config.statusTagKey;

const host = (tags: Record<string, string>, status = "Running", accountId = APP_B) => ({
  accountId,
  region: "cn-hangzhou",
  os: "linux" as const,
  status,
  tags,
});

describe("the instance decision, as an event run sees it (tags and state only)", () => {
  test("a new tagged host is authorized for its route; its status comes from the command", () => {
    expect(decideInstance(config, host({ [ROUTE]: "app-b-prod" }))).toEqual({
      route: "app-b-prod",
      verdict: { stage: "pending" },
      writeStatus: true,
      authorize: "app-b-prod",
    });
  });

  test("an onboarded host is authorized again and every other route its account may carry comes off (a presumed clean-up)", () => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: "collecting" }));
    expect(decision.authorize).toBe("app-b-prod");
    expect(decision.revoke).toEqual({ routes: ["payments-prod"], offboards: false, presumed: true });
  });

  test("a pending host, or one refused before, is authorized as new: nothing to clean up", () => {
    for (const status of ["pending", "failed:UnknownRoute"]) {
      const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: status }));
      expect(decision.revoke).toBeUndefined();
      expect(decision.authorize).toBe("app-b-prod");
    }
  });

  test("a host failure is retried without flapping: no status now, and a success keeps the reason", () => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: "failed:NoHeartbeat" }));
    expect(decision).toMatchObject({
      writeStatus: false,
      authorize: "app-b-prod",
      verdict: { stage: "failed", reason: "NoHeartbeat" },
    });
    expect(statusAfterAuthorize({ stage: "failed", reason: "NoHeartbeat" })).toEqual({
      stage: "failed",
      reason: "NoHeartbeat",
    });
    expect(statusAfterAuthorize({ stage: "pending" })).toEqual({ stage: "authorized" });
  });

  test("a refused tag: failed with its reason; an onboarded host leaves every route, one refused from the start is left alone", () => {
    const onboarded = decideInstance(config, host({ [ROUTE]: "no-such-route", [STATUS]: "collecting" }));
    expect(onboarded).toMatchObject({
      verdict: { stage: "failed", reason: "UnknownRoute" },
      writeStatus: true,
      revoke: { routes: ["app-b-prod", "payments-prod"], offboards: false },
    });
    const fresh = decideInstance(config, host({ [ROUTE]: "no-such-route" }));
    expect(fresh.revoke).toBeUndefined();
    expect(fresh.verdict).toMatchObject({ stage: "failed", reason: "UnknownRoute" });
  });

  test("untagged: an onboarded host is offboarded from every route it may carry; a revoked one is left alone", () => {
    expect(decideInstance(config, host({ [STATUS]: "authorized" })).revoke).toEqual({
      routes: ["app-b-prod", "payments-prod"],
      offboards: true,
      presumed: true,
    });
    expect(decideInstance(config, host({ [STATUS]: "revoked" }))).toEqual({ writeStatus: false });
    expect(decideInstance(config, host({}))).toEqual({ writeStatus: false });
  });

  test("a stopped host is pending until it starts; no command runs", () => {
    expect(decideInstance(config, host({ [ROUTE]: "app-b-prod" }, "Stopped"))).toEqual({
      route: "app-b-prod",
      verdict: { stage: "pending", detail: "instance is Stopped" },
      writeStatus: true,
    });
  });
});

describe("the instance decision with what reconcile observed", () => {
  // Lines earn `collecting` (the heartbeat check and apply see them); a heartbeat only keeps it.
  test.each<[string, string, object]>([
    [
      "collecting: stays collecting, nothing to run",
      "collecting",
      { route: "app-b-prod", verdict: { stage: "collecting" }, writeStatus: true },
    ],
    [
      "authorized: waits for its first line in the heartbeat check, and apply looks for it",
      "authorized",
      {
        route: "app-b-prod",
        verdict: { stage: "authorized", detail: "heartbeating, waiting for its first line" },
        writeStatus: true,
        awaitHeartbeat: "app-b-prod",
        checkDelivery: "app-b-prod",
      },
    ],
    [
      "pending (a status written before the host was judged): authorized, waiting for lines",
      "pending",
      {
        route: "app-b-prod",
        verdict: { stage: "authorized", detail: "heartbeating, waiting for its first line" },
        writeStatus: true,
        awaitHeartbeat: "app-b-prod",
        checkDelivery: "app-b-prod",
      },
    ],
    [
      "failed for its lines: the reason stands while its lines are looked for again",
      "failed:NoLinesDelivered",
      {
        route: "app-b-prod",
        verdict: {
          stage: "failed",
          reason: "NoLinesDelivered",
          detail: "heartbeating: looking for its lines again",
        },
        writeStatus: false,
        awaitHeartbeat: "app-b-prod",
        checkDelivery: "app-b-prod",
      },
    ],
  ])("heartbeating in its route with every resource there, %s", (_what, status, expected) => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: status }), {
      heartbeatingIn: ["app-b-prod"],
      machineGroupExists: true,
      missingResources: [],
    });
    expect(decision).toEqual(expected);
  });

  test("authorized and not heartbeating yet: the wait goes to the heartbeat check, not another command", () => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: "authorized" }), {
      heartbeatingIn: [],
      machineGroupExists: true,
    });
    expect(decision).toMatchObject({ awaitHeartbeat: "app-b-prod", writeStatus: false });
    expect(decision.authorize).toBeUndefined();
  });

  test("seen heartbeating in another route (a re-tag): that route comes off, not presumed", () => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod", [STATUS]: "collecting" }), {
      heartbeatingIn: ["payments-prod"],
      machineGroupExists: true,
    });
    expect(decision.revoke).toEqual({ routes: ["payments-prod"], offboards: false, presumed: false });
    expect(decision.authorize).toBe("app-b-prod");
  });

  test("Cloud Assistant offline: failed with that reason, no command", () => {
    const decision = decideInstance(config, host({ [ROUTE]: "app-b-prod" }), {
      heartbeatingIn: [],
      machineGroupExists: true,
      cloudAssistantOnline: false,
    });
    expect(decision).toMatchObject({ verdict: { stage: "failed", reason: "CloudAssistantOffline" } });
    expect(decision.authorize).toBeUndefined();
  });
});

describe("a decided host action meets the instance as it is now", () => {
  test("an authorize applies while the tag names its route and the instance runs", () => {
    const action = { kind: "authorize", route: "app-b-prod" } as const;
    expect(hostActionStillApplies(config, host({ [ROUTE]: "app-b-prod" }), action)).toBe(true);
    expect(hostActionStillApplies(config, host({}), action)).toBe(false);
    expect(hostActionStillApplies(config, host({ [ROUTE]: "payments-prod" }), action)).toBe(false);
    expect(hostActionStillApplies(config, host({ [ROUTE]: "app-b-prod" }, "Stopping"), action)).toBe(false);
  });

  test("an offboarding revoke applies only while the instance is off every route", () => {
    const action = { kind: "revoke", routes: ["app-b-prod"], offboards: true } as const;
    expect(hostActionStillApplies(config, host({}), action)).toBe(true);
    expect(hostActionStillApplies(config, host({ [ROUTE]: "app-b-prod" }), action)).toBe(false);
  });

  test("a re-tag's clean-up never removes the route the tag names again", () => {
    const action = { kind: "revoke", routes: ["payments-prod"], offboards: false } as const;
    expect(hostActionStillApplies(config, host({ [ROUTE]: "app-b-prod" }), action)).toBe(true);
    expect(
      hostActionStillApplies(config, host({ [ROUTE]: "payments-prod" }, "Running", PAYMENTS), action),
    ).toBe(false);
  });
});

describe("the cutover decision", () => {
  test("ready only once every running instance of the account collects, and it has one", () => {
    expect(readyForCutover({ running: 3, collecting: 3 })).toBe(true);
    expect(readyForCutover({ running: 3, collecting: 2 })).toBe(false);
    expect(readyForCutover({ running: 0, collecting: 0 })).toBe(false);
  });

  test("the steps left: retire while the binding is there (or unknown), copy while the job is missing", () => {
    const configured = { retireConfigured: true, backfillConfigured: true };
    expect(pendingCutoverSteps({ ...configured })).toEqual({ retire: true, createBackfill: true });
    expect(
      pendingCutoverSteps({ ...configured, retireBindingPresent: false, backfillJobExists: true }),
    ).toEqual({ retire: false, createBackfill: false });
    expect(
      pendingCutoverSteps({
        retireConfigured: false,
        backfillConfigured: false,
        retireBindingPresent: true,
        backfillJobExists: false,
      }),
    ).toEqual({ retire: false, createBackfill: false });
  });
});
