/** The cross-account copy job's name: what apply creates, reconcile looks up and the policies allow. */
import { createHash } from "node:crypto";

/** Deterministic and within the ETL name limit (2–64 of [a-z0-9_-]): the same route and account, the same job. */
export function copyJobName(prefix: string, route: string, accountId: string): string {
  const digest = createHash("sha256").update(`${route}|${accountId}`).digest("hex").slice(0, 12);
  return `${prefix.slice(0, 64 - 13)}-${digest}`;
}
