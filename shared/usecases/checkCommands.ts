/**
 * The later look at host commands that were still running when authorize stopped waiting
 * (check-command messages, drained by the heartbeat step). One DescribeInvocationResults per
 * message and one DescribeInstances per account and region re-observe; `settle` decides per host:
 * a finished authorize is settled as authorize would have settled it, a finished revoke from the
 * host's own report of what is left on it; a command still running is looked at again later.
 */
import type { RoutesFile } from "../config/routesSchema";
import { resolveRoute } from "../domain/routeResolution";
import { formatStatus, isHostFailure, parseStatus, type Status } from "../domain/status";
import { diagnoseNoDelivery, diagnoseNoHeartbeat } from "../heartbeat/diagnosis";
import { parseHostReport } from "../hostscript/hostReport";
import {
  type AwaitHeartbeatMessage,
  type CheckCommandMessage,
  encodeMessage,
} from "../messages/queueMessages";
import { withoutFailures } from "../messages/requeue";
import { candidateRoutes } from "../planner/decide";
import { AGENT_ID_TAG_KEY } from "../planner/heartbeating";
import type { EcsPort, InstanceRecord, InvocationResult } from "../ports/ecs";
import { isRetryable } from "../ports/errors";
import {
  agentIdAfterAuthorize,
  COMMAND_RESULT_GIVE_UP_MS,
  commandCheckDelaySeconds,
  commandFailure,
} from "./hostCommandOutcome";
import { observeInstances } from "./observeInstances";
import type { StepDeps } from "./stepDeps";

export type CommandCheckDeps = Pick<StepDeps, "config" | "ecs" | "queue" | "heartbeatQueue" | "now" | "log">;

export interface CommandCheckOutcome {
  /** Instances whose result was read and written as a status. */
  settled: number;
  /** Instances whose command still runs: looked at again later. */
  running: number;
  /** The hosts found authorized, for the caller's heartbeat check (not sent to a queue). */
  authorized: AwaitHeartbeatMessage[];
  /** Hosts an inspect found idle (now collecting), for the caller to send to apply. */
  idle: Array<{ accountId: string; region: string; route: string; instanceIds: string[] }>;
}

/** Statuses a slow host can be in while its authorize command runs; anything else moved on. */
function awaitsResult(status: Status | undefined): boolean {
  return status === undefined || status.stage === "pending" || isHostFailure(status);
}

/** What one host's result, read later, means; `running` and `moved-on` change nothing now. */
export type Settlement =
  | "running"
  | "moved-on"
  | {
      /** The status to write (none: the status is not this command's to change). */
      status?: Status;
      /** Authorized now: its heartbeat is checked next. */
      authorized: boolean;
      /** The agent-id tag to write with it (the UUID its agent heartbeats with). */
      agentId?: string;
      /** Why the command failed (Cloud Assistant's or the host script's code). */
      failure?: string;
      detail?: string;
    };

/** Decides, from the re-observed instance and its result, what a later look settles. */
export function settle(
  config: RoutesFile,
  message: CheckCommandMessage,
  instance: InstanceRecord,
  result: InvocationResult | undefined,
  gaveUp: boolean,
): Settlement {
  const current = parseStatus(instance.tags[config.statusTagKey]);
  if (message.action === "inspect")
    return inspectSettlement(config, message, instance, current, result, gaveUp);
  if (message.action === "authorize") {
    // Re-tagged, untagged or already settled by a newer authorize: this look has nothing to do.
    const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
    if (resolution.kind !== "route" || resolution.name !== message.route || !awaitsResult(current))
      return "moved-on";
  }
  if (result?.finished !== true && !gaveUp) return "running";
  const failure = commandFailure(result ?? lostResult(instance.instanceId));
  if (message.action === "authorize") {
    if (failure)
      return {
        status: failure.status,
        authorized: false,
        failure: failure.reason,
        ...(failure.detail ? { detail: failure.detail } : {}),
      };
    // A retried host failure keeps its reason until the heartbeat check gives a new verdict.
    const agentId = result && agentIdAfterAuthorize(instance, result);
    return {
      status: current && isHostFailure(current) ? current : { stage: "authorized" },
      authorized: true,
      ...(agentId ? { agentId } : {}),
    };
  }
  if (failure)
    return { authorized: false, failure: failure.reason, detail: failure.detail ?? "reconcile tries again" };
  return revokeSettlement(config, instance, current, result);
}

/**
 * A delivery inspect read later: decided as the heartbeat check decides it, if the instance still
 * waits for its lines on the message's route (authorized, or a host failure being retried).
 */
function inspectSettlement(
  config: RoutesFile,
  message: CheckCommandMessage,
  instance: InstanceRecord,
  current: Status | undefined,
  result: InvocationResult | undefined,
  gaveUp: boolean,
): Settlement {
  const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
  const waits = current !== undefined && (current.stage === "authorized" || isHostFailure(current));
  if (resolution.kind !== "route" || resolution.name !== message.route || !waits) return "moved-on";
  if (result?.finished !== true && !gaveUp) return "running";
  const report = parseHostReport(result?.output ?? "");
  if (message.inspectFor === "heartbeat")
    return heartbeatSettlement(config, message, instance, result, report);
  if (result?.status !== "Success" || !report.ok)
    // Cloud Assistant's failure, not the host's files: a host failure the next look retries (a
    // NoLinesDelivered here would outlast every later idle look).
    return {
      status: { stage: "failed", reason: "HostScriptFailed" },
      authorized: false,
      failure: "HostScriptFailed",
      detail: `no line arrived, and inspect could not run: ${result?.errorCode ?? result?.status ?? "no result"}`,
    };
  const found = diagnoseNoDelivery(
    report.report,
    message.boundAt ?? Math.floor(message.sentAt / 1000),
    current,
  );
  return {
    status: found.status,
    authorized: false,
    ...(found.status.stage === "failed" ? { failure: found.status.reason } : {}),
    detail: found.detail,
  };
}

/** An inspect of a host that never heartbeat, read later: the reason found on it becomes its status. */
function heartbeatSettlement(
  config: RoutesFile,
  message: CheckCommandMessage,
  instance: InstanceRecord,
  result: InvocationResult | undefined,
  report: ReturnType<typeof parseHostReport>,
): Settlement {
  const route = config.routes[message.route];
  const destination = route ? config.destinations[route.destination] : undefined;
  const identifier = route?.identifier[instance.os];
  if (destination === undefined || identifier === undefined) return "moved-on";
  if (result?.status !== "Success" || !report.ok)
    return {
      status: { stage: "failed", reason: "NoHeartbeat" },
      authorized: false,
      failure: "NoHeartbeat",
      detail: `inspect could not run: ${result?.errorCode ?? result?.status ?? "no result"}`,
    };
  const found = diagnoseNoHeartbeat(report.report, {
    uid: destination.uid,
    identifier,
    region: destination.region,
  });
  return {
    status: { stage: "failed", reason: found.reason },
    authorized: false,
    failure: found.reason,
    detail: found.detail,
  };
}

/**
 * A finished revoke on an instance whose route tag is gone: revoked once no identifier of any route
 * it may carry is left on the host (the host script reports what is left), so the revokes of several
 * routes settle in any order. A re-tagged instance's status is its new route's.
 */
function revokeSettlement(
  config: RoutesFile,
  instance: InstanceRecord,
  current: Status | undefined,
  result: InvocationResult | undefined,
): Settlement {
  const offboarded = resolveRoute(config, instance, instance.tags[config.tagKey]).kind === "untagged";
  if (!offboarded || current?.stage === "revoked")
    return { authorized: false, detail: "result read later; the status is not this revoke's to change" };
  const report = parseHostReport(result?.output ?? "");
  const ours = new Set(
    candidateRoutes(config, instance).map((name) => config.routes[name]?.identifier[instance.os] ?? ""),
  );
  // A line that was there before onboarding is the owner's: revoke leaves it, and so does this check.
  const kept = new Set(report.ok ? (report.report.keptIdentifiers ?? []) : []);
  const left = report.ok
    ? report.report.identifiers.filter((id) => ours.has(id) && !kept.has(id))
    : ["(no report)"];
  return left.length === 0
    ? {
        status: { stage: "revoked" },
        authorized: false,
        detail: "result read later: no route's identifier left",
      }
    : { authorized: false, detail: `result read later; still on the host: ${left.join(", ")}` };
}

/** What a host whose result Cloud Assistant no longer lists counts as: a command that never ended. */
function lostResult(instanceId: string): InvocationResult {
  return { instanceId, status: "Unknown", finished: false, output: "", dropped: 0 };
}

/**
 * The invocation's results; undefined when Cloud Assistant does not know the invocation (its
 * records expired, or the message is not ours): waiting cannot bring them back.
 */
async function invocationResults(ecs: EcsPort, invokeId: string): Promise<InvocationResult[] | undefined> {
  try {
    return (await ecs.invocationResults(invokeId)).results;
  } catch (error) {
    if (isRetryable(error)) throw error;
    return undefined;
  }
}

export async function checkCommands(
  deps: CommandCheckDeps,
  messages: readonly CheckCommandMessage[],
): Promise<CommandCheckOutcome> {
  const { config } = deps;
  const outcome: CommandCheckOutcome = { settled: 0, running: 0, authorized: [], idle: [] };
  if (messages.length === 0) return outcome;

  const instances = await observeInstances(deps.ecs, messages);

  const nowMs = deps.now();
  const writes = new Map<
    string,
    { scope: { accountId: string; region: string }; tagKey: string; value: string; ids: string[] }
  >();
  const addWrite = (
    scope: { accountId: string; region: string },
    id: string,
    value: string,
    tagKey = config.statusTagKey,
  ): void => {
    const key = `${scope.accountId}|${scope.region}|${tagKey}|${value}`;
    const entry = writes.get(key) ?? {
      scope: { accountId: scope.accountId, region: scope.region },
      tagKey,
      value,
      ids: [],
    };
    entry.ids.push(id);
    writes.set(key, entry);
  };
  /** Delay in seconds → re-checks: those with the same delay go out together. */
  const again = new Map<number, string[]>();
  for (const message of messages) {
    const base = { accountId: message.accountId, region: message.region, route: message.route };
    const results = await invocationResults(deps.ecs(base), message.invokeId);
    if (results === undefined)
      deps.log({
        ...base,
        action: message.action,
        outcome: "skipped",
        instanceIds: message.instanceIds,
        reason: "InvocationNotFound",
        detail: `Cloud Assistant no longer knows ${message.invokeId}: its hosts' results are lost`,
        invokeId: message.invokeId,
      });
    const resultOf = new Map((results ?? []).map((result) => [result.instanceId, result]));
    const gaveUp = results === undefined || nowMs - message.sentAt >= COMMAND_RESULT_GIVE_UP_MS;
    const running: string[] = [];
    const authorized: string[] = [];
    const idle: string[] = [];
    for (const id of message.instanceIds) {
      const instance = instances.get(id);
      if (!instance) continue;
      const settlement = settle(config, message, instance, resultOf.get(id), gaveUp);
      if (settlement === "moved-on") continue;
      if (settlement === "running") {
        running.push(id);
        continue;
      }
      outcome.settled += 1;
      const value = settlement.status && formatStatus(settlement.status);
      if (value !== undefined && instance.tags[config.statusTagKey] !== value) addWrite(message, id, value);
      if (settlement.agentId !== undefined) addWrite(message, id, settlement.agentId, AGENT_ID_TAG_KEY);
      if (settlement.authorized) authorized.push(id);
      else if (message.action === "inspect" && settlement.status?.stage === "collecting") {
        idle.push(id);
        deps.log({
          ...base,
          action: "diagnose",
          outcome: "ok",
          instanceIds: [id],
          ...(settlement.detail ? { detail: settlement.detail } : {}),
          invokeId: message.invokeId,
        });
      } else
        deps.log({
          ...base,
          action: message.action === "inspect" ? "diagnose" : message.action,
          outcome: settlement.failure ? "failed" : "ok",
          instanceIds: [id],
          ...(settlement.failure ? { reason: settlement.failure } : {}),
          ...(settlement.detail ? { detail: settlement.detail } : {}),
          invokeId: message.invokeId,
        });
    }
    if (authorized.length > 0) {
      deps.log({
        ...base,
        action: "authorize",
        outcome: "ok",
        instanceIds: authorized,
        detail: `result read after ${Math.round((nowMs - message.sentAt) / 1000)} s`,
        invokeId: message.invokeId,
      });
      outcome.authorized.push({
        v: 1,
        type: "await-heartbeat",
        ...base,
        instanceIds: authorized,
        authorizedAt: Math.floor(nowMs),
        checks: 0,
      });
    }
    if (idle.length > 0) outcome.idle.push({ ...base, instanceIds: idle });
    if (running.length > 0) {
      outcome.running += running.length;
      const delay = commandCheckDelaySeconds(message.checks + 1);
      const body = encodeMessage({
        ...withoutFailures(message),
        instanceIds: running,
        checks: message.checks + 1,
      });
      again.set(delay, [...(again.get(delay) ?? []), body]);
    }
  }

  // Status first, as in authorize: the heartbeat check acts only on instances marked authorized.
  // The agent ids before the statuses: an authorized host is matched by them.
  const ordered = [...writes.values()].sort(
    (a, b) => Number(b.tagKey === AGENT_ID_TAG_KEY) - Number(a.tagKey === AGENT_ID_TAG_KEY),
  );
  for (const { scope, tagKey, value, ids } of ordered)
    await deps.ecs(scope).tagInstances(ids, { [tagKey]: value });
  for (const [delaySeconds, bodies] of again)
    await deps.queue.send(deps.heartbeatQueue, bodies, { delaySeconds });
  return outcome;
}
