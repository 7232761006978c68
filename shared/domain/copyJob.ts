/** The cross-account copy job's name: what apply creates, reconcile looks up and the policies allow. */
import { createHash } from "node:crypto";
import type { Route } from "../config/routesSchema";

/** The name prefix of copy jobs when the route does not give one. */
export const DEFAULT_COPY_JOB_PREFIX = "logtail-xacct";

/** Deterministic and within the ETL name limit (2–64 of [a-z0-9_-]): the same route and account, the same job. */
export function copyJobName(prefix: string, route: string, accountId: string): string {
  const digest = createHash("sha256").update(`${route}|${accountId}`).digest("hex").slice(0, 12);
  return `${prefix.slice(0, 64 - 13)}-${digest}`;
}

/** The copy job of a route for one source account, with the route's prefix or the default. */
export function routeCopyJobName(
  route: Pick<Route, "backfill">,
  routeName: string,
  accountId: string,
): string {
  return copyJobName(route.backfill?.jobNamePrefix ?? DEFAULT_COPY_JOB_PREFIX, routeName, accountId);
}
