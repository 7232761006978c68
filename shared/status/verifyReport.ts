/**
 * `verify`: whether every line a route's source logstore holds for its migrated files is in the
 * destination logstore once, judged from the two logstores only (no ledger, no local state).
 *
 * A line with position meta is (host, inode, offset): it must be in the destination exactly once
 * (copied, or read there by the route's config). Lines without position meta (shipped before the
 * source config had it) are counted per host: the destination must hold as many as the source.
 * Lines only the destination has (written after the source config was retired) are counted, and
 * doubles among them are found by position too.
 *
 * Copies of one line share its position and its content; a crash re-read comes minutes later, a
 * resent batch seconds later. So at one position, copies with the same content digest are one line
 * whenever they were read. Only when a logstore cannot give the digest (the line has no `content`
 * field, or `content` has no analytics) are copies told apart by read time, which counts a re-read
 * more than LINE_TIME_SKEW_SECONDS later as a second line. Source lines received after the cutover count only
 * in files the destination reads too: a host that is not migrated goes on shipping to the source.
 */
import { READ_SKEW_SECONDS } from "../planner/handover";

/** One position's copies in a logstore (a GetLogs SQL row, already parsed). */
export interface PositionCount {
  host: string;
  inode: string;
  offset: number;
  copies: number;
  /** First receive time (Unix seconds): a source line after the cutover is expected only in a migrated file. */
  received?: number;
  /**
   * The read time (`__time__`). Copies of one line read by two configs of one agent are read
   * within seconds of each other; lines of two files under one inode number (a reused inode, a
   * truncated file) share offsets but not read times. Absent: every copy counts as one line.
   */
  time?: number;
  /** The digest of the line's content: copies with the same digest at one position are one line. */
  digest?: string;
  /** The line's length in bytes (known with the digest): the file's next line starts one newline later. */
  bytes?: number;
}

/** Copies of one position read within this many seconds of each other are one line. */
export const LINE_TIME_SKEW_SECONDS = 10;

/**
 * Lines without position meta, per host, or per host and content digest when the logstore gives
 * it: then a lost history line and a doubled one of the same host no longer cancel out.
 */
export interface UnplacedCount {
  host: string;
  lines: number;
  digest?: string;
  /** The `__pack_id__` the lines were sent in, when the query could group by it. */
  pack?: string;
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
  /**
   * Whether a hole in a file's offsets is a lost line (default). Not when the route's configs have
   * processors: a filter, or a parser that drops what it cannot parse, leaves holes by design.
   */
  holesAreLoss?: boolean;
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
  /**
   * Source lines with a position the destination holds as history lines (no position meta): read
   * a second time by the source config, once bound again, where its first read had no meta.
   */
  rereadHistory: number;
  /** Of the missing lines, those in the copy's range while it still runs: still to copy. */
  awaitingCopy: number;
  /** Up to 10 offsets of missing lines and of duplicated lines, for a look at the logstores. */
  missingOffsets: number[];
  duplicatedOffsets: number[];
  /**
   * Bytes of the file between two lines that no line in either logstore covers: lines neither
   * config shipped (read by no one in a handoff, a file rotated before it was read). Only between
   * lines seen, so nothing before the window's first line; `holesChecked` is false when the file's
   * lines cannot be laid end to end (no content length, or several files under the inode).
   */
  holes: number;
  holeBytes: number;
  /** Up to 10 byte offsets where a hole starts. */
  holeOffsets: number[];
  holesChecked: boolean;
}

export interface HostUnplaced {
  host: string;
  inSource: number;
  inDestination: number;
  /** History lines the destination lacks / holds too often (per content digest when known). */
  missing: number;
  extra: number;
  /** Copies beyond the first of history lines the source itself held more than once (copied as such). */
  repeated: number;
  /**
   * Of those, copies that share a `__pack_id__` with another: a batch the agent sent again (its
   * answer lost). The rest of `repeated` is a line read twice (a crash re-read) or written twice.
   */
  resent: number;
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
    /**
     * Lines without position meta the destination lacks: per host and content digest when the
     * logstores give it, else per host (source count − destination count, when above 0).
     */
    unplacedMissing: number;
    /** … and has too many of. */
    unplacedExtra: number;
    /**
     * Lines the source received after the cutover in files the destination does not read, or read
     * after the last line of a host the destination has not heard of for LEFT_ROUTE_SECONDS
     * (`sourceOnly`).
     */
    sourceOnlyLines: number;
    /** Source lines the destination holds as history lines (FileVerdict.rereadHistory): not missing. */
    rereadHistory: number;
    /**
     * Of the missing lines (with position meta and history), those the copy still has to copy: it
     * has not finished and they were received before the cutover.
     */
    awaitingCopy: number;
    /** Holes in the files' offsets (FileVerdict.holes), their bytes, and the files not checkable. */
    holes: number;
    holeBytes: number;
    filesNotCheckedForHoles: number;
    /**
     * History lines (no position meta) the source already held more than once, copied as they
     * were: an agent's duplicates from before the migration (a crash re-read, a resent batch), or a
     * line the host wrote twice; without a position nothing tells the two apart. Counted, not a
     * fault of the migration, so not part of `ok`.
     */
    unplacedRepeated: number;
    /** Of `unplacedRepeated`, copies in a pack sent again (same `__pack_id__`): HostUnplaced.resent. */
    unplacedResent: number;
  };
  copyJobs: CopyJobState[];
  /**
   * Per host, lines the source received after the cutover in files the destination does not read:
   * what stays in the source only. A host that was not migrated (declared `AgentTooOld` or
   * `HandoverUnverifiedOnWindows`, failed, never tagged) or a file outside the route's paths; or
   * lines read after the host left the route (LEFT_ROUTE_SECONDS). Counted, not part of `ok`: the route says these hosts keep their own
   * collection.
   */
  sourceOnly: Array<{ host: string; files: number; lines: number }>;
  /** Copy jobs still running: what they have not copied yet shows as missing. */
  copyUnfinished: boolean;
  perMinute: { source: MinuteCount[]; destination: MinuteCount[] };
  /**
   * How copies of a position were told apart: by content digest (exact), by read time (a crash
   * re-read more than LINE_TIME_SKEW_SECONDS later counts as a line of its own), or both.
   */
  lineIdentity: "content" | "readTime" | "mixed";
  /** Whether holes count against `ok` (VerifyInput.holesAreLoss). */
  holesAreLoss: boolean;
  /**
   * Where on the time axis the faults are, per minute of the lines' read time: missing lines (when
   * the source read them), extra copies (when the destination read the last), holes (when the line
   * before the hole was read). What the HTML chart marks.
   */
  faultMinutes: FaultMinute[];
  cutoverAt?: number;
  /** Every line there once (and the copy finished). */
  ok: boolean;
}

const SAMPLE = 10;

export interface FaultMinute {
  /** Unix seconds of the minute's start. */
  minute: number;
  missing: number;
  extraCopies: number;
  holes: number;
}

/**
 * A host whose last line in the destination (in any file) was read this long before the window's
 * end no longer ships there: it left the route (offboarded, its source config back), or its
 * delivery there stopped. What its source read after that line is counted with `sourceOnly`, not
 * as missing.
 */
export const LEFT_ROUTE_SECONDS = 300;

/** Lines verify found missing: with position meta and history lines (what a line ledger counts as lost). */
export function linesLost(totals: Pick<VerifyReport["totals"], "missing" | "unplacedMissing">): number {
  return totals.missing + totals.unplacedMissing;
}

/**
 * Copies verify found beyond each line's first: of lines with position meta, history the
 * destination holds too often, and history the source already held more than once (what a line
 * ledger counts as extra copies in the destination).
 */
export function copiesFound(
  totals: Pick<VerifyReport["totals"], "extraCopies" | "unplacedExtra" | "unplacedRepeated">,
): number {
  return totals.extraCopies + totals.unplacedExtra + totals.unplacedRepeated;
}

export function buildVerifyReport(input: VerifyInput): VerifyReport {
  type Copies = Copy[];
  const files = new Map<string, { host: string; inode: string; offsets: Map<number, Copies> }>();
  const add = (row: PositionCount, source: boolean, late = false) => {
    const key = `${row.host}\u0000${row.inode}`;
    let file = files.get(key);
    if (file === undefined) {
      file = { host: row.host, inode: row.inode, offsets: new Map() };
      files.set(key, file);
    }
    const copies = file.offsets.get(row.offset) ?? [];
    copies.push({
      time: row.time ?? 0,
      copies: row.copies,
      source,
      late,
      ...(row.digest === undefined ? {} : { digest: row.digest }),
      ...(row.bytes === undefined ? {} : { bytes: row.bytes }),
    });
    file.offsets.set(row.offset, copies);
  };
  // The copy covers source lines received before the cutover; after it, only files the destination
  // reads too (a host not migrated keeps shipping to the source alone), and only while the host
  // ships to the destination (one offboarded since is collected by its source again).
  const sourceOnly = new Map<string, { files: Set<string>; lines: number }>();
  const destinationFiles = new Set(input.destination.positions.map((row) => `${row.host}\u0000${row.inode}`));
  const lastInDestination = new Map<string, number>();
  const furthestInDestination = new Map<string, number>();
  for (const row of input.destination.positions) {
    const file = `${row.host}\u0000${row.inode}`;
    furthestInDestination.set(file, Math.max(furthestInDestination.get(file) ?? row.offset, row.offset));
    if (row.time !== undefined)
      lastInDestination.set(row.host, Math.max(lastInDestination.get(row.host) ?? row.time, row.time));
  }
  // The host's destination silent for LEFT_ROUTE_SECONDS up to the window's end: what its source
  // read past the destination's furthest line in the file, or after the destination's last read
  // (less the two configs' read skew; a file truncated since), is not on its way.
  const afterLeaving = (row: PositionCount): boolean => {
    const last = lastInDestination.get(row.host);
    if (last === undefined || input.window.to - last <= LEFT_ROUTE_SECONDS) return false;
    const furthest = furthestInDestination.get(`${row.host}\u0000${row.inode}`) ?? Number.POSITIVE_INFINITY;
    return row.offset > furthest || (row.time !== undefined && row.time > last + READ_SKEW_SECONDS);
  };
  for (const row of input.source.positions) {
    const late =
      input.cutoverAt !== undefined && row.received !== undefined && row.received >= input.cutoverAt;
    if (late && (!destinationFiles.has(`${row.host}\u0000${row.inode}`) || afterLeaving(row))) {
      const host = sourceOnly.get(row.host) ?? { files: new Set<string>(), lines: 0 };
      host.files.add(row.inode);
      host.lines += row.copies;
      sourceOnly.set(row.host, host);
      continue;
    }
    add(row, true, late);
  }
  for (const row of input.destination.positions) add(row, false);
  // History lines (no position meta) the destination holds, by host and content digest.
  const heldAsHistory = new Set(
    input.destination.unplaced.flatMap((row) =>
      row.digest === undefined ? [] : [`${row.host}\u0000${row.digest}`],
    ),
  );
  const faults = new Map<number, FaultMinute>();
  const fault = (time: number, kind: "missing" | "extraCopies" | "holes", count: number): void => {
    const minute = time - (time % 60);
    const entry = faults.get(minute) ?? { minute, missing: 0, extraCopies: 0, holes: 0 };
    entry[kind] += count;
    faults.set(minute, entry);
  };
  const copyUnfinished = input.copyJobs.some((job) => job.status !== "SUCCEEDED");
  const verdicts: FileVerdict[] = [];
  for (const file of files.values()) {
    const holes = holesIn(file.offsets);
    for (const at of holes.holeTimes) fault(at, "holes", 1);
    const verdict: FileVerdict = {
      host: file.host,
      inode: file.inode,
      inSource: 0,
      inDestination: 0,
      missing: 0,
      duplicated: 0,
      extraCopies: 0,
      destinationOnly: 0,
      rereadHistory: 0,
      awaitingCopy: 0,
      missingOffsets: [],
      duplicatedOffsets: [],
      holes: holes.holes,
      holeBytes: holes.holeBytes,
      holeOffsets: holes.holeOffsets,
      holesChecked: holes.holesChecked,
    };
    for (const [offset, copies] of [...file.offsets.entries()].sort((a, b) => a[0] - b[0])) {
      for (const line of linesAt(copies)) {
        if (line.source > 0) verdict.inSource += 1;
        if (line.destination > 0) verdict.inDestination += 1;
        if (line.source > 0 && line.destination === 0) {
          // Read again by the source after the cutover (its config bound again, from the start of
          // the file) where its first read had no position meta: the destination holds it among the
          // history lines. Only late reads: a lost line alike in text to a history line stays missing.
          if (
            line.sourceAllLate === true &&
            line.digest !== undefined &&
            heldAsHistory.has(`${file.host}\u0000${line.digest}`)
          )
            verdict.rereadHistory += 1;
          else {
            verdict.missing += 1;
            if (copyUnfinished && copies.some((copy) => copy.source && !copy.late)) verdict.awaitingCopy += 1;
            if (verdict.missingOffsets.length < SAMPLE) verdict.missingOffsets.push(offset);
            fault(readTime(copies, true, "first"), "missing", 1);
          }
        }
        if (line.source === 0 && line.destination > 0) verdict.destinationOnly += 1;
        if (line.destination > 1) {
          verdict.duplicated += 1;
          verdict.extraCopies += line.destination - 1;
          if (verdict.duplicatedOffsets.length < SAMPLE) verdict.duplicatedOffsets.push(offset);
          fault(readTime(copies, false, "last"), "extraCopies", line.destination - 1);
        }
      }
    }
    verdicts.push(verdict);
  }
  verdicts.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : Number(a.inode) - Number(b.inode)));

  const unplaced = compareUnplaced(input.source.unplaced, input.destination.unplaced);

  const totals = {
    files: verdicts.length,
    inSource: sum(verdicts, (v) => v.inSource),
    inDestination: sum(verdicts, (v) => v.inDestination),
    missing: sum(verdicts, (v) => v.missing),
    duplicated: sum(verdicts, (v) => v.duplicated),
    extraCopies: sum(verdicts, (v) => v.extraCopies),
    unplacedMissing: sum(unplaced, (h) => h.missing),
    unplacedExtra: sum(unplaced, (h) => h.extra),
    unplacedRepeated: sum(unplaced, (h) => h.repeated),
    unplacedResent: sum(unplaced, (h) => h.resent),
    sourceOnlyLines: sum([...sourceOnly.values()], (h) => h.lines),
    rereadHistory: sum(verdicts, (v) => v.rereadHistory),
    // History lines were all received before the cutover: the copy covers every one of them.
    awaitingCopy:
      sum(verdicts, (v) => v.awaitingCopy) + (copyUnfinished ? sum(unplaced, (h) => h.missing) : 0),
    holes: sum(verdicts, (v) => v.holes),
    holeBytes: sum(verdicts, (v) => v.holeBytes),
    filesNotCheckedForHoles: verdicts.filter((v) => !v.holesChecked).length,
  };
  const holesAreLoss = input.holesAreLoss ?? true;
  return {
    route: input.route,
    sourceAccount: input.sourceAccount,
    window: input.window,
    files: verdicts,
    unplaced,
    totals,
    copyJobs: [...input.copyJobs],
    sourceOnly: [...sourceOnly.entries()]
      .map(([host, { files, lines }]) => ({ host, files: files.size, lines }))
      .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)),
    copyUnfinished,
    perMinute: { source: [...input.source.perMinute], destination: [...input.destination.perMinute] },
    lineIdentity: lineIdentityOf([...input.source.positions, ...input.destination.positions]),
    holesAreLoss,
    faultMinutes: [...faults.values()].sort((a, b) => a.minute - b.minute),
    ...(input.cutoverAt === undefined ? {} : { cutoverAt: input.cutoverAt }),
    ok:
      !copyUnfinished &&
      totals.missing === 0 &&
      totals.extraCopies === 0 &&
      totals.unplacedMissing === 0 &&
      totals.unplacedExtra === 0 &&
      (!holesAreLoss || totals.holes === 0),
  };
}

interface Copy {
  time: number;
  copies: number;
  source: boolean;
  /** A source copy received after the cutover. */
  late: boolean;
  digest?: string;
  bytes?: number;
}

/** Processors that only add, rename or mask fields keep every line. */
const KEEPS_EVERY_LINE = new Set([
  "processor_add_fields",
  "processor_rename",
  "processor_desensitize_native",
]);

/**
 * Whether a processor can drop a line (its holes are then by design, VerifyInput.holesAreLoss): a native parser discards what it cannot parse unless told
 * to keep it (`KeepingSourceWhenParseFail`); anything else not known to keep every line may.
 */
export function mayDropLines(processor: { Type: string; [key: string]: unknown }): boolean {
  if (/^processor_parse_[a-z_]+_native$/.test(processor.Type))
    return processor.KeepingSourceWhenParseFail !== true;
  return !KEEPS_EVERY_LINE.has(processor.Type);
}

/**
 * A gap this many bytes or more between one line's end and the next line's start is a hole. One
 * byte less is left alone: a `\r` an agent may strip from a CRLF line's content.
 */
export const MIN_HOLE_BYTES = 2;

/**
 * The file's lines laid end to end (each ends one newline after its content): the gaps no line
 * covers. Not checkable when a line's length is unknown, or one offset holds two different lines
 * (a file truncated and written again, an inode reused): two files' offsets would interleave. A
 * gap the read times run backwards across is such a boundary too, and no hole.
 */
function holesIn(
  offsets: ReadonlyMap<number, readonly Copy[]>,
): Pick<FileVerdict, "holes" | "holeBytes" | "holeOffsets" | "holesChecked"> & { holeTimes: number[] } {
  const unchecked = { holes: 0, holeBytes: 0, holeOffsets: [], holesChecked: false, holeTimes: [] };
  const lines: Array<{ offset: number; end: number; time: number }> = [];
  for (const [offset, copies] of offsets) {
    const first = copies[0];
    if (first?.digest === undefined || first.bytes === undefined) return unchecked;
    if (copies.some((copy) => copy.digest !== first.digest || copy.bytes !== first.bytes)) return unchecked;
    lines.push({ offset, end: offset + first.bytes + 1, time: Math.min(...copies.map((copy) => copy.time)) });
  }
  lines.sort((a, b) => a.offset - b.offset);
  const found = {
    holes: 0,
    holeBytes: 0,
    holeOffsets: [] as number[],
    holesChecked: true,
    holeTimes: [] as number[],
  };
  for (let i = 1; i < lines.length; i += 1) {
    const before = lines[i - 1];
    const line = lines[i];
    if (before === undefined || line === undefined) continue;
    const gap = line.offset - before.end;
    if (gap < MIN_HOLE_BYTES) continue;
    // A file is read in order: a line further in that was read well before the one ahead of it
    // belongs to another generation of the inode (a truncated file written again, where the window
    // starts after the older one's first line), not to the same run of lines.
    if (line.time + LINE_TIME_SKEW_SECONDS < before.time) continue;
    found.holes += 1;
    found.holeBytes += gap;
    found.holeTimes.push(before.time);
    if (found.holeOffsets.length < SAMPLE) found.holeOffsets.push(before.end);
  }
  return found;
}

interface LineCopies {
  source: number;
  destination: number;
  /** The copies' content digest, when they were told apart by it. */
  digest?: string;
  /** Every source copy was received after the cutover (known when told apart by digest). */
  sourceAllLate?: boolean;
}

/**
 * The lines at one position: grouped by content digest when every copy has one, else all by read
 * time (within LINE_TIME_SKEW_SECONDS). A copy without a digest (a line stored before `content`
 * had analytics: SLS indexes only what arrives after an index change) beside copies with one
 * would otherwise count as a line of its own.
 */
function linesAt(copies: readonly Copy[]): LineCopies[] {
  if (copies.some((copy) => copy.digest === undefined)) return linesByReadTime(copies);
  const byDigest = new Map<string, LineCopies>();
  for (const copy of copies) {
    const digest = copy.digest ?? "";
    const line = byDigest.get(digest) ?? {
      source: 0,
      destination: 0,
      sourceAllLate: true,
      ...(copy.digest ? { digest } : {}),
    };
    if (copy.source && !copy.late) line.sourceAllLate = false;
    if (copy.source) line.source += copy.copies;
    else line.destination += copy.copies;
    byDigest.set(digest, line);
  }
  return [...byDigest.values()];
}

/** The first (or last) read time among a position's copies on one side. */
function readTime(copies: readonly Copy[], source: boolean, which: "first" | "last"): number {
  const times = copies.filter((copy) => copy.source === source).map((copy) => copy.time);
  if (times.length === 0) return 0;
  return which === "first" ? Math.min(...times) : Math.max(...times);
}

function linesByReadTime(copies: readonly Copy[]): LineCopies[] {
  const lines: LineCopies[] = [];
  let startedAt = Number.NEGATIVE_INFINITY;
  for (const copy of [...copies].sort((a, b) => a.time - b.time)) {
    if (copy.time - startedAt > LINE_TIME_SKEW_SECONDS || lines.length === 0) {
      lines.push({ source: 0, destination: 0 });
      startedAt = copy.time;
    }
    const line = lines[lines.length - 1];
    if (line === undefined) continue;
    if (copy.source) line.source += copy.copies;
    else line.destination += copy.copies;
  }
  return lines;
}

/**
 * History lines per host: compared per content digest when every row of the host in both
 * logstores has one, else per host as a whole (lines stored before `content` had analytics have
 * none).
 */
function compareUnplaced(
  source: readonly UnplacedCount[],
  destination: readonly UnplacedCount[],
): HostUnplaced[] {
  const undigested = new Set(
    [...source, ...destination].filter((row) => row.digest === undefined).map((row) => row.host),
  );
  type Counts = { inSource: number; inDestination: number };
  const groups = new Map<
    string,
    { host: string; digested: boolean; inSource: number; inDestination: number; packs: Map<string, Counts> }
  >();
  const hosts = new Map<string, HostUnplaced>();
  const add = (row: UnplacedCount, side: "inSource" | "inDestination") => {
    const digested = !undigested.has(row.host);
    const key = digested ? `${row.host}\u0000${row.digest}` : row.host;
    const group = groups.get(key) ?? {
      host: row.host,
      digested,
      inSource: 0,
      inDestination: 0,
      packs: new Map<string, Counts>(),
    };
    group[side] += row.lines;
    if (row.pack !== undefined) {
      const pack = group.packs.get(row.pack) ?? { inSource: 0, inDestination: 0 };
      pack[side] += row.lines;
      group.packs.set(row.pack, pack);
    }
    groups.set(key, group);
  };
  for (const row of source) add(row, "inSource");
  for (const row of destination) add(row, "inDestination");
  for (const group of groups.values()) {
    const host = hosts.get(group.host) ?? {
      host: group.host,
      inSource: 0,
      inDestination: 0,
      missing: 0,
      extra: 0,
      repeated: 0,
      resent: 0,
    };
    host.inSource += group.inSource;
    host.inDestination += group.inDestination;
    host.missing += Math.max(0, group.inSource - group.inDestination);
    host.extra += Math.max(0, group.inDestination - group.inSource);
    // A digest group is one line's text: copies both sides hold beyond the first were in the source.
    if (group.digested) {
      host.repeated += Math.max(0, Math.min(group.inSource, group.inDestination) - 1);
      for (const pack of group.packs.values())
        host.resent += Math.max(0, Math.min(pack.inSource, pack.inDestination) - 1);
    }
    hosts.set(group.host, host);
  }
  return [...hosts.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

function lineIdentityOf(rows: readonly PositionCount[]): VerifyReport["lineIdentity"] {
  const digested = rows.filter((row) => row.digest !== undefined).length;
  if (digested === rows.length) return "content";
  return digested === 0 ? "readTime" : "mixed";
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}
