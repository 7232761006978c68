/**
 * What became of every written line: the ledger's lines of some (host, file) pairs against the lines
 * stored in a logstore, counted line by line — once, more than once, missing — plus what the
 * logstore holds that nobody expected there. A line is named by the `host`, `file` and `seq` its
 * writer put in it (hostWriters.ts `formatLine`), so copies made by an agent re-reading, a PutLogs
 * sent twice or a copy job re-copying all count against the same line.
 *
 * Cost: five bytes per written line of the expected files (a saturating copy counter and the first
 * arrival), one regex per stored line; nothing per stored line is kept.
 */
import type { LogStore } from "../../emulator/sls/logStore";
import { parseLine } from "./hostWriters";
import type { LineLedger, WrittenRun } from "./lineLedger";

/** The files whose lines should all be in the logstore, once. */
export interface ExpectedFile {
  instanceId: string;
  path: string;
}

export interface DeliveryCounts {
  /** Lines the expected files received from their writers. */
  written: number;
  /** Written lines stored exactly once. */
  once: number;
  /** Written lines stored more than once. */
  duplicated: number;
  /** Copies beyond the first of the duplicated lines (what a reader of the logstore sees too much). */
  extraCopies: number;
  /** Written lines not stored at all. */
  missing: number;
  /**
   * Of the missing lines, those no agent could read any more: their bytes were truncated away
   * (copytruncate) or an agent recorded them as unread (removed before it got there).
   */
  missingUnreadable: number;
}

export interface DeliveryAudit extends DeliveryCounts {
  /** Lines in the logstore: once + duplicated + extraCopies + unexpected + unparsed. */
  stored: number;
  /** Stored writer lines of files that were not expected here (another host, another file). */
  unexpected: number;
  /** Stored logs that are not a writer's line (the parts of a split line after the first, others). */
  unparsed: number;
  /** Per expected file, the same counts. */
  files: Array<ExpectedFile & DeliveryCounts>;
  /** Of the missing lines, those the `alsoIn` logstore holds (shipped, but not into this one). */
  missingButElsewhere: number;
  /** Up to 10 missing lines, to look them up. */
  missingSample: Array<ExpectedFile & { seq: number }>;
  /**
   * Seconds from a line's write (the time in the line) to its first arrival in the logstore (the
   * receive time of its earliest copy), over the written lines stored at least once; undefined
   * when no stored log carried a receive time. A line written before a migration arrives through
   * the history copy, so the upper percentiles are the copy's.
   */
  latency?: ArrivalLatency;
}

export interface ArrivalLatency {
  lines: number;
  p50: number;
  p99: number;
  max: number;
}

/** One stored log: its `content` (undefined: none) and, when known, its receive time (Unix s). */
export interface StoredLog {
  content: string | undefined;
  receiveTime?: number;
}

/** The stored logs, in any order; the caller reads its logstore(s) however it must. */
export type StoredContents = Iterable<StoredLog>;

export function auditDelivery(
  ledger: LineLedger,
  expected: readonly ExpectedFile[],
  stored: StoredContents,
  /** Another logstore (the source one): which missing lines it holds. */
  alsoIn?: StoredContents,
): DeliveryAudit {
  const counters = new Map<string, { file: ExpectedFile; copies: Uint8Array; firstArrival: Int32Array }>();
  for (const file of expected) {
    const written = ledger.file(file.instanceId, file.path);
    let lastSeq = 0;
    for (const run of written.runs) lastSeq = Math.max(lastSeq, run.lastSeq);
    counters.set(fileKey(file.instanceId, file.path), {
      file,
      copies: new Uint8Array(lastSeq + 1),
      // Seconds after the line's write; -1: no copy with a receive time yet.
      firstArrival: new Int32Array(lastSeq + 1).fill(-1),
    });
  }
  const audit: DeliveryAudit = {
    ...zeroCounts(),
    stored: 0,
    unexpected: 0,
    unparsed: 0,
    files: [],
    missingButElsewhere: 0,
    missingSample: [],
  };
  const missingKeys = new Set<string>();
  for (const { content, receiveTime } of stored) {
    audit.stored += 1;
    const line = content === undefined ? undefined : parseLine(content);
    if (line === undefined) {
      audit.unparsed += 1;
      continue;
    }
    const counter = counters.get(fileKey(line.instanceId, line.path));
    if (counter === undefined || line.seq <= 0 || line.seq >= counter.copies.length) {
      audit.unexpected += 1;
      continue;
    }
    const copies = counter.copies[line.seq] ?? 0;
    if (copies < 255) counter.copies[line.seq] = copies + 1;
    if (receiveTime !== undefined) {
      // Receive times are whole seconds: a line received in the second it was written took 0 s.
      const after = Math.max(0, receiveTime - Math.floor(line.at / 1000));
      const first = counter.firstArrival[line.seq] ?? -1;
      if (first < 0 || after < first) counter.firstArrival[line.seq] = after;
    }
  }
  const unreadable = unreadableRanges(ledger);
  // Lines per whole second of latency: a few entries however many lines there are.
  const arrivals = new Map<number, number>();
  for (const { file, copies, firstArrival } of counters.values()) {
    for (const after of firstArrival) if (after >= 0) arrivals.set(after, (arrivals.get(after) ?? 0) + 1);
    const counts = zeroCounts();
    const runs = ledger.file(file.instanceId, file.path).runs;
    const truncatedFrom = truncationPoints(runs);
    for (const [index, run] of runs.entries()) {
      for (let seq = run.firstSeq; seq <= run.lastSeq; seq += 1) {
        counts.written += 1;
        const n = copies[seq] ?? 0;
        if (n === 1) counts.once += 1;
        else if (n > 1) {
          counts.duplicated += 1;
          counts.extraCopies += n - 1;
        } else {
          counts.missing += 1;
          if (alsoIn !== undefined) missingKeys.add(`${fileKey(file.instanceId, file.path)}\u0000${seq}`);
          if (audit.missingSample.length < 10) audit.missingSample.push({ ...file, seq });
          const at = ledger.locate(file.instanceId, file.path, seq);
          if (
            at !== undefined &&
            (at.offset >= (truncatedFrom[index] ?? Number.POSITIVE_INFINITY) ||
              unreadable(file.instanceId, at.inode, at.offset))
          )
            counts.missingUnreadable += 1;
        }
      }
    }
    audit.files.push({ ...file, ...counts });
    for (const key of countKeys) audit[key] += counts[key];
  }
  if (alsoIn !== undefined && missingKeys.size > 0) {
    for (const { content } of alsoIn) {
      const line = content === undefined ? undefined : parseLine(content);
      if (line === undefined) continue;
      const key = `${fileKey(line.instanceId, line.path)}\u0000${line.seq}`;
      if (missingKeys.delete(key)) audit.missingButElsewhere += 1;
    }
  }
  const latency = percentiles(arrivals);
  if (latency !== undefined) audit.latency = latency;
  // Copies past 255 of one line are not counted one by one: the stored total stays exact.
  audit.extraCopies = Math.max(
    audit.extraCopies,
    audit.stored - audit.once - audit.duplicated - audit.unexpected - audit.unparsed,
  );
  return audit;
}

/** Nearest-rank percentiles of a histogram of lines per second of latency. */
function percentiles(histogram: ReadonlyMap<number, number>): ArrivalLatency | undefined {
  const seconds = [...histogram.keys()].sort((a, b) => a - b);
  const lines = seconds.reduce((total, second) => total + (histogram.get(second) ?? 0), 0);
  if (lines === 0) return undefined;
  const at = (q: number): number => {
    const rank = Math.max(1, Math.ceil(q * lines));
    let seen = 0;
    for (const second of seconds) {
      seen += histogram.get(second) ?? 0;
      if (seen >= rank) return second;
    }
    return seconds[seconds.length - 1] ?? 0;
  };
  return { lines, p50: at(0.5), p99: at(0.99), max: seconds[seconds.length - 1] ?? 0 };
}

const countKeys = ["written", "once", "duplicated", "extraCopies", "missing", "missingUnreadable"] as const;

function zeroCounts(): DeliveryCounts {
  return { written: 0, once: 0, duplicated: 0, extraCopies: 0, missing: 0, missingUnreadable: 0 };
}

/**
 * Per run, the lowest offset a later run of the same inode started at (a truncation came between:
 * bytes of this run from there on were overwritten); Infinity when none did.
 */
function truncationPoints(runs: readonly WrittenRun[]): number[] {
  const points = new Array<number>(runs.length);
  const lowestLater = new Map<number, number>();
  for (let index = runs.length - 1; index >= 0; index -= 1) {
    const run = runs[index];
    if (run === undefined) continue;
    points[index] = lowestLater.get(run.inode) ?? Number.POSITIVE_INFINITY;
    lowestLater.set(run.inode, Math.min(points[index] ?? Number.POSITIVE_INFINITY, run.startOffset));
  }
  return points;
}

/**
 * Whether an agent recorded a byte of a host's file as never readable (the ledger's `unread` fates),
 * by inode: the agent may have known the file under a rotated name.
 */
function unreadableRanges(
  ledger: LineLedger,
): (instanceId: string, inode: number, offset: number) => boolean {
  const byFile = new Map<string, Array<{ from: number; to: number }>>();
  for (const fate of ledger.fates()) {
    if (fate.fate !== "unread") continue;
    const key = fileKey(fate.instanceId, String(fate.inode));
    const ranges = byFile.get(key) ?? [];
    ranges.push({ from: fate.fromOffset, to: fate.toOffset });
    byFile.set(key, ranges);
  }
  return (instanceId, inode, offset) =>
    byFile
      .get(fileKey(instanceId, String(inode)))
      ?.some((range) => offset >= range.from && offset < range.to) ?? false;
}

function fileKey(instanceId: string, path: string): string {
  return `${instanceId}\u0000${path}`;
}

/** Every log a logstore holds, shard after shard, with its `content` and its group's receive time. */
export function* contentsOf(store: LogStore): Iterable<StoredLog> {
  for (const group of store.groups()) {
    const { receiveTime } = group;
    const { fieldStart, keys, values } = group.columns;
    for (let i = 0; i + 1 < fieldStart.length; i += 1) {
      let content: string | undefined;
      for (let f = fieldStart[i] ?? 0; f < (fieldStart[i + 1] ?? 0); f += 1) {
        if (keys[f] === "content") {
          content = values[f];
          break;
        }
      }
      yield { content, receiveTime };
    }
  }
}
