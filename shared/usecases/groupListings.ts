/**
 * A machine group's listing, observed once and shared. Paging a whole group with ListMachines is
 * the call that grew with the fleet: every heartbeat run, every apply batch and every reconcile
 * paged the same groups. The heartbeat timer lists the groups it checks each minute and keeps the
 * listing in the hub's snapshot store; apply, authorize and reconcile read a listing younger than
 * LISTING_MAX_AGE_MS from there and list a group themselves only when none is. Every reader
 * judges heartbeats as of `listedAt`, so an older listing delays a verdict but never falsifies it.
 * A store that fails costs its reader one listing of its own, never the step.
 */
import { z } from "zod";
import { machineRecord } from "../messages/queueMessages";
import type { ObservedMachine } from "../planner/types";
import { errorCode, errorMessage } from "../ports/errors";
import type { SlsScope } from "../ports/sls";
import { readSnapshot, type SnapshotFailure, writeSnapshot } from "./snapshotObjects";
import type { StepDeps } from "./stepDeps";

/** One heartbeat timer period: what a reader accepts from the store. */
export const LISTING_MAX_AGE_MS = 60_000;

export interface GroupListing {
  machines: readonly ObservedMachine[];
  /** When ListMachines answered (ms): heartbeats are judged as of this moment. */
  listedAt: number;
}

export type GroupListingDeps = Pick<StepDeps, "sls" | "now" | "log" | "snapshots">;

export interface ListGroupOptions {
  /**
   * `fresh`: list the group now whatever the store holds, and keep the listing for the others (the
   * heartbeat timer, whose timeouts need the newest heartbeats). Default: a stored listing younger
   * than `maxAgeMs` serves.
   */
  fresh?: boolean;
  maxAgeMs?: number;
}

/** The key prefix of every listing in the store (the functions' role may touch nothing else). */
export const LISTINGS_PREFIX = "listings/";

/** Where a group's listing is kept: one object per destination account, region, project and group. */
export function listingKey(scope: SlsScope, group: string): string {
  return `${LISTINGS_PREFIX}v1/${scope.accountId}/${scope.region}/${scope.project}/${group}.json.gz`;
}

/** The stored form is outside data too: a reader refuses what does not parse. */
const storedListing = z.strictObject({
  v: z.literal(1),
  listedAt: z.number().int().nonnegative(),
  machines: z.array(machineRecord),
});

/** The group's machines (undefined: the group or its project is not there). */
export async function listGroup(
  deps: GroupListingDeps,
  scope: SlsScope,
  group: string,
  options: ListGroupOptions = {},
): Promise<GroupListing | undefined> {
  const key = listingKey(scope, group);
  const store = deps.snapshots;
  if (store !== undefined && options.fresh !== true) {
    const stored = await readSnapshot(store, key, storedListing, storeFailed(deps, scope));
    const age = deps.now() - (stored?.listedAt ?? Number.NEGATIVE_INFINITY);
    // A listing from the future (a clock that went back) is not trusted to be young.
    if (stored !== undefined && age >= 0 && age <= (options.maxAgeMs ?? LISTING_MAX_AGE_MS))
      return { machines: stored.machines, listedAt: stored.listedAt };
  }
  const machines = await deps.sls(scope).listMachines(group);
  if (machines === undefined) return undefined;
  const listing: GroupListing = { machines, listedAt: Math.floor(deps.now()) };
  if (store !== undefined) await writeSnapshot(store, key, { v: 1, ...listing }, storeFailed(deps, scope));
  return listing;
}

/** Reports a store that failed; the reader lists the group itself instead. */
function storeFailed(deps: GroupListingDeps, scope: SlsScope): SnapshotFailure {
  return (what, key, error) =>
    deps.log({
      action: "group-listing",
      outcome: "failed",
      accountId: scope.accountId,
      region: scope.region,
      instanceIds: [],
      reason: errorCode(error) ?? (error instanceof Error ? error.name : "Error"),
      detail: `${what} ${key}: ${errorMessage(error)}; the group is listed by this run instead`,
    });
}
