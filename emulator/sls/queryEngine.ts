import type { LogRow, LogRowSource } from "./logRows";
import { queryErrors } from "./queryErrors";
import type { QueryIndex } from "./queryIndex";
import { compileSearch, parseSearch, type RowPredicate } from "./querySearch";
import { type CompiledSql, compileSql, type SqlType } from "./querySql";
import { parseSql, type SqlValue } from "./querySqlParser";
import { formatBinary } from "./sqlScalarFunctions";

/** GetLogs answers at most this many lines of a search (`line` 0–100, default 100). */
export const maxSearchLines = 100;

/** A query (`<search> [| <SQL>]`) parsed and compiled against one logstore's index. */
export interface CompiledQuery {
  readonly search: RowPredicate | undefined;
  readonly sql: CompiledSql | undefined;
}

export interface SearchPage {
  line: number;
  offset: number;
  reverse: boolean;
}

/** What GetLogs / GetLogsV2 answer: rows of string values, in the order SLS gives them. */
export interface QueryOutcome {
  hasSql: boolean;
  rows: Record<string, string>[];
  /** Column names of an SQL result (`meta.keys` of GetLogsV2); the fields seen for a search. */
  keys: string[];
  processedRows: number;
  elapsedMs: number;
  /** SQL without `LIMIT`: the 100 rows it was limited to. */
  limited: number | undefined;
}

export interface HistogramBucket {
  from: number;
  to: number;
  count: number;
  progress: "Complete";
}

/** Parses and compiles once; errors (syntax, index rules) are `SlsError`s before anything is read. */
export function compileQuery(text: string, index: QueryIndex): CompiledQuery {
  const pipe = findPipe(text);
  const searchText = pipe < 0 ? text : text.slice(0, pipe);
  if (pipe < 0 && /^\s*select\s/i.test(text)) throw queryErrors.sqlWithoutSearch();
  const search = compileSearch(parseSearch(searchText), index);
  const sql = pipe < 0 ? undefined : compileSql(parseSql(text.slice(pipe + 1)), index);
  return { search, sql };
}

/** The first `|` outside double quotes: where the analytic statement starts. */
function findPipe(text: string): number {
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charAt(index);
    if (char === "\\" && quoted) index += 1;
    else if (char === '"') quoted = !quoted;
    else if (char === "|" && !quoted) return index;
  }
  return -1;
}

/** Checks GetLogs' paging parameters as SLS does (`InvalidLine`, `InvalidOffset`, `InvalidTimeRange`). */
export function checkRange(from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from >= to) {
    throw queryErrors.invalidTimeRange();
  }
}

export function checkPage(page: SearchPage): void {
  if (!Number.isInteger(page.line) || page.line < 0 || page.line > maxSearchLines)
    throw queryErrors.invalidLine();
  if (!Number.isInteger(page.offset) || page.offset < 0) throw queryErrors.invalidOffset();
}

/**
 * Runs a compiled query over `[from, to)` by `__time__`. A search answers its lines by `__time__`
 * (oldest first, newest first with `reverse`), `offset` and `line` applied; SQL answers its rows
 * (its own `LIMIT`, default 100) and ignores `line` / `offset` as SLS does.
 */
export function runQuery(
  query: CompiledQuery,
  source: LogRowSource,
  from: number,
  to: number,
  page: SearchPage,
  clock: () => number = Date.now,
): QueryOutcome {
  const started = clock();
  if (query.sql !== undefined) {
    const result = query.sql.run(source.scan(from, to), query.search);
    return {
      hasSql: true,
      rows: result.rows.map((values) => rowObject(result.columns, result.types, values, from)),
      keys: result.columns,
      processedRows: result.processedRows,
      elapsedMs: clock() - started,
      limited: query.sql.defaultLimit,
    };
  }
  const matched: LogRow[] = [];
  let processedRows = 0;
  for (const row of source.scan(from, to)) {
    processedRows += 1;
    if (query.search === undefined || query.search(row)) matched.push(row);
  }
  const ordered = inTimeOrder(matched);
  if (page.reverse) ordered.reverse();
  const rows = ordered.slice(page.offset, page.offset + page.line).map(logObject);
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return {
    hasSql: false,
    rows,
    keys: [...keys],
    processedRows,
    elapsedMs: clock() - started,
    limited: undefined,
  };
}

/**
 * Lines by `__time__`, stable: lines of one second keep their scan order. A scan that is already in
 * time order (the usual case: lines arrive as they are written) is not sorted again.
 */
function inTimeOrder(rows: LogRow[]): LogRow[] {
  let sorted = true;
  for (let index = 1; index < rows.length && sorted; index += 1) {
    if ((rows[index]?.time ?? 0) < (rows[index - 1]?.time ?? 0)) sorted = false;
  }
  if (sorted) return rows;
  const decorated = rows.map((row, position) => ({ row, position }));
  decorated.sort((a, b) => a.row.time - b.row.time || a.position - b.position);
  return decorated.map((item) => item.row);
}

/** One stored line as GetLogs shows it: every field and tag, all values strings. */
export function logObject(row: LogRow): Record<string, string> {
  const out: Record<string, string> = { __time__: String(row.time), __source__: "", __topic__: "" };
  for (const [key, value] of row.entries()) out[key] = value;
  out.__time__ = String(row.time);
  return out;
}

/**
 * One SQL row as SLS answers it: its columns, plus `__source__: ""` and a `__time__` (as GetLogs and
 * GetLogsV2 examples and real answers show) unless the statement selects those names itself. What the
 * live service puts in `__time__` is unverified; the emulator puts the query's `from`.
 */
function rowObject(
  columns: readonly string[],
  types: readonly SqlType[],
  values: readonly SqlValue[],
  from: number,
): Record<string, string> {
  const out: Record<string, string> = { __source__: "", __time__: String(from) };
  columns.forEach((column, position) => {
    out[column] = formatValue(values[position] ?? null, types[position] ?? "unknown");
  });
  return out;
}

/** SQL values as SLS serialises them: all strings, NULL as "null", a DOUBLE with a fraction ("2.0"). */
export function formatValue(value: SqlValue, type: SqlType): string {
  if (value === null) return "null";
  if (type === "double" && typeof value === "number" && Number.isInteger(value)) return value.toFixed(1);
  if (type === "varbinary") return formatBinary(String(value));
  return String(value);
}

/** Bucket widths a histogram may use, in seconds: the smallest giving at most 60 buckets wins. */
const bucketWidths = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];
const maxBuckets = 60;

/**
 * GetHistograms: the search part counted per bucket over `[from, to)`. Buckets are aligned to
 * multiples of their width (Unix time); the first and last are cut to the range. The SQL part, if
 * any, is ignored.
 */
export function runHistogram(
  query: CompiledQuery,
  source: LogRowSource,
  from: number,
  to: number,
): HistogramBucket[] {
  const span = to - from;
  const width =
    bucketWidths.find(
      (candidate) => Math.ceil(to / candidate) - Math.floor(from / candidate) <= maxBuckets,
    ) ?? Math.ceil(span / maxBuckets);
  const buckets: HistogramBucket[] = [];
  for (let start = from; start < to; ) {
    const end = Math.min(to, (Math.floor(start / width) + 1) * width);
    buckets.push({ from: start, to: end, count: 0, progress: "Complete" });
    start = end;
  }
  const first = Math.floor(from / width);
  for (const row of source.scan(from, to)) {
    if (query.search !== undefined && !query.search(row)) continue;
    const bucket = buckets[Math.floor(row.time / width) - first];
    if (bucket !== undefined) bucket.count += 1;
  }
  return buckets;
}
