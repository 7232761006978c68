/**
 * The status tag logtail-xacct writes back on each instance (`logtail-xacct-status` by default):
 * `pending`, `authorized`, `collecting`, `failed:<ReasonCode>` or `revoked`.
 */

/** Reasons found after authorize had changed the host: its files were set up. */
const AFTER_SET_UP = [
  // The host was changed but does not heartbeat (diagnosed with the host script's inspect).
  "AgentNotInstalled",
  "AgentNotRunning",
  "UidFileMissing",
  "IdentifierMismatch",
  "AgentRegionMismatch",
  "NoHeartbeat",
  // The host heartbeats but none of its lines reach the route's logstore (diagnosed on the host).
  "NoMatchingFiles",
  "NoLinesDelivered",
] as const;

export const REASON_CODES = [
  // The tag or the routes file refuse the instance.
  "InvalidRouteTag",
  "UnknownRoute",
  "AccountNotConfigured",
  "RegionNotConfigured",
  "RouteNotAllowedForAccount",
  "OsNotSupportedByRoute",
  "HandoverUnverifiedOnWindows",
  // The host cannot be reached or changed.
  "InstanceReleased",
  "CloudAssistantOffline",
  "HostScriptFailed",
  "HostCommandTimeout",
  "WindowsNotSupportedHere",
  "AgentTooOld",
  ...AFTER_SET_UP,
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/** Reasons that refuse an instance before any host command: its host was never touched for them. */
export const REFUSAL_REASONS: ReadonlySet<ReasonCode> = new Set([
  "InvalidRouteTag",
  "UnknownRoute",
  "AccountNotConfigured",
  "RegionNotConfigured",
  "RouteNotAllowedForAccount",
  "OsNotSupportedByRoute",
  "HandoverUnverifiedOnWindows",
]);

/** A refusal by the tag or the routes file: the host was never touched for it. */
export function isRefusal(status: Status): boolean {
  return status.stage === "failed" && REFUSAL_REASONS.has(status.reason);
}

/**
 * A failure found on the host (it could not be reached, changed, or does not heartbeat): retrying
 * may fix it, and until a retry says otherwise the reason stands.
 */
export function isHostFailure(status: Status): status is { stage: "failed"; reason: ReasonCode } {
  return status.stage === "failed" && !isRefusal(status);
}

const AFTER_SET_UP_REASONS: ReadonlySet<ReasonCode> = new Set(AFTER_SET_UP);

/** A status that says an authorize succeeded on the host (its UID file and identifier are ours). */
export function hostWasSetUp(status: Status | undefined): boolean {
  if (status === undefined) return false;
  if (status.stage === "failed") return AFTER_SET_UP_REASONS.has(status.reason);
  return status.stage === "authorized" || status.stage === "collecting";
}

export type Status =
  | { stage: "pending" }
  | { stage: "authorized" }
  | { stage: "collecting" }
  | { stage: "revoked" }
  | { stage: "failed"; reason: ReasonCode };

export type Stage = Status["stage"];

const REASONS = new Set<string>(REASON_CODES);
const isReason = (value: string): value is ReasonCode => REASONS.has(value);

export function formatStatus(status: Status): string {
  return status.stage === "failed" ? `failed:${status.reason}` : status.stage;
}

/** Reads a status tag value; undefined for a missing or foreign value. */
export function parseStatus(value: string | undefined): Status | undefined {
  switch (value) {
    case "pending":
    case "authorized":
    case "collecting":
    case "revoked":
      return { stage: value };
    default: {
      if (value?.startsWith("failed:")) {
        const reason = value.slice("failed:".length);
        if (isReason(reason)) return { stage: "failed", reason };
      }
      return undefined;
    }
  }
}

/** What an operator should do about each reason: shown by status and the report. */
export const REMEDIES: Record<ReasonCode, string> = {
  InvalidRouteTag: "set the route tag to the exact name of a route in the routes file",
  UnknownRoute: "use a route name from the routes file, or add the route",
  AccountNotConfigured: "add the instance's account to sourceAccounts in the routes file",
  RegionNotConfigured: "add the instance's region to its account's regions in the routes file",
  RouteNotAllowedForAccount: "add the account to the route's sources, or tag the instance with another route",
  OsNotSupportedByRoute:
    "give the route a machine group, identifier and Logtail config for this operating system",
  HandoverUnverifiedOnWindows:
    "the host keeps its own collection: the exactly-once handover is not verified on Windows. To move it anyway, set the route's handover.windows to protocol (its lines may then be lost or doubled at the cutover; verify counts them), or tag it for a route without retire",
  InstanceReleased: "nothing: the instance no longer exists",
  CloudAssistantOffline: "start or install the Cloud Assistant agent on the instance",
  HostScriptFailed: "run the host script's inspect on the instance and read its error",
  HostCommandTimeout: "check the instance's load and Cloud Assistant; it is retried at the next reconcile",
  WindowsNotSupportedHere:
    "onboard Windows instances on a real deployment (the local stack cannot run PowerShell)",
  AgentTooOld:
    "upgrade the agent to Logtail 2.x or LoongCollector; until then the host keeps its own config, which is not retired while the host is in its machine group",
  AgentNotInstalled: "install Logtail or LoongCollector on the instance",
  AgentNotRunning: "start the agent (/etc/init.d/ilogtaild start, or its systemd unit)",
  UidFileMissing: "the destination's UID file is gone from /etc/ilogtail/users: re-tag or wait for reconcile",
  IdentifierMismatch: "the identifier line differs from the route's (CR, tab or typo): reconcile rewrites it",
  AgentRegionMismatch:
    "the agent heartbeats to the region it was installed for: reinstall it for the route's destination region (across regions, the internet install), or route the host to a destination in its agent's region",
  NoHeartbeat: "check the agent's region and endpoint in ilogtail_config.json, network to SLS and the clock",
  NoMatchingFiles:
    "no file on the host matches the route's filePaths: fix the paths in the routes file, or untag the instance",
  NoLinesDelivered:
    "the files change but no line arrives: read the agent's log for the route's config (another config may own the files, or the agent cannot reach the endpoint)",
};
