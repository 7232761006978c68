/**
 * The planner: desired state (tags + routes file) and observed state (instances, machine groups,
 * heartbeats, bindings, copy jobs) in, actions out. Pure and deterministic: reconcile, the CLI's
 * `plan` and the tests share it. Each action is level-triggered — running it when already
 * converged changes nothing — and batched by (account, region, route, OS) within the API limits.
 */
import type { OperatingSystem, Route, RoutesFile } from "../config/routesSchema";
import { resolveRoute } from "../domain/routeResolution";
import { formatStatus, isHostFailure, parseStatus, type Status } from "../domain/status";
import { isHeartbeating } from "./heartbeating";
import {
  type Action,
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

const NOT_RUNNING = new Set(["Stopped", "Stopping", "Starting", "Pending"]);

export function plan(
  config: RoutesFile,
  observed: Observed,
  options: PlannerOptions = DEFAULT_PLANNER_OPTIONS,
): Plan {
  const builder = new PlanBuilder();
  const nowSeconds = observed.now / 1000;
  const memberOf = (instance: ObservedInstance): string[] =>
    Object.entries(config.routes)
      .filter(([name, route]) => isMember(instance, route, observed.routes[name], nowSeconds, options))
      .map(([name]) => name);

  // Route name → source account → Running desired instances and how many collect.
  const cutover = new Map<string, Map<string, { desired: number; collecting: number }>>();
  const usedOs = new Map<string, Set<OperatingSystem>>();

  for (const instance of [...observed.instances].sort(byIdentity)) {
    const current = parseStatus(instance.tags[config.statusTagKey]);
    const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
    const members = memberOf(instance);
    const base = { accountId: instance.accountId, region: instance.region, instanceId: instance.instanceId };
    const running = !NOT_RUNNING.has(instance.status);

    if (resolution.kind === "route") {
      const name = resolution.name;
      const os = instance.os;
      usedOs.set(name, (usedOs.get(name) ?? new Set()).add(os));
      if (!running) {
        // Onboarded when it starts: the start event wakes authorize, reconcile is the safety net.
        builder.verdict(
          { ...base, route: name, stage: "pending", detail: `instance is ${instance.status}` },
          current,
        );
        continue;
      }
      const others = members.filter((member) => member !== name);
      if (others.length > 0) builder.revoke(instance, others);
      const perSource = cutover.get(name) ?? new Map();
      cutover.set(name, perSource);
      const counts = perSource.get(instance.accountId) ?? { desired: 0, collecting: 0 };
      perSource.set(instance.accountId, counts);
      counts.desired += 1;

      if (members.includes(name)) {
        const missing = missingResources(resolution.route, observed.routes[name], new Set([os]));
        if (missing.length === 0) {
          counts.collecting += 1;
          builder.verdict({ ...base, route: name, stage: "collecting" }, current);
        } else {
          builder.verdict(
            {
              ...base,
              route: name,
              stage: "authorized",
              detail: `heartbeating, but ${missing.join(", ")} missing`,
            },
            current,
          );
        }
        continue;
      }
      const group = observed.routes[name]?.groups[os];
      if (
        !group?.exists &&
        members.length === 0 &&
        (current?.stage === "collecting" || current?.stage === "authorized")
      ) {
        // Without its machine group no heartbeat can be seen: ensureRoute makes the group again and
        // the next look judges the host. Running the host script now would change nothing on it.
        builder.verdict(
          { ...base, route: name, stage: current.stage, detail: "machine group missing: made again first" },
          current,
          false,
        );
        continue;
      }
      if (instance.cloudAssistantOnline === false) {
        builder.verdict({ ...base, route: name, stage: "failed", reason: "CloudAssistantOffline" }, current);
        continue;
      }
      if (current?.stage === "authorized") {
        // Authorized and not heartbeating yet: the heartbeat function owns the wait and its timeout.
        builder.awaitHeartbeat(instance, name);
        builder.verdict(
          { ...base, route: name, stage: "authorized", detail: "waiting for the first heartbeat" },
          current,
          false,
        );
        continue;
      }
      // Anything else — new, pending, revoked, failed (the host may have been fixed), or collecting
      // without a heartbeat (drift) — is authorized again; on a converged host that changes nothing.
      builder.authorize(instance, name);
      if (current !== undefined && isHostFailure(current)) {
        // Retried without flapping: the reason stands until a new verdict replaces it.
        builder.verdict(
          {
            ...base,
            route: name,
            stage: "failed",
            reason: current.reason,
            detail: "retried: the host may have been fixed",
          },
          current,
          false,
        );
        continue;
      }
      const detail = current?.stage === "collecting" ? "was collecting, no heartbeat now (drift)" : undefined;
      builder.verdict({ ...base, route: name, stage: "pending", ...(detail ? { detail } : {}) }, current);
      continue;
    }

    if (resolution.kind === "refused") {
      if (running && members.length > 0) builder.revoke(instance, members);
      builder.verdict(
        { ...base, stage: "failed", reason: resolution.reason, detail: resolution.detail },
        current,
      );
      continue;
    }

    // Untagged: offboard whatever the host still carries.
    if (!running) continue;
    if (members.length > 0) {
      builder.revoke(instance, members);
      builder.verdict(
        { ...base, stage: "revoked", detail: `untagged, still in ${members.join(", ")}` },
        current,
        false,
      );
    } else if (current !== undefined && current.stage !== "revoked") {
      // Not heartbeating but onboarded once: the identifier may still be on disk. Revoking an
      // identifier that is not there changes nothing, so every route the account may use is named.
      const candidates = Object.entries(config.routes)
        .filter(
          ([, route]) =>
            route.identifier[instance.os] !== undefined &&
            route.sources.some((s) => s.account === instance.accountId),
        )
        .map(([name]) => name);
      if (candidates.length > 0) builder.revoke(instance, candidates);
      builder.verdict({ ...base, stage: "revoked", detail: "untagged" }, current, false);
    }
  }

  for (const [name, route] of Object.entries(config.routes)) {
    const os = usedOs.get(name);
    if (!os) continue;
    const missing = missingResources(route, observed.routes[name], os);
    if (missing.length > 0) builder.action({ type: "ensureRoute", route: name, missing });
  }

  for (const [name, perSource] of cutover) {
    const route = config.routes[name];
    if (!route) continue;
    for (const source of route.sources) {
      const counts = perSource.get(source.account);
      if (!counts || counts.desired === 0 || counts.collecting < counts.desired) continue;
      const seen = observed.routes[name]?.sources[source.account];
      if (source.retire && seen?.retireBindingPresent !== false) {
        builder.action({ type: "retireSourceConfig", route: name, sourceAccount: source.account });
      }
      if (source.backfill && route.backfill && seen?.backfillJob === undefined) {
        builder.action({ type: "createBackfill", route: name, sourceAccount: source.account });
      }
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
  for (const os of ["linux", "windows"] as const) {
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

  revoke(instance: ObservedInstance, routes: string[]): void {
    const { accountId, region, os } = instance;
    const sorted = [...routes].sort();
    this.batch(
      `revoke|${accountId}|${region}|${sorted.join(",")}|${os}`,
      RUN_COMMAND_BATCH,
      instance.instanceId,
      (instanceIds) => ({
        type: "revoke",
        accountId,
        region,
        routes: sorted,
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

  /** Records the verdict and, when `writeStatus`, a status tag write if the tag says otherwise. */
  verdict(verdict: InstanceVerdict, current: Status | undefined, writeStatus = true): void {
    this.verdicts.push(verdict);
    if (!writeStatus) return;
    const status: Status =
      verdict.stage === "failed"
        ? { stage: "failed", reason: verdict.reason ?? "HostScriptFailed" }
        : { stage: verdict.stage };
    const wanted = formatStatus(status);
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

  build(): { actions: Action[]; verdicts: InstanceVerdict[] } {
    const batched: Action[] = [];
    for (const { make, ids, size } of this.batches.values()) {
      for (let i = 0; i < ids.length; i += size) batched.push(make(ids.slice(i, i + size)));
    }
    // Offboarding first, then route resources, then host work, then status writes.
    const order: Record<Action["type"], number> = {
      revoke: 0,
      ensureRoute: 1,
      authorize: 2,
      awaitHeartbeat: 3,
      retireSourceConfig: 4,
      createBackfill: 5,
      setStatus: 6,
    };
    const actions = [...this.actions, ...batched].sort((a, b) => order[a.type] - order[b.type]);
    return { actions, verdicts: this.verdicts };
  }

  private batch(key: string, size: number, id: string, make: (ids: string[]) => Action): void {
    const existing = this.batches.get(key);
    if (existing) existing.ids.push(id);
    else this.batches.set(key, { make, ids: [id], size });
  }
}
