/**
 * The planner: desired state (tags + routes file) and observed state (instances, machine groups,
 * heartbeats, bindings, copy jobs) in, actions out. Pure and deterministic: reconcile, the CLI's
 * `plan` and the tests share it. Each action is level-triggered — running it when already
 * converged changes nothing — and batched by (account, region, route, OS) within the API limits.
 */
import { OPERATING_SYSTEMS, type OperatingSystem, type Route, type RoutesFile } from "../config/routesSchema";
import { handsOver, resolveRoute } from "../domain/routeResolution";
import { formatStatus, parseStatus, type Status } from "../domain/status";
import { MAX_INSTANCES_PER_MESSAGE } from "../messages/queueMessages";
import { chunk } from "../util/collections";
import { decideInstance, NOT_RUNNING, pendingCutoverSteps, readyForCutover, verdictStatus } from "./decide";
import { mayRetireSourceGroup, sourceGroupUncollected } from "./handover";
import { isHeartbeating } from "./heartbeating";
import {
  type Action,
  type CutoverWait,
  DEFAULT_PLANNER_OPTIONS,
  type InstanceVerdict,
  type Observed,
  type ObservedInstance,
  type ObservedRoute,
  type Plan,
  type PlannerOptions,
  type RouteResource,
} from "./types";

/** Instances per RunCommand. */
export const RUN_COMMAND_BATCH = 100;
/** Resources per TagResources. */
export const TAG_RESOURCES_BATCH = 50;

export function plan(
  config: RoutesFile,
  observed: Observed,
  options: PlannerOptions = DEFAULT_PLANNER_OPTIONS,
): Plan {
  const builder = new PlanBuilder();
  const nowSeconds = observed.now / 1000;
  const heartbeatingIn = (instance: ObservedInstance): string[] => [
    ...new Set([
      ...Object.entries(config.routes)
        .filter(([name, route]) => isMember(instance, route, observed.routes[name], nowSeconds, options))
        .map(([name]) => name),
      // Traced into a group without a tag (both removed): as good as heartbeating there.
      ...(instance.tracedIn ?? []).filter((name) => Object.hasOwn(config.routes, name)),
    ]),
  ];

  // Route name → source account → running instances tagged for it and how many collect.
  const cutover = new Map<string, Map<string, { running: number; collecting: number; failed: number }>>();
  // Route|account → IPs of its instances that collect, and of those still on their way.
  const migratedIps = new Map<string, Set<string>>();
  const onTheWayIps = new Map<string, Set<string>>();
  const ipsOf = (ips: Map<string, Set<string>>, key: string): Set<string> => {
    const set = ips.get(key) ?? new Set<string>();
    ips.set(key, set);
    return set;
  };
  const revokes: Array<{
    instance: ObservedInstance;
    revoke: NonNullable<ReturnType<typeof decideInstance>["revoke"]>;
  }> = [];
  const usedOs = new Map<string, Set<OperatingSystem>>();

  for (const instance of [...observed.instances].sort(byIdentity)) {
    const current = parseStatus(instance.tags[config.statusTagKey]);
    const tagged = resolveRoute(config, instance, instance.tags[config.tagKey]);
    const route = tagged.kind === "route" ? tagged.route : undefined;
    const seen = tagged.kind === "route" ? observed.routes[tagged.name] : undefined;
    const decision = decideInstance(config, instance, {
      heartbeatingIn: heartbeatingIn(instance),
      ...(tagged.kind === "route" ? { machineGroupExists: seen?.groups[instance.os]?.exists === true } : {}),
      ...(route !== undefined
        ? { missingResources: missingResources(route, seen, new Set([instance.os])) }
        : {}),
      ...(instance.cloudAssistantOnline !== undefined
        ? { cloudAssistantOnline: instance.cloudAssistantOnline }
        : {}),
    });

    if (decision.route !== undefined) {
      usedOs.set(decision.route, (usedOs.get(decision.route) ?? new Set()).add(instance.os));
      if (!NOT_RUNNING.has(instance.status)) {
        const perSource = cutover.get(decision.route) ?? new Map();
        cutover.set(decision.route, perSource);
        const counts = perSource.get(instance.accountId) ?? { running: 0, collecting: 0, failed: 0 };
        perSource.set(instance.accountId, counts);
        counts.running += 1;
        const stage = decision.verdict?.stage ?? current?.stage;
        const key = `${decision.route}|${instance.accountId}`;
        const ips = instance.privateIps ?? [];
        if (stage === "collecting") {
          counts.collecting += 1;
          for (const ip of ips) ipsOf(migratedIps, key).add(ip);
        } else if (stage === "failed") counts.failed += 1;
        else for (const ip of ips) ipsOf(onTheWayIps, key).add(ip);
      }
    }
    if (decision.revoke) revokes.push({ instance, revoke: decision.revoke });
    if (decision.authorize !== undefined) builder.authorize(instance, decision.authorize);
    if (decision.awaitHeartbeat !== undefined) builder.awaitHeartbeat(instance, decision.awaitHeartbeat);
    if (decision.checkDelivery !== undefined) builder.checkDelivery(instance, decision.checkDelivery);
    if (decision.verdict) {
      builder.verdict(
        {
          accountId: instance.accountId,
          region: instance.region,
          instanceId: instance.instanceId,
          ...(decision.route !== undefined ? { route: decision.route } : {}),
          ...decision.verdict,
        },
        current,
        decision.writeStatus,
      );
    }
  }

  for (const [name, route] of Object.entries(config.routes)) {
    const os = usedOs.get(name);
    if (!os) continue;
    const missing = missingResources(route, observed.routes[name], os);
    if (missing.length > 0) builder.action({ type: "ensureRoute", route: name, missing });
  }

  // A retired source config whose group has a machine nobody collects goes back to the group; that
  // machine's revoke waits a run, so the source config reaches it before the route's config leaves.
  const heldBack = new Set<string>();
  for (const [name, route] of Object.entries(config.routes)) {
    for (const source of route.sources) {
      const seen = observed.routes[name]?.sources[source.account];
      if (!source.retire || seen?.retireBindingPresent !== false || seen.retireGroupIps === undefined)
        continue;
      const key = `${name}|${source.account}`;
      const { restore, uncollected } = sourceGroupUncollected(
        seen.retireGroupIps,
        migratedIps.get(key) ?? new Set(),
        onTheWayIps.get(key) ?? new Set(),
      );
      if (!restore) continue;
      builder.action({
        type: "restoreSourceConfig",
        route: name,
        sourceAccount: source.account,
        uncollected,
      });
      for (const ip of uncollected) heldBack.add(`${name}|${source.account}|${ip}`);
    }
  }
  for (const { instance, revoke } of revokes) {
    const waits = revoke.routes.some((name) =>
      (instance.privateIps ?? []).some((ip) => heldBack.has(`${name}|${instance.accountId}|${ip}`)),
    );
    if (!waits) builder.revoke(instance, revoke);
  }

  for (const [name, perSource] of cutover) {
    const route = config.routes[name];
    if (!route) continue;
    for (const source of route.sources) {
      const counts = perSource.get(source.account);
      if (!counts || !readyForCutover(counts)) continue;
      const seen = observed.routes[name]?.sources[source.account];
      const steps = pendingCutoverSteps({
        retireConfigured: source.retire !== undefined,
        backfillConfigured: source.backfill !== undefined && route.backfill !== undefined,
        ...(seen?.retireBindingPresent !== undefined
          ? { retireBindingPresent: seen.retireBindingPresent }
          : {}),
        backfillJobExists: seen?.backfillJob !== undefined,
      });
      // Apply's order and checks: a handover cuts the copy first and retires only after it; the
      // source config leaves its group only when every machine of the group is migrated.
      const byPosition = handsOver(route, source.account);
      if (steps.createBackfill)
        builder.action({
          type: "createBackfill",
          route: name,
          sourceAccount: source.account,
          ...(byPosition ? { byPosition: true } : {}),
        });
      if (!steps.retire) continue;
      const wait = { route: name, sourceAccount: source.account, step: "retireSourceConfig" } as const;
      if (byPosition && steps.createBackfill) {
        builder.wait({ ...wait, reason: "CopyNotCut" });
        continue;
      }
      if (seen?.retireGroupIps !== undefined) {
        const group = mayRetireSourceGroup(
          seen.retireGroupIps.map((ip) => ({ ip })),
          migratedIps.get(`${name}|${source.account}`) ?? new Set(),
        );
        if (!group.retire) {
          builder.wait({ ...wait, reason: "SourceGroupNotMigrated", notMigrated: group.notMigrated });
          continue;
        }
      }
      builder.action({ type: "retireSourceConfig", route: name, sourceAccount: source.account });
    }
  }

  return builder.build();
}

/** In the route's machine group for the instance's OS, with a fresh heartbeat and the route's identifier. */
function isMember(
  instance: ObservedInstance,
  route: Route,
  seen: ObservedRoute | undefined,
  nowSeconds: number,
  options: PlannerOptions,
): boolean {
  const identifier = route.identifier[instance.os];
  const group = seen?.groups[instance.os];
  if (identifier === undefined || !group?.exists) return false;
  const at = group.listedAt === undefined ? nowSeconds : group.listedAt / 1000;
  return isHeartbeating(group.machines, instance, identifier, at, options.heartbeatFreshSeconds);
}

function missingResources(
  route: Route,
  seen: ObservedRoute | undefined,
  osList: ReadonlySet<OperatingSystem>,
): RouteResource[] {
  const missing: RouteResource[] = [];
  if (!seen?.logstoreExists) missing.push("logstore");
  if (!seen?.indexExists) missing.push("index");
  for (const os of OPERATING_SYSTEMS) {
    const config = route.logtailConfig[os];
    if (!osList.has(os) || !config) continue;
    const group = seen?.groups[os];
    if (!group?.exists) missing.push(`machineGroup:${os}`);
    if (!seen?.configExists[os]) missing.push(`config:${os}`);
    if (!group?.appliedConfigs.includes(config.name)) missing.push(`binding:${os}`);
  }
  return missing;
}

function byIdentity(a: ObservedInstance, b: ObservedInstance): number {
  return `${a.accountId}/${a.region}/${a.instanceId}`.localeCompare(
    `${b.accountId}/${b.region}/${b.instanceId}`,
  );
}

/** Collects actions, grouping per-instance work into batched calls. */
class PlanBuilder {
  private readonly actions: Action[] = [];
  private readonly verdicts: InstanceVerdict[] = [];
  private readonly waits: CutoverWait[] = [];
  private readonly batches = new Map<
    string,
    { make: (ids: string[]) => Action; ids: string[]; size: number }
  >();

  action(action: Action): void {
    this.actions.push(action);
  }

  authorize(instance: ObservedInstance, route: string): void {
    const { accountId, region, os } = instance;
    this.batch(
      `authorize|${accountId}|${region}|${route}|${os}`,
      RUN_COMMAND_BATCH,
      instance.instanceId,
      (instanceIds) => ({
        type: "authorize",
        accountId,
        region,
        route,
        os,
        instanceIds,
      }),
    );
  }

  revoke(
    instance: ObservedInstance,
    revoke: { routes: readonly string[]; offboards: boolean; presumed: boolean },
  ): void {
    const { accountId, region, os } = instance;
    const { offboards, presumed } = revoke;
    const sorted = [...revoke.routes].sort();
    this.batch(
      `revoke|${accountId}|${region}|${sorted.join(",")}|${os}|${offboards}|${presumed}`,
      RUN_COMMAND_BATCH,
      instance.instanceId,
      (instanceIds) => ({
        type: "revoke",
        accountId,
        region,
        routes: sorted,
        offboards,
        presumed,
        os,
        instanceIds,
      }),
    );
  }

  awaitHeartbeat(instance: ObservedInstance, route: string): void {
    const { accountId, region } = instance;
    this.batch(
      `await|${accountId}|${region}|${route}`,
      RUN_COMMAND_BATCH,
      instance.instanceId,
      (instanceIds) => ({
        type: "awaitHeartbeat",
        accountId,
        region,
        route,
        instanceIds,
      }),
    );
  }

  checkDelivery(instance: ObservedInstance, route: string): void {
    const { accountId, region } = instance;
    this.batch(
      `delivery|${accountId}|${region}|${route}`,
      MAX_INSTANCES_PER_MESSAGE,
      instance.instanceId,
      (instanceIds) => ({ type: "checkDelivery", accountId, region, route, instanceIds }),
    );
  }

  /** Records the verdict and, when `writeStatus`, a status tag write if the tag says otherwise. */
  verdict(verdict: InstanceVerdict, current: Status | undefined, writeStatus = true): void {
    this.verdicts.push(verdict);
    if (!writeStatus) return;
    const wanted = formatStatus(verdictStatus(verdict));
    if (current !== undefined && formatStatus(current) === wanted) return;
    const { accountId, region } = verdict;
    this.batch(
      `status|${accountId}|${region}|${wanted}`,
      TAG_RESOURCES_BATCH,
      verdict.instanceId,
      (instanceIds) => ({
        type: "setStatus",
        accountId,
        region,
        status: wanted,
        instanceIds,
      }),
    );
  }

  wait(wait: CutoverWait): void {
    this.waits.push(wait);
  }

  build(): Plan {
    const batched: Action[] = [];
    for (const { make, ids, size } of this.batches.values()) {
      for (const slice of chunk(ids, size)) batched.push(make(slice));
    }
    // Offboarding first, then route resources, then host work, then status writes.
    // A retired source config goes back before anything is revoked (the revokes it holds back wait
    // for the next run anyway).
    const order: Record<Action["type"], number> = {
      restoreSourceConfig: -1,
      revoke: 0,
      ensureRoute: 1,
      authorize: 2,
      awaitHeartbeat: 3,
      checkDelivery: 4,
      retireSourceConfig: 5,
      createBackfill: 6,
      setStatus: 7,
    };
    const actions = [...this.actions, ...batched].sort((a, b) => order[a.type] - order[b.type]);
    return { actions, verdicts: this.verdicts, waits: this.waits };
  }

  private batch(key: string, size: number, id: string, make: (ids: string[]) => Action): void {
    const existing = this.batches.get(key);
    if (existing) existing.ids.push(id);
    else this.batches.set(key, { make, ids: [id], size });
  }
}
