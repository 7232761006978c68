/**
 * The hub's snapshot bucket (shared observations, usecases/groupListings.ts), made by the
 * deployment like the queues. OSS bucket names are global across all of Alibaba Cloud: the hub's
 * UID and region in the name keep it the tool's own. s.yaml names the same bucket.
 */
import { LISTINGS_PREFIX } from "../usecases/groupListings";
import { CENSUS_PREFIX } from "../usecases/reconcileShards";

export function snapshotBucketName(hubAccountId: string, hubRegion: string): string {
  return `logtail-xacct-${hubAccountId}-${hubRegion}`;
}

/** What the functions read and write in it: the group listings and the censuses, nothing else. */
export const SNAPSHOT_KEYS = [`${LISTINGS_PREFIX}*`, `${CENSUS_PREFIX}*`];

/** The part of the OSS adapter the deployment uses. */
export interface BucketAdminPort {
  /** Makes the bucket (private) unless it is there: `exists` when it was. */
  ensureBucket(): Promise<"created" | "exists">;
}
