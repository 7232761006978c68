/**
 * Why a host that was authorized does not heartbeat, from what the host script's `inspect` found on
 * it. The order follows the official heartbeat checklist: agent installed, agent running, the
 * destination's UID file, the identifier line; what the host cannot tell (region and endpoint of the
 * agent, network, clock skew) is NoHeartbeat.
 */
import type { ReasonCode } from "../domain/status";
import type { HostReport } from "../hostscript/hostReport";

export interface Diagnosis {
  reason: ReasonCode;
  /** What was found, in words, for the log and the status report. */
  detail: string;
}

export function diagnoseNoHeartbeat(
  report: HostReport,
  expected: { uid: string; identifier: string },
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
  if (!report.identifiers.includes(expected.identifier)) {
    const near = report.identifiers.find((line) => line.replace(/\s+/g, "") === expected.identifier);
    return {
      reason: "IdentifierMismatch",
      detail: near
        ? `the identifier line has stray characters (${JSON.stringify(near)}) and matches no machine group`
        : `no line ${expected.identifier} in user_defined_id`,
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
