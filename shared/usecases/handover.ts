/**
 * The calls of the exactly-once handover (README "Exactly-once cutover"); every decision is in
 * planner/handover.ts. Apply uses it twice: before the destination config is bound (the source
 * configs must ship position meta first), and at the cutover (read where each config is in each
 * file, then create the copy parts).
 */
import type { Route, RouteSource, RoutesFile, SourceAccount } from "../config/routesSchema";
import {
  type DestinationHost,
  type DestinationRead,
  type DestinationStart,
  LINE_CONTENT_FIELD,
  PACK_FIELD,
  POSITION_FIELDS,
  SOURCE_HANDOVER_INPUT,
  type SourceConfigState,
  type SourceProgress,
  type SourceUnplaced,
} from "../planner/handover";
import { columnNotAnalysable, errorCode, orMissing } from "../ports/errors";
import type { FieldIndexSpec, LogRow, SlsPort } from "../ports/sls";
import type { StepDeps } from "./stepDeps";

type HandoverDeps = Pick<StepDeps, "sls" | "now">;

/** A route source whose old config is handed over: it names the config (`retire`) and copies (`backfill`). */
export interface HandoverSource {
  account: SourceAccount;
  source: RouteSource & {
    retire: NonNullable<RouteSource["retire"]>;
    backfill: NonNullable<RouteSource["backfill"]>;
  };
}

/** Index keys the handover and `verify` queries need, with analytics, in both logstores. */
export const POSITION_INDEX_KEYS: Readonly<Record<string, FieldIndexSpec>> = {
  [POSITION_FIELDS.host]: { type: "text", docValue: true },
  [POSITION_FIELDS.inode]: { type: "text", docValue: true },
  [POSITION_FIELDS.offset]: { type: "long", docValue: true },
  [POSITION_FIELDS.receiveTime]: { type: "long", docValue: true },
  // verify tells a line's copies (a crash re-read, a resent batch) from other lines by its digest;
  // the cut measures where each destination read ended by it (bytes), per pack.
  [LINE_CONTENT_FIELD]: { type: "text", docValue: true },
  [PACK_FIELD]: { type: "text", docValue: true },
};

export function handoverSources(config: RoutesFile, route: Route): HandoverSource[] {
  if (route.backfill === undefined) return [];
  const sources: HandoverSource[] = [];
  for (const source of route.sources) {
    const account = config.sourceAccounts.find((candidate) => candidate.uid === source.account);
    const { retire, backfill } = source;
    if (account && retire && backfill) sources.push({ account, source: { ...source, retire, backfill } });
  }
  return sources;
}

/**
 * Makes every handover source's config ship position meta and indexes the position fields of its
 * logstore; answers what each config looks like now (undefined: not found in any of the account's
 * regions). The region tried first is `preferredRegion` when the account has it.
 */
export async function prepareHandoverSources(
  deps: HandoverDeps,
  sources: readonly HandoverSource[],
  preferredRegion: string,
): Promise<Array<SourceConfigState | undefined>> {
  const states: Array<SourceConfigState | undefined> = [];
  for (const { account, source } of sources) {
    const located = await locateSourceConfig(deps, account, source, preferredRegion);
    if (located === undefined) {
      states.push(undefined);
      continue;
    }
    const { sls } = located;
    await sls.ensureIndexKeys(source.backfill.logstore, POSITION_INDEX_KEYS);
    const outcome = await sls.ensurePipelineInputOptions(source.retire.config, SOURCE_HANDOVER_INPUT);
    const after = outcome === "unchanged" ? located.state : await sls.pipelineInput(source.retire.config);
    states.push(
      after === undefined
        ? undefined
        : {
            positionMeta: after.input?.AppendingLogPositionMeta === true,
            lastModifyTime:
              outcome === "unchanged"
                ? after.lastModifyTime
                : Math.max(after.lastModifyTime, deps.now() / 1000),
          },
    );
  }
  return states;
}

/**
 * Whether a route source's old config is bound to its group (undefined: the group or project is
 * not there) and the IPs of the group's machines: when it is not bound, a machine nobody collects
 * brings it back (README step 6); when it is (`whenBound`), they say whether apply may retire it.
 * Reconcile and authorize both look through this.
 */
export async function observeRetireBinding(
  sls: SlsPort,
  retire: NonNullable<RouteSource["retire"]>,
  listMachines: { whenBound: boolean } = { whenBound: false },
): Promise<{ bound: boolean | undefined; groupIps?: string[] }> {
  const applied = await orMissing(() => sls.appliedConfigs(retire.machineGroup), undefined);
  if (applied === undefined) return { bound: undefined };
  const bound = applied.includes(retire.config);
  if (bound && !listMachines.whenBound) return { bound };
  const machines = await orMissing(() => sls.listMachines(retire.machineGroup), undefined);
  return {
    bound,
    ...(machines === undefined ? {} : { groupIps: machines.map((machine) => machine.ip) }),
  };
}

/** Where a handed-over source config is: the account's regions in turn, `preferredRegion` first. */
export async function locateSourceConfig(
  deps: HandoverDeps,
  account: SourceAccount,
  source: HandoverSource["source"],
  preferredRegion: string,
) {
  const regions = account.regions.includes(preferredRegion)
    ? [preferredRegion, ...account.regions.filter((region) => region !== preferredRegion)]
    : account.regions;
  for (const region of regions) {
    const sls = deps.sls({ accountId: account.uid, region, project: source.retire.project });
    try {
      const state = await sls.pipelineInput(source.retire.config);
      if (state !== undefined) return { sls, region, state };
    } catch (error) {
      if (errorCode(error) !== "ProjectNotExist") throw error;
    }
  }
  return undefined;
}

/** Where each config is in each file: the destination's first lines, the source's last before `until`. */
export interface HandoverObservation {
  destinationFirst: DestinationStart[];
  sourceLast: SourceProgress[];
  sourceUnplaced: SourceUnplaced[];
  sourceAfter: SourceProgress[];
  sourceUnplacedAfter: SourceUnplaced[];
  /** Every host the source shipped lines with position meta for (each needs a copy part). */
  sourceHosts: string[];
}

const { host: HOST, inode: INODE, offset: OFFSET, receiveTime: RECEIVED } = POSITION_FIELDS;
const offsetOf = `cast("${OFFSET}" as bigint)`;
const receivedOf = `cast("${RECEIVED}" as bigint)`;
/** SLS answers at most this many SQL rows; more files than this is more than one query can judge. */
const MAX_ROWS = 1_000_000;

/**
 * Where each config is in each file. The destination: per (host, inode) its first read time (the
 * smallest `__time__`, the time the agent read the line), the smallest offset it read then (F),
 * and when it read the file from offset 0 again after that (a new file under a reused inode, or a
 * truncation). The source: per file, among the lines received before `until`, its last read time,
 * the offset it had reached then and its last receive time; and per host its last line without position meta; the same for the lines
 * received since `until` (in no copy: the destination must hold them).
 */
export async function observeHandover(
  destination: SlsPort,
  destinationLogstore: string,
  source: SlsPort,
  sourceLogstore: string,
  range: { from: number; until: number; destinationFrom?: number },
): Promise<HandoverObservation> {
  const to = range.until + 86_400;
  // A later round reads the destination from the first cut on: what it holds from before is the
  // first round's copy (read before the cut), not where its config began.
  const destinationFrom = range.destinationFrom ?? range.from;
  const read = (query: string) =>
    destination.queryLogs(destinationLogstore, { from: destinationFrom, to, query });
  const withMeta = `"${INODE}" is not null`;
  const sinceRows = await read(
    `* | select "${HOST}" as host, "${INODE}" as inode, min(__time__) as since where ${withMeta} group by host, inode limit ${MAX_ROWS}`,
  );
  const since = new Map<string, number>();
  for (const row of sinceRows) {
    const value = Number(row.since);
    if (row.host && row.inode && Number.isFinite(value)) since.set(fileOf(row.host, row.inode), value);
  }
  // F: the smallest offset read at the first read time.
  const firstOffset = await offsetsAtReadTimes(read, since, "min", withMeta);
  // Reads from offset 0 after the first read time: the inode holds a new file from then on.
  const restart = new Map<string, number>();
  const zeroRows = await read(
    `* | select "${HOST}" as host, "${INODE}" as inode, __time__ as t where ${withMeta} and ${offsetOf} = 0 group by host, inode, __time__ limit ${MAX_ROWS}`,
  );
  for (const row of zeroRows) {
    const key = row.host && row.inode ? fileOf(row.host, row.inode) : undefined;
    const at = Number(row.t);
    const first = key === undefined ? undefined : since.get(key);
    if (key === undefined || first === undefined || !(at > first)) continue;
    restart.set(key, Math.min(restart.get(key) ?? Number.POSITIVE_INFINITY, at));
  }
  const destinationFirst: DestinationStart[] = [];
  for (const [key, first] of since) {
    const offset = firstOffset.get(key);
    const [host = "", inode = ""] = key.split("\u0000");
    if (offset === undefined) continue;
    const restartAt = restart.get(key);
    destinationFirst.push({
      host,
      inode,
      offset,
      since: first,
      ...(restartAt === undefined ? {} : { restartAt }),
    });
  }
  const lastRows = await source.queryLogs(sourceLogstore, {
    from: range.from,
    to,
    query: `* | select "${HOST}" as host, "${INODE}" as inode, max(__time__) as lastRead, max(${offsetOf}) as last, max(${receivedOf}) as received, arbitrary(__source__) as ip where "${INODE}" is not null and ${receivedOf} < ${Math.floor(range.until)} group by host, inode limit ${MAX_ROWS}`,
  });
  // The offset the source had reached at its last read time (an inode may have held several files:
  // the largest offset of all of them is not where it is now).
  const lastReadOf = new Map<string, number>();
  for (const row of lastRows) {
    const at = Number(row.lastRead);
    if (row.host && row.inode && Number.isFinite(at)) lastReadOf.set(fileOf(row.host, row.inode), at);
  }
  const lastOffset = await offsetsAtReadTimes(
    (query) => source.queryLogs(sourceLogstore, { from: range.from, to, query }),
    lastReadOf,
    "max",
    `"${INODE}" is not null and ${receivedOf} < ${Math.floor(range.until)}`,
  );
  const unplacedRows = await source.queryLogs(sourceLogstore, {
    from: range.from,
    to,
    query: `* | select "${HOST}" as host, max(${receivedOf}) as received, arbitrary(__source__) as ip where "${INODE}" is null and ${receivedOf} < ${Math.floor(range.until)} group by host limit ${MAX_ROWS}`,
  });
  // What the source shipped since the copy's end: the copy leaves it out.
  const afterRows = await source.queryLogs(sourceLogstore, {
    from: range.from,
    to,
    query: `* | select "${HOST}" as host, "${INODE}" as inode, min(${offsetOf}) as first, max(${receivedOf}) as received, arbitrary(__source__) as ip where "${INODE}" is not null and ${receivedOf} >= ${Math.floor(range.until)} group by host, inode limit ${MAX_ROWS}`,
  });
  const unplacedAfterRows = await source.queryLogs(sourceLogstore, {
    from: range.from,
    to,
    query: `* | select "${HOST}" as host, max(${receivedOf}) as received, arbitrary(__source__) as ip where "${INODE}" is null and ${receivedOf} >= ${Math.floor(range.until)} group by host limit ${MAX_ROWS}`,
  });
  const progressOf = (rows: LogRow[], column: string): SourceProgress[] =>
    rows.flatMap((row) => {
      const position = positionOf(row, column);
      const received = Number(row.received);
      return position === undefined || !Number.isFinite(received)
        ? []
        : [{ ...position, received, ...(row.ip ? { ip: row.ip } : {}) }];
    });
  const unplacedOf = (rows: LogRow[]): SourceUnplaced[] =>
    rows.flatMap((row) => {
      const lastReceived = Number(row.received);
      return row.host === undefined || !Number.isFinite(lastReceived)
        ? []
        : [{ host: row.host, lastReceived, ...(row.ip ? { ip: row.ip } : {}) }];
    });
  // A file whose offset at its last read time did not come back (more rows than one answer holds)
  // keeps the inode's largest offset without a read time: the planner then counts it as not in the
  // destination's file, and waits while the source is active in it.
  const sourceLast = progressOf(lastRows, "last").map((progress) => {
    const key = fileOf(progress.host, progress.inode);
    const offset = lastOffset.get(key);
    const lastRead = lastReadOf.get(key);
    return offset === undefined || lastRead === undefined ? progress : { ...progress, offset, lastRead };
  });
  return {
    destinationFirst,
    sourceLast,
    sourceUnplaced: unplacedOf(unplacedRows),
    sourceAfter: progressOf(afterRows, "first"),
    sourceUnplacedAfter: unplacedOf(unplacedAfterRows),
    sourceHosts: [...new Set(sourceLast.map((p) => p.host))].sort(),
  };
}

/**
 * Every host the destination holds lines with position meta of (read from `range.from` on) and the
 * IP it reports (`__source__`). One grouped query.
 */
export async function observeDestinationHosts(
  destination: SlsPort,
  destinationLogstore: string,
  range: { from: number; until: number },
): Promise<DestinationHost[]> {
  const rows = await destination.queryLogs(destinationLogstore, {
    from: range.from,
    to: range.until + 86_400,
    query: `* | select "${HOST}" as host, arbitrary(__source__) as ip where "${INODE}" is not null group by host limit ${MAX_ROWS}`,
  });
  return rows.flatMap((row) =>
    row.host === undefined || row.host === "" ? [] : [{ host: row.host, ...(row.ip ? { ip: row.ip } : {}) }],
  );
}

/**
 * The destination's reads: per pack (one read of one file), its first offset, the end of its last
 * line (offset + bytes of the text + the newline) and its read time. Undefined when the logstore
 * cannot measure them (no analytics on the text or the pack tag) or there are more than one answer
 * holds: a missing read would look like a hole, and the copy would double what it held. One row
 * per pack: read only when the cut is otherwise ready.
 */
export async function observeDestinationReads(
  destination: SlsPort,
  destinationLogstore: string,
  range: { from: number; until: number },
): Promise<DestinationRead[] | undefined> {
  const bytes = `length(to_utf8("${LINE_CONTENT_FIELD}"))`;
  let rows: LogRow[];
  try {
    rows = await destination.queryLogs(destinationLogstore, {
      from: range.from,
      to: range.until + 86_400,
      query: `* | select "${HOST}" as host, "${INODE}" as inode, min(__time__) as t, min(${offsetOf}) as a, max(${offsetOf}) as last, max(${offsetOf} + ${bytes} + 1) as b, max(${bytes}) as longest, count(*) - count("${LINE_CONTENT_FIELD}") as untexted where "${INODE}" is not null group by "${HOST}", "${INODE}", "${PACK_FIELD}" limit ${MAX_ROWS}`,
    });
  } catch (error) {
    if (columnNotAnalysable(error, LINE_CONTENT_FIELD) || columnNotAnalysable(error, PACK_FIELD))
      return undefined;
    throw error;
  }
  if (rows.length >= MAX_ROWS) return undefined;
  const reads: DestinationRead[] = [];
  for (const row of rows) {
    const position = positionOf(row, "a");
    const lastLine = Number(row.last);
    const readAt = Number(row.t);
    // A read the answer does not describe whole would look like a hole: measure nothing then.
    if (position === undefined || !Number.isSafeInteger(lastLine) || !Number.isFinite(readAt))
      return undefined;
    const to = Number(row.b);
    const measured =
      Number(row.untexted) === 0 && Number(row.longest) < ANALYTICS_TEXT_BYTES && Number.isSafeInteger(to);
    reads.push({
      host: position.host,
      inode: position.inode,
      from: position.offset,
      lastLine,
      to: measured ? to : undefined,
      readAt,
    });
  }
  return reads;
}

/**
 * The bytes of a text SLS keeps for analytics (an index key's `max_text_len`, 2,048 by default): a
 * line this long may have been cut, and its length says nothing of where it ends.
 */
const ANALYTICS_TEXT_BYTES = 2_048;

/** Read times per grouped query: each answers at most (files × times) rows. */
const TIMES_PER_QUERY = 100;

/**
 * Per file, the `min` or `max` offset among the lines matching `where` that were read at the one
 * time `at` gives for the file: one grouped query per batch of distinct times.
 */
async function offsetsAtReadTimes(
  run: (query: string) => Promise<LogRow[]>,
  at: ReadonlyMap<string, number>,
  aggregate: "min" | "max",
  where: string,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const times of chunks(
    [...new Set(at.values())].sort((a, b) => a - b),
    TIMES_PER_QUERY,
  )) {
    const rows = await run(
      `* | select "${HOST}" as host, "${INODE}" as inode, __time__ as t, ${aggregate}(${offsetOf}) as pos where ${where} and __time__ in (${times.join(", ")}) group by host, inode, __time__ limit ${MAX_ROWS}`,
    );
    for (const row of rows) {
      const position = positionOf(row, "pos");
      if (position === undefined) continue;
      const key = fileOf(position.host, position.inode);
      if (at.get(key) === Number(row.t)) found.set(key, position.offset);
    }
  }
  return found;
}

function fileOf(host: string, inode: string): string {
  return `${host}\u0000${inode}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function positionOf(
  row: LogRow,
  column: string,
): { host: string; inode: string; offset: number } | undefined {
  const { host, inode } = row;
  const offset = Number(row[column]);
  if (host === undefined || inode === undefined || host === "" || !/^\d+$/.test(inode)) return undefined;
  if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
  return { host, inode, offset };
}
