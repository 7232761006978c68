/**
 * `verify`: reads a route's source and destination logstores through GetLogs (and its copy jobs
 * through GetETL) and builds, per source account, the report of shared/status/verifyReport.ts.
 * Read-only; no ledger, no local state.
 */
import { OPERATING_SYSTEMS, type RoutesFile } from "../config/routesSchema";
import { copyPartName, MAX_COPY_PARTS } from "../domain/copyJob";
import { LINE_CONTENT_FIELD, PACK_FIELD, POSITION_FIELDS } from "../planner/handover";
import { columnNotAnalysable } from "../ports/errors";
import type { LogRow, SlsPort } from "../ports/sls";
import {
  buildVerifyReport,
  type CopyJobState,
  type MinuteCount,
  mayDropLines,
  type PositionCount,
  type UnplacedCount,
  type VerifyReport,
} from "../status/verifyReport";
import { handoverSources, locateSourceConfig } from "./handover";
import type { StepDeps } from "./stepDeps";

export type VerifyDeps = Pick<StepDeps, "config" | "sls" | "now">;

const { host: HOST, inode: INODE, offset: OFFSET, receiveTime: RECEIVED } = POSITION_FIELDS;
const MAX_ROWS = 1_000_000;
/** The digest of a line's text (SLS binary and string functions; upper-case hex). */
const CONTENT_DIGEST = `to_hex(md5(to_utf8("${LINE_CONTENT_FIELD}")))`;
/** The line's length in bytes (where the next line of its file starts: one newline later). */
const CONTENT_BYTES = `max(length(to_utf8("${LINE_CONTENT_FIELD}")))`;

export class VerifyError extends Error {
  override readonly name = "VerifyError";
}

/** One report per source account the route hands over from. */
export async function verifyRoute(
  deps: VerifyDeps,
  routeName: string,
  options: { since?: number } = {},
): Promise<VerifyReport[]> {
  const { config } = deps;
  const route = config.routes[routeName];
  if (route === undefined) throw new VerifyError(`route ${routeName} is not in the routes file`);
  const destination = config.destinations[route.destination];
  if (destination === undefined) throw new VerifyError(`route ${routeName} has no destination`);
  const sources = handoverSources(config, route);
  if (sources.length === 0 || route.backfill === undefined)
    throw new VerifyError(
      `route ${routeName} hands over from no source (no source with retire and backfill)`,
    );
  const destinationSls = deps.sls({
    accountId: destination.uid,
    region: destination.region,
    project: route.project,
  });
  const to = Math.floor(deps.now() / 1000) + 60;
  const from = options.since ?? Math.floor(Date.parse(route.backfill.from) / 1000);
  // A processor that may drop lines (a filter, a parser discarding what it cannot parse) leaves
  // holes by design: they are reported and not held against the route.
  const holesAreLoss = !OPERATING_SYSTEMS.some((os) =>
    (route.logtailConfig[os]?.processors ?? []).some(mayDropLines),
  );
  const reports: VerifyReport[] = [];
  for (const handover of sources) {
    const { account, source } = handover;
    const located = await locateSourceConfig(deps, account, source, account.regions[0] ?? destination.region);
    const region = located?.region ?? account.regions[0] ?? destination.region;
    const sourceSls = deps.sls({ accountId: account.uid, region, project: source.backfill.project });
    const copyJobs = await copyJobsOf(sourceSls, config, routeName, account.uid);
    const base = copyJobs.find((job) => job.part === 0);
    const cutoverAt = base?.toTime;
    const sourceRows = await readLogstore(sourceSls, source.backfill.logstore, { from, to }, cutoverAt);
    const destinationRows = await readLogstore(destinationSls, route.logstore, { from, to }, undefined);
    // The destination holds every source account's hosts: only this account's count here.
    const hosts = new Set([
      ...sourceRows.positions.map((p) => p.host),
      ...sourceRows.unplaced.map((u) => u.host),
    ]);
    reports.push(
      buildVerifyReport({
        route: routeName,
        sourceAccount: account.uid,
        window: { from, to },
        source: { ...sourceRows, perMinute: perMinuteOf(sourceRows.perMinute, undefined) },
        destination: {
          positions: destinationRows.positions.filter((p) => hosts.has(p.host)),
          unplaced: destinationRows.unplaced.filter((u) => hosts.has(u.host)),
          perMinute: perMinuteOf(destinationRows.perMinute, hosts),
        },
        copyJobs: copyJobs.map(({ name, status }) => ({ name, status })),
        ...(cutoverAt === undefined ? {} : { cutoverAt }),
        holesAreLoss,
      }),
    );
  }
  return reports;
}

async function copyJobsOf(
  sls: SlsPort,
  config: RoutesFile,
  routeName: string,
  accountId: string,
): Promise<Array<CopyJobState & { part: number; toTime: number }>> {
  const route = config.routes[routeName];
  if (route === undefined) return [];
  const jobs: Array<CopyJobState & { part: number; toTime: number }> = [];
  for (let part = 0; part <= MAX_COPY_PARTS; part += 1) {
    const name = copyPartName(route, routeName, accountId, part);
    const job = await sls.getEtl(name);
    if (job === undefined) {
      if (part === 0) continue;
      break;
    }
    jobs.push({ name, status: job.status, part, toTime: job.toTime });
  }
  return jobs;
}

async function readLogstore(
  sls: SlsPort,
  logstore: string,
  range: { from: number; to: number },
  unplacedBefore: number | undefined,
): Promise<{ positions: PositionCount[]; unplaced: UnplacedCount[]; perMinute: HostMinute[] }> {
  const received = `cast("${RECEIVED}" as bigint)`;
  const positionQuery = (digest: string) =>
    `* | select "${HOST}" as host, "${INODE}" as inode, "${OFFSET}" as file_offset, __time__ as t${digest === "" ? "" : `, ${digest} as digest, ${CONTENT_BYTES} as bytes`}, count(*) as copies, min(${received}) as received where "${INODE}" is not null group by "${HOST}", "${INODE}", "${OFFSET}", __time__${digest === "" ? "" : `, ${digest}`} limit ${MAX_ROWS}`;
  // A logstore whose `content` has no analytics cannot give the digest: copies are then told apart
  // by read time, history lines counted per host (the report says which way it counted).
  const withDigest = (query: (digest: string) => string) =>
    sls.queryLogs(logstore, { ...range, query: query(CONTENT_DIGEST) }).catch((error: unknown) => {
      if (!columnNotAnalysable(error, LINE_CONTENT_FIELD)) throw error;
      return sls.queryLogs(logstore, { ...range, query: query("") });
    });
  const positionRows = await withDigest(positionQuery);
  if (positionRows.length >= MAX_ROWS)
    throw new VerifyError(
      `${logstore} holds more than ${MAX_ROWS} lines with position meta in the window: give a later --since`,
    );
  const before = unplacedBefore === undefined ? "" : ` and ${received} < ${Math.floor(unplacedBefore)}`;
  const unplacedQuery = (digest: string, pack: boolean) =>
    `* | select "${HOST}" as host${digest === "" ? "" : `, ${digest} as digest`}${pack ? `, "${PACK_FIELD}" as pack` : ""}, count(*) as lines where "${INODE}" is null${before} group by "${HOST}"${digest === "" ? "" : `, ${digest}`}${pack ? `, "${PACK_FIELD}"` : ""} limit ${MAX_ROWS}`;
  // Per pack too, where the pack id can be analysed: copies sharing one are a batch sent again.
  const unplacedRows = await withDigest((digest) => unplacedQuery(digest, true)).catch((error: unknown) => {
    if (!columnNotAnalysable(error, PACK_FIELD)) throw error;
    return withDigest((digest) => unplacedQuery(digest, false));
  });
  if (unplacedRows.length >= MAX_ROWS)
    throw new VerifyError(
      `${logstore} holds more than ${MAX_ROWS} distinct lines without position meta in the window: give a later --since`,
    );
  const minuteRows = await sls.queryLogs(logstore, {
    ...range,
    query: `* | select __time__ - __time__ % 60 as minute, "${HOST}" as host, count(*) as lines group by minute, "${HOST}" order by minute limit ${MAX_ROWS}`,
  });
  return {
    positions: positionRows.flatMap((row) => {
      const offset = numberOf(row, "file_offset");
      const copies = numberOf(row, "copies");
      const firstReceived = numberOf(row, "received");
      const time = numberOf(row, "t");
      const digest = digestOf(row);
      const bytes = digest === undefined ? undefined : numberOf(row, "bytes");
      if (row.host === undefined || row.inode === undefined || offset === undefined || copies === undefined)
        return [];
      return [
        {
          host: row.host,
          inode: row.inode,
          offset,
          copies,
          ...(firstReceived === undefined ? {} : { received: firstReceived }),
          ...(time === undefined ? {} : { time }),
          ...(digest === undefined ? {} : { digest }),
          ...(bytes === undefined ? {} : { bytes }),
        },
      ];
    }),
    unplaced: unplacedRows.flatMap((row) => {
      const lines = numberOf(row, "lines");
      const digest = digestOf(row);
      const pack = row.pack === undefined || row.pack === "null" ? undefined : row.pack;
      return lines === undefined
        ? []
        : [
            {
              host: row.host ?? "",
              lines,
              ...(digest === undefined ? {} : { digest }),
              ...(pack === undefined ? {} : { pack }),
            },
          ];
    }),
    perMinute: minuteRows.flatMap((row) => {
      const minute = numberOf(row, "minute");
      const lines = numberOf(row, "lines");
      return minute === undefined || lines === undefined ? [] : [{ minute, host: row.host ?? "", lines }];
    }),
  };
}

interface HostMinute extends MinuteCount {
  host: string;
}

/** Lines per minute of these hosts (all when undefined), summed over hosts. */
function perMinuteOf(rows: readonly HostMinute[], hosts: ReadonlySet<string> | undefined): MinuteCount[] {
  const lines = new Map<number, number>();
  for (const row of rows) {
    if (hosts !== undefined && !hosts.has(row.host)) continue;
    lines.set(row.minute, (lines.get(row.minute) ?? 0) + row.lines);
  }
  return [...lines.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, count]) => ({ minute, lines: count }));
}

/** The row's content digest; none when the query had none or the line no `content` (NULL). */
function digestOf(row: LogRow): string | undefined {
  return row.digest === undefined || row.digest === "null" ? undefined : row.digest;
}

function numberOf(row: LogRow, column: string): number | undefined {
  const value = row[column];
  if (value === undefined || value === "" || value === "null") return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}
