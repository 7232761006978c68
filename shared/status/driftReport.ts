/**
 * What `plan` shows: the planner's actions as drift found, in the operator's words — what is wrong,
 * where, and what reconcile would do about it — with counts per account. Pure.
 */
import type { RoutesFile } from "../config/routesSchema";
import { parseStatus, REMEDIES } from "../domain/status";
import type { Action, InstanceVerdict, Observed, Plan } from "../planner/types";

export type DriftKind =
  | "tagged-not-collecting"
  | "untagged-still-onboarded"
  | "retagged"
  | "refused"
  | "awaiting-heartbeat"
  | "route-resource-missing"
  | "source-config-still-bound"
  | "copy-job-missing"
  | "cutover-waiting"
  | "copy-job-failed"
  | "status-out-of-date"
  | "stranger-in-group";

export interface DriftItem {
  kind: DriftKind;
  route?: string;
  accountId?: string;
  region?: string;
  instanceIds: string[];
  /** What is wrong, in words. */
  detail: string;
  /** What reconcile does about it ("" when it needs a person). */
  remedy: string;
}

export interface DriftReport {
  generatedAt: string;
  items: DriftItem[];
  /** Instances affected per source account and kind. */
  byAccount: Record<string, Partial<Record<DriftKind, number>>>;
  actions: Action[];
}

export function buildDriftReport(config: RoutesFile, observed: Observed, result: Plan): DriftReport {
  const items: DriftItem[] = [];
  const verdicts = new Map<string, InstanceVerdict>(result.verdicts.map((v) => [v.instanceId, v]));
  const tagOf = new Map(observed.instances.map((i) => [i.instanceId, i.tags[config.tagKey]]));
  const reauthorized = new Set(
    result.actions.flatMap((action) => (action.type === "authorize" ? action.instanceIds : [])),
  );

  for (const action of result.actions) {
    switch (action.type) {
      case "authorize": {
        const details = [
          ...new Set(action.instanceIds.map((id) => verdicts.get(id)?.detail ?? "not onboarded yet")),
        ];
        items.push({
          kind: "tagged-not-collecting",
          route: action.route,
          accountId: action.accountId,
          region: action.region,
          instanceIds: action.instanceIds,
          detail: `tagged ${action.route}, not collecting (${details.join("; ")})`,
          remedy: `run the host script's authorize on ${action.instanceIds.length} ${action.os} instances`,
        });
        break;
      }
      case "revoke": {
        const untagged = action.instanceIds.filter((id) => tagOf.get(id) === undefined);
        const tagged = action.instanceIds.filter((id) => {
          const tag = tagOf.get(id);
          return tag !== undefined && Object.hasOwn(config.routes, tag);
        });
        // A presumed clean-up beside a re-authorize is part of that repair (reported as
        // tagged-not-collecting), not drift of its own.
        const retagged = action.presumed ? tagged.filter((id) => !reauthorized.has(id)) : tagged;
        const refused = action.instanceIds.filter((id) => !untagged.includes(id) && !tagged.includes(id));
        const base = { accountId: action.accountId, region: action.region, route: action.routes.join(", ") };
        const remedy = `revoke ${action.routes.join(", ")} on the host`;
        if (untagged.length > 0)
          items.push({
            ...base,
            kind: "untagged-still-onboarded",
            instanceIds: untagged,
            detail: `untagged, still carrying ${action.routes.join(", ")}`,
            remedy,
          });
        if (retagged.length > 0)
          items.push({
            ...base,
            kind: "retagged",
            instanceIds: retagged,
            detail: `tagged with another route, still carrying ${action.routes.join(", ")}`,
            remedy,
          });
        if (refused.length > 0)
          items.push({
            ...base,
            kind: "refused",
            instanceIds: refused,
            detail: "its tag is not a route it may use, yet it carries one",
            remedy,
          });
        break;
      }
      case "awaitHeartbeat":
        items.push({
          kind: "awaiting-heartbeat",
          route: action.route,
          accountId: action.accountId,
          region: action.region,
          instanceIds: action.instanceIds,
          detail: "authorized, no heartbeat yet",
          remedy: "queue a heartbeat check (diagnosed past the route's timeout)",
        });
        break;
      case "ensureRoute":
        items.push({
          kind: "route-resource-missing",
          route: action.route,
          instanceIds: [],
          detail: `missing in the destination: ${action.missing.join(", ")}`,
          remedy: "make them again (apply)",
        });
        break;
      case "retireSourceConfig":
        items.push({
          kind: "source-config-still-bound",
          route: action.route,
          accountId: action.sourceAccount,
          instanceIds: [],
          detail: "every instance collects in the destination, the source's old config is still bound",
          remedy: "unbind the source config (cutover)",
        });
        break;
      case "createBackfill":
        items.push({
          kind: "copy-job-missing",
          route: action.route,
          accountId: action.sourceAccount,
          instanceIds: [],
          detail: "every instance collects, the history copy job does not exist",
          remedy: action.byPosition
            ? "cut the copy by position once both configs agree in every file (apply reads both logstores and may wait), then create the copy jobs"
            : "create the copy job (cutover)",
        });
        break;
      case "setStatus": {
        const status = parseStatus(action.status);
        items.push({
          kind: "status-out-of-date",
          accountId: action.accountId,
          region: action.region,
          instanceIds: action.instanceIds,
          detail:
            status?.stage === "failed"
              ? `status tag should be ${action.status}: ${REMEDIES[status.reason]}`
              : `status tag should be ${action.status}`,
          remedy: `write ${action.status}`,
        });
        break;
      }
    }
  }

  for (const wait of result.waits) {
    items.push({
      kind: "cutover-waiting",
      route: wait.route,
      accountId: wait.sourceAccount,
      instanceIds: [],
      detail:
        wait.reason === "CopyNotCut"
          ? "the source's old config stays bound until the copy is cut (the source keeps reading until the copy's range is closed)"
          : `the source's old config stays bound: ${wait.notMigrated?.length ?? 0} machines of its group are not migrated (${(wait.notMigrated ?? []).slice(0, 5).join(", ")}${(wait.notMigrated?.length ?? 0) > 5 ? ", …" : ""}); unbinding would stop their collection`,
      remedy:
        wait.reason === "CopyNotCut"
          ? "nothing: apply retires it after the cut"
          : "tag those machines for the route, or take them out of the source group; the config is retired once every machine is migrated",
    });
  }

  for (const stranger of observed.strangers ?? []) {
    const { machine } = stranger;
    items.push({
      kind: "stranger-in-group",
      route: stranger.route,
      instanceIds: [],
      detail: `a ${stranger.os} machine in the route's group matches no instance of its accounts: ip ${machine.ip}, machine id ${machine.machineUniqueId}${machine.hostId ? `, host id ${machine.hostId}` : ""}; it receives the route's config and writes into its logstore`,
      // Not the tool's to change: the host is outside the routes file.
      remedy: "",
    });
  }

  for (const [name, route] of Object.entries(config.routes)) {
    for (const source of route.sources) {
      const job = observed.routes[name]?.sources[source.account]?.backfillJob;
      if (job?.status !== "FAILED" && job?.status !== "STOPPED") continue;
      items.push({
        kind: "copy-job-failed",
        route: name,
        accountId: source.account,
        instanceIds: [],
        detail: `copy job ${job.name} is ${job.status}`,
        remedy: "",
      });
    }
  }

  const byAccount: DriftReport["byAccount"] = {};
  for (const item of items) {
    if (item.accountId === undefined) continue;
    const counts = byAccount[item.accountId] ?? {};
    counts[item.kind] = (counts[item.kind] ?? 0) + Math.max(item.instanceIds.length, 1);
    byAccount[item.accountId] = counts;
  }
  return { generatedAt: new Date(observed.now).toISOString(), items, byAccount, actions: result.actions };
}
