/**
 * The hub's snapshot bucket (shared observations, usecases/groupListings.ts), made by the
 * deployment like the queues. OSS bucket names are global across all of Alibaba Cloud: the hub's
 * UID and region in the name keep it the tool's own. s.yaml names the same bucket.
 */
import { BUDGETS_PREFIX } from "../adapters/budgetLedger";
import { READY_PREFIX } from "../usecases/destinationReady";
import { LISTINGS_PREFIX } from "../usecases/groupListings";
import { CENSUS_PREFIX } from "../usecases/reconcileShards";

export function snapshotBucketName(hubAccountId: string, hubRegion: string): string {
  return `logtail-xacct-${hubAccountId}-${hubRegion}`;
}

/**
 * What the functions read and write in it: the group listings, the censuses, the parts of the call
 * budgets they lease and the destinations' readiness records, nothing else.
 */
export const SNAPSHOT_KEYS = [
  `${LISTINGS_PREFIX}*`,
  `${CENSUS_PREFIX}*`,
  `${BUDGETS_PREFIX}*`,
  `${READY_PREFIX}*`,
];

/** Objects that pile up (a lease's slot per key and minute) and expire: a day outlives any use. */
export const SNAPSHOT_EXPIRY: readonly ExpiryRule[] = [
  { id: "logtail-xacct-budgets", prefix: BUDGETS_PREFIX, days: 1 },
];

export interface ExpiryRule {
  id: string;
  prefix: string;
  days: number;
}

/** The part of the OSS adapter the deployment uses. */
export interface BucketAdminPort {
  /** Makes the bucket (private) unless it is there: `exists` when it was. */
  ensureBucket(): Promise<"created" | "exists">;
  /** Sets the bucket's lifecycle to these rules (the bucket is the tool's own: no other rule). */
  expireObjects(rules: readonly ExpiryRule[]): Promise<void>;
}
