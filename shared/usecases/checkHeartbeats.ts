/**
 * The heartbeat step: drain the heartbeat queue, call ListMachines once per machine group involved,
 * match machines to instances by their SMBIOS UUID (never by IP), send the heartbeating ones on to
 * the apply queue, look again later (with backoff) at the others, and past the route's timeout
 * diagnose them with the host script's inspect and record the reason on the instance.
 */
import { OPERATING_SYSTEMS, type OperatingSystem } from "../config/routesSchema";
import { resolveRoute, scopeRefusal } from "../domain/routeResolution";
import { formatStatus, isHostFailure, parseStatus } from "../domain/status";
import { nextHeartbeatCheckDelaySeconds } from "../heartbeat/diagnosis";
import { HostCommandError, renderHostCommand } from "../hostscript/hostCommand";
import {
  type AwaitHeartbeatMessage,
  type CheckCommandMessage,
  decodeMessage,
  encodeMessage,
  MAX_INSTANCES_PER_MESSAGE,
  MAX_RECEIVE_COUNT,
} from "../messages/queueMessages";
import { afterFailure, deliveredTooOften, failureKind, withoutFailures } from "../messages/requeue";
import { heartbeatingMachine } from "../planner/heartbeating";
import type { ObservedMachine } from "../planner/types";
import type { InstanceRecord } from "../ports/ecs";
import { errorCode, errorMessage } from "../ports/errors";
import { chunk, groupBy } from "../util/collections";
import { checkCommands } from "./checkCommands";
import type { ResultWaitDeps } from "./commandResults";
import { DELIVERY_SKEW_SECONDS, deliveringSources } from "./delivery";
import { listGroup } from "./groupListings";
import { commandCheckDelaySeconds } from "./hostCommandOutcome";
import { observeInstances } from "./observeInstances";
import type { StepDeps } from "./stepDeps";

/** `now` is the clock the authorize step stamped `authorizedAt` with (ms). */
export type HeartbeatDeps = ResultWaitDeps &
  Pick<
    StepDeps,
    | "config"
    | "ecs"
    | "sls"
    | "queue"
    | "heartbeatQueue"
    | "applyQueue"
    | "deadLetter"
    | "scripts"
    | "log"
    | "freshSeconds"
    | "maxRounds"
    | "snapshots"
  >;

export interface HeartbeatOutcome {
  messages: number;
  /** Heartbeating hosts (sent to apply when their first heartbeat or their lines are seen). */
  healthy: number;
  /** Hosts not heartbeating yet, looked at again later. */
  waiting: number;
  /** Heartbeating hosts whose lines have not arrived yet, looked at again later. */
  awaitingLines: number;
  diagnosed: number;
  /** Slow hosts' authorize and revoke commands: results read and settled, or still running. */
  commandsSettled: number;
  commandsRunning: number;
  /** Messages of a round whose work failed: sent again, delayed, or dead-lettered at the limit. */
  requeued: number;
  deadLettered: number;
}

/**
 * The time a round needs (ms): its calls only, never a wait for a host command (a diagnosis's
 * inspect is read at a later look), so a round ends well inside the queue's visibility timeout.
 */
export const HEARTBEAT_ROUND_BUDGET_MS = 60_000;

export async function checkHeartbeats(deps: HeartbeatDeps): Promise<HeartbeatOutcome> {
  const outcome: HeartbeatOutcome = {
    messages: 0,
    healthy: 0,
    waiting: 0,
    awaitingLines: 0,
    diagnosed: 0,
    commandsSettled: 0,
    commandsRunning: 0,
    requeued: 0,
    deadLettered: 0,
  };
  for (let round = 0; round < (deps.maxRounds ?? 10); round++) {
    // Another round only when a whole one (a diagnosis included) ends before the invocation must:
    // what is left stays on the queue for the next tick instead of being handed out again mid-work.
    const deadline = deps.deadline?.();
    if (round > 0 && deadline !== undefined && deadline - deps.now() < HEARTBEAT_ROUND_BUDGET_MS) break;
    const received = await deps.queue.receive(deps.heartbeatQueue, 16, 0);
    if (received.length === 0) break;
    outcome.messages += received.length;
    const awaiting: AwaitHeartbeatMessage[] = [];
    const commandChecks: CheckCommandMessage[] = [];
    // Every message of the round is deleted at its end, once what it asked for is done, re-queued
    // or dead-lettered: a crash before then redelivers them, and every step below is idempotent.
    const done: string[] = [];
    for (const message of received) {
      done.push(message.receiptHandle);
      // The queue's dead-letter policy should have taken it: it did not (README "Dead letters").
      if (deliveredTooOften(message.dequeueCount)) {
        const detail = `delivered ${message.dequeueCount} times, past the queue's limit of ${MAX_RECEIVE_COUNT}: its work failed every time`;
        deps.log({
          action: "heartbeat",
          outcome: "failed",
          accountId: "",
          region: "",
          instanceIds: [],
          reason: "TooManyDeliveries",
          detail,
          messageIds: [message.messageId],
        });
        await deps.deadLetter({
          source: deps.heartbeatQueue,
          reason: "TooManyDeliveries",
          detail,
          messageId: message.messageId,
          original: message.body,
        });
        continue;
      }
      const decoded = decodeMessage(message.body);
      if (
        !decoded.ok ||
        (decoded.message.type !== "await-heartbeat" && decoded.message.type !== "check-command")
      ) {
        // Poison: it can never be handled. Kept in the dead-letter queue with its reason, then removed.
        const reason = decoded.ok ? "WrongQueue" : "MalformedMessage";
        const detail = decoded.ok ? `a ${decoded.message.type} message` : decoded.reason;
        deps.log({
          action: "heartbeat",
          outcome: "refused",
          accountId: "",
          region: "",
          instanceIds: [],
          reason,
          detail,
        });
        await deps.deadLetter({
          source: deps.heartbeatQueue,
          reason,
          detail,
          messageId: message.messageId,
          original: message.body,
        });
        continue;
      }
      // Well formed but outside the routes file (an account, region or route that is not there,
      // or no longer): nothing can be checked, and it must not hold up the rest of the batch.
      const refusal = scopeRefusal(deps.config, decoded.message, decoded.message.route)?.reason;
      if (refusal !== undefined) {
        deps.log({
          action: "heartbeat",
          outcome: "refused",
          accountId: decoded.message.accountId,
          region: decoded.message.region,
          route: decoded.message.route,
          instanceIds: decoded.message.instanceIds,
          reason: refusal,
        });
        await deps.deadLetter({
          source: deps.heartbeatQueue,
          reason: refusal,
          detail: `${decoded.message.accountId}/${decoded.message.region} route ${decoded.message.route}`,
          messageId: message.messageId,
          original: message.body,
        });
        continue;
      }
      if (decoded.message.type === "check-command") commandChecks.push(decoded.message);
      else awaiting.push(decoded.message);
    }
    // Hosts a check-command found authorized in this round: their status is written by then, so a
    // check-command sent again would find them moved on; their heartbeat checks are settled too.
    let authorizedNow: AwaitHeartbeatMessage[] = [];
    try {
      const commands = await checkCommands(deps, commandChecks);
      authorizedNow = commands.authorized;
      outcome.commandsSettled += commands.settled;
      outcome.commandsRunning += commands.running;
      // Hosts an inspect read later found idle: apply checks whether their account cuts over.
      const idleApplies = commands.idle.flatMap(({ accountId, region, route, instanceIds }) =>
        chunk(instanceIds, MAX_INSTANCES_PER_MESSAGE).map((ids) =>
          encodeMessage({ v: 1, type: "apply", accountId, region, route, instanceIds: ids }),
        ),
      );
      if (idleApplies.length > 0) await deps.queue.send(deps.applyQueue, idleApplies);
      // Hosts just found authorized are checked in this round: their agents restarted when their
      // commands ran, often a minute ago, and need not wait for the next tick.
      const counts = await handleBatch(deps, [...awaiting, ...commands.authorized]);
      outcome.healthy += counts.healthy;
      outcome.waiting += counts.waiting;
      outcome.awaitingLines += counts.awaitingLines;
      outcome.diagnosed += counts.diagnosed;
    } catch (error) {
      // The round's work failed: each of its messages is sent again with its count of failed tries
      // (or dead-lettered at the limit) and the round's deliveries are deleted. Left to the queue,
      // every message of the round paid a delivery for one failure and met the queue's limit
      // under load. Only a failure of the queue itself escapes here.
      const settled = await settleFailedRound(deps, [...commandChecks, ...awaiting, ...authorizedNow], error);
      outcome.requeued += settled.requeued;
      outcome.deadLettered += settled.deadLettered;
    }
    const notDeleted = await deps.queue.delete(deps.heartbeatQueue, done);
    // Every delivery accounted for: what came, how often it had come, and what was not deleted
    // (a stale handle: the visibility timeout passed and the queue handed the message out again).
    deps.log({
      action: "heartbeat-queue",
      outcome: notDeleted.length === 0 ? "ok" : "failed",
      accountId: "",
      region: "",
      instanceIds: [],
      messageIds: received.map((m) => m.messageId),
      dequeueCounts: received.map((m) => m.dequeueCount),
      detail:
        `${done.length - notDeleted.length} of ${received.length} handled and deleted` +
        (notDeleted.length > 0 ? `; ${notDeleted.length} not deleted, redelivered` : ""),
      ...(notDeleted[0] === undefined ? {} : { reason: notDeleted[0].code }),
    });
    // A short batch means the queue is drained: another receive would only come back empty.
    if (received.length < 16) break;
  }
  return outcome;
}

async function handleBatch(
  deps: HeartbeatDeps,
  batch: readonly AwaitHeartbeatMessage[],
): Promise<Pick<HeartbeatOutcome, "healthy" | "waiting" | "awaitingLines" | "diagnosed">> {
  const { config } = deps;
  const counts = { healthy: 0, waiting: 0, awaitingLines: 0, diagnosed: 0 };
  const nowMs = deps.now();
  const fresh = deps.freshSeconds ?? 180;

  const instances = await observeInstances(deps.ecs, batch);

  // ListMachines once per machine group involved.
  const machines = new Map<string, readonly ObservedMachine[]>();
  const groupKey = (route: string, os: OperatingSystem) => `${route}|${os}`;
  for (const message of batch) {
    const route = config.routes[message.route];
    const destination = route ? config.destinations[route.destination] : undefined;
    if (!route || !destination) continue;
    for (const id of message.instanceIds) {
      const os = instances.get(id)?.os;
      const group = os ? route.machineGroup[os] : undefined;
      if (!os || !group || machines.has(groupKey(message.route, os))) continue;
      const scope = { accountId: destination.uid, region: destination.region, project: route.project };
      const sls = deps.sls(scope);
      // The timer lists the groups it checks itself, each run: its timeouts need the newest
      // heartbeats. The listing is kept for apply, authorize and reconcile (groupListings.ts).
      let listed = await listGroup(deps, scope, group, { fresh: true });
      const identifier = route.identifier[os];
      if (listed === undefined && identifier !== undefined) {
        // The group is what the agent's heartbeat lands in: without it nothing can ever be seen.
        // Apply makes the rest of the destination; a missing group (or project) is made, or
        // repaired, here. The usual case — the group is there — costs the one ListMachines.
        // Agents heartbeat by identifier, so a group made now lists the hosts already reporting.
        await sls.ensureProject();
        await sls.ensureMachineGroup(group, [identifier]);
        listed = await listGroup(deps, scope, group, { fresh: true });
      }
      machines.set(groupKey(message.route, os), listed?.machines ?? []);
    }
  }

  type Target = { accountId: string; region: string; route: string; id: string };
  const healthy: Array<Target & { binds: boolean }> = [];
  const waiting: Array<{ message: AwaitHeartbeatMessage; delaySeconds: number }> = [];
  const timedOut = new Map<string, { message: AwaitHeartbeatMessage; ids: string[] }>();
  const silent = new Map<string, { message: AwaitHeartbeatMessage; ids: string[] }>();
  const seen: Array<{ message: AwaitHeartbeatMessage; id: string; ip: string; os: OperatingSystem }> = [];
  // An IP that two heartbeating machines of a group report (VPCs with the same ranges) cannot
  // vouch for either: such hosts are judged by inspect, not by lines.
  const sharedIps = new Set<string>();
  for (const listed of machines.values()) {
    const alive = listed.filter((m) => nowMs / 1000 - m.lastHeartbeatTime <= fresh);
    const count = new Map<string, number>();
    for (const machine of alive) count.set(machine.ip, (count.get(machine.ip) ?? 0) + 1);
    for (const [ip, n] of count) if (n > 1) sharedIps.add(ip);
  }
  // An instance is judged once per batch, by its first authorization: duplicate deliveries and
  // repeated authorizations must not multiply its checks and diagnoses, and reconcile's fresh
  // check every period must not restart a timeout that is as long as the period.
  const judged = new Set<string>();
  const oldestFirst = [...batch].sort((a, b) => a.authorizedAt - b.authorizedAt);
  for (const message of oldestFirst) {
    const route = config.routes[message.route];
    const elapsedSeconds = (nowMs - message.authorizedAt) / 1000;
    for (const id of message.instanceIds) {
      if (judged.has(id)) continue;
      judged.add(id);
      const instance = instances.get(id);
      // Re-observed: gone, re-tagged or no longer authorized means this check has nothing to do.
      if (!instance || !route) continue;
      const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
      if (resolution.kind !== "route" || resolution.name !== message.route) continue;
      const status = parseStatus(instance.tags[config.statusTagKey]);
      // Authorized, or a host failure being retried (its reason stands until this check decides).
      if (status === undefined || !(status.stage === "authorized" || isHostFailure(status))) continue;
      const identifier = route.identifier[instance.os];
      const listed = machines.get(groupKey(message.route, instance.os)) ?? [];
      const machine =
        identifier === undefined
          ? undefined
          : heartbeatingMachine(listed, instance, identifier, nowMs / 1000, fresh);
      if (machine) {
        seen.push({ message, id, ip: machine.ip, os: instance.os });
        continue;
      }
      const delaySeconds = nextHeartbeatCheckDelaySeconds(
        message.checks,
        elapsedSeconds,
        route.heartbeatTimeoutSeconds,
      );
      if (delaySeconds !== undefined) {
        waiting.push({
          message: { ...message, instanceIds: [id], checks: message.checks + 1 },
          delaySeconds,
        });
        counts.waiting += 1;
      } else {
        const key = `${message.accountId}|${message.region}|${message.route}`;
        const entry = timedOut.get(key) ?? { message, ids: [] };
        entry.ids.push(id);
        timedOut.set(key, entry);
      }
    }
  }

  // Heartbeating hosts: collecting once their lines are in the route's logstore (one query per
  // route). The first heartbeat sends apply to bind the config; the check then waits for lines,
  // and past the route's delivery timeout inspects the host.
  for (const { key, items } of groupBy(seen, (s) => [s.message.route] as const)) {
    const route = config.routes[key[0]];
    const destination = route ? config.destinations[route.destination] : undefined;
    if (!route || !destination) continue;
    const sls = deps.sls({ accountId: destination.uid, region: destination.region, project: route.project });
    const fromSeconds = Math.min(...items.map((item) => item.message.authorizedAt)) / 1000;
    const delivering = await deliveringSources(
      sls,
      route.logstore,
      new Set(items.map((item) => item.ip).filter((ip) => !sharedIps.has(ip))),
      fromSeconds,
      nowMs / 1000,
    );
    // Whether the route's config is bound to the OS's group: the delivery timeout counts from then.
    const bound = new Map<OperatingSystem, boolean>();
    const isBound = async (os: OperatingSystem): Promise<boolean> => {
      const known = bound.get(os);
      if (known !== undefined) return known;
      const group = route.machineGroup[os];
      const name = route.logtailConfig[os]?.name;
      const value =
        group !== undefined &&
        name !== undefined &&
        ((await sls.appliedConfigs(group))?.includes(name) ?? false);
      bound.set(os, value);
      return value;
    };
    /** Apply is asked to bind the config, and the wait for lines starts (again) now. */
    const bindAndAwaitLines = (message: AwaitHeartbeatMessage, id: string, at: Target) => {
      healthy.push({ ...at, binds: true });
      waiting.push({
        message: { ...message, instanceIds: [id], checks: 0, heartbeatSeenAt: nowMs },
        delaySeconds: nextHeartbeatCheckDelaySeconds(0, 0, route.deliveryTimeoutSeconds) ?? 0,
      });
      counts.awaitingLines += 1;
    };
    for (const { message, id, ip, os } of items) {
      const at = { accountId: message.accountId, region: message.region, route: message.route, id };
      counts.healthy += 1;
      if (delivering.has(ip)) {
        healthy.push({ ...at, binds: false });
        continue;
      }
      if (message.heartbeatSeenAt === undefined) {
        bindAndAwaitLines(message, id, at);
        continue;
      }
      const delaySeconds = nextHeartbeatCheckDelaySeconds(
        message.checks,
        (nowMs - message.heartbeatSeenAt) / 1000,
        route.deliveryTimeoutSeconds,
      );
      if (delaySeconds !== undefined) {
        waiting.push({
          message: { ...message, instanceIds: [id], checks: message.checks + 1 },
          delaySeconds,
        });
        counts.awaitingLines += 1;
      } else if (!(await isBound(os))) {
        // Apply held the config back (the handover's gate) or has not run: the wait starts again
        // once it is bound, and apply is asked again.
        bindAndAwaitLines(message, id, at);
      } else {
        const entryKey = `${message.accountId}|${message.region}|${message.route}|${message.heartbeatSeenAt}`;
        const entry = silent.get(entryKey) ?? { message, ids: [] };
        entry.ids.push(id);
        silent.set(entryKey, entry);
      }
    }
  }

  const applyMessages: string[] = [];
  for (const { key, items } of groupBy(healthy, (h) => [h.accountId, h.region, h.route, h.binds] as const)) {
    const [accountId, region, route, binds] = key;
    const ids = items.map((h) => h.id);
    for (const instanceIds of chunk(ids, MAX_INSTANCES_PER_MESSAGE))
      applyMessages.push(encodeMessage({ v: 1, type: "apply", accountId, region, route, instanceIds }));
    deps.log({
      action: "heartbeat",
      outcome: "ok",
      accountId,
      region,
      route,
      instanceIds: ids,
      detail: binds
        ? "heartbeating: sent to apply to bind the config; waiting for lines"
        : "heartbeating and delivering: sent to apply",
    });
  }
  // One batch send for every route's messages (16 a call).
  if (applyMessages.length > 0) await deps.queue.send(deps.applyQueue, applyMessages);
  // Re-checks of one wait and delay go out together, as one message per up to 100 instances.
  const regrouped = groupBy(
    waiting,
    ({ message, delaySeconds }) =>
      [
        message.accountId,
        message.region,
        message.route,
        message.authorizedAt,
        message.checks,
        message.heartbeatSeenAt ?? -1,
        delaySeconds,
      ] as const,
  );
  const byDelay = new Map<number, string[]>();
  for (const { items } of regrouped) {
    const first = items[0];
    if (first === undefined) continue;
    const ids = items.flatMap((item) => item.message.instanceIds);
    for (const instanceIds of chunk(ids, MAX_INSTANCES_PER_MESSAGE)) {
      byDelay.set(first.delaySeconds, [
        ...(byDelay.get(first.delaySeconds) ?? []),
        encodeMessage({ ...withoutFailures(first.message), instanceIds }),
      ]);
    }
  }
  for (const [delaySeconds, bodies] of byDelay)
    await deps.queue.send(deps.heartbeatQueue, bodies, { delaySeconds });
  for (const { message, ids } of timedOut.values())
    counts.diagnosed += await sendInspect(deps, message, ids, instances, "heartbeat");
  for (const { message, ids } of silent.values())
    counts.diagnosed += await sendInspect(deps, message, ids, instances, "lines");
  return counts;
}

/**
 * Sends inspect to hosts past a timeout: those that never heartbeat (`heartbeat`), or heartbeat and
 * delivered nothing (`lines`, with the route's paths). Its results are not waited for here (a round
 * holds no wait, so its messages never outlive their visibility timeout and a slow host never
 * holds the function): a check-command message reads them at a later tick, where checkCommands.ts
 * decides with `diagnoseNoHeartbeat` or `diagnoseNoDelivery`.
 */
async function sendInspect(
  deps: HeartbeatDeps,
  message: AwaitHeartbeatMessage,
  ids: string[],
  instances: Map<string, InstanceRecord>,
  inspectFor: "heartbeat" | "lines",
): Promise<number> {
  const { config } = deps;
  const route = config.routes[message.route];
  if (!route) return 0;
  // Changes "since the bind" are counted from a host-clock skew earlier: a host whose clock is
  // behind must not look idle.
  const boundAtSeconds =
    Math.floor((message.heartbeatSeenAt ?? message.authorizedAt) / 1000) - DELIVERY_SKEW_SECONDS;
  const scope = { accountId: message.accountId, region: message.region, route: message.route };
  const ecs = deps.ecs(scope);
  const unsendable: string[] = [];
  const later: string[] = [];
  const verdict = inspectFor === "heartbeat" ? "NoHeartbeat" : "NoLinesDelivered";
  for (const os of OPERATING_SYSTEMS) {
    const osIds = ids.filter((id) => instances.get(id)?.os === os);
    const paths = route.logtailConfig[os]?.filePaths;
    if (osIds.length === 0) continue;
    if (inspectFor === "heartbeat" ? route.identifier[os] === undefined : paths === undefined) continue;
    // Windows' script lists no files (diagnoseNoDelivery says what that means).
    const action =
      inspectFor === "lines" && os === "linux" && paths !== undefined
        ? { action: "inspect" as const, files: { paths, sinceSeconds: boundAtSeconds } }
        : { action: "inspect" as const };
    let rendered: ReturnType<typeof renderHostCommand>;
    try {
      rendered = renderHostCommand(os, action, deps.scripts);
    } catch (error) {
      // Too many or too long paths for one command: said on each host, never retried as a message.
      if (!(error instanceof HostCommandError)) throw error;
      unsendable.push(...osIds);
      deps.log({
        ...scope,
        action: "diagnose",
        outcome: "failed",
        instanceIds: osIds,
        reason: verdict,
        detail: `${inspectFor === "heartbeat" ? "no heartbeat" : "no line arrived"}, and inspect cannot be sent: ${error.message}`,
      });
      continue;
    }
    const attemptKey =
      inspectFor === "heartbeat"
        ? `inspect|${message.authorizedAt}|${message.checks}`
        : `inspect-files|${message.heartbeatSeenAt ?? message.authorizedAt}|${message.checks}`;
    for (const invocation of await ecs.runCommand(rendered, osIds, { attemptKey })) {
      later.push(...invocation.instanceIds);
      await deps.queue.send(
        deps.heartbeatQueue,
        [
          encodeMessage({
            v: 1,
            type: "check-command",
            ...scope,
            instanceIds: invocation.instanceIds,
            invokeId: invocation.invokeId,
            action: "inspect",
            inspectFor,
            sentAt: Math.floor(deps.now()),
            checks: 0,
            ...(inspectFor === "lines" ? { boundAt: boundAtSeconds } : {}),
          }),
        ],
        { delaySeconds: commandCheckDelaySeconds(0) },
      );
    }
  }
  if (later.length > 0)
    deps.log({
      ...scope,
      action: "diagnose",
      outcome: "ok",
      instanceIds: later,
      detail: `${inspectFor === "heartbeat" ? "no heartbeat within the route's timeout" : "no line within the delivery timeout"}: inspect sent, its result read at a later look`,
    });
  if (unsendable.length > 0)
    await ecs.tagInstances(unsendable, {
      [config.statusTagKey]: formatStatus({ stage: "failed", reason: verdict }),
    });
  return unsendable.length + later.length;
}

/**
 * A round whose work failed: each message is sent again, delayed, with one more failed try (or
 * dead-lettered at the limit), as apply settles its own (messages/requeue.ts). Every step is
 * idempotent, so work that half happened is only finished by the next try.
 */
async function settleFailedRound(
  deps: HeartbeatDeps,
  messages: ReadonlyArray<AwaitHeartbeatMessage | CheckCommandMessage>,
  error: unknown,
): Promise<{ requeued: number; deadLettered: number }> {
  const kind = failureKind(error);
  const code = errorCode(error) ?? (error instanceof Error ? error.name : "Error");
  const detail = errorMessage(error);
  const settled = { requeued: 0, deadLettered: 0 };
  const byDelay = new Map<number, string[]>();
  for (const message of messages) {
    const scope = {
      accountId: message.accountId,
      region: message.region,
      route: message.route,
      instanceIds: message.instanceIds,
    };
    const decision = afterFailure(kind, message.failedAttempts ?? 0);
    if (decision.kind === "requeue") {
      const again =
        decision.failedAttempts > 0 ? { ...message, failedAttempts: decision.failedAttempts } : message;
      byDelay.set(decision.delaySeconds, [
        ...(byDelay.get(decision.delaySeconds) ?? []),
        encodeMessage(again),
      ]);
      settled.requeued += 1;
      deps.log({
        ...scope,
        action: "heartbeat",
        outcome: kind === "deferred" ? "skipped" : "failed",
        reason: code,
        detail: `${detail}; sent again in ${decision.delaySeconds} s${kind === "deferred" ? "" : ` (failed tries: ${decision.failedAttempts})`}`,
      });
      continue;
    }
    deps.log({
      ...scope,
      action: "heartbeat",
      outcome: "failed",
      reason: code,
      detail: `${detail}; dead-lettered`,
    });
    await deps.deadLetter({
      source: deps.heartbeatQueue,
      reason: decision.reason,
      detail: `${code}: ${detail}`,
      original: encodeMessage(message),
    });
    settled.deadLettered += 1;
  }
  for (const [delaySeconds, bodies] of byDelay)
    await deps.queue.send(deps.heartbeatQueue, bodies, { delaySeconds });
  return settled;
}
