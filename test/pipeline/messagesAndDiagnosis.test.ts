import { formatStatus, parseStatus } from "../../shared/domain/status";
import {
  diagnoseNoDelivery,
  diagnoseNoHeartbeat,
  nextHeartbeatCheckDelaySeconds,
} from "../../shared/heartbeat/diagnosis";
import type { HostReport } from "../../shared/hostscript/hostReport";
import {
  type ApplyMessage,
  decodeMessage,
  encodeMessage,
  MAX_INSTANCES_PER_MESSAGE,
  mergeApplyMessages,
  type QueueMessage,
} from "../../shared/messages/queueMessages";

const UID = "1200000000000456";
const ID = "app-b-prod-linux";

const awaiting: QueueMessage = {
  v: 1,
  type: "await-heartbeat",
  accountId: "1700000000000397",
  region: "cn-hangzhou",
  route: "app-b-prod",
  instanceIds: ["i-bp1aaaaaa", "i-bp1bbbbbb"],
  authorizedAt: 1_800_000_000_000,
  checks: 0,
};

describe("queue messages carry identities, validated on the way in", () => {
  test("round trip", () => {
    expect(decodeMessage(encodeMessage(awaiting))).toEqual({ ok: true, message: awaiting });
  });

  test("a heartbeat message sent again carries its failed tries; an inspect says what it looks for", () => {
    const again = { ...awaiting, failedAttempts: 3 };
    const look = {
      v: 1 as const,
      type: "check-command" as const,
      accountId: awaiting.accountId,
      region: awaiting.region,
      route: awaiting.route,
      instanceIds: awaiting.instanceIds,
      invokeId: "t-hz0000000000001",
      action: "inspect" as const,
      inspectFor: "heartbeat" as const,
      sentAt: 1,
      checks: 0,
      failedAttempts: 1,
    };

    expect(decodeMessage(encodeMessage(again))).toEqual({ ok: true, message: again });
    expect(decodeMessage(encodeMessage(look))).toEqual({ ok: true, message: look });
    expect(decodeMessage(JSON.stringify({ ...look, inspectFor: "files" })).ok).toBe(false);
    expect(decodeMessage(JSON.stringify({ ...again, failedAttempts: 11 })).ok).toBe(false);
  });

  test.each<[string, string, RegExp]>([
    ["not JSON", "TEST", /not JSON/],
    ["an unknown type", JSON.stringify({ ...awaiting, type: "reboot" }), /type/],
    [
      "an extra field (a decision smuggled in)",
      JSON.stringify({ ...awaiting, destinationUid: "1999999999999999" }),
      /Unrecognized key|unrecognized/i,
    ],
    [
      "a hostile instance id",
      JSON.stringify({ ...awaiting, instanceIds: ["i-$(reboot)"] }),
      /^instanceIds\.0: must be an ECS instance id$/,
    ],
    [
      "a route that is not a route name",
      JSON.stringify({ ...awaiting, route: "../x" }),
      /^route: must be a route name$/,
    ],
    ["an account that is not a UID", JSON.stringify({ ...awaiting, accountId: "hub" }), /^accountId:/],
    [
      "101 instances",
      JSON.stringify({
        ...awaiting,
        instanceIds: Array.from({ length: 101 }, (_, i) => `i-bp1x${String(i).padStart(6, "0")}`),
      }),
      /^instanceIds:/,
    ],
    ["no instances", JSON.stringify({ ...awaiting, instanceIds: [] }), /^instanceIds:/],
    ["a body over 64 KB", "x".repeat(65 * 1024), /over 64 KB/],
  ])("refuses %s with a reason", (_name, body, reason) => {
    const decoded = decodeMessage(body);

    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? "" : decoded.reason).toMatch(reason);
  });
});

describe("a delivered batch's apply messages, merged per route, account and region", () => {
  const ids = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => `i-${prefix}${String(i).padStart(6, "0")}`);
  const apply = (instanceIds: string[], extra: Partial<ApplyMessage> = {}): ApplyMessage => ({
    v: 1,
    type: "apply",
    accountId: "1700000000000397",
    region: "cn-shanghai",
    route: "app-b-prod",
    instanceIds,
    ...extra,
  });

  test("three runs of reconcile's size stay valid messages: no merge goes past the limit", () => {
    // The chaos suite's dead letter: such a merge was re-sent while the handover waited and failed
    // validation on every delivery.
    const batch = [apply(ids("a", 100)), apply(ids("b", 100)), apply(ids("c", 17))];

    const merged = mergeApplyMessages(batch);

    expect(merged.map((m) => m.instanceIds.length)).toEqual([100, 100, 17]);
    expect(new Set(merged.flatMap((m) => m.instanceIds))).toEqual(
      new Set(batch.flatMap((m) => m.instanceIds)),
    );
    for (const message of merged) {
      expect(message.instanceIds.length).toBeLessThanOrEqual(MAX_INSTANCES_PER_MESSAGE);
      expect(decodeMessage(encodeMessage({ ...message, handoverChecks: 1 }))).toEqual({
        ok: true,
        message: { ...message, handoverChecks: 1 },
      });
    }
  });

  test("the same route's messages become one, without repeated instances; other keys stay apart", () => {
    const merged = mergeApplyMessages([
      apply(["i-a1", "i-a2"]),
      apply(["i-b1"], { region: "cn-hangzhou" }),
      apply(["i-a2", "i-a3"]),
      apply(["i-c1"], { route: "app-c-prod" }),
    ]);

    expect(merged).toEqual([
      apply(["i-a1", "i-a2", "i-a3"]),
      apply(["i-b1"], { region: "cn-hangzhou" }),
      apply(["i-c1"], { route: "app-c-prod" }),
    ]);
  });

  test("a merged handover check keeps the highest count, so its chain of checks still ends", () => {
    const merged = mergeApplyMessages([
      apply(["i-a1"]),
      apply(["i-a2"], { handoverChecks: 7 }),
      apply(["i-a3"], { handoverChecks: 3 }),
    ]);

    expect(merged).toEqual([apply(["i-a1", "i-a2", "i-a3"], { handoverChecks: 7 })]);
    expect(mergeApplyMessages([apply(["i-a1"])])).toEqual([apply(["i-a1"])]);
  });
});

function report(
  overrides: Omit<Partial<HostReport>, "agent"> & { agent?: Partial<HostReport["agent"]> } = {},
): HostReport {
  const { agent, ...rest } = overrides;
  return {
    tool: "logtail-xacct",
    scriptVersion: 1,
    action: "inspect",
    ok: true,
    changed: { uidFile: false, identifiers: false },
    uidFiles: [UID],
    identifiers: [ID],
    agent: {
      flavor: "ilogtail",
      control: "initd",
      running: true,
      restarted: false,
      restartError: null,
      ...agent,
    },
    host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null },
    error: null,
    ...rest,
  };
}

describe("diagnosing a host that does not heartbeat", () => {
  test.each<[string, HostReport, string, RegExp]>([
    ["no agent", report({ agent: { flavor: "none", control: "none" } }), "AgentNotInstalled", /neither/],
    ["agent stopped", report({ agent: { running: false } }), "AgentNotRunning", /not running/],
    ["UID file gone", report({ uidFiles: [] }), "UidFileMissing", /users\/1200000000000456/],
    ["identifier with a CR", report({ identifiers: [`${ID}\r`] }), "IdentifierMismatch", /stray characters/],
    [
      "identifier missing",
      report({ identifiers: ["team-x"] }),
      "IdentifierMismatch",
      /no line app-b-prod-linux/,
    ],
    ["everything in place", report(), "NoHeartbeat", /region and endpoint/],
    [
      "a report that left identifier lines out: no verdict on ours",
      report({ identifiers: ["team-x"], omittedIdentifiers: 300 }),
      "NoHeartbeat",
      /region and endpoint/,
    ],
    [
      "an agent installed for another region",
      report({
        host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null, agentRegion: "cn-shanghai" },
      }),
      "AgentRegionMismatch",
      /^the agent is installed for cn-shanghai \(ilogtail_config\.json\); the route's destination is in cn-hangzhou$/,
    ],
    [
      "an agent installed for the destination's region",
      report({
        host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null, agentRegion: "cn-hangzhou" },
      }),
      "NoHeartbeat",
      /region and endpoint/,
    ],
  ])("%s → %s", (_name, found, reason, detail) => {
    const diagnosis = diagnoseNoHeartbeat(found, { uid: UID, identifier: ID, region: "cn-hangzhou" });

    expect(diagnosis.reason).toBe(reason);
    expect(diagnosis.detail).toMatch(detail);
  });

  test("checks back off 30, 60, 120, 240 s and never past the timeout", () => {
    expect([0, 1, 2, 3, 9].map((checks) => nextHeartbeatCheckDelaySeconds(checks, 0, 10_000))).toEqual([
      30, 60, 120, 240, 240,
    ]);
    expect(nextHeartbeatCheckDelaySeconds(5, 590, 600)).toBe(10);
    expect(nextHeartbeatCheckDelaySeconds(5, 600, 600)).toBeUndefined();
  });
});

describe("diagnosing a heartbeating host that delivers no line", () => {
  const BOUND = 1_800_000_000;
  const files = (matched: number, changedSince: number) => ({
    files: { matched, changedSince, newestChange: matched === 0 ? null : BOUND - 10 },
  });

  test.each<[string, HostReport, string | undefined, string, RegExp]>([
    [
      "the agent stopped",
      report({ ...files(2, 1), agent: { running: false } }),
      undefined,
      "failed:AgentNotRunning",
      /stopped/,
    ],
    ["no file at the paths", report(files(0, 0)), undefined, "failed:NoMatchingFiles", /no file matches/],
    [
      "files written, no line",
      report(files(3, 2)),
      undefined,
      "failed:NoLinesDelivered",
      /2 of 3 matching files changed/,
    ],
    ["idle files", report(files(3, 0)), undefined, "collecting", /^idle: 3 files match/],
    [
      "idle files after a delivery failure",
      report(files(3, 0)),
      "failed:NoLinesDelivered",
      "failed:NoLinesDelivered",
      /still no line/,
    ],
    [
      "files written after an earlier idle look",
      report(files(3, 1)),
      "failed:NoLinesDelivered",
      "failed:NoLinesDelivered",
      /changed since/,
    ],
    ["no file listing (Windows)", report(), undefined, "collecting", /heartbeat alone/],
  ])("%s → %s", (_what, found, current, status, detail) => {
    const diagnosis = diagnoseNoDelivery(
      found,
      BOUND,
      current === undefined ? undefined : parseStatus(current),
    );

    expect(formatStatus(diagnosis.status)).toBe(status);
    expect(diagnosis.detail).toMatch(detail);
  });
});
