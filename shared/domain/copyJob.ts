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
  exclusions: ReadonlyArray<{
    host: string;
    inode: string;
    offset: number;
    readFrom?: number;
    restartFrom?: number;
    /** Offsets the destination holds no line of: copied although past `offset`. */
    holes?: ReadonlyArray<{ from: number; to: number }>;
  }>,
): CopyPart[] {
  const rest = userSplRest(userSpl);
  const byHost = new Map<string, string[]>();
  for (const host of [...new Set(hosts)].sort()) byHost.set(host, []);
  for (const { host, inode, offset, readFrom, restartFrom, holes = [] } of exclusions) {
    const clauses = byHost.get(host) ?? [];
    const atOrPast = `${OFFSET} >= ${Math.trunc(offset)}`;
    const position =
      restartFrom === undefined ? atOrPast : `(${atOrPast} or __time__ >= ${Math.trunc(restartFrom)})`;
    const read = readFrom === undefined ? "" : ` and __time__ >= ${Math.trunc(readFrom)}`;
    const inHoles = holes.map(
      (hole) => `${OFFSET} >= ${Math.trunc(hole.from)} and ${OFFSET} < ${Math.trunc(hole.to)}`,
    );
    const notInHoles = inHoles.length === 0 ? "" : ` and not (${inHoles.join(" or ")})`;
    clauses.push(`${INODE} = ${sqlString(inode)}${read} and ${position}${notInHoles}`);
    byHost.set(host, clauses);
  }
  const base = `* | where ${INODE} is null${rest}`;
  if (Buffer.byteLength(base) > SPL_MAX_BYTES)
    throw new CopyScriptError(
      `the route's SPL leaves no room for the handover filter within ${SPL_MAX_BYTES} bytes`,
    );
  const parts: CopyPart[] = [{ part: 0, script: base }];
  const budget = SPL_MAX_BYTES - Buffer.byteLength(rest) - 200;
  let current: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    parts.push({
      part: parts.length,
      script: `* | where ${INODE} is not null and (${current.join(" or ")})${rest}`,
    });
    current = [];
    size = 0;
  };
  for (const [host, clauses] of byHost) {
    const term =
      clauses.length === 0
        ? `${HOST} = ${sqlString(host)}`
        : `(${HOST} = ${sqlString(host)} and not (${clauses.map((clause) => `(${clause})`).join(" or ")}))`;
    const bytes = Buffer.byteLength(term) + 4;
    if (bytes > budget) throw new CopyScriptError(`host ${host} has too many files for one copy script`);
    if (size + bytes > budget) flush();
    current.push(term);
    size += bytes;
  }
  flush();
  if (parts.length - 1 > MAX_COPY_PARTS)
    throw new CopyScriptError(
      `${byHost.size} hosts need ${parts.length - 1} copy parts, more than ${MAX_COPY_PARTS}: split the route's sources`,
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
