/**
 * Why a host that was authorized does not heartbeat, from what the host script's `inspect` found on
 * it. The order follows the official heartbeat checklist: agent installed, agent running, the
 * destination's UID file, the identifier line, the region the agent was installed for; what the
 * host cannot tell (network, clock skew, an endpoint it cannot read) is NoHeartbeat.
 */
import type { ReasonCode, Status } from "../domain/status";
import type { HostReport } from "../hostscript/hostReport";

export interface Diagnosis {
  reason: ReasonCode;
  /** What was found, in words, for the log and the status report. */
  detail: string;
}

export function diagnoseNoHeartbeat(
  report: HostReport,
  expected: { uid: string; identifier: string; region?: string },
): Diagnosis {
  if (report.agent.flavor === "none") {
    return { reason: "AgentNotInstalled", detail: "neither Logtail nor LoongCollector is installed" };
  }
  if (!report.agent.running) {
    return { reason: "AgentNotRunning", detail: `${report.agent.flavor} is installed but not running` };
  }
  if (!report.uidFiles.includes(expected.uid)) {
    return { reason: "UidFileMissing", detail: `/etc/ilogtail/users/${expected.uid} is missing` };
  }
  // A bounded report that left lines out cannot prove ours missing: no verdict on the identifier then.
  const listedInFull = (report.omittedIdentifiers ?? 0) === 0;
  if (listedInFull && !report.identifiers.includes(expected.identifier)) {
    const near = report.identifiers.find((line) => line.replace(/\s+/g, "") === expected.identifier);
    return {
      reason: "IdentifierMismatch",
      detail: near
        ? `the identifier line has stray characters (${JSON.stringify(near)}) and matches no machine group`
        : `no line ${expected.identifier} in user_defined_id`,
    };
  }
  // An agent heartbeats to, and ships to, the region it was installed for: its config file says
  // which. Unknown (no file, a format the script cannot read, Windows) is no verdict.
  const agentRegion = report.host?.agentRegion ?? null;
  if (expected.region !== undefined && agentRegion !== null && agentRegion !== expected.region) {
    return {
      reason: "AgentRegionMismatch",
      detail: `the agent is installed for ${agentRegion} (ilogtail_config.json); the route's destination is in ${expected.region}`,
    };
  }
  return {
    reason: "NoHeartbeat",
    detail:
      "files and agent are as they should be: check the agent's region and endpoint, network to SLS and the clock",
  };
}

/**
 * When to look again for a heartbeat: 30 s, 60 s, 120 s, then every 240 s — the agent normally
 * heartbeats within a minute of its restart — never past the route's timeout.
 */
export function nextHeartbeatCheckDelaySeconds(
  checks: number,
  elapsedSeconds: number,
  timeoutSeconds: number,
): number | undefined {
  const remaining = timeoutSeconds - elapsedSeconds;
  if (remaining <= 0) return undefined;
  const delay = Math.min(30 * 2 ** Math.min(checks, 3), 240);
  return Math.min(delay, remaining);
}

/**
 * Why a host that heartbeats delivers no line to the route's logstore, from inspect run with the
 * route's paths and the time the config was bound: nothing to read (no file matches, or none changed
 * since, which is an idle host with nothing to lose: it collects), or files that change while no
 * line arrives. The last is what the host cannot explain itself (the config lost the one-reader-per-
 * file contest to another config, the agent cannot reach the endpoint, a parse plugin drops
 * everything), so the remedy points at the agent's own log.
 */
export function diagnoseNoDelivery(
  report: HostReport,
  boundAtSeconds: number,
  current?: Status,
): { status: Status; detail: string } {
  if (!report.agent.running) {
    return {
      status: { stage: "failed", reason: "AgentNotRunning" },
      detail: `${report.agent.flavor} stopped after it heartbeat`,
    };
  }
  const files = report.files;
  if (files === undefined || files === null) {
    // Windows' script lists no files (unverified there): declared, it collects on its heartbeat.
    return {
      status: { stage: "collecting" },
      detail: "no line yet; the host cannot list its files (Windows): collecting on its heartbeat alone",
    };
  }
  if (files.matched === 0) {
    return {
      status: { stage: "failed", reason: "NoMatchingFiles" },
      detail: "no file matches the route's filePaths",
    };
  }
  // Only lines clear a delivery failure: files quiet for one look do not prove the config reads.
  if (files.changedSince === 0 && current?.stage === "failed" && current.reason === "NoLinesDelivered") {
    return {
      status: current,
      detail: `${files.matched} matching files, none changed since the look began; still no line from this host`,
    };
  }
  if (files.changedSince === 0) {
    const newest =
      files.newestChange === null
        ? ""
        : `, newest change at ${new Date(files.newestChange * 1000).toISOString()}`;
    return {
      status: { stage: "collecting" },
      detail: `idle: ${files.matched} files match and none changed since the config was bound at ${new Date(boundAtSeconds * 1000).toISOString()}${newest}`,
    };
  }
  return {
    status: { stage: "failed", reason: "NoLinesDelivered" },
    detail: `${files.changedSince} of ${files.matched} matching files changed since the config was bound, and none of their lines arrived`,
  };
}
