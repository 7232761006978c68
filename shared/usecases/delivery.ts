/**
 * Whether hosts deliver: the route's logstore holds lines from them. A heartbeat proves identity
 * and network; only lines prove that the route's config is loaded on the host and reads its files.
 * One query per route and batch, whatever the batch's size: the lines are counted per `__source__`
 * (the IP the agent reports, as in its heartbeat) and matched here, so no value from a host
 * travels inside a query.
 */
import { errorCode } from "../ports/errors";
import type { SlsPort } from "../ports/sls";

/** Answers that mean "nothing delivered yet": apply has not made the route's logstore or index. */
const NOT_MADE_YET = new Set(["ProjectNotExist", "LogStoreNotExist", "IndexConfigNotExist"]);

/** GetLogs' largest SQL answer: one row per sending host of the window. */
const MAX_SOURCES = 1_000_000;

/** Lines are stamped with the host's clock: a host's skew must not hide its first lines. */
export const DELIVERY_SKEW_SECONDS = 120;

/** Of `ips`, those with lines in the logstore since `fromSeconds` (skew included). */
export async function deliveringSources(
  sls: Pick<SlsPort, "queryLogs">,
  logstore: string,
  ips: ReadonlySet<string>,
  fromSeconds: number,
  nowSeconds: number,
): Promise<Set<string>> {
  const delivering = new Set<string>();
  if (ips.size === 0) return delivering;
  let rows: Awaited<ReturnType<SlsPort["queryLogs"]>>;
  try {
    rows = await sls.queryLogs(logstore, {
      from: Math.floor(fromSeconds - DELIVERY_SKEW_SECONDS),
      to: Math.ceil(nowSeconds + DELIVERY_SKEW_SECONDS),
      query: `* | select __source__ as ip, count(*) as lines group by ip limit ${MAX_SOURCES}`,
    });
  } catch (error) {
    if (NOT_MADE_YET.has(errorCode(error) ?? "")) return delivering;
    throw error;
  }
  for (const row of rows) {
    const ip = row.ip;
    if (ip !== undefined && ips.has(ip) && Number(row.lines) > 0) delivering.add(ip);
  }
  return delivering;
}
