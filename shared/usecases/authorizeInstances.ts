/**
 * The authorize step: for instances an event named, re-read their tags, resolve the route, check
 * instance state and Cloud Assistant, run the host script on up to 100 instances per RunCommand,
 * read the results, write the status tag and queue the authorized instances for the heartbeat
 * check. An instance whose route tag is gone but that was onboarded is revoked. Level-triggered:
 * running it again on a converged instance changes nothing on the host.
 */
import type { OperatingSystem, RoutesFile } from "../config/routesSchema";
import { resolveRoute, scopeRefusal } from "../domain/routeResolution";
import { formatStatus, isHostFailure, isRefusal, parseStatus, type Status } from "../domain/status";
import { type HostAction, type HostScripts, renderHostCommand } from "../hostscript/hostCommand";
import { encodeMessage, MAX_INSTANCES_PER_MESSAGE } from "../messages/queueMessages";
import type { EcsPort, InstanceRecord } from "../ports/ecs";
import type { QueuePort } from "../ports/queue";
import { DEFAULT_RESULT_WAIT_MS, type ResultWaitDeps, waitForInvocation } from "./commandResults";
import { commandCheckDelaySeconds, commandFailure } from "./hostCommandOutcome";

export interface AuthorizeTarget {
  accountId: string;
  region: string;
  instanceIds: readonly string[];
}

export interface LogLine {
  action: string;
  outcome: "ok" | "refused" | "failed" | "skipped";
  accountId: string;
  region: string;
  instanceIds: string[];
  route?: string;
  reason?: string;
  detail?: string;
  invokeId?: string;
  /** Queue messages the line accounts for (their MNS ids), and how often each was delivered. */
  messageIds?: string[];
  dequeueCounts?: number[];
}

/** Cloud Assistant's result wait (first look, limit, the invocation's deadline) is ResultWaitDeps'. */
export interface AuthorizeDeps extends ResultWaitDeps {
  config: RoutesFile;
  ecs(scope: { accountId: string; region: string }): EcsPort;
  queue: QueuePort;
  heartbeatQueue: string;
  scripts: HostScripts;
  log(line: LogLine): void;
}

export interface AuthorizeOutcome {
  /** Instance id → the status written (or left) on it. */
  statuses: Map<string, string>;
  commands: number;
}

interface HostWork {
  key: string;
  route: string;
  os: OperatingSystem;
  action: HostAction;
  instanceIds: string[];
  /** Status on success. */
  success: Status;
  /**
   * A revoke that offboards the instance (its tag is gone) marks it revoked; one that removes an
   * old route's identifier from a re-tagged instance leaves the status to the new route.
   */
  offboards: boolean;
}

const NOT_RUNNING = new Set(["Stopped", "Stopping", "Starting", "Pending"]);

export async function authorizeInstances(
  deps: AuthorizeDeps,
  target: AuthorizeTarget,
): Promise<AuthorizeOutcome> {
  const { config } = deps;
  const base = { accountId: target.accountId, region: target.region };
  const statuses = new Map<string, string>();
  const refused = scopeRefusal(config, target);
  if (refused) {
    // No role to reach it: nothing can be written on the instances, so the log says it.
    deps.log({
      ...base,
      action: "authorize",
      outcome: "refused",
      instanceIds: [...target.instanceIds],
      reason: refused.reason,
      detail: refused.detail,
    });
    return { statuses, commands: 0 };
  }
  const ecs = deps.ecs(base);
  const instances = await ecs.describeInstances({ instanceIds: target.instanceIds });
  const found = new Set(instances.map((i) => i.instanceId));
  const released = target.instanceIds.filter((id) => !found.has(id));
  if (released.length > 0)
    deps.log({
      ...base,
      action: "authorize",
      outcome: "skipped",
      instanceIds: released,
      reason: "InstanceReleased",
    });

  const writes = new Map<string, string[]>();
  const setStatus = (instance: InstanceRecord, status: Status): void => {
    const value = formatStatus(status);
    statuses.set(instance.instanceId, value);
    if (instance.tags[config.statusTagKey] === value) return;
    writes.set(value, [...(writes.get(value) ?? []), instance.instanceId]);
  };

  const work = new Map<string, HostWork>();
  const addWork = (
    instance: InstanceRecord,
    route: string,
    action: HostAction,
    success: Status,
    offboards = action.action === "revoke",
  ): void => {
    const key = `${action.action}|${route}|${instance.os}|${offboards}`;
    const entry = work.get(key) ?? {
      key,
      route,
      os: instance.os,
      action,
      instanceIds: [],
      success,
      offboards,
    };
    entry.instanceIds.push(instance.instanceId);
    work.set(key, entry);
  };

  for (const instance of instances) {
    const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
    const current = parseStatus(instance.tags[config.statusTagKey]);
    if (resolution.kind === "refused") {
      deps.log({
        ...base,
        action: "authorize",
        outcome: "refused",
        instanceIds: [instance.instanceId],
        reason: resolution.reason,
        detail: resolution.detail,
      });
      setStatus(instance, { stage: "failed", reason: resolution.reason });
      // Onboarded before and now tagged with a route it may not use: the host leaves the routes it
      // was on, as untagged it would (the planner revokes the same). Only routes-file identifiers.
      // A host refused from the start (or already taken off) is left alone.
      const onboarded = current !== undefined && current.stage !== "revoked" && !isRefusal(current);
      if (onboarded && !NOT_RUNNING.has(instance.status)) {
        for (const name of candidateRoutes(config, instance))
          addWork(instance, name, revokeAction(config, name, instance.os), current, false);
      }
      continue;
    }
    if (NOT_RUNNING.has(instance.status)) {
      // Onboarded (or offboarded) when it starts: the start event brings it back here.
      if (resolution.kind === "route") setStatus(instance, { stage: "pending" });
      continue;
    }
    if (resolution.kind === "untagged") {
      if (current === undefined || current.stage === "revoked") continue;
      for (const name of candidateRoutes(config, instance))
        addWork(instance, name, revokeAction(config, name, instance.os), { stage: "revoked" });
      continue;
    }
    const identifier = resolution.route.identifier[instance.os];
    const destination = config.destinations[resolution.route.destination];
    if (identifier === undefined || destination === undefined) continue;
    if (current !== undefined && current.stage !== "pending" && current.stage !== "revoked") {
      // Onboarded before, possibly under another route (a re-tag): the other routes' identifiers
      // this account may carry come off the host. Removing one that is not there changes nothing.
      for (const other of candidateRoutes(config, instance)) {
        if (other === resolution.name) continue;
        addWork(instance, other, revokeAction(config, other, instance.os), { stage: "authorized" }, false);
      }
    }
    // A retried host failure keeps its reason until the heartbeat check gives a new verdict:
    // the status does not flap to authorized and back every reconcile period.
    addWork(
      instance,
      resolution.name,
      { action: "authorize", uid: destination.uid, identifier },
      current !== undefined && isHostFailure(current) ? current : { stage: "authorized" },
    );
  }

  // Cloud Assistant must be online before a command can run (≤ 50 ids a call in the adapter).
  const commandIds = [...new Set([...work.values()].flatMap((w) => w.instanceIds))];
  const online =
    commandIds.length > 0 ? await ecs.cloudAssistantStatus(commandIds) : new Map<string, boolean>();
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  let commands = 0;
  const heartbeatBatches: string[] = [];
  const checkLater: string[] = [];
  const failedRevokes = new Set<string>();

  // One result wait for the whole invocation, counted from its first command: a host's commands
  // run in order (a re-tag's revoke before its authorize), and the invocation's time does not grow
  // with the number of routes and actions in it.
  let waitEnds: number | undefined;
  const sharedWait = { ...deps, deadline: () => waitEnds };
  for (const entry of work.values()) {
    const ready = entry.instanceIds.filter((id) => online.get(id) === true);
    for (const id of entry.instanceIds.filter((id) => online.get(id) !== true)) {
      const instance = byId.get(id);
      if (instance && entry.action.action === "authorize")
        setStatus(instance, { stage: "failed", reason: "CloudAssistantOffline" });
    }
    if (ready.length === 0) continue;
    const rendered = renderHostCommand(entry.os, entry.action, deps.scripts);
    const commandSentAt = Math.floor(deps.now());
    waitEnds ??= Math.min(
      commandSentAt + (deps.resultWaitMs ?? DEFAULT_RESULT_WAIT_MS),
      deps.deadline?.() ?? Number.POSITIVE_INFINITY,
    );
    const invocations = await ecs.runCommand(rendered, ready, { attemptKey: `${entry.key}|${deps.now()}` });
    commands += invocations.length;
    const succeeded: string[] = [];
    for (const invocation of invocations) {
      const results = await waitForInvocation(sharedWait, ecs, invocation.invokeId);
      const running: string[] = [];
      for (const result of results) {
        const instance = byId.get(result.instanceId);
        if (!instance) continue;
        if (!result.finished) {
          // A slow host is not a failed one: its result is read later (check-command). Until
          // then an authorized host says it is not onboarded yet, a revoked one is not revoked.
          running.push(result.instanceId);
          if (entry.action.action === "revoke") failedRevokes.add(result.instanceId);
          else if (parseStatus(instance.tags[config.statusTagKey]) === undefined)
            setStatus(instance, { stage: "pending" });
          continue;
        }
        const failure = commandFailure(result);
        if (failure === undefined) {
          succeeded.push(result.instanceId);
          if (entry.action.action === "authorize") setStatus(instance, entry.success);
        } else {
          if (entry.action.action === "revoke") failedRevokes.add(result.instanceId);
          else setStatus(instance, failure.status);
          deps.log({
            ...base,
            action: entry.action.action,
            outcome: "failed",
            route: entry.route,
            instanceIds: [result.instanceId],
            reason: failure.reason,
            detail: failure.detail,
            invokeId: invocation.invokeId,
          });
        }
      }
      if (running.length > 0) {
        checkLater.push(
          encodeMessage({
            v: 1,
            type: "check-command",
            ...base,
            route: entry.route,
            instanceIds: running,
            invokeId: invocation.invokeId,
            action: entry.action.action === "revoke" ? "revoke" : "authorize",
            sentAt: commandSentAt,
            checks: 0,
          }),
        );
        deps.log({
          ...base,
          action: entry.action.action,
          outcome: "skipped",
          route: entry.route,
          instanceIds: running,
          reason: "HostCommandRunning",
          detail: `no result yet: looked at again in ${commandCheckDelaySeconds(0)} s`,
          invokeId: invocation.invokeId,
        });
      }
      deps.log({
        ...base,
        action: entry.action.action,
        outcome: "ok",
        route: entry.route,
        instanceIds: succeeded,
        invokeId: invocation.invokeId,
        ...(entry.action.action === "revoke" && !entry.offboards
          ? { detail: "re-tagged: this route's identifier removed" }
          : {}),
      });
    }
    if (entry.action.action === "authorize") {
      for (let i = 0; i < succeeded.length; i += MAX_INSTANCES_PER_MESSAGE) {
        heartbeatBatches.push(
          encodeMessage({
            v: 1,
            type: "await-heartbeat",
            ...base,
            route: entry.route,
            instanceIds: succeeded.slice(i, i + MAX_INSTANCES_PER_MESSAGE),
            authorizedAt: deps.now(),
            checks: 0,
          }),
        );
      }
    }
  }

  // An instance is revoked only when every candidate route's revoke succeeded on it.
  for (const entry of work.values()) {
    if (entry.action.action !== "revoke" || !entry.offboards) continue;
    for (const id of entry.instanceIds) {
      const instance = byId.get(id);
      if (instance && online.get(id) === true && !failedRevokes.has(id))
        setStatus(instance, { stage: "revoked" });
    }
  }

  // Status first: the heartbeat check re-observes and acts only on instances marked authorized. If
  // the send fails after this, reconcile finds them authorized and queues the check itself.
  for (const [value, ids] of writes) await ecs.tagInstances(ids, { [config.statusTagKey]: value });
  if (heartbeatBatches.length > 0) await deps.queue.send(deps.heartbeatQueue, heartbeatBatches);
  if (checkLater.length > 0)
    await deps.queue.send(deps.heartbeatQueue, checkLater, { delaySeconds: commandCheckDelaySeconds(0) });
  return { statuses, commands };
}

/** Routes whose identifier an instance of this account and OS may carry. */
export function candidateRoutes(config: RoutesFile, instance: InstanceRecord): string[] {
  return Object.entries(config.routes)
    .filter(
      ([, route]) =>
        route.identifier[instance.os] !== undefined &&
        route.sources.some((source) => source.account === instance.accountId),
    )
    .map(([name]) => name);
}

/** Revoke one route's identifier; the UID file stays while another route of that UID is on the host. */
function revokeAction(config: RoutesFile, routeName: string, os: OperatingSystem): HostAction {
  const route = config.routes[routeName];
  const destination = route ? config.destinations[route.destination] : undefined;
  const identifier = route?.identifier[os] ?? "";
  const otherIdentifiers = Object.entries(config.routes)
    .filter(
      ([name, other]) =>
        name !== routeName && config.destinations[other.destination]?.uid === destination?.uid,
    )
    .map(([, other]) => other.identifier[os])
    .filter((id): id is string => id !== undefined && id !== identifier);
  return { action: "revoke", uid: destination?.uid ?? "", identifier, otherIdentifiers };
}
