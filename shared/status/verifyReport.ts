/**
 * `verify`: whether every line a route's source logstore holds for its migrated files is in the
 * destination logstore once, judged from the two logstores only (no ledger, no local state).
 *
 * A line with position meta is (host, inode, offset): it must be in the destination exactly once
 * (copied, or read there by the route's config). Lines without position meta (shipped before the
 * source config had it) are counted per host: the destination must hold as many as the source.
 * Lines only the destination has (written after the source config was retired) are counted, and
 * doubles among them are found by position too. Source lines received after the cutover count only
 * in files the destination reads too: a host that is not migrated goes on shipping to the source.
 */

/** One position's copies in a logstore (a GetLogs SQL row, already parsed). */
export interface PositionCount {
  host: string;
  inode: string;
  offset: number;
  copies: number;
  /** First receive time (Unix seconds): a source line after the cutover is expected only in a migrated file. */
  received?: number;
}

/** Lines without position meta, per host. */
export interface UnplacedCount {
  host: string;
  lines: number;
}

export interface CopyJobState {
  name: string;
  status: string;
}

/** Lines per minute in each logstore (the picture the HTML report draws). */
export interface MinuteCount {
  /** Unix seconds of the minute's start. */
  minute: number;
  lines: number;
}

export interface VerifyInput {
  route: string;
  sourceAccount: string;
  window: { from: number; to: number };
  source: {
    positions: readonly PositionCount[];
    unplaced: readonly UnplacedCount[];
    perMinute: readonly MinuteCount[];
  };
  destination: {
    positions: readonly PositionCount[];
    unplaced: readonly UnplacedCount[];
    perMinute: readonly MinuteCount[];
  };
  copyJobs: readonly CopyJobState[];
  /** Unix seconds the copy's range ends (the cutover), when known. */
  cutoverAt?: number;
}

export interface FileVerdict {
  host: string;
  inode: string;
  /** Lines of the file in the source (with position meta). */
  inSource: number;
  /** Distinct lines of the file in the destination. */
  inDestination: number;
  /** Source lines not in the destination. */
  missing: number;
  /** Destination lines stored more than once, and the copies beyond the first. */
  duplicated: number;
  extraCopies: number;
  /** Lines only in the destination (read after the source stopped, or the source's were lost). */
  destinationOnly: number;
  /** Up to 10 offsets of missing lines and of duplicated lines, for a look at the logstores. */
  missingOffsets: number[];
  duplicatedOffsets: number[];
}

export interface HostUnplaced {
  host: string;
  inSource: number;
  inDestination: number;
}

export interface VerifyReport {
  route: string;
  sourceAccount: string;
  window: { from: number; to: number };
  files: FileVerdict[];
  unplaced: HostUnplaced[];
  totals: {
    files: number;
    inSource: number;
    inDestination: number;
    missing: number;
    duplicated: number;
    extraCopies: number;
    /** Lines without position meta the destination lacks (source count − destination count, when above 0). */
    unplacedMissing: number;
    /** … and has too many of. */
    unplacedExtra: number;
  };
  copyJobs: CopyJobState[];
  /** Copy jobs still running: what they have not copied yet shows as missing. */
  copyUnfinished: boolean;
  perMinute: { source: MinuteCount[]; destination: MinuteCount[] };
  cutoverAt?: number;
  /** Every line there once (and the copy finished). */
  ok: boolean;
}

const SAMPLE = 10;

export function buildVerifyReport(input: VerifyInput): VerifyReport {
  const files = new Map<
    string,
    { host: string; inode: string; source: Map<number, number>; destination: Map<number, number> }
  >();
  const fileOf = (host: string, inode: string) => {
    const key = `${host}\u0000${inode}`;
    let file = files.get(key);
    if (file === undefined) {
      file = { host, inode, source: new Map(), destination: new Map() };
      files.set(key, file);
    }
    return file;
  };
  // The copy covers source lines received before the cutover; after it, only files the destination
  // reads too (a host not migrated keeps shipping to the source alone).
  const destinationFiles = new Set(input.destination.positions.map((row) => `${row.host}\u0000${row.inode}`));
  for (const row of input.source.positions) {
    const late =
      input.cutoverAt !== undefined && row.received !== undefined && row.received >= input.cutoverAt;
    if (late && !destinationFiles.has(`${row.host}\u0000${row.inode}`)) continue;
    const file = fileOf(row.host, row.inode);
    file.source.set(row.offset, (file.source.get(row.offset) ?? 0) + row.copies);
  }
  for (const row of input.destination.positions) {
    const file = fileOf(row.host, row.inode);
    file.destination.set(row.offset, (file.destination.get(row.offset) ?? 0) + row.copies);
  }
  const verdicts: FileVerdict[] = [];
  for (const file of files.values()) {
    const verdict: FileVerdict = {
      host: file.host,
      inode: file.inode,
      inSource: file.source.size,
      inDestination: file.destination.size,
      missing: 0,
      duplicated: 0,
      extraCopies: 0,
      destinationOnly: 0,
      missingOffsets: [],
      duplicatedOffsets: [],
    };
    for (const offset of [...file.source.keys()].sort((a, b) => a - b)) {
      if (file.destination.has(offset)) continue;
      verdict.missing += 1;
      if (verdict.missingOffsets.length < SAMPLE) verdict.missingOffsets.push(offset);
    }
    for (const [offset, copies] of [...file.destination.entries()].sort((a, b) => a[0] - b[0])) {
      if (!file.source.has(offset)) verdict.destinationOnly += 1;
      if (copies > 1) {
        verdict.duplicated += 1;
        verdict.extraCopies += copies - 1;
        if (verdict.duplicatedOffsets.length < SAMPLE) verdict.duplicatedOffsets.push(offset);
      }
    }
    verdicts.push(verdict);
  }
  verdicts.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : Number(a.inode) - Number(b.inode)));

  const unplacedHosts = new Map<string, HostUnplaced>();
  for (const row of input.source.unplaced) {
    const host = unplacedHosts.get(row.host) ?? { host: row.host, inSource: 0, inDestination: 0 };
    host.inSource += row.lines;
    unplacedHosts.set(row.host, host);
  }
  for (const row of input.destination.unplaced) {
    const host = unplacedHosts.get(row.host) ?? { host: row.host, inSource: 0, inDestination: 0 };
    host.inDestination += row.lines;
    unplacedHosts.set(row.host, host);
  }
  const unplaced = [...unplacedHosts.values()].sort((a, b) => (a.host < b.host ? -1 : 1));

  const totals = {
    files: verdicts.length,
    inSource: sum(verdicts, (v) => v.inSource),
    inDestination: sum(verdicts, (v) => v.inDestination),
    missing: sum(verdicts, (v) => v.missing),
    duplicated: sum(verdicts, (v) => v.duplicated),
    extraCopies: sum(verdicts, (v) => v.extraCopies),
    unplacedMissing: sum(unplaced, (h) => Math.max(0, h.inSource - h.inDestination)),
    unplacedExtra: sum(unplaced, (h) => Math.max(0, h.inDestination - h.inSource)),
  };
  const copyUnfinished = input.copyJobs.some((job) => job.status !== "SUCCEEDED");
  return {
    route: input.route,
    sourceAccount: input.sourceAccount,
    window: input.window,
    files: verdicts,
    unplaced,
    totals,
    copyJobs: [...input.copyJobs],
    copyUnfinished,
    perMinute: { source: [...input.source.perMinute], destination: [...input.destination.perMinute] },
    ...(input.cutoverAt === undefined ? {} : { cutoverAt: input.cutoverAt }),
    ok:
      !copyUnfinished &&
      totals.missing === 0 &&
      totals.extraCopies === 0 &&
      totals.unplacedMissing === 0 &&
      totals.unplacedExtra === 0,
  };
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}
