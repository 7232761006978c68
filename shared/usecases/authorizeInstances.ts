/**
 * The authorize step: for instances an event named, re-read their tags, let the planner's instance
 * decision say what each needs, and act: check Cloud Assistant, run the host script on up to 100
 * instances per RunCommand, read the results, write the status tag and queue the authorized
 * instances for the heartbeat check. Reconcile hands the planner's host actions to the same actor
 * (`runHostActions`). Level-triggered: running it again on a converged instance changes nothing.
 */
import type { OperatingSystem, RoutesFile } from "../config/routesSchema";
import { resolveRoute, scopeRefusal } from "../domain/routeResolution";
import { formatStatus, hostWasSetUp, parseStatus, type Status } from "../domain/status";
import { type HostAction, HostCommandError, renderHostCommand } from "../hostscript/hostCommand";
import { authorizeAction, revokeActions } from "../hostscript/routeActions";
import { encodeMessage, MAX_INSTANCES_PER_MESSAGE } from "../messages/queueMessages";
import {
  candidateRoutes,
  decideInstance,
  hostActionStillApplies,
  NOT_RUNNING,
  statusAfterAuthorize,
  verdictStatus,
} from "../planner/decide";
import { offboardedGroupMachines } from "../planner/handover";
import { AGENT_ID_TAG_KEY, heartbeatingMachine } from "../planner/heartbeating";
import type { EcsPort, InstanceRecord } from "../ports/ecs";
import { keyedLog } from "../ports/log";
import { chunk } from "../util/collections";
import { DEFAULT_RESULT_WAIT_MS, type ResultWaitDeps, waitForInvocation } from "./commandResults";
import { type GroupListing, listGroup } from "./groupListings";
import { observeRetireBinding } from "./handover";
import { agentIdAfterAuthorize, commandCheckDelaySeconds, commandFailure } from "./hostCommandOutcome";
import type { StepDeps } from "./stepDeps";

export interface AuthorizeTarget {
  accountId: string;
  region: string;
  instanceIds: readonly string[];
}

/** Cloud Assistant's result wait (first look, limit, the invocation's deadline) is ResultWaitDeps'. */
export type AuthorizeDeps = ResultWaitDeps &
  Pick<
    StepDeps,
    "config" | "ecs" | "sls" | "queue" | "heartbeatQueue" | "scripts" | "log" | "freshSeconds" | "snapshots"
  >;

export interface AuthorizeOutcome {
  /** Instance id → the status written (or left) on it. */
  statuses: Map<string, string>;
  commands: number;
}

/**
 * The routes whose machine groups an untagged instance without a status tag heartbeats in. Tooling
 * that owns an instance's tag set removes both keys at once, and the status tag was then the
 * only record of the onboarding: the groups are the other. One ListMachines per candidate route's
 * group, and only when the event names such an instance; a host found in none is left alone (no
 * command reaches a host that never opted in).
 */
async function groupsOfUnrecorded(
  deps: AuthorizeDeps,
  instances: readonly InstanceRecord[],
): Promise<Map<string, string[]>> {
  const { config } = deps;
  const seen = new Map<string, string[]>();
  const unrecorded = instances.filter(
    (instance) =>
      !NOT_RUNNING.has(instance.status) &&
      instance.tags[config.statusTagKey] === undefined &&
      resolveRoute(config, instance, instance.tags[config.tagKey]).kind === "untagged",
  );
  if (unrecorded.length === 0) return seen;
  const listings = new Map<string, GroupListing>();
  for (const instance of unrecorded) {
    for (const name of candidateRoutes(config, instance)) {
      const route = config.routes[name];
      const destination = route ? config.destinations[route.destination] : undefined;
      const group = route?.machineGroup[instance.os];
      const identifier = route?.identifier[instance.os];
      if (!route || !destination || group === undefined || identifier === undefined) continue;
      const key = `${name}|${instance.os}`;
      let listed = listings.get(key);
      if (listed === undefined) {
        const scope = { accountId: destination.uid, region: destination.region, project: route.project };
        listed = (await listGroup(deps, scope, group)) ?? { machines: [], listedAt: deps.now() };
        listings.set(key, listed);
      }
      const at = listed.listedAt / 1000;
      if (heartbeatingMachine(listed.machines, instance, identifier, at, deps.freshSeconds ?? 180))
        seen.set(instance.instanceId, [...(seen.get(instance.instanceId) ?? []), name]);
    }
  }
  return seen;
}

/** A host action decided for some instances of one account and region (the planner's shape). */
export type HostActionRequest =
  | { kind: "authorize"; route: string; os: OperatingSystem; instanceIds: readonly string[] }
  | {
      kind: "revoke";
      routes: readonly string[];
      offboards: boolean;
      os: OperatingSystem;
      instanceIds: readonly string[];
    };

interface HostWork {
  key: string;
  /** The route of an authorize; the first of a revoke's routes. */
  route: string;
  /** The routes whose identifiers the command adds or removes (a Linux revoke carries several). */
  routes: readonly string[];
  os: OperatingSystem;
  action: HostAction;
  instanceIds: string[];
  /**
   * A revoke that offboards the instance (its tag is gone) marks it revoked; one that removes an
   * old route's identifier from a re-tagged instance leaves the status to the new route.
   */
  offboards: boolean;
}

export async function authorizeInstances(
  deps: AuthorizeDeps,
  target: AuthorizeTarget,
): Promise<AuthorizeOutcome> {
  const { config } = deps;
  const base = { accountId: target.accountId, region: target.region };
  const log = keyedLog(deps.log, base);
  const refused = scopeRefusal(config, target);
  if (refused) {
    // No role to reach it: nothing can be written on the instances, so the log says it.
    log({
      action: "authorize",
      outcome: "refused",
      instanceIds: [...target.instanceIds],
      reason: refused.reason,
      detail: refused.detail,
    });
    return { statuses: new Map(), commands: 0 };
  }
  const run = new HostRun(deps, base);
  const instances = await run.observe(target.instanceIds);
  const seenIn = await groupsOfUnrecorded(deps, instances);
  const requests: HostActionRequest[] = [];
  for (const instance of instances) {
    const heartbeatingIn = seenIn.get(instance.instanceId);
    const decision = decideInstance(config, instance, heartbeatingIn ? { heartbeatingIn } : {});
    const verdict = decision.verdict;
    if (decision.refused && verdict) {
      log({
        action: "authorize",
        outcome: "refused",
        instanceIds: [instance.instanceId],
        reason: verdict.reason,
        ...(verdict.detail ? { detail: verdict.detail } : {}),
      });
    }
    // A decision with an authorize gets its status from the command's result, in this same run.
    if (verdict && decision.writeStatus && decision.authorize === undefined)
      run.setStatus(instance, verdictStatus(verdict));
    const ids = [instance.instanceId];
    if (decision.revoke)
      requests.push({ kind: "revoke", ...decision.revoke, os: instance.os, instanceIds: ids });
    if (decision.authorize !== undefined)
      requests.push({ kind: "authorize", route: decision.authorize, os: instance.os, instanceIds: ids });
  }
  return run.act(await keepSourceCollecting(deps, target, requests, instances, log));
}

/**
 * Offboarding a machine of a retired source group (README "Exactly-once cutover", step 6 in
 * reverse): the source config goes back to the group first, and the machine's revoke waits for
 * reconcile's next run, so that the source config reaches it before the route's config leaves.
 * The other requests pass as they are.
 */
async function keepSourceCollecting(
  deps: AuthorizeDeps,
  target: AuthorizeTarget,
  requests: readonly HostActionRequest[],
  instances: ReadonlyArray<{ instanceId: string; privateIps?: readonly string[] }>,
  log: ReturnType<typeof keyedLog>,
): Promise<HostActionRequest[]> {
  const region = deps.config.sourceAccounts.find((a) => a.uid === target.accountId)?.regions[0];
  const offboarding = requests.some((request) => request.kind === "revoke" && request.offboards);
  if (region === undefined || !offboarding) return [...requests];
  const ipsOf = new Map(instances.map((instance) => [instance.instanceId, instance.privateIps ?? []]));
  const held = new Set<string>();
  // Per retired group: its machines' IPs (null: not retired, or not observed). One look each.
  const retiredGroups = new Map<string, string[] | null>();
  const restored = new Set<string>();
  for (const request of requests) {
    if (request.kind !== "revoke" || !request.offboards) continue;
    for (const routeName of request.routes) {
      const retire = deps.config.routes[routeName]?.sources.find(
        (s) => s.account === target.accountId,
      )?.retire;
      if (retire === undefined) continue;
      const sls = deps.sls({ accountId: target.accountId, region, project: retire.project });
      const key = `${retire.project}/${retire.machineGroup}/${retire.config}`;
      // Not observed, or not retired: the source config still reaches the group's machines.
      if (!retiredGroups.has(key)) {
        const binding = await observeRetireBinding(sls, retire);
        retiredGroups.set(key, binding.bound === false ? (binding.groupIps ?? []) : null);
      }
      const groupIps = retiredGroups.get(key);
      if (groupIps === null || groupIps === undefined) continue;
      const machines = offboardedGroupMachines(
        request.instanceIds.map((id) => ({ instanceId: id, ips: ipsOf.get(id) ?? [] })),
        groupIps,
      );
      if (machines.length === 0) continue;
      if (!restored.has(key)) await sls.applyConfig(retire.machineGroup, retire.config);
      restored.add(key);
      for (const id of machines) held.add(id);
      log({
        action: "restore-source-config",
        outcome: "ok",
        reason: "SourceGroupNotMigrated",
        route: routeName,
        instanceIds: machines,
        detail: `${key} bound again: these instances leave the route and are machines of the group; their revoke waits for reconcile's next run`,
      });
    }
  }
  if (held.size === 0) return [...requests];
  log({
    action: "revoke",
    outcome: "skipped",
    reason: "SourceConfigRestored",
    instanceIds: [...held].sort(),
    detail: "revoked by reconcile's next run, once the source config has reached them",
  });
  return requests.flatMap((request) => {
    if (request.kind !== "revoke" || !request.offboards) return [request];
    const instanceIds = request.instanceIds.filter((id) => !held.has(id));
    return instanceIds.length === 0 ? [] : [{ ...request, instanceIds }];
  });
}

/**
 * Carries host actions decided elsewhere (the planner's, in reconcile) through as they are, on
 * instances read again just before: an action the instance's tag no longer calls for (it changed
 * since it was observed, and its event decides anew) is skipped and logged.
 */
export async function runHostActions(
  deps: AuthorizeDeps,
  scope: { accountId: string; region: string },
  requests: readonly HostActionRequest[],
): Promise<AuthorizeOutcome> {
  const run = new HostRun(deps, scope);
  const instances = await run.observe([...new Set(requests.flatMap((r) => r.instanceIds))]);
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  const kept: HostActionRequest[] = [];
  for (const request of requests) {
    const still: string[] = [];
    const changed: string[] = [];
    for (const id of request.instanceIds) {
      const instance = byId.get(id);
      if (instance === undefined) continue; // released: logged by observe
      (hostActionStillApplies(deps.config, instance, request) ? still : changed).push(id);
    }
    if (changed.length > 0)
      run.log({
        action: request.kind,
        outcome: "skipped",
        instanceIds: changed,
        reason: "ChangedSinceObserved",
        detail: "tag or state changed since the plan was made: its event decides anew",
      });
    if (still.length > 0) kept.push({ ...request, instanceIds: still });
  }
  return run.act(kept);
}

/**
 * An authorize request as host steps: a Linux host that an earlier authorize set up gets `adopt`,
 * so that what it has without the script's record (set up by a version that kept none) counts as
 * ours and its revoke removes it; every other host's files found in place are the owner's.
 */
function authorizeSteps(
  config: RoutesFile,
  request: Extract<HostActionRequest, { kind: "authorize" }>,
  byId: ReadonlyMap<string, InstanceRecord>,
): {
  route: string;
  routes: readonly string[];
  action: HostAction | undefined;
  offboards: false;
  instanceIds: readonly string[];
}[] {
  const action = authorizeAction(config, request.route, request.os);
  const adopted = request.instanceIds.filter(
    (id) => request.os === "linux" && hostWasSetUp(parseStatus(byId.get(id)?.tags[config.statusTagKey])),
  );
  const fresh = request.instanceIds.filter((id) => !adopted.includes(id));
  const routes = [request.route];
  return [
    { route: request.route, routes, action, offboards: false as const, instanceIds: fresh },
    {
      route: request.route,
      routes,
      action: action && { ...action, adopt: true },
      offboards: false as const,
      instanceIds: adopted,
    },
  ].filter((step) => step.instanceIds.length > 0);
}

/** One run of host work in an account and region: the statuses it writes, the commands it runs. */
class HostRun {
  private readonly ecs: EcsPort;
  private readonly statuses = new Map<string, string>();
  private readonly writes = new Map<string, string[]>();
  /** Agent-id tag values (UUIDs) → instances: written before the statuses. */
  private readonly agentIds = new Map<string, string[]>();
  private readonly byId = new Map<string, InstanceRecord>();
  readonly log: ReturnType<typeof keyedLog>;

  constructor(
    private readonly deps: AuthorizeDeps,
    private readonly base: { accountId: string; region: string },
  ) {
    this.ecs = deps.ecs(base);
    this.log = keyedLog(deps.log, base);
  }

  /** Reads the instances as they are now; the released ones are logged and left out. */
  async observe(instanceIds: readonly string[]): Promise<InstanceRecord[]> {
    const instances = instanceIds.length > 0 ? await this.ecs.describeInstances({ instanceIds }) : [];
    for (const instance of instances) this.byId.set(instance.instanceId, instance);
    const released = instanceIds.filter((id) => !this.byId.has(id));
    if (released.length > 0)
      this.log({
        action: "authorize",
        outcome: "skipped",
        instanceIds: released,
        reason: "InstanceReleased",
      });
    return instances;
  }

  setStatus(instance: InstanceRecord, status: Status): void {
    const value = formatStatus(status);
    this.statuses.set(instance.instanceId, value);
    // The latest status for an instance wins: take it out of any earlier write.
    for (const [other, ids] of this.writes) {
      if (ids.includes(instance.instanceId))
        this.writes.set(
          other,
          ids.filter((id) => id !== instance.instanceId),
        );
    }
    if (instance.tags[this.deps.config.statusTagKey] === value) return;
    const ids = this.writes.get(value) ?? [];
    if (!ids.includes(instance.instanceId)) ids.push(instance.instanceId);
    this.writes.set(value, ids);
  }

  /**
   * The command for one piece of work. One that cannot be rendered (validate-config refuses such
   * routes files, but one may be deployed unchecked) fails its own hosts and no other work.
   */
  private renderOrFail(entry: HostWork, ready: readonly string[], failedRevokes: Set<string>) {
    try {
      return renderHostCommand(entry.os, entry.action, this.deps.scripts);
    } catch (error) {
      if (!(error instanceof HostCommandError)) throw error;
      for (const id of ready) {
        const instance = this.byId.get(id);
        if (entry.action.action === "revoke") failedRevokes.add(id);
        else if (instance) this.setStatus(instance, { stage: "failed", reason: "HostScriptFailed" });
      }
      for (const route of entry.routes)
        this.log({
          action: entry.action.action,
          outcome: "failed",
          route,
          instanceIds: [...ready],
          reason: "CommandNotRendered",
          detail: error.message,
        });
      return undefined;
    }
  }

  /** Runs the host work, writes the statuses, queues the heartbeat checks and later looks. */
  async act(requests: readonly HostActionRequest[]): Promise<AuthorizeOutcome> {
    const { deps, base, ecs, byId } = this;
    const { config } = deps;
    const work = new Map<string, HostWork>();
    for (const request of requests) {
      const steps =
        request.kind === "authorize"
          ? authorizeSteps(config, request, byId)
          : revokeActions(config, request.routes, request.os).map((revoke) => ({
              route: revoke.routes[0] ?? "",
              routes: revoke.routes,
              action: revoke.action,
              offboards: request.offboards,
              instanceIds: request.instanceIds,
            }));
      for (const step of steps) {
        if (step.action === undefined) continue;
        const adopts = step.action.action === "authorize" && step.action.adopt === true;
        const key = `${step.action.action}|${step.routes.join(",")}|${request.os}|${step.offboards}${adopts ? "|adopt" : ""}`;
        const entry = work.get(key) ?? {
          key,
          route: step.route,
          routes: step.routes,
          os: request.os,
          action: step.action,
          instanceIds: [],
          offboards: step.offboards,
        };
        for (const id of step.instanceIds) if (!entry.instanceIds.includes(id)) entry.instanceIds.push(id);
        work.set(key, entry);
      }
    }

    // The spoke role may run commands only on instances carrying one of the tool's tag keys
    // (shared/deploy/policies.ts). One found through its machine group with all of them stripped gets
    // its status key back first, so its offboarding is not refused.
    const stripped = [
      ...new Set(
        [...work.values()]
          .filter((w) => w.action.action === "revoke")
          .flatMap((w) => w.instanceIds)
          .filter((id) => {
            const tags = byId.get(id)?.tags ?? {};
            return [config.tagKey, config.statusTagKey, AGENT_ID_TAG_KEY].every(
              (key) => !Object.hasOwn(tags, key),
            );
          }),
      ),
    ];
    if (stripped.length > 0)
      await ecs.tagInstances(stripped, { [config.statusTagKey]: formatStatus({ stage: "pending" }) });

    // Cloud Assistant must be online before a command can run (≤ 50 ids a call in the adapter).
    const commandIds = [...new Set([...work.values()].flatMap((w) => w.instanceIds))];
    const online =
      commandIds.length > 0 ? await ecs.cloudAssistantStatus(commandIds) : new Map<string, boolean>();
    let commands = 0;
    const heartbeatBatches: string[] = [];
    const checkLater: string[] = [];
    const failedRevokes = new Set<string>();

    // One result wait for the whole invocation, counted from its first command: a host's commands
    // run in order (a re-tag's revoke before its authorize), and the invocation's time does not grow
    // with the number of routes and actions in it.
    let waitEnds: number | undefined;
    const sharedWait = { ...deps, deadline: () => waitEnds };
    // Revokes first: a re-tagged host leaves its old route before it joins the new one.
    const ordered = [...work.values()].sort(
      (a, b) => Number(a.action.action === "authorize") - Number(b.action.action === "authorize"),
    );
    for (const entry of ordered) {
      const ready = entry.instanceIds.filter((id) => online.get(id) === true);
      for (const id of entry.instanceIds.filter((id) => online.get(id) !== true)) {
        const instance = byId.get(id);
        if (instance && entry.action.action === "authorize")
          this.setStatus(instance, { stage: "failed", reason: "CloudAssistantOffline" });
      }
      if (ready.length === 0) continue;
      const rendered = this.renderOrFail(entry, ready, failedRevokes);
      if (rendered === undefined) continue;
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
              this.setStatus(instance, { stage: "pending" });
            continue;
          }
          const failure = commandFailure(result);
          if (failure === undefined) {
            succeeded.push(result.instanceId);
            if (entry.action.action === "authorize") {
              this.setStatus(instance, statusAfterAuthorize(parseStatus(instance.tags[config.statusTagKey])));
              const agentId = agentIdAfterAuthorize(instance, result);
              if (agentId !== undefined)
                this.agentIds.set(agentId, [...(this.agentIds.get(agentId) ?? []), instance.instanceId]);
            }
          } else {
            if (entry.action.action === "revoke") failedRevokes.add(result.instanceId);
            else this.setStatus(instance, failure.status);
            for (const route of entry.routes)
              this.log({
                action: entry.action.action,
                outcome: "failed",
                route,
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
          for (const route of entry.routes)
            this.log({
              action: entry.action.action,
              outcome: "skipped",
              route,
              instanceIds: running,
              reason: "HostCommandRunning",
              detail: `no result yet: looked at again in ${commandCheckDelaySeconds(0)} s`,
              invokeId: invocation.invokeId,
            });
        }
        for (const route of entry.routes)
          this.log({
            action: entry.action.action,
            outcome: "ok",
            route,
            instanceIds: succeeded,
            invokeId: invocation.invokeId,
            ...(entry.action.action === "revoke" && !entry.offboards
              ? { detail: "re-tagged: this route's identifier removed" }
              : {}),
          });
      }
      if (entry.action.action === "authorize") {
        for (const instanceIds of chunk(succeeded, MAX_INSTANCES_PER_MESSAGE)) {
          heartbeatBatches.push(
            encodeMessage({
              v: 1,
              type: "await-heartbeat",
              ...base,
              route: entry.route,
              instanceIds,
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
          this.setStatus(instance, { stage: "revoked" });
      }
    }

    // Status first: the heartbeat check re-observes and acts only on instances marked authorized. If
    // the send fails after this, reconcile finds them authorized and queues the check itself.
    // The agent ids before: an authorized host is matched by them (planner: heartbeatMatch).
    for (const [agentId, ids] of this.agentIds) await ecs.tagInstances(ids, { [AGENT_ID_TAG_KEY]: agentId });
    for (const [value, ids] of this.writes)
      if (ids.length > 0) await ecs.tagInstances(ids, { [config.statusTagKey]: value });
    if (heartbeatBatches.length > 0) await deps.queue.send(deps.heartbeatQueue, heartbeatBatches);
    if (checkLater.length > 0)
      await deps.queue.send(deps.heartbeatQueue, checkLater, { delaySeconds: commandCheckDelaySeconds(0) });
    return { statuses: this.statuses, commands };
  }
}

/** Authorize a route on the host: its destination's UID file and its identifier for the OS. */
