/**
 * Query benchmark (not a test): how fast does the emulator's SLS query engine answer over 1,000,000
 * stored lines? Target (issue 13): a `select … count(*) … group by` in under 1 s.
 *
 *   npx tsx bench/query.ts [--lines 1000000] [--runs 3]
 *
 * `measureQuery` returns the figures for a report (bench/dataplane.ts calls it with the lines its
 * ingest run stored in a real LogStore, via `source`); run directly, it fills a columnar in-memory
 * source of its own, laid out as the store keeps lines (one array of keys and one of values per
 * group of 1,000), and prints the figures.
 */
import type { LogRow, LogRowSource } from "../emulator/sls/logRows";
import { compileQuery, runHistogram, runQuery } from "../emulator/sls/queryEngine";
import { queryIndexOf } from "../emulator/sls/queryIndex";
import type { IndexBody } from "../emulator/sls/schemas";
import { type Figure, figure, type Log, median, numberOption, round, stdoutLog } from "./common";

export const QUERY_TARGET_MS = 1_000;

/** The index the benchmark's lines are queried with: every field analysable, full text on. */
export const benchIndex: IndexBody = {
  line: {
    token: [
      ",",
      " ",
      "'",
      '"',
      ";",
      "=",
      "(",
      ")",
      "[",
      "]",
      "{",
      "}",
      "?",
      "@",
      "&",
      "<",
      ">",
      "/",
      ":",
      "\n",
      "\t",
      "\r",
    ],
  },
  keys: {
    host: { type: "text", token: [" "], doc_value: true },
    level: { type: "text", token: [" "], doc_value: true },
    seq: { type: "long", doc_value: true },
    message: { type: "text", token: [" ", "="], doc_value: true },
    "__tag__:__path__": { type: "text", token: ["/"], doc_value: true },
  },
};

export interface QueryBenchOptions {
  /** The lines to query; by default `lines` synthetic lines over `hosts` hosts. */
  source?: LogRowSource;
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
      `query bench: ${lines.toLocaleString("en")} synthetic lines in ${Math.round(performance.now() - started)} ms`,
    );
  }
  const index = queryIndexOf(benchIndex);
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

  const groupBy = measure(
    "group by host",
    "* | select host, count(*) as n, max(seq) as last group by host order by n desc limit 1000",
  );
  const filtered = measure(
    "search + group by path",
    'level: error | select "__tag__:__path__" as path, count(*) as n group by path order by n desc',
  );
  const distinct = measure("count(distinct host)", "* | select count(distinct host) as hosts, count(*) as n");
  const searchPage = measure("search page", "level: error and message: done");

  const histogramSamples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    runHistogram(compileQuery("level: error", index), source, from, to);
    histogramSamples.push(performance.now() - started);
  }
  const histogramMs = median(histogramSamples);
  log(`query bench: histogram of level: error: ${round(histogramMs, 1)} ms`);

  const note = `${lines.toLocaleString("en")} lines, ${options.source === undefined ? "synthetic columnar source" : "the store's own LogRowSource"}, median of ${runs}`;
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
      label: "search, then select … count(*) … group by a tag",
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

/** Lines as the store keeps them: per group of 1,000, a time array and flat key / value arrays. */
function syntheticSource(lines: number, start: number, span: number): LogRowSource {
  const groupSize = 1_000;
  const hosts = Array.from({ length: 300 }, (_, i) => `host-${String(i).padStart(3, "0")}`);
  const levels = ["info", "info", "info", "warn", "error"];
  const paths = Array.from({ length: 20 }, (_, i) => `/var/log/app/${i}.log`);
  const keyNames = ["host", "level", "seq", "message"];
  const groups: SyntheticGroup[] = [];
  for (let first = 0; first < lines; first += groupSize) {
    const count = Math.min(groupSize, lines - first);
    const times = new Uint32Array(count);
    const values: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const line = first + i;
      times[i] = start + Math.floor((line / lines) * span);
      const seq = String(line);
      values.push(
        hosts[line % hosts.length] ?? "",
        levels[line % levels.length] ?? "",
        seq,
        `request done seq=${seq} ms=${line % 997}`,
      );
    }
    groups.push({ times, values, path: paths[(first / groupSize) % paths.length] ?? "" });
  }
  return {
    *scan(from, to) {
      for (const group of groups) {
        for (let i = 0; i < group.times.length; i += 1) {
          const time = group.times[i] ?? 0;
          if (time >= from && time < to) yield new SyntheticRow(group, i, keyNames);
        }
      }
    },
  };
}

interface SyntheticGroup {
  times: Uint32Array;
  values: string[];
  path: string;
}

class SyntheticRow implements LogRow {
  readonly time: number;
  constructor(
    private readonly group: SyntheticGroup,
    private readonly index: number,
    private readonly keyNames: readonly string[],
  ) {
    this.time = group.times[index] ?? 0;
  }

  get(key: string): string | undefined {
    const position = this.keyNames.indexOf(key);
    if (position >= 0) return this.group.values[this.index * this.keyNames.length + position];
    if (key === "__tag__:__path__") return this.group.path;
    if (key === "__time__") return String(this.time);
    if (key === "__source__") return "10.0.0.1";
    if (key === "__topic__") return "";
    return undefined;
  }

  *entries(): Iterable<readonly [string, string]> {
    for (const [position, key] of this.keyNames.entries()) {
      yield [key, this.group.values[this.index * this.keyNames.length + position] ?? ""];
    }
    yield ["__time__", String(this.time)];
    yield ["__source__", "10.0.0.1"];
    yield ["__topic__", ""];
    yield ["__tag__:__path__", this.group.path];
  }
}

if (require.main === module) {
  const figures = measureQuery({ lines: numberOption("lines", 1_000_000), runs: numberOption("runs", 3) });
  for (const item of figures) stdoutLog(`${item.verdict.padEnd(6)} ${item.id}: ${item.value} ${item.unit}`);
  if (figures.some((item) => item.verdict === "fail")) process.exitCode = 1;
}
