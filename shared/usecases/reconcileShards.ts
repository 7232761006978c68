/**
 * Reconcile fanned out. The timer reads no instance: it sends one `reconcile-account` message per
 * source account to the reconcile queue, whose consumers each observe, plan and act for one account (its
 * instances in every region, and the routes it sources). A shard's work is bounded by its account,
 * whatever the fleet; one that fails is sent again alone; a slow account delays no other.
 *
 * An account's regions stay in one shard: a source's cutover (retire, restore) compares the whole
 * account's migrated hosts with its source group, which takes hosts of every region.
 *
 * Group members that no instance accounts for (a host whose tags were all removed, or a stranger)
 * cannot be judged by a shard, which sees one account. Each shard leaves a census of the instances
 * it observed in the hub's snapshot store; the next timer matches every route's group (its shared
 * listing) against all censuses. A member nobody accounts for is handed to its route's account
 * shards to trace; one still unaccounted for at the next period is reported as a stranger (a host
 * onboarded between two censuses is accounted for by the next one).
 */
import { z } from "zod";
import { OPERATING_SYSTEMS } from "../config/routesSchema";
import {
  encodeMessage,
  MAX_TRACED_MEMBERS,
  machineRecord,
  type ReconcileAccountMessage,
} from "../messages/queueMessages";
import { strangerLine, type UnaccountedMember, unaccountedMembers } from "../planner/groupMembers";
import { AGENT_ID_TAG_KEY } from "../planner/heartbeating";
import type { ObservedGroup, ObservedInstance, ObservedRoute } from "../planner/types";
import { errorCode, errorMessage } from "../ports/errors";
import { listGroup } from "./groupListings";
import { readSnapshot, type SnapshotFailure, writeSnapshot } from "./snapshotObjects";
import type { StepDeps } from "./stepDeps";

export type ShardDeps = Pick<
  StepDeps,
  "config" | "sls" | "now" | "log" | "snapshots" | "queue" | "reconcileQueue"
>;

/** The store's keys for the censuses and the members found unaccounted for last period. */
export const CENSUS_PREFIX = "census/";
export const censusKey = (accountId: string) => `${CENSUS_PREFIX}v1/accounts/${accountId}.json.gz`;
export const SUSPECTS_KEY = `${CENSUS_PREFIX}v1/unaccounted.json.gz`;

/** A census older than this (two reconcile periods and a margin) no longer speaks for its account. */
export const CENSUS_MAX_AGE_MS = 25 * 60_000;

const censusInstance = z.strictObject({
  region: z.string().max(64),
  instanceId: z.string().max(64),
  os: z.enum(OPERATING_SYSTEMS),
  serialNumber: z.string().max(256),
  agentId: z.string().max(256).optional(),
  privateIps: z.array(z.string().max(64)).max(64),
});
const storedCensus = z.strictObject({ v: z.literal(1), at: z.number(), instances: z.array(censusInstance) });

const storedSuspects = z.strictObject({
  v: z.literal(1),
  at: z.number(),
  members: z.array(
    z.strictObject({ route: z.string(), os: z.enum(OPERATING_SYSTEMS), machine: machineRecord }),
  ),
});

/** Leaves what a shard observed of its account: the identities a heartbeat is matched by. */
export async function writeCensus(
  deps: Pick<ShardDeps, "snapshots" | "now" | "log">,
  accountId: string,
  instances: readonly ObservedInstance[],
): Promise<void> {
  if (deps.snapshots === undefined) return;
  const census = {
    v: 1,
    at: Math.floor(deps.now()),
    instances: instances
      .filter((instance) => instance.accountId === accountId)
      .map((instance) => ({
        region: instance.region,
        instanceId: instance.instanceId,
        os: instance.os,
        serialNumber: instance.serialNumber,
        ...(instance.tags[AGENT_ID_TAG_KEY] === undefined
          ? {}
          : { agentId: instance.tags[AGENT_ID_TAG_KEY] }),
        privateIps: [...(instance.privateIps ?? [])],
      })),
  };
  await writeSnapshot(deps.snapshots, censusKey(accountId), census, storeFailed(deps));
}

/** An account's census as instances (identities only), when it is fresh enough to speak for it. */
export async function readCensus(
  deps: Pick<ShardDeps, "snapshots" | "now" | "log">,
  accountId: string,
): Promise<ObservedInstance[] | undefined> {
  if (deps.snapshots === undefined) return undefined;
  const census = await readSnapshot(deps.snapshots, censusKey(accountId), storedCensus, storeFailed(deps));
  const now = deps.now();
  if (census === undefined || now - census.at > CENSUS_MAX_AGE_MS || census.at > now) return undefined;
  return census.instances.map((instance) => {
    const tags: Record<string, string> = {};
    if (instance.agentId !== undefined) tags[AGENT_ID_TAG_KEY] = instance.agentId;
    return {
      accountId,
      region: instance.region,
      instanceId: instance.instanceId,
      os: instance.os,
      status: "Running",
      serialNumber: instance.serialNumber,
      tags,
      privateIps: instance.privateIps,
    };
  });
}

export interface FanOutOutcome {
  shards: number;
  /** Members no census accounted for, handed to their routes' shards to trace. */
  unaccounted: number;
  /** Members unaccounted for two periods running: reported. */
  strangers: number;
  /** Routes whose members were not judged: an account's census is missing or too old. */
  unjudgedRoutes: string[];
}

/** The timer's part: judge the groups against the censuses, then one message per source account. */
export async function fanOutReconcile(deps: ShardDeps): Promise<FanOutOutcome> {
  const { config } = deps;
  const now = deps.now();
  const censuses = new Map<string, ObservedInstance[]>();
  for (const account of config.sourceAccounts) {
    const census = await readCensus(deps, account.uid);
    if (census !== undefined) censuses.set(account.uid, census);
  }
  // A route is judged only when every account it takes hosts from left a census.
  const judged: string[] = [];
  const unjudgedRoutes: string[] = [];
  for (const [name, route] of Object.entries(config.routes)) {
    (route.sources.every((source) => censuses.has(source.account)) ? judged : unjudgedRoutes).push(name);
  }
  const routes: Record<string, ObservedRoute> = {};
  for (const name of judged) {
    const route = config.routes[name];
    const destination = route ? config.destinations[route.destination] : undefined;
    if (!route || !destination) continue;
    const groups: Partial<Record<(typeof OPERATING_SYSTEMS)[number], ObservedGroup>> = {};
    for (const os of OPERATING_SYSTEMS) {
      const group = route.machineGroup[os];
      if (group === undefined) continue;
      const scope = { accountId: destination.uid, region: destination.region, project: route.project };
      const listing = await listGroup(deps, scope, group).catch((error: unknown) => {
        storeFailed(deps)("read", `the listing of ${group}`, error);
        return undefined;
      });
      if (listing === undefined) continue;
      groups[os] = {
        exists: true,
        machines: listing.machines,
        listedAt: listing.listedAt,
        appliedConfigs: [],
      };
    }
    routes[name] = { logstoreExists: true, indexExists: true, groups, configExists: {}, sources: {} };
  }
  const unaccounted = unaccountedMembers(config, {
    now,
    instances: [...censuses.values()].flat(),
    routes,
  });
  const previous =
    deps.snapshots === undefined
      ? undefined
      : await readSnapshot(deps.snapshots, SUSPECTS_KEY, storedSuspects, storeFailed(deps));
  const memberKey = (m: UnaccountedMember) =>
    `${m.route}|${m.os}|${m.machine.machineUniqueId}|${m.machine.ip}`;
  const before = new Set((previous?.members ?? []).map(memberKey));
  const strangers = unaccounted.filter((member) => before.has(memberKey(member)));
  for (const stranger of strangers) deps.log(strangerLine(stranger));
  if (deps.snapshots !== undefined)
    await writeSnapshot(
      deps.snapshots,
      SUSPECTS_KEY,
      { v: 1, at: Math.floor(now), members: unaccounted },
      storeFailed(deps),
    );

  const messages: ReconcileAccountMessage[] = config.sourceAccounts.map((account) => {
    const trace = unaccounted
      .filter((member) => config.routes[member.route]?.sources.some((s) => s.account === account.uid))
      .slice(0, MAX_TRACED_MEMBERS);
    return {
      v: 1,
      type: "reconcile-account",
      accountId: account.uid,
      ...(trace.length > 0 ? { trace } : {}),
    };
  });
  if (messages.length > 0) await deps.queue.send(deps.reconcileQueue, messages.map(encodeMessage));
  const outcome: FanOutOutcome = {
    shards: messages.length,
    unaccounted: unaccounted.length,
    strangers: strangers.length,
    unjudgedRoutes,
  };
  deps.log({
    action: "reconcile",
    outcome: "ok",
    accountId: "",
    region: "",
    instanceIds: [],
    detail: JSON.stringify(outcome),
  });
  return outcome;
}

/** Reports a store that failed: the census check does without the object. */
function storeFailed(deps: Pick<ShardDeps, "log">): SnapshotFailure {
  return (what, key, error) =>
    deps.log({
      action: "reconcile",
      outcome: "failed",
      accountId: "",
      region: "",
      instanceIds: [],
      reason: errorCode(error) ?? (error instanceof Error ? error.name : "Error"),
      detail: `${what} ${key}: ${errorMessage(error)}`,
    });
}
