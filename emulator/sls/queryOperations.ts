/**
 * GetLogs, GetLogsV2 and GetHistograms: the HTTP side of the query engine. Each handler finds the
 * logstore (its index and its stored lines), checks the parameters as SLS does, compiles the query
 * once against the index and runs it over the logstore's LogRowSource.
 */
import { deflateSync } from "node:zlib";
import type { SlsBackend } from "./backend";
import type { LogRow, LogRowSource } from "./logRows";
import { lz4CompressBlock } from "./lz4";
import type { Handler, OperationInput, OperationResult } from "./operations";
import {
  checkPage,
  checkRange,
  compileQuery,
  type QueryOutcome,
  runHistogram,
  runQuery,
  type SearchPage,
} from "./queryEngine";
import { queryErrors } from "./queryErrors";
import { queryIndexOf } from "./queryIndex";

interface QueryParams {
  from: number;
  to: number;
  query: string;
  topic: string;
  page: SearchPage;
}

export const queryHandlers = {
  GetLogs: (backend, input) => {
    const params = paramsOf((name) => input.query.get(name));
    const outcome = query(backend, input, params);
    return { json: outcome.rows, headers: getLogsHeaders(params, outcome) };
  },
  GetLogsV2: (backend, input) => {
    const body = input.body();
    const fields: Record<string, unknown> = typeof body === "object" && body !== null ? { ...body } : {};
    const params = paramsOf((name) => {
      const value = fields[name];
      return value === undefined || value === null ? undefined : String(value);
    });
    const outcome = query(backend, input, params);
    const { where, sql } = splitQuery(params.query);
    const answer = {
      meta: {
        progress: "Complete",
        aggQuery: sql,
        whereQuery: where,
        hasSQL: outcome.hasSql,
        processedRows: outcome.processedRows,
        elapsedMillisecond: outcome.elapsedMs,
        cpuSec: 0,
        cpuCores: 0,
        ...(outcome.limited === undefined ? {} : { limited: outcome.limited }),
        count: outcome.rows.length,
        keys: outcome.keys,
        terms: [],
        mode: 0,
        isAccurate: true,
        telementryType: "None",
      },
      data: outcome.rows,
    };
    return compressedJson(answer, input.headers["accept-encoding"]);
  },
  GetHistograms: (backend, input) => {
    const params = paramsOf((name) => input.query.get(name));
    const logstore = backend.getLogstore(input.scope, input.project, input.params.logstore ?? "");
    checkRange(params.from, params.to);
    const compiled = compileQuery(params.query, queryIndexOf(logstore.index?.body));
    const buckets = runHistogram(compiled, withTopic(logstore.logs, params.topic), params.from, params.to);
    const count = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    return {
      json: buckets,
      headers: { "x-log-progress": "Complete", "x-log-count": String(count) },
    };
  },
} satisfies Record<string, Handler>;

function query(backend: SlsBackend, input: OperationInput, params: QueryParams): QueryOutcome {
  const logstore = backend.getLogstore(input.scope, input.project, input.params.logstore ?? "");
  checkRange(params.from, params.to);
  checkPage(params.page);
  const compiled = compileQuery(params.query, queryIndexOf(logstore.index?.body));
  return runQuery(compiled, withTopic(logstore.logs, params.topic), params.from, params.to, params.page);
}

/** Reads the request's parameters (query string for GetLogs, JSON body for GetLogsV2). */
function paramsOf(read: (name: string) => string | undefined): QueryParams {
  const integer = (name: string, fallback: number | undefined, invalid: () => Error): number => {
    const raw = read(name);
    if (raw === undefined || raw === "") {
      if (fallback === undefined) throw invalid();
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value)) throw invalid();
    return value;
  };
  const reverseText = (read("reverse") ?? "false").toLowerCase();
  if (reverseText !== "true" && reverseText !== "false") throw queryErrors.invalidReverse();
  return {
    from: integer("from", undefined, queryErrors.invalidTimeRange),
    to: integer("to", undefined, queryErrors.invalidTimeRange),
    query: read("query") ?? "",
    topic: read("topic") ?? "",
    page: {
      line: integer("line", 100, queryErrors.invalidLine),
      offset: integer("offset", 0, queryErrors.invalidOffset),
      reverse: reverseText === "true",
    },
  };
}

/** `topic` narrows to lines of that `__topic__` (an empty topic means every line). */
function withTopic(source: LogRowSource, topic: string): LogRowSource {
  if (topic === "") return source;
  return {
    *scan(from: number, to: number): Iterable<LogRow> {
      for (const row of source.scan(from, to)) if ((row.get("__topic__") ?? "") === topic) yield row;
    },
  };
}

function splitQuery(text: string): { where: string; sql: string } {
  const pipe = text.indexOf("|");
  return pipe < 0
    ? { where: text, sql: "" }
    : { where: text.slice(0, pipe).trim(), sql: text.slice(pipe + 1).trim() };
}

/** The headers the SDKs read from GetLogs (values as the live service sends them). */
function getLogsHeaders(params: QueryParams, outcome: QueryOutcome): Record<string, string> {
  const { where, sql } = splitQuery(params.query);
  return {
    "x-log-progress": "Complete",
    "x-log-count": String(outcome.rows.length),
    "x-log-processed-rows": String(outcome.processedRows),
    "x-log-elapsed-millisecond": String(outcome.elapsedMs),
    "x-log-has-sql": outcome.hasSql ? "true" : "false",
    "x-log-where-query": headerSafe(where),
    "x-log-agg-query": headerSafe(sql),
    "x-log-query-info": asciiJson({ mode: 0, keys: outcome.keys, terms: [] }),
  };
}

/** HTTP headers carry printable ASCII only: other text (a query in Chinese, a newline) is left out. */
function headerSafe(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : "";
}

/** JSON with every character outside printable ASCII escaped, so it can travel in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * GetLogsV2 answers compressed as the client asks (`Accept-Encoding`: `lz4`, else `gzip` or `deflate`),
 * with `x-log-compresstype` and `x-log-bodyrawsize`; otherwise plain JSON. SLS's `gzip` is zlib
 * (deflate) data: the official gateway inflates `gzip` and `deflate` alike.
 */
function compressedJson(answer: unknown, acceptEncoding: string | undefined): OperationResult {
  const offered = (acceptEncoding ?? "")
    .split(",")
    .map((part) => part.split(";")[0]?.trim().toLowerCase() ?? "");
  const encoding = ["lz4", "gzip", "deflate"].find((candidate) => offered.includes(candidate));
  if (encoding === undefined) return { json: answer };
  const raw = Buffer.from(JSON.stringify(answer));
  return {
    binary: encoding === "lz4" ? lz4CompressBlock(raw) : deflateSync(raw),
    headers: {
      "content-type": "application/json",
      "x-log-compresstype": encoding,
      "x-log-bodyrawsize": String(raw.length),
    },
  };
}
