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

/** SLS's limit on a data-transformation script (routes file: `backfill.spl`). */
export const SPL_MAX_BYTES = 10 * 1024;
/** Parts a handover copy may be split into (besides the base job), so policies can name them all. */
export const MAX_COPY_PARTS = 20;

/** A line's position in SPL: the host's tag, the inode tag and the offset (text in SPL: cast). */
const HOST = `"__tag__:__hostname__"`;
const INODE = `"__tag__:__inode__"`;
const OFFSET = `cast("__file_offset__" as bigint)`;

export interface CopyPart {
  /** 0: the base job (lines without position meta); 1…: parts by host. */
  part: number;
  script: string;
}

export class CopyScriptError extends Error {
  override readonly name = "CopyScriptError";
}

/**
 * The copy scripts of a handover: the base job copies the source lines without position meta
 * (shipped before the source config had it, all below every destination start); each part copies
 * the lines with position meta of some hosts, except those at or past the destination's first
 * offset in their file, but with those in the file's holes (offsets the destination lost). Every
 * source host with position meta must be in `hosts`. Each script stays
 * within SLS's 10 KB; the route's own SPL (`userSpl`, after its `*`) runs after the filter.
 */
export function handoverCopyScripts(
  userSpl: string,
  hosts: readonly string[],
  exclusions: readonly CopyExclusion[],
): CopyPart[] {
  const rest = userSplRest(userSpl);
  const base = `* | where ${INODE} is null${rest}`;
  if (Buffer.byteLength(base) > SPL_MAX_BYTES)
    throw new CopyScriptError(
      `the route's SPL leaves no room for the handover filter within ${SPL_MAX_BYTES} bytes`,
    );
  const terms = hostTerms(hosts, exclusions, "placed");
  return [{ part: 0, script: base }, ...packTerms(terms, rest, `${INODE} is not null and `, 1, hosts.length)];
}

/**
 * The copy scripts of a later round (hosts that began in the destination after the first cut):
 * one term per host for all its lines, those without position meta included, except what the
 * destination read (`exclusions`, as in handoverCopyScripts). Numbered from `firstPart`; the round
 * has no base job. Each script names its hosts, so the next round can tell who has been copied
 * (hostsOfCopyScript).
 */
export function laterRoundCopyScripts(
  userSpl: string,
  hosts: readonly string[],
  exclusions: readonly CopyExclusion[],
  firstPart: number,
): CopyPart[] {
  const rest = userSplRest(userSpl);
  return packTerms(hostTerms(hosts, exclusions, "all"), rest, "", firstPart, hosts.length);
}

/**
 * The hosts a first-round part hands over by position: those with exclusions (the destination read
 * them at the cut), not those it copies whole.
 */
export function hostsExcludedIn(script: string): string[] {
  const excluded = /\("__tag__:__hostname__" = '((?:[^']|'')*)' and not \(/g;
  return [...script.matchAll(excluded)].map((match) => (match[1] ?? "").replaceAll("''", "'"));
}

/** The hosts a copy script of a part names (`"__tag__:__hostname__" = '…'`), in order. */
export function hostsOfCopyScript(script: string): string[] {
  const named = /"__tag__:__hostname__" = '((?:[^']|'')*)'/g;
  return [...script.matchAll(named)].map((match) => (match[1] ?? "").replaceAll("''", "'"));
}

/** Lines a handover copy leaves out of one file: what the destination read (README step 4). */
export interface CopyExclusion {
  host: string;
  inode: string;
  offset: number;
  readFrom?: number;
  restartFrom?: number;
  /** Offsets the destination holds no line of: copied although past `offset`. */
  holes?: ReadonlyArray<{ from: number; to: number }>;
}

/**
 * One `where` term per host: its lines except the excluded ones. "placed" covers only lines with
 * position meta (the base job copies the others); "all" covers the host's lines without it too.
 */
function hostTerms(
  hosts: readonly string[],
  exclusions: readonly CopyExclusion[],
  lines: "placed" | "all",
): Array<{ host: string; term: string }> {
  const byHost = new Map<string, string[]>();
  for (const host of [...new Set(hosts)].sort()) byHost.set(host, []);
  for (const { host, inode, offset, readFrom, restartFrom, holes = [] } of exclusions) {
    const clauses = byHost.get(host);
    // A later round copies only its own hosts: another host's exclusions are not its business.
    if (clauses === undefined) {
      if (lines === "all") continue;
      byHost.set(host, []);
    }
    const atOrPast = `${OFFSET} >= ${Math.trunc(offset)}`;
    const position =
      restartFrom === undefined ? atOrPast : `(${atOrPast} or __time__ >= ${Math.trunc(restartFrom)})`;
    const read = readFrom === undefined ? "" : ` and __time__ >= ${Math.trunc(readFrom)}`;
    const inHoles = holes.map(
      (hole) => `${OFFSET} >= ${Math.trunc(hole.from)} and ${OFFSET} < ${Math.trunc(hole.to)}`,
    );
    const notInHoles = inHoles.length === 0 ? "" : ` and not (${inHoles.join(" or ")})`;
    byHost.get(host)?.push(`${INODE} = ${sqlString(inode)}${read} and ${position}${notInHoles}`);
  }
  return [...byHost].map(([host, clauses]) => {
    const named = `${HOST} = ${sqlString(host)}`;
    if (clauses.length === 0) return { host, term: named };
    const excluded = `not (${clauses.map((clause) => `(${clause})`).join(" or ")})`;
    // A line without position meta has no inode: `not (…)` of it is unknown, so it is let through first.
    const term =
      lines === "all" ? `(${named} and (${INODE} is null or ${excluded}))` : `(${named} and ${excluded})`;
    return { host, term };
  });
}

/** Host terms packed into scripts of at most SPL_MAX_BYTES, numbered from `firstPart`. */
function packTerms(
  terms: ReadonlyArray<{ host: string; term: string }>,
  rest: string,
  prefix: string,
  firstPart: number,
  hostCount: number,
): CopyPart[] {
  const parts: CopyPart[] = [];
  const budget = SPL_MAX_BYTES - Buffer.byteLength(rest) - 200;
  let current: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    parts.push({
      part: firstPart + parts.length,
      script: `* | where ${prefix}(${current.join(" or ")})${rest}`,
    });
    current = [];
    size = 0;
  };
  for (const { host, term } of terms) {
    const bytes = Buffer.byteLength(term) + 4;
    if (bytes > budget) throw new CopyScriptError(`host ${host} has too many files for one copy script`);
    if (size + bytes > budget) flush();
    current.push(term);
    size += bytes;
  }
  flush();
  if (firstPart + parts.length - 1 > MAX_COPY_PARTS)
    throw new CopyScriptError(
      `${hostCount} hosts need ${parts.length} copy parts${firstPart > 1 ? ` after the ${firstPart - 1} made` : ""}, more than ${MAX_COPY_PARTS}: split the route's sources`,
    );
  return parts;
}

/** The copy job of one part of a handover: the route's copy job for part 0. */
export function copyPartName(
  route: Pick<Route, "backfill">,
  routeName: string,
  accountId: string,
  part: number,
): string {
  return part === 0
    ? routeCopyJobName(route, routeName, accountId)
    : copyJobName(
        route.backfill?.jobNamePrefix ?? DEFAULT_COPY_JOB_PREFIX,
        routeName,
        `${accountId}/part-${part}`,
      );
}

/** `| …` after the route's SPL data source `*` ("" when it is only `*`). */
function userSplRest(spl: string): string {
  const trimmed = spl.trim();
  if (trimmed === "" || trimmed === "*") return "";
  if (!trimmed.startsWith("*"))
    throw new CopyScriptError(`the route's SPL must start with "*": ${trimmed.slice(0, 40)}`);
  const rest = trimmed.slice(1).trim();
  return rest === "" ? "" : ` ${rest.startsWith("|") ? rest : `| ${rest}`}`;
}

/** A SQL string literal; control characters cannot be in one. */
function sqlString(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new CopyScriptError(`a control character in ${JSON.stringify(value)}`);
  return `'${value.replaceAll("'", "''")}'`;
}
