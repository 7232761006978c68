/**
 * What `status` shows, built from what the cloud says (the instances' tags and status tags, the
 * routes' copy jobs) — never from a local cache. Pure: the same observation gives the same report,
 * so the text, JSON and HTML renderings agree.
 */
import type { RoutesFile } from "../config/routesSchema";
import { parseStatus, REMEDIES } from "../domain/status";
import { type HeartbeatKey, heartbeatMatch } from "../planner/heartbeating";
import { DEFAULT_PLANNER_OPTIONS, type Observed } from "../planner/types";

/** The stages a count can be under; `failed:<Reason>` keeps the reason, `unknown` is a tag we did not write. */
export type StageKey = "pending" | "authorized" | "collecting" | "revoked" | "untracked" | `failed:${string}`;

export interface ReportGroup {
  /** The route tag's value; `(untagged)` for instances onboarded once and untagged since. */
  route: string;
  accountId: string;
  region: string;
  counts: Partial<Record<StageKey, number>>;
  total: number;
}

export interface ReportInstance {
  instanceId: string;
  accountId: string;
  region: string;
  route: string;
  /** The ECS status (Running, Stopped, …). */
  state: string;
  stage: StageKey;
  /**
   * Which key found the instance's heartbeat in its route's machine group (planner:
   * heartbeatMatch): `host-id`, `agent-uuid` or `serial`. Absent: no fresh heartbeat there.
   */
  heartbeatKey?: HeartbeatKey;
}

export interface ReportFailure extends ReportInstance {
  reason: string;
  remedy: string;
}

/** A route's migration from one source account: its hosts, its old config and its history copy. */
export interface ReportCopyJob {
  route: string;
  sourceAccount: string;
  name: string;
  /** The job's status, or `missing` when the route's cutover has not created it (yet). */
  status: string;
  /** Instances of the account tagged with the route, and those of them collecting (cut over). */
  hosts?: number;
  collecting?: number;
  /**
   * The source config the cutover retires: `bound` (still collecting in the source), `retired`,
   * `unknown` (not observed), `kept` (the route retires nothing from this account).
   */
  sourceConfig?: "bound" | "retired" | "unknown" | "kept";
}

export interface FleetReport {
  /** ISO-8601, when the cloud was read. */
  generatedAt: string;
  hubAccountId: string;
  /** Counts per route, account and region, sorted. */
  groups: ReportGroup[];
  /** Totals per stage over every group. */
  totals: Partial<Record<StageKey, number>>;
  instances: ReportInstance[];
  failed: ReportFailure[];
  copyJobs: ReportCopyJob[];
  /**
   * Fresh members of a route's machine group that no instance of the route's accounts accounts for:
   * any host that knows the destination UID and an identifier can join a group and receive its config.
   */
  strangers?: ReportStranger[];
}

export interface ReportStranger {
  route: string;
  os: string;
  ip: string;
  machineUniqueId: string;
  hostId?: string;
}

export const UNTAGGED = "(untagged)";

export function stageKeyOf(statusTag: string | undefined): StageKey {
  const status = parseStatus(statusTag);
  if (status === undefined) return "untracked";
  return status.stage === "failed" ? `failed:${status.reason}` : status.stage;
}

export function buildFleetReport(config: RoutesFile, observed: Observed): FleetReport {
  const statusTags = new Map(observed.instances.map((i) => [i.instanceId, i.tags[config.statusTagKey]]));
  const heartbeatKeyOf = (instance: Observed["instances"][number]): HeartbeatKey | undefined => {
    const name = instance.tags[config.tagKey];
    const route = name === undefined ? undefined : config.routes[name];
    const identifier = route?.identifier[instance.os];
    const group = name === undefined ? undefined : observed.routes[name]?.groups[instance.os];
    if (identifier === undefined || group === undefined) return undefined;
    const at = (group.listedAt ?? observed.now) / 1000;
    return heartbeatMatch(
      group.machines,
      instance,
      identifier,
      at,
      DEFAULT_PLANNER_OPTIONS.heartbeatFreshSeconds,
    )?.key;
  };
  const instances: ReportInstance[] = observed.instances
    .map((instance) => {
      const heartbeatKey = heartbeatKeyOf(instance);
      return {
        instanceId: instance.instanceId,
        accountId: instance.accountId,
        region: instance.region,
        route: instance.tags[config.tagKey] ?? UNTAGGED,
        state: instance.status,
        stage: stageKeyOf(instance.tags[config.statusTagKey]),
        ...(heartbeatKey === undefined ? {} : { heartbeatKey }),
      };
    })
    .sort(
      (a, b) =>
        a.route.localeCompare(b.route) ||
        a.accountId.localeCompare(b.accountId) ||
        a.region.localeCompare(b.region) ||
        a.instanceId.localeCompare(b.instanceId),
    );

  const groups = new Map<string, ReportGroup>();
  const totals: FleetReport["totals"] = {};
  const failed: ReportFailure[] = [];
  for (const instance of instances) {
    const key = `${instance.route}|${instance.accountId}|${instance.region}`;
    const group = groups.get(key) ?? {
      route: instance.route,
      accountId: instance.accountId,
      region: instance.region,
      counts: {},
      total: 0,
    };
    group.counts[instance.stage] = (group.counts[instance.stage] ?? 0) + 1;
    group.total += 1;
    groups.set(key, group);
    totals[instance.stage] = (totals[instance.stage] ?? 0) + 1;
    const status = parseStatus(statusTags.get(instance.instanceId));
    if (status?.stage === "failed")
      failed.push({ ...instance, reason: status.reason, remedy: REMEDIES[status.reason] });
  }

  // Each route's migration per source account that it hands over from (retire, backfill or both).
  const copyJobs: ReportCopyJob[] = [];
  for (const [name, route] of Object.entries(config.routes)) {
    for (const source of route.sources) {
      const backfills = route.backfill !== undefined && source.backfill !== undefined;
      if (!backfills && source.retire === undefined) continue;
      const seen = observed.routes[name]?.sources[source.account];
      const job = seen?.backfillJob;
      const hosts = instances.filter((i) => i.route === name && i.accountId === source.account);
      copyJobs.push({
        route: name,
        sourceAccount: source.account,
        name: job?.name ?? "",
        status: backfills ? (job?.status ?? "missing") : "none",
        hosts: hosts.length,
        collecting: hosts.filter((i) => i.stage === "collecting").length,
        sourceConfig:
          source.retire === undefined
            ? "kept"
            : seen?.retireBindingPresent === undefined
              ? "unknown"
              : seen.retireBindingPresent
                ? "bound"
                : "retired",
      });
    }
  }

  return {
    generatedAt: new Date(observed.now).toISOString(),
    hubAccountId: config.hub.accountId,
    groups: [...groups.values()],
    totals,
    instances,
    failed,
    copyJobs,
    ...(observed.strangers && observed.strangers.length > 0
      ? {
          strangers: observed.strangers.map(({ route, os, machine }) => ({
            route,
            os,
            ip: machine.ip,
            machineUniqueId: machine.machineUniqueId,
            ...(machine.hostId ? { hostId: machine.hostId } : {}),
          })),
        }
      : {}),
  };
}

/** The order stages are shown in. */
export function stageOrder(stage: StageKey): number {
  const fixed: Record<string, number> = {
    pending: 0,
    authorized: 1,
    collecting: 2,
    revoked: 4,
    untracked: 5,
  };
  return fixed[stage] ?? 3;
}
