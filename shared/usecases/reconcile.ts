/**
 * The reconcile step — the safety net no lost event can get past. For every source account and
 * region of the routes file it observes the tagged (and once-onboarded) instances, and for every
 * route its destination resources, machine groups, bindings and copy jobs; the pure planner turns
 * that into actions, which this step hands to the same code the events drive: authorize (which also
 * revokes untagged hosts), the heartbeat queue, the apply queue, status tags.
 */
import { OPERATING_SYSTEMS, type OperatingSystem, type RoutesFile } from "../config/routesSchema";
import { routeCopyJobName } from "../domain/copyJob";
import { resolveRoute } from "../domain/routeResolution";
import {
  type ApplyMessage,
  encodeMessage,
  type HostWorkMessage,
  MAX_INSTANCES_PER_MESSAGE,
  MAX_MESSAGE_BYTES,
} from "../messages/queueMessages";
import {
  strangerLine,
  traceMembers,
  type UnaccountedMember,
  unaccountedMembers,
} from "../planner/groupMembers";
import { plan, RUN_COMMAND_BATCH } from "../planner/plan";
import type {
  Action,
  Observed,
  ObservedGroup,
  ObservedInstance,
  ObservedRoute,
  ObservedSource,
  Plan,
} from "../planner/types";
import { orMissing } from "../ports/errors";
import { chunk } from "../util/collections";
import { type AuthorizeDeps, type HostActionRequest, runHostActions } from "./authorizeInstances";
import { listGroup } from "./groupListings";
import { observeRetireBinding } from "./handover";
import { readCensus, writeCensus } from "./reconcileShards";
import type { StepDeps } from "./stepDeps";

export type ReconcileDeps = AuthorizeDeps & Pick<StepDeps, "sls" | "applyQueue" | "snapshots">;

export interface Progress {
  phase: "observe" | "act";
  done: number;
  total: number;
  /** What was just done, in words. */
  what: string;
}

/** Half a reconcile period: how old a shared listing a shard still takes. */
export const SHARD_LISTING_MAX_AGE_MS = 5 * 60_000;

export interface ReconcileOptions {
  /**
   * One source account's share of a fanned-out period (reconcileShards.ts): only that account's
   * instances and the routes it sources are observed, only its decisions are acted on, and what it
   * observed is left as its census. `trace`: group members no census accounted for, looked for
   * among the account's untagged instances.
   */
  shard?: { accountId: string; trace?: readonly UnaccountedMember[] };
  /** Only this route's actions (the whole fleet is still observed: a re-tag involves two routes). */
  route?: string;
  /** Only this source account: observed and acted on. */
  accountId?: string;
  onProgress?(progress: Progress): void;
  /**
   * Run the apply work now instead of queueing it (the operator's `reconcile` ends with the
   * repairs made; the function hands them to the apply queue).
   */
  applyNow?(message: ApplyMessage): Promise<void>;
  /**
   * Where the host commands run: `here` (the operator's `reconcile`, a test) in this run, or
   * `queue`: one host-work message per RunCommand's worth of instances on the apply queue, whose
   * consumers run them in parallel (the function: its run no longer grows with the hosts to fix).
   */
  hostWork?: "here" | "queue";
}

export interface ReconcileOutcome {
  plan: Plan;
  executed: Record<Action["type"], number>;
}

export interface ObserveOptions {
  /** Only these source accounts (UIDs); every account of the routes file when absent. */
  accounts?: readonly string[];
  /**
   * Only these routes (a shard's: the routes its account sources), and of their sources only the
   * observed accounts'. Every route when absent.
   */
  routes?: readonly string[];
  /**
   * How group members no instance accounts for are handled: `trace` (default) lists the routes'
   * source account-regions and traces them, reporting the rest as strangers; a shard, which sees
   * one account, traces only the members it is given (the census found them unaccounted for).
   */
  /** The oldest shared listing of a group this observation takes (groupListings.ts). */
  listingMaxAgeMs?: number;
  members?:
    | "trace"
    | {
        given: readonly UnaccountedMember[];
        /** The account's census of last period: its instances that no tag lists now are looked up by id. */
        previous?: readonly ObservedInstance[];
      };
  /** Called as each account-region and route has been read. */
  onProgress?(progress: Progress): void;
  /**
   * Also ask Cloud Assistant about every running instance (≤ 50 a call), so a plan can say which
   * ones it could not reach. Reconcile does not: authorize checks the instances it acts on.
   */
  cloudAssistant?: boolean;
}

/** Observes the whole fleet the routes file covers. Read-only: the CLI's `plan` can call it too. */
export async function observeFleet(deps: ReconcileDeps, options: ObserveOptions = {}): Promise<Observed> {
  const { config } = deps;
  const instances: ObservedInstance[] = [];
  const accounts = config.sourceAccounts.filter(
    (account) => options.accounts === undefined || options.accounts.includes(account.uid),
  );
  const routeNames = Object.keys(config.routes).filter(
    (name) => options.routes === undefined || options.routes.includes(name),
  );
  const total = accounts.reduce((n, account) => n + account.regions.length, 0) + routeNames.length;
  let done = 0;
  const progress = (what: string) => options.onProgress?.({ phase: "observe", done: ++done, total, what });
  for (const account of accounts) {
    for (const region of account.regions) {
      progress(`instances of ${account.uid} in ${region}`);
      const ecs = deps.ecs({ accountId: account.uid, region });
      const byId = new Map<string, ObservedInstance>();
      for (const tagKey of [config.tagKey, config.statusTagKey]) {
        for (const record of await ecs.describeInstances({ tagKey })) {
          byId.set(record.instanceId, { ...record });
        }
      }
      const running = [...byId.values()].filter((i) => i.status === "Running").map((i) => i.instanceId);
      if (!options.cloudAssistant || running.length === 0) {
        instances.push(...byId.values());
        continue;
      }
      const online = await ecs.cloudAssistantStatus(running);
      for (const instance of byId.values())
        instances.push({ ...instance, cloudAssistantOnline: online.get(instance.instanceId) === true });
    }
  }
  const routes: Record<string, ObservedRoute> = {};
  for (const name of routeNames) {
    const route = config.routes[name];
    if (route === undefined) continue;
    progress(`route ${name}`);
    const destination = config.destinations[route.destination];
    if (!destination) continue;
    const sls = deps.sls({ accountId: destination.uid, region: destination.region, project: route.project });
    const groups: Partial<Record<OperatingSystem, ObservedGroup>> = {};
    const configExists: Partial<Record<OperatingSystem, boolean>> = {};
    const logstoreExists = await orMissing(() => sls.logstoreExists(route.logstore), false);
    const indexExists = logstoreExists
      ? await orMissing(() => sls.indexExists(route.logstore), false)
      : false;
    for (const os of OPERATING_SYSTEMS) {
      const group = route.machineGroup[os];
      const logtail = route.logtailConfig[os];
      if (!group || !logtail) continue;
      const applied = await orMissing(() => sls.appliedConfigs(group), undefined);
      const listing =
        applied === undefined
          ? undefined
          : await orMissing(
              () =>
                listGroup(
                  deps,
                  { accountId: destination.uid, region: destination.region, project: route.project },
                  group,
                  options.listingMaxAgeMs === undefined ? {} : { maxAgeMs: options.listingMaxAgeMs },
                ),
              undefined,
            );
      groups[os] = {
        exists: applied !== undefined,
        appliedConfigs: applied ?? [],
        machines: listing?.machines ?? [],
        listedAt: listing?.listedAt ?? deps.now(),
      };
      // A bound config exists; an unbound one is looked up (one read, only when drift is likely).
      configExists[os] =
        applied?.includes(logtail.name) === true ||
        (await orMissing(() => sls.pipelineConfigExists(logtail.name), false));
    }
    const sources: Record<string, ObservedSource> = {};
    for (const source of route.sources) {
      if (!accounts.some((account) => account.uid === source.account)) continue;
      const region = config.sourceAccounts.find((a) => a.uid === source.account)?.regions[0];
      if (!region) continue;
      const seen: ObservedSource = {};
      if (source.retire) {
        const retire = source.retire;
        const binding = await observeRetireBinding(
          deps.sls({ accountId: source.account, region, project: retire.project }),
          retire,
          { whenBound: true },
        );
        seen.retireBindingPresent = binding.bound ?? false;
        if (binding.groupIps !== undefined) seen.retireGroupIps = binding.groupIps;
      }
      if (source.backfill && route.backfill) {
        const backfill = source.backfill;
        const job = await orMissing(
          () =>
            deps
              .sls({ accountId: source.account, region, project: backfill.project })
              .getEtl(routeCopyJobName(route, name, source.account)),
          undefined,
        );
        if (job) seen.backfillJob = { name: job.name, status: job.status };
      }
      sources[source.account] = seen;
    }
    routes[name] = { logstoreExists, indexExists, groups, configExists, sources };
  }
  const observed: Observed = { now: deps.now(), instances, routes };
  const members = options.members ?? "trace";
  if (members === "trace")
    return {
      ...observed,
      ...(await traceUnaccountedMembers(deps, observed, accounts, unaccountedMembers(config, observed))),
    };
  return { ...observed, instances: await traceInShard(deps, observed, accounts, members) };
}

/**
 * A shard's tracing, within its account. Candidates: the instances its last census had that no tag
 * lists now (looked up by id: a host stripped of its tags is found in the same period), and, when
 * the timer handed it members no census accounted for, every instance of the account. Members it
 * cannot trace are other accounts' (or strangers: the timer judges those across all censuses).
 */
async function traceInShard(
  deps: ReconcileDeps,
  observed: Observed,
  accounts: readonly RoutesFile["sourceAccounts"][number][],
  members: { given: readonly UnaccountedMember[]; previous?: readonly ObservedInstance[] },
): Promise<readonly ObservedInstance[]> {
  const { config } = deps;
  const listed = new Set(observed.instances.map((instance) => instance.instanceId));
  const departed = (members.previous ?? []).filter((instance) => !listed.has(instance.instanceId));
  const candidates: ObservedInstance[] = [];
  for (const account of accounts) {
    for (const region of account.regions) {
      const ecs = deps.ecs({ accountId: account.uid, region });
      const ids = departed
        .filter((i) => i.accountId === account.uid && i.region === region)
        .map((i) => i.instanceId);
      const records =
        members.given.length > 0
          ? await ecs.describeInstances()
          : ids.length > 0
            ? await ecs.describeInstances({ instanceIds: ids })
            : [];
      for (const record of records) if (!listed.has(record.instanceId)) candidates.push({ ...record });
    }
  }
  if (candidates.length === 0) return observed.instances;
  const unaccounted = [...unaccountedMembers(config, observed), ...members.given];
  const { traced } = traceMembers(config, unaccounted, candidates, observed.now / 1000);
  return [
    ...observed.instances,
    ...[...traced].map(([instance, routes]) => ({ ...instance, tracedIn: routes })),
  ];
}

/**
 * Group members that no listed instance accounts for. Only when there are some, the routes' source
 * account-regions are listed without a tag filter: an instance whose route and status tags were both
 * removed is still onboarded, and is traced so the planner offboards it; what stays unaccounted for
 * is a stranger, reported.
 */
async function traceUnaccountedMembers(
  deps: ReconcileDeps,
  observed: Observed,
  accounts: readonly RoutesFile["sourceAccounts"][number][],
  unaccounted: readonly UnaccountedMember[],
): Promise<Pick<Observed, "instances" | "strangers">> {
  const { config } = deps;
  if (unaccounted.length === 0) return { instances: observed.instances };
  const routeAccounts = new Set(
    unaccounted.flatMap((member) => config.routes[member.route]?.sources.map((s) => s.account) ?? []),
  );
  const listed = new Set(
    observed.instances.map((instance) => `${instance.accountId}/${instance.instanceId}`),
  );
  const candidates: ObservedInstance[] = [];
  for (const account of accounts.filter((a) => routeAccounts.has(a.uid))) {
    for (const region of account.regions) {
      for (const record of await deps.ecs({ accountId: account.uid, region }).describeInstances()) {
        if (!listed.has(`${record.accountId}/${record.instanceId}`)) candidates.push({ ...record });
      }
    }
  }
  const { traced, strangers } = traceMembers(config, unaccounted, candidates, observed.now / 1000);
  return {
    instances: [
      ...observed.instances,
      ...[...traced].map(([instance, routes]) => ({ ...instance, tracedIn: routes })),
    ],
    strangers,
  };
}

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  const shard = options.shard;
  const accountId = shard?.accountId ?? options.accountId;
  const previous = shard === undefined ? undefined : await readCensus(deps, shard.accountId);
  const observed = await observeFleet(deps, {
    ...(accountId === undefined ? {} : { accounts: [accountId] }),
    ...(shard === undefined
      ? {}
      : {
          routes: routesSourcedBy(deps.config, shard.accountId),
          // The timer listed every judged group as the period began; shards queued behind others
          // still use that listing (judged as of its time) rather than list the group again.
          listingMaxAgeMs: SHARD_LISTING_MAX_AGE_MS,
          members: { given: shard.trace ?? [], ...(previous ? { previous } : {}) },
        }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  if (shard !== undefined) await writeCensus(deps, shard.accountId, observed.instances);
  const planned = plan(deps.config, observed);
  const result = filterPlan(
    shard === undefined ? planned : accountsShare(planned, shard.accountId),
    observed,
    deps.config.tagKey,
    options.route,
  );
  const executed: ReconcileOutcome["executed"] = {
    ensureRoute: 0,
    authorize: 0,
    revoke: 0,
    awaitHeartbeat: 0,
    checkDelivery: 0,
    setStatus: 0,
    retireSourceConfig: 0,
    restoreSourceConfig: 0,
    createBackfill: 0,
  };
  // A retire the source group holds back is not sent to apply: the log says why, as apply would.
  for (const wait of result.waits) {
    if (wait.reason !== "SourceGroupNotMigrated") continue;
    const notMigrated = wait.notMigrated ?? [];
    deps.log({
      action: "retire-source-config",
      outcome: "skipped",
      reason: wait.reason,
      accountId: wait.sourceAccount,
      // Where reconcile observed the source group: the account's first region.
      region: deps.config.sourceAccounts.find((a) => a.uid === wait.sourceAccount)?.regions[0] ?? "",
      route: wait.route,
      instanceIds: [],
      detail: `stays bound: ${notMigrated.length} machines of the source group are not migrated (${notMigrated.slice(0, 5).join(", ")}${notMigrated.length > 5 ? ", …" : ""})`,
    });
  }
  const total = result.actions.length;
  let done = 0;
  const acted = (what: string, count = 1) => {
    done = Math.min(total, done + count);
    options.onProgress?.({ phase: "act", done, total, what });
  };

  // Host work: the planner's actions as they are, per account and region, to the host actor.
  const hostWork = new Map<
    string,
    { scope: { accountId: string; region: string }; requests: HostActionRequest[] }
  >();
  const applyWork = new Map<string, ApplyMessage>();
  /** One apply message per account, region and route, each instance in it once. */
  const addApplyWork = (accountId: string, region: string, route: string, instanceId: string): void => {
    const key = `${accountId}|${region}|${route}`;
    const message = applyWork.get(key) ?? { v: 1, type: "apply", accountId, region, route, instanceIds: [] };
    if (!message.instanceIds.includes(instanceId)) message.instanceIds.push(instanceId);
    applyWork.set(key, message);
  };
  const heartbeat: string[] = [];
  for (const action of result.actions) {
    executed[action.type] += 1;
    switch (action.type) {
      case "authorize":
      case "revoke": {
        const key = `${action.accountId}|${action.region}`;
        const entry = hostWork.get(key) ?? {
          scope: { accountId: action.accountId, region: action.region },
          requests: [],
        };
        entry.requests.push(
          action.type === "authorize"
            ? { kind: "authorize", route: action.route, os: action.os, instanceIds: action.instanceIds }
            : {
                kind: "revoke",
                routes: action.routes,
                offboards: action.offboards,
                os: action.os,
                instanceIds: action.instanceIds,
              },
        );
        hostWork.set(key, entry);
        break;
      }
      case "awaitHeartbeat":
        for (const instanceIds of chunk(action.instanceIds, MAX_INSTANCES_PER_MESSAGE)) {
          heartbeat.push(
            encodeMessage({
              v: 1,
              type: "await-heartbeat",
              accountId: action.accountId,
              region: action.region,
              route: action.route,
              instanceIds,
              authorizedAt: deps.now(),
              checks: 0,
            }),
          );
        }
        break;
      case "checkDelivery":
        // Deployed, the heartbeat check (awaitHeartbeat) looks for these instances' lines and sends
        // them to apply: more apply messages here would only load the apply queue. The operator's
        // reconcile has no heartbeat function behind it: its apply, run at once, marks them.
        if (!options.applyNow) break;
        for (const instanceId of action.instanceIds)
          addApplyWork(action.accountId, action.region, action.route, instanceId);
        break;
      case "restoreSourceConfig": {
        const source = deps.config.routes[action.route]?.sources.find(
          (s) => s.account === action.sourceAccount,
        );
        const region = deps.config.sourceAccounts.find((a) => a.uid === action.sourceAccount)?.regions[0];
        if (!source?.retire || region === undefined) break;
        const { project, machineGroup, config: configName } = source.retire;
        await deps
          .sls({ accountId: action.sourceAccount, region, project })
          .applyConfig(machineGroup, configName);
        const detail = `${project}/${machineGroup}/${configName} bound again: ${action.uncollected.length} machines of the group are collected by nobody (${action.uncollected.slice(0, 5).join(", ")}${action.uncollected.length > 5 ? ", …" : ""}); their revoke waits for the next run`;
        deps.log({
          action: "restore-source-config",
          outcome: "ok",
          reason: "SourceGroupNotMigrated",
          accountId: action.sourceAccount,
          region,
          route: action.route,
          instanceIds: [],
          detail,
        });
        acted(`source config ${detail}`);
        break;
      }
      case "ensureRoute":
      case "retireSourceConfig":
      case "createBackfill":
        // Apply makes the destination ready and cuts over; it needs the route's instances.
        for (const instance of observed.instances) {
          if (instance.status !== "Running") continue;
          // Only instances the route takes: a tag the routes file refuses for this account (one
          // account tagging another's route) must not send apply a message it will refuse.
          const resolution = resolveRoute(deps.config, instance, instance.tags[deps.config.tagKey]);
          if (resolution.kind !== "route" || resolution.name !== action.route) continue;
          if (action.type !== "ensureRoute" && instance.accountId !== action.sourceAccount) continue;
          addApplyWork(instance.accountId, instance.region, action.route, instance.instanceId);
        }
        break;
      case "setStatus":
        await deps
          .ecs({ accountId: action.accountId, region: action.region })
          .tagInstances(action.instanceIds, {
            [deps.config.statusTagKey]: action.status,
          });
        acted(`status ${action.status} on ${action.instanceIds.length} instances`);
        break;
    }
  }
  const hostMessages: string[] = [];
  for (const { scope, requests } of hostWork.values()) {
    // At most one command's worth of instances per run: each run has its own result wait.
    for (const run of runsOfAtMost(requests, RUN_COMMAND_BATCH)) {
      if (options.hostWork === "queue") hostMessages.push(...hostWorkMessages(scope, run).map(encodeMessage));
      else await runHostActions(deps, scope, run);
    }
    const ids = new Set(requests.flatMap((request) => request.instanceIds));
    acted(
      `host commands for ${ids.size} instances of ${scope.accountId} in ${scope.region}${options.hostWork === "queue" ? " queued" : ""}`,
      requests.length,
    );
  }
  if (hostMessages.length > 0) await deps.queue.send(deps.applyQueue, hostMessages);
  if (heartbeat.length > 0) {
    await deps.queue.send(deps.heartbeatQueue, heartbeat);
    acted("heartbeat checks queued", result.actions.filter((a) => a.type === "awaitHeartbeat").length);
  }
  const applyMessages = [...applyWork.values()].flatMap((message) =>
    chunk(message.instanceIds, MAX_INSTANCES_PER_MESSAGE).map((instanceIds) => ({ ...message, instanceIds })),
  );
  if (applyMessages.length > 0) {
    if (options.applyNow) {
      for (const message of applyMessages) await options.applyNow(message);
    } else {
      await deps.queue.send(deps.applyQueue, applyMessages.map(encodeMessage));
    }
  }
  acted("routes applied", total);
  // Strangers are reported, never acted on: a host outside the routes is not this tool's to change.
  for (const stranger of observed.strangers ?? []) deps.log(strangerLine(stranger));
  deps.log({
    action: "reconcile",
    outcome: "ok",
    accountId: "",
    region: "",
    instanceIds: [],
    detail: JSON.stringify(executed),
  });
  return { plan: result, executed };
}

/** The routes an account sources: what its shard observes. */
export function routesSourcedBy(config: RoutesFile, accountId: string): string[] {
  return Object.entries(config.routes)
    .filter(([, route]) => route.sources.some((source) => source.account === accountId))
    .map(([name]) => name);
}

/**
 * A shard's part of the plan: a source's cutover (retire, restore, copy job) is decided by the
 * shard of that source's account, which saw all of that account's instances of the route; the
 * instance actions are its own already (it observed no other account's instances).
 */
export function accountsShare(result: Plan, accountId: string): Plan {
  const mine = (action: Action): boolean =>
    action.type === "retireSourceConfig" ||
    action.type === "restoreSourceConfig" ||
    action.type === "createBackfill"
      ? action.sourceAccount === accountId
      : true;
  return {
    actions: result.actions.filter(mine),
    verdicts: result.verdicts,
    waits: result.waits.filter((wait) => wait.sourceAccount === accountId),
  };
}

/**
 * Keeps the actions of one route: its route-level actions, and instance actions for instances
 * tagged with it or carrying its identifier (a revoke naming it).
 */
export function filterPlan(
  result: Plan,
  observed: Observed,
  tagKey: string,
  route: string | undefined,
): Plan {
  if (route === undefined) return result;
  const tagged = new Set(observed.instances.filter((i) => i.tags[tagKey] === route).map((i) => i.instanceId));
  const keep = (action: Action): boolean => {
    switch (action.type) {
      case "ensureRoute":
      case "retireSourceConfig":
      case "restoreSourceConfig":
      case "createBackfill":
      case "authorize":
      case "awaitHeartbeat":
      case "checkDelivery":
        return action.route === route;
      case "revoke":
        return action.routes.includes(route) || action.instanceIds.some((id) => tagged.has(id));
      case "setStatus":
        return action.instanceIds.some((id) => tagged.has(id));
    }
  };
  const actions = result.actions
    .filter(keep)
    .map((action) =>
      action.type === "setStatus"
        ? { ...action, instanceIds: action.instanceIds.filter((id) => tagged.has(id)) }
        : action,
    );
  return {
    actions,
    verdicts: result.verdicts.filter((v) => v.route === route || tagged.has(v.instanceId)),
    waits: result.waits.filter((wait) => wait.route === route),
  };
}

/**
 * One run's requests as host-work messages within MNS's size: packed in order, and a revoke whose
 * route list alone would not fit (hundreds of long route names) split into revokes of fewer routes.
 */
export function hostWorkMessages(
  scope: { accountId: string; region: string },
  requests: readonly HostActionRequest[],
): HostWorkMessage[] {
  const messageOf = (part: readonly HostActionRequest[]): HostWorkMessage => ({
    v: 1,
    type: "host-work",
    ...scope,
    requests: part.map((request) => ({
      ...request,
      instanceIds: [...request.instanceIds],
    })) as HostWorkMessage["requests"],
  });
  const fits = (part: readonly HostActionRequest[]) =>
    Buffer.byteLength(JSON.stringify(messageOf(part))) <= MAX_MESSAGE_BYTES;
  const pieces = requests.flatMap((request) => splitToFit(request, fits));
  const messages: HostWorkMessage[] = [];
  let current: HostActionRequest[] = [];
  for (const piece of pieces) {
    if (current.length > 0 && !fits([...current, piece])) {
      messages.push(messageOf(current));
      current = [];
    }
    current.push(piece);
  }
  if (current.length > 0) messages.push(messageOf(current));
  return messages;
}

function splitToFit(
  request: HostActionRequest,
  fits: (part: readonly HostActionRequest[]) => boolean,
): HostActionRequest[] {
  if (request.kind !== "revoke" || request.routes.length < 2 || fits([request])) return [request];
  const half = Math.ceil(request.routes.length / 2);
  return [
    ...splitToFit({ ...request, routes: request.routes.slice(0, half) }, fits),
    ...splitToFit({ ...request, routes: request.routes.slice(half) }, fits),
  ];
}

/**
 * The requests in order, in runs that each touch at most `size` instances (a request is never
 * split: the planner batches them within that size already).
 */
function runsOfAtMost(requests: readonly HostActionRequest[], size: number): HostActionRequest[][] {
  const runs: HostActionRequest[][] = [];
  let current: HostActionRequest[] = [];
  let ids = new Set<string>();
  for (const request of requests) {
    const added = request.instanceIds.filter((id) => !ids.has(id));
    if (current.length > 0 && ids.size + added.length > size) {
      runs.push(current);
      current = [];
      ids = new Set();
    }
    current.push(request);
    for (const id of request.instanceIds) ids.add(id);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}
