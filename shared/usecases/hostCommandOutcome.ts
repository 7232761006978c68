/**
 * What a host command's result means for the instance, decided in one place for the authorize step
 * and for the later look at a command that was still running (check-command messages).
 */
import type { Status } from "../domain/status";
import { parseHostReport } from "../hostscript/hostReport";
import { agentIdToRecord } from "../planner/heartbeating";
import type { InstanceRecord, InvocationResult } from "../ports/ecs";

/**
 * A command still without a result this long after it was sent is failed `HostCommandTimeout`.
 * Cloud Assistant ends every command by itself (the script's own 60 s run timeout, or a delivery
 * timeout for an agent that never picks it up), so this is reached only when results are lost.
 */
export const COMMAND_RESULT_GIVE_UP_MS = 30 * 60_000;

/**
 * Delay before the next look at a running command. The heartbeat step that reads it runs every
 * minute; a delay just under that makes each of the first looks the next tick's, then they back off
 * to every 5 minutes.
 */
export function commandCheckDelaySeconds(checks: number): number {
  return checks < 4 ? 50 : Math.min(50 * 2 ** (checks - 3), 300);
}

/**
 * The agent-id tag a successful authorize asks to write (planner: agentIdToRecord): the UUID the
 * host's agent heartbeats with, when neither its host-id nor the serial number would find it.
 */
export function agentIdAfterAuthorize(
  instance: Pick<InstanceRecord, "instanceId" | "serialNumber" | "tags">,
  result: InvocationResult,
): string | undefined {
  const parsed = parseHostReport(result.output);
  return parsed.ok && parsed.report.host ? agentIdToRecord(instance, parsed.report.host) : undefined;
}

/** Why a command result is not a success, as a status to write. */
export function commandFailure(
  result: InvocationResult,
): { status: Status; reason: string; detail?: string } | undefined {
  // The script's own report, read once: the branches below need it.
  const parsed = parseHostReport(result.output);
  const report = parsed.ok ? parsed.report : undefined;
  if (result.finished && report?.error?.code === "AgentTooOld") {
    // The script refused the host before changing it: its agent cannot run the route's configs.
    const version = report.host?.agentVersion;
    return {
      status: { stage: "failed", reason: "AgentTooOld" },
      reason: "AgentTooOld",
      detail: `${report.error.message}${version ? ` (found ${version})` : ""}`,
    };
  }
  if (result.status === "Success") {
    if (report?.ok) return undefined;
    const detail = report ? report.error?.message : parsed.ok ? undefined : parsed.reason;
    return {
      status: { stage: "failed", reason: "HostScriptFailed" },
      reason: "HostScriptFailed",
      ...(detail ? { detail } : {}),
    };
  }
  const code = result.errorCode ?? "";
  if (!result.finished)
    return {
      status: { stage: "failed", reason: "HostCommandTimeout" },
      reason: "HostCommandTimeout",
      detail: "no result in time",
    };
  if (code === "InstanceNotRunning") return { status: { stage: "pending" }, reason: code };
  if (["ClientNotRunning", "ClientNotResponse", "ClientNeedUpgrade", "DeliveryTimeout"].includes(code)) {
    return {
      status: { stage: "failed", reason: "CloudAssistantOffline" },
      reason: code,
      ...(result.errorInfo ? { detail: result.errorInfo } : {}),
    };
  }
  if (result.status === "Timeout" || code === "ExecutionTimeout")
    return { status: { stage: "failed", reason: "HostCommandTimeout" }, reason: "HostCommandTimeout" };
  const detail = report ? report.error?.message : result.errorInfo;
  return {
    status: { stage: "failed", reason: "HostScriptFailed" },
    reason: code || result.status,
    ...(detail ? { detail } : {}),
  };
}
