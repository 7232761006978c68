/**
 * Query benchmark (not a test): how fast does the emulator's SLS query engine answer over 1,000,000
 * stored lines? Target (issue 13): a `select … count(*) … group by` in under 1 s.
 *
 *   npx tsx bench/query.ts [--lines 1000000] [--runs 3]
 *
 * `measureQuery` returns the figures for a report. Given no `source` it fills the emulator's own
 * LogStore with synthetic lines (no HTTP: the ingest path is bench/dataplane.ts's to measure); a
 * caller that has stored lines already passes them: bench/dataplane.ts can call
 * `measureQuery({ source: emulator.sls.logRows(…), lines, from, to, workload: agentLineWorkload })`.
 * Run directly, it prints the figures.
 */
import type { Clock } from "../emulator/core/types";
import type { LogRowSource } from "../emulator/sls/logRows";
import { LogStore } from "../emulator/sls/logStore";
import { compileQuery, runHistogram, runQuery } from "../emulator/sls/queryEngine";
import { defaultDelimiters, queryIndexOf } from "../emulator/sls/queryIndex";
import type { IndexBody } from "../emulator/sls/schemas";
import { type Figure, figure, type Log, median, numberOption, round, stdoutLog } from "./common";

export const QUERY_TARGET_MS = 1_000;

/** What is measured: the index the lines are queried with and the five queries. */
export interface QueryWorkload {
  index: IndexBody;
  /** `select … count(*) … group by` over every line: held to the 1 s target. */
  groupBy: string;
  /** A search, then a group by: held to the 1 s target. */
  searchGroupBy: string;
  distinct: string;
  /** A search answered as its first page of 100 lines. */
  searchPage: string;
  /** The search GetHistograms counts. */
  histogram: string;
}

/** SLS's default delimiters, as the emulator knows them. */
const tokens = [...defaultDelimiters];

/** The synthetic lines of this file: `host`, `level`, `seq`, `message` and a `__path__` tag. */
export const syntheticWorkload: QueryWorkload = {
  index: {
    line: { token: tokens },
    keys: {
      host: { type: "text", token: [" "], doc_value: true },
      level: { type: "text", token: [" "], doc_value: true },
      seq: { type: "long", doc_value: true },
      message: { type: "text", token: [" ", "="], doc_value: true },
      "__tag__:__path__": { type: "text", token: ["/"], doc_value: true },
    },
  },
  groupBy: "* | select host, count(*) as n, max(seq) as last group by host order by n desc limit 1000",
  searchGroupBy:
    'level: error | select "__tag__:__path__" as path, count(*) as n group by path order by n desc',
  distinct: "* | select count(distinct host) as hosts, count(*) as n",
  searchPage: "level: error and message: done",
  histogram: "level: error",
};

/**
 * Agent-like lines as bench/dataplane.ts writes them: one `content` field of 200 bytes and the tags
 * `__hostname__`, `__path__`, `__pack_id__`.
 */
export const agentLineWorkload: QueryWorkload = {
  index: {
    line: { token: tokens },
    keys: {
      content: { type: "text", token: tokens, doc_value: true },
      "__tag__:__hostname__": { type: "text", token: tokens, doc_value: true },
      "__tag__:__path__": { type: "text", token: tokens, doc_value: true },
    },
  },
  groupBy:
    '* | select "__tag__:__hostname__" as host, count(*) as n group by host order by n desc limit 1000',
  searchGroupBy:
    'content: retry | select "__tag__:__path__" as path, count(*) as n group by path order by n desc',
  distinct: 'content: GET | select count(distinct "__tag__:__hostname__") as hosts, count(*) as n',
  searchPage: "content: INFO and content: latency",
  histogram: "content: retry",
};

export interface QueryBenchOptions {
  /** The lines to query; by default `lines` synthetic lines over 300 hosts. */
  source?: LogRowSource;
  /** What to run (default: {@link syntheticWorkload}; {@link agentLineWorkload} for bench/dataplane.ts). */
  workload?: QueryWorkload;
  /** How many lines `source` holds (reported), or how many to make. */
  lines?: number;
  /** `[from, to)` covering every line of `source`. */
  from?: number;
  to?: number;
  runs?: number;
  log?: Log;
}

interface Timed {
  ms: number;
  processedRows: number;
  resultRows: number;
}

/** Median wall time of `runs` runs of each query; the group-by is held to the 1 s target. */
export function measureQuery(options: QueryBenchOptions = {}): Figure[] {
  const log = options.log ?? stdoutLog;
  const lines = options.lines ?? 1_000_000;
  const runs = options.runs ?? 3;
  const from = options.from ?? 1_700_000_000;
  const to = options.to ?? from + 86_400;
  let source = options.source;
  if (source === undefined) {
    const started = performance.now();
    source = syntheticSource(lines, from, to - from);
    log(
      `query bench: ${lines.toLocaleString("en")} synthetic lines stored in ${Math.round(performance.now() - started)} ms`,
    );
  }
  const workload = options.workload ?? syntheticWorkload;
  const index = queryIndexOf(workload.index);
  const measure = (label: string, text: string): Timed => {
    const samples: Timed[] = [];
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      const outcome = runQuery(compileQuery(text, index), source, from, to, {
        line: 100,
        offset: 0,
        reverse: false,
      });
      samples.push({
        ms: performance.now() - started,
        processedRows: outcome.processedRows,
        resultRows: outcome.rows.length,
      });
    }
    const ms = median(samples.map((sample) => sample.ms));
    const last = samples.at(-1);
    log(
      `query bench: ${label}: ${round(ms, 1)} ms (median of ${runs}), ${last?.processedRows ?? 0} rows read, ${last?.resultRows ?? 0} answered`,
    );
    return { ms, processedRows: last?.processedRows ?? 0, resultRows: last?.resultRows ?? 0 };
  };

  const groupBy = measure("group by", workload.groupBy);
  const filtered = measure("search + group by", workload.searchGroupBy);
  const distinct = measure("count(distinct)", workload.distinct);
  const searchPage = measure("search page", workload.searchPage);

  const histogramSamples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    runHistogram(compileQuery(workload.histogram, index), source, from, to);
    histogramSamples.push(performance.now() - started);
  }
  const histogramMs = median(histogramSamples);
  log(`query bench: histogram: ${round(histogramMs, 1)} ms`);

  const note = `${lines.toLocaleString("en")} lines, ${options.source === undefined ? "synthetic lines in a LogStore" : "the caller's LogRowSource"}, median of ${runs}`;
  return [
    figure({
      id: "query.groupByCountMs",
      label: "select … count(*) … group by over all stored lines",
      value: round(groupBy.ms, 1),
      unit: "ms",
      target: { comparison: "<", value: QUERY_TARGET_MS },
      note,
    }),
    figure({
      id: "query.searchGroupByMs",
      label: "search, then select … count(*) … group by",
      value: round(filtered.ms, 1),
      unit: "ms",
      target: { comparison: "<", value: QUERY_TARGET_MS },
      note,
    }),
    figure({
      id: "query.countDistinctMs",
      label: "count(distinct host)",
      value: round(distinct.ms, 1),
      unit: "ms",
      note,
    }),
    figure({
      id: "query.searchPageMs",
      label: "search, first page of 100",
      value: round(searchPage.ms, 1),
      unit: "ms",
      note,
    }),
    figure({
      id: "query.histogramMs",
      label: "GetHistograms of a search",
      value: round(histogramMs, 1),
      unit: "ms",
      note,
    }),
  ];
}

/**
 * `lines` lines in the emulator's own LogStore, 1,000 per group as PutLogs would store them (values
 * interned as its decoder does): `host` (300), `level`, `seq`, `message`, a `__path__` tag (20), spread
 * evenly over `[start, start + span)`.
 */
function syntheticSource(lines: number, start: number, span: number): LogRowSource {
  const clock: Clock = { now: () => (start + span) * 1000 };
  const store = new LogStore(clock, { shardCount: 2, ttlDays: () => 3650 });
  const hosts = Array.from({ length: 300 }, (_, i) => `host-${String(i).padStart(3, "0")}`);
  const levels = ["info", "info", "info", "warn", "error"];
  const groupSize = 1_000;
  for (let first = 0; first < lines; first += groupSize) {
    const count = Math.min(groupSize, lines - first);
    const times = new Uint32Array(count);
    const keys: string[] = [];
    const values: string[] = [];
    const fieldStart = [0];
    for (let i = 0; i < count; i += 1) {
      const line = first + i;
      times[i] = start + Math.floor((line / lines) * span);
      const seq = String(line);
      keys.push("host", "level", "seq", "message");
      values.push(
        store.internValue(hosts[line % hosts.length] ?? ""),
        store.internValue(levels[line % levels.length] ?? ""),
        seq,
        `request done seq=${seq} ms=${line % 997}`,
      );
      fieldStart.push(keys.length);
    }
    const path = `/var/log/app/${(first / groupSize) % 20}.log`;
    store.append(
      {
        topic: "",
        source: "10.0.0.1",
        tags: ["__path__", path],
        times,
        timeNs: undefined,
        fieldStart: Uint32Array.from(fieldStart),
        keys,
        values,
      },
      count * 100,
      undefined,
    );
  }
  return store;
}

if (require.main === module) {
  const figures = measureQuery({ lines: numberOption("lines", 1_000_000), runs: numberOption("runs", 3) });
  for (const item of figures) stdoutLog(`${item.verdict.padEnd(6)} ${item.id}: ${item.value} ${item.unit}`);
  if (figures.some((item) => item.verdict === "fail")) process.exitCode = 1;
}
