/**
 * The handover from a source's old Logtail config to the route's destination config, exactly once
 * by the agent's rules (README "Exactly-once cutover"): every decision of the protocol, pure.
 *
 * Both configs ship position meta, so a line is (host, inode, offset) in either logstore. The
 * destination config is forced and starts at the end of each file it finds (`TailSizeKB: 0`), so
 * in every file it ships from a first offset F on; the copy job copies the source's lines below F
 * (and everything of files the destination never read). The source config keeps reading until the
 * source has shipped past F in every file, so nothing below F is still on its way when the copy's
 * range closes.
 */
import type { ObservedMachine } from "./types";

/** The fields position meta gives a shipped line (`AppendingLogPositionMeta`). */
export const POSITION_FIELDS = {
  host: "__tag__:__hostname__",
  inode: "__tag__:__inode__",
  offset: "__file_offset__",
  receiveTime: "__tag__:__receive_time__",
} as const;

/** The field a single-line file config puts a line's text in: `verify` tells a line's copies by it. */
export const LINE_CONTENT_FIELD = "content";
/** The tag naming the pack a line was shipped in: one read of one file by one agent. */
export const PACK_FIELD = "__tag__:__pack_id__";

/** The `input_file` options of the destination config of a route that hands over from a source. */
export const DESTINATION_HANDOVER_INPUT = { AppendingLogPositionMeta: true, TailSizeKB: 0 } as const;
/** The destination config's `input_file` options on a route without a handover: lines carry their position. */
export const DESTINATION_INPUT = { AppendingLogPositionMeta: true } as const;
/** The option the source config needs for the handover. */
export const SOURCE_HANDOVER_INPUT = { AppendingLogPositionMeta: true } as const;

/** Where a config's lines of one file start or end: the host's agent, the inode, a line's offset. */
export interface FilePosition {
  /** `__tag__:__hostname__` as the agent stamps it (the same agent stamps both configs' lines). */
  host: string;
  inode: string;
  offset: number;
}

/**
 * The destination config's start in a file: its first read time (`__time__`, Unix seconds), the
 * first offset it read then, and when it read the inode from offset 0 again (a new file under a
 * reused inode number, or a truncation), if it did.
 */
export interface DestinationStart extends FilePosition {
  since: number;
  restartAt?: number;
}

/**
 * Source lines of a file the destination also read: those read (`__time__`) from `readFrom` on
 * at or past `offset`, and all of those read from `restartFrom` on (a later file under the same
 * inode, read whole by the destination). Earlier lines of the inode belong to files the
 * destination never read.
 */
export interface Exclusion extends FilePosition {
  readFrom: number;
  restartFrom?: number;
  /**
   * Offsets past `offset` the destination read around but holds no line of (its agent restarted
   * without a checkpoint: the pack it had read but not sent is lost to it, and it started again at
   * the end of the file). The source's lines there are copied after all.
   */
  holes?: Hole[];
}

/** Bytes [from, to) of a file. */
export interface Hole {
  from: number;
  to: number;
}

/**
 * One destination read of a file: one pack, from its first line's offset (`from`) to where it
 * ended, and when it was read (`__time__`). The end is measured by the last line's text
 * (`to`: offset + bytes + newline); `lastLine` is where that line starts. `to` is undefined when
 * the text cannot measure it (a line without `content`, or one as long as the logstore's
 * analytics keep: its text may be cut).
 */
export interface DestinationRead {
  host: string;
  inode: string;
  from: number;
  lastLine: number;
  to: number | undefined;
  readAt: number;
}

/** Holes a copy part takes per file; a file with more waits (the repair would not fit the script). */
export const MAX_HOLES_PER_FILE = 20;
/**
 * A gap between a read's measured end and the next read's start this small holds no line: the
 * text may lack a `\r` of the line end.
 */
export const LINE_END_SLACK_BYTES = 2;
/**
 * A hole younger than this (from the read after it) may be a pack still being sent again (its
 * answer lost, the service busy): the cut waits rather than copy lines that may still arrive.
 */
export const HOLE_SETTLE_SECONDS = 120;

/** Seconds between two configs' reads of one line by one agent (same tick, or the next one). */
export const READ_SKEW_SECONDS = 2;

/**
 * The source config's last line in a file before the copy's end (for lines after it: the first),
 * when it was received and, for the last line, when it was read.
 */
export interface SourceProgress extends FilePosition {
  received: number;
  /**
   * `__time__` of that line (the agent's read time; `offset` is the largest read in that second);
   * unknown, the source counts as not in the destination's file. Read before the destination's first read (less READ_SKEW_SECONDS), it was of an earlier file
   * under the inode (truncated or replaced since): it says nothing of the destination's file.
   */
  lastRead?: number;
  /** `__source__`: the agent's IP, which names the instance the line came from. */
  ip?: string;
}

/** A host's lines without position meta in the source: the last one's receive time. */
export interface SourceUnplaced {
  host: string;
  ip?: string;
  lastReceived: number;
}

export interface HandoverFacts {
  destinationFirst: readonly DestinationStart[];
  sourceLast: readonly SourceProgress[];
  /** Per host, the source's last line without position meta (before the copy's end). */
  sourceUnplaced: readonly SourceUnplaced[];
  /**
   * Per file, the source's lines received at or after the copy's end (up to now): the copy leaves
   * them out, so the destination must hold them. `offset` is the smallest, `received` the latest.
   */
  sourceAfter: readonly SourceProgress[];
  /** Per host, the source's lines without position meta received at or after the copy's end. */
  sourceUnplacedAfter: readonly SourceUnplaced[];
  /** Private IPs of the instances migrated on this route in this account (they collect). */
  migratedIps: ReadonlySet<string>;
  /**
   * The destination's reads (one per pack), to find holes in what it holds; absent when the
   * logstore cannot say (no analytics on `content`, or more reads than one answer holds): no
   * hole is then repaired.
   */
  destinationReads?: readonly DestinationRead[];
}

export interface HandoverTiming {
  /** Unix seconds. */
  now: number;
  /** Where the copy's range would end (Unix seconds): the source lines considered were received before it. */
  until: number;
  /**
   * A file of which the source shipped nothing for this long is idle: the destination starts at its
   * end when it sees it (what it missed, the source shipped). A file the destination has read for
   * this long, of which the source shipped nothing, is one the source does not read.
   */
  sourceSilenceSeconds: number;
  /**
   * How long after a host's first destination line the agent has saved a checkpoint of every
   * destination reader it opened then (the agent saves them every 15 minutes, plus jitter). A
   * crash before that restarts those readers at the end of their files (`TailSizeKB: 0`) and the
   * lines read but not sent are lost to the destination; before the cut the copy repairs such a
   * hole, after it nothing does. So the cut waits this long; 0 does not wait.
   */
  checkpointSeconds: number;
}

export type HandoverVerdict =
  | {
      kind: "ready";
      /** Source lines the destination config read too: not copied. */
      exclusions: Exclusion[];
    }
  | {
      kind: "waiting";
      /** Files where the source has not shipped up to the destination's first offset yet. */
      behind: Array<{ host: string; inode: string; sourceAt: number | undefined; destinationFrom: number }>;
      /** Files the source is shipping that the destination has not shipped a line of yet. */
      unread: FilePosition[];
      /** Migrated hosts whose source lines still come without position meta (the change is late). */
      metaPending: string[];
      /**
       * Files with a hole in the destination the cut cannot repair yet: too young to tell from a
       * pack still on its way, past where the source has shipped, or more than one script holds.
       */
      holesSettling: FilePosition[];
      /** Migrated hosts whose destination readers may not have a checkpoint yet (HandoverTiming.checkpointSeconds). */
      checkpointPending: string[];
    };

/**
 * Whether the copy may be cut now.
 * - A file both configs read: the destination's first offset F splits it. The source lines below F
 *   are copied, so the source must have shipped past F *in that file* before the copy's end (else:
 *   wait): a copytruncate or a reused inode number puts earlier files under the same inode, whose
 *   larger offsets say nothing of this one, so only source lines read since the destination's first
 *   read count. When the destination read it from its start (F = 0), or read the inode from 0
 *   again later and the source got there too, nothing of the source's is needed.
 * - A file only the source is shipping (a line within `sourceSilenceSeconds` of the copy's end), of
 *   a migrated host: the destination has not started on it — its config has not reached the host,
 *   or it has not seen the file yet — and lines shipped by the source after the copy's end would
 *   be lost: wait.
 * - A migrated host whose latest source lines come without position meta: wait for the meta.
 * - A file idle in the source: copied whole; the destination starts at its end.
 * - A file only the destination reads, for `sourceSilenceSeconds`, of which the source shipped
 *   nothing for as long: not the source's (paths differ).
 */
export function decideHandover(facts: HandoverFacts, timing: HandoverTiming): HandoverVerdict {
  const { destinationFirst, sourceLast, sourceUnplaced, sourceAfter, sourceUnplacedAfter, migratedIps } =
    facts;
  const readsOf = new Map<string, DestinationRead[]>();
  for (const read of facts.destinationReads ?? []) {
    const reads = readsOf.get(fileKey(read)) ?? [];
    reads.push(read);
    readsOf.set(fileKey(read), reads);
  }
  const holesSettling: FilePosition[] = [];
  const sourceAt = new Map(sourceLast.map((position) => [fileKey(position), position]));
  const destinationFiles = new Set(destinationFirst.map(fileKey));
  const shippedAfter = new Set(sourceAfter.map(fileKey));
  const exclusions: Exclusion[] = [];
  const behind: Extract<HandoverVerdict, { kind: "waiting" }>["behind"] = [];
  const active = (received: number): boolean => received > timing.until - timing.sourceSilenceSeconds;
  for (const start of destinationFirst) {
    const { host, inode, offset } = start;
    const last = sourceAt.get(fileKey(start));
    // Where the source is in the destination's file: its last line read since that file began.
    const reached =
      last?.lastRead !== undefined && last.lastRead >= start.since - READ_SKEW_SECONDS
        ? last.offset
        : undefined;
    // Read again from 0 since (a later file under the inode), the source has left the first one:
    // what it had not read of it by then the truncation took from both configs alike.
    const movedOn =
      last?.lastRead !== undefined &&
      start.restartAt !== undefined &&
      last.lastRead >= start.restartAt - READ_SKEW_SECONDS;
    // The destination reads new bytes of this file; a source that reads it would ship them too.
    // Nothing from the source for sourceSilenceSeconds: it does not read this file (now).
    const silent =
      reached === undefined &&
      (last === undefined || !active(last.received)) &&
      !shippedAfter.has(fileKey(start)) &&
      timing.now - start.since >= timing.sourceSilenceSeconds;
    if (offset === 0 || (reached !== undefined && reached >= offset) || movedOn || silent) {
      // After a truncation or under a reused inode two files share offsets: their reads cannot be
      // told apart, so no hole is looked for there.
      const holes =
        start.restartAt === undefined ? holesAfter(offset, readsOf.get(fileKey(start)) ?? []) : [];
      // A young hole may fill yet; the source must have shipped past a hole for the copy to hold
      // its lines; and every hole must fit the copy script.
      if (
        holes.some(
          (hole) =>
            hole.closedAt > timing.now - HOLE_SETTLE_SECONDS || reached === undefined || reached < hole.to,
        ) ||
        holes.length > MAX_HOLES_PER_FILE
      ) {
        holesSettling.push({ host, inode, offset });
        continue;
      }
      exclusions.push({
        host,
        inode,
        offset,
        readFrom: start.since - READ_SKEW_SECONDS,
        ...(start.restartAt === undefined ? {} : { restartFrom: start.restartAt - READ_SKEW_SECONDS }),
        ...(holes.length === 0 ? {} : { holes: holes.map(({ from, to }) => ({ from, to })) }),
      });
    } else {
      behind.push({ host, inode, sourceAt: reached, destinationFrom: offset });
    }
  }
  // Migrated: the destination reads the host, or the host's IP is a migrated instance's. A host
  // that is not (failed, or in the source group without the route) ships to the source alone for
  // good and must not hold the cut back.
  const destinationHosts = new Set(destinationFirst.map((start) => start.host));
  const migrated = (host: string, ip: string | undefined): boolean =>
    destinationHosts.has(host) || (ip !== undefined && migratedIps.has(ip));
  const unreadFiles = new Map<string, FilePosition>();
  for (const progress of [...sourceLast.filter((p) => active(p.received)), ...sourceAfter]) {
    const key = fileKey(progress);
    if (!migrated(progress.host, progress.ip) || destinationFiles.has(key) || unreadFiles.has(key)) continue;
    unreadFiles.set(key, { host: progress.host, inode: progress.inode, offset: progress.offset });
  }
  const unread = [...unreadFiles.values()].sort(comparePositions);
  // A migrated host still shipping without position meta: its source config's change has not
  // reached it, and what it ships now could not be told from the destination's lines.
  const lastWithMeta = new Map<string, number>();
  for (const progress of sourceLast)
    lastWithMeta.set(progress.host, Math.max(lastWithMeta.get(progress.host) ?? 0, progress.received));
  const metaPending = [
    ...new Set([
      ...sourceUnplaced
        .filter(
          (host) =>
            migrated(host.host, host.ip) &&
            active(host.lastReceived) &&
            (lastWithMeta.get(host.host) ?? Number.NEGATIVE_INFINITY) < host.lastReceived,
        )
        .map((host) => host.host),
      // After the copy's end a line without position meta is in no copy and cannot be placed.
      ...sourceUnplacedAfter.filter((host) => migrated(host.host, host.ip)).map((host) => host.host),
    ]),
  ].sort();
  // A host's destination readers date from its first destination line (the config's arrival).
  const firstRead = new Map<string, number>();
  for (const start of destinationFirst)
    firstRead.set(start.host, Math.min(firstRead.get(start.host) ?? Number.POSITIVE_INFINITY, start.since));
  const checkpointPending = [...firstRead]
    .filter(([, since]) => timing.now - since < timing.checkpointSeconds)
    .map(([host]) => host)
    .sort();
  exclusions.sort(comparePositions);
  holesSettling.sort(comparePositions);
  return behind.length > 0 ||
    unread.length > 0 ||
    metaPending.length > 0 ||
    holesSettling.length > 0 ||
    checkpointPending.length > 0
    ? { kind: "waiting", behind, unread, metaPending, holesSettling, checkpointPending }
    : { kind: "ready", exclusions };
}

/**
 * The offsets past `start` where the destination holds no line although it read on after them:
 * between the last line of a read and the start of the next, when the measured end of the first
 * falls short of the next start by more than LINE_END_SLACK_BYTES; each with when the read after
 * it was made. A hole starts just past the last line's start, so a mismeasured end copies nothing
 * the destination holds. Coverage begins at the first read (a read the query missed opens no
 * hole); a read whose end is unknown opens none after it; past the last read is what the
 * destination has not read yet, not a hole.
 */
export function holesAfter(
  start: number,
  reads: ReadonlyArray<Pick<DestinationRead, "from" | "lastLine" | "to" | "readAt">>,
): Array<Hole & { closedAt: number }> {
  const holes: Array<Hole & { closedAt: number }> = [];
  const sorted = [...reads].sort((a, b) => a.from - b.from || a.lastLine - b.lastLine);
  // The furthest read so far: its last line's start and its end (undefined: not measured).
  let edge: { lastLine: number; to: number | undefined } | undefined;
  for (const read of sorted) {
    if (read.lastLine < start) continue;
    if (edge !== undefined && edge.to !== undefined && read.from > edge.to + LINE_END_SLACK_BYTES)
      holes.push({ from: edge.lastLine + 1, to: read.from, closedAt: read.readAt });
    if (edge === undefined || read.lastLine > edge.lastLine) edge = { lastLine: read.lastLine, to: read.to };
    else if (read.lastLine === edge.lastLine && edge.to !== undefined)
      edge = { lastLine: edge.lastLine, to: read.to === undefined ? undefined : Math.max(edge.to, read.to) };
  }
  return holes;
}

/** A host the destination holds lines of, and the IP it reports. */
export interface DestinationHost {
  host: string;
  /** `__source__` of its lines: the agent's IP, which names the instance. */
  ip?: string;
}

/**
 * Hosts a later copy round must hand over. The first round copied every source host's lines up to
 * its cut: by position the hosts the destination read then, whole the others. A host of the others
 * migrated since (tagged after the cutover, repaired after failing, idle at the cut) has lines
 * received after that cut below where the destination began, which only the source holds. So: a
 * migrated host the destination reads (since the first cut), that no earlier round handed over by
 * position and no later round named. Each host is in one later round, whose range starts at the
 * first cut, so no line is copied twice.
 */
export function laterRoundHosts(facts: {
  /** Hosts of the destination's lines read since the first cut. */
  destinationHosts: readonly DestinationHost[];
  /** Hosts the first round handed over by position, and those later rounds named. */
  handedOver: ReadonlySet<string>;
  /** Private IPs of the instances migrated on the route in this account. */
  migratedIps: ReadonlySet<string>;
}): DestinationHost[] {
  return facts.destinationHosts
    .filter(
      (host) => host.ip !== undefined && facts.migratedIps.has(host.ip) && !facts.handedOver.has(host.host),
    )
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/** The handover facts of some hosts only: a later round judges its own hosts. */
export function factsOfHosts(facts: HandoverFacts, hosts: ReadonlySet<string>): HandoverFacts {
  const mine = <T extends { host: string }>(rows: readonly T[]): T[] =>
    rows.filter((row) => hosts.has(row.host));
  return {
    destinationFirst: mine(facts.destinationFirst),
    sourceLast: mine(facts.sourceLast),
    sourceUnplaced: mine(facts.sourceUnplaced),
    sourceAfter: mine(facts.sourceAfter),
    sourceUnplacedAfter: mine(facts.sourceUnplacedAfter),
    migratedIps: facts.migratedIps,
    ...(facts.destinationReads === undefined ? {} : { destinationReads: mine(facts.destinationReads) }),
  };
}

/** What the source config looks like before the destination may start on the hosts. */
export interface SourceConfigState {
  /** Whether its `input_file` has `AppendingLogPositionMeta: true`. */
  positionMeta: boolean;
  /** Its last change, Unix seconds. */
  lastModifyTime: number;
}

export type DestinationStartVerdict =
  | { start: true; missingSources: number }
  | { start: false; reason: "SourceMetaPending"; waitSeconds: number };

/**
 * The destination config may reach hosts only once the source config's position meta has reached
 * them: every line the source ships after the destination's first read must carry its position,
 * or the copy could not tell it from what the destination read. Config changes reach agents late
 * and, across accounts, in any order, so the source's change must be `propagationSeconds` old.
 * A source config that does not exist (undefined) reads nothing in parallel: nothing to wait for.
 */
export function destinationMayStart(
  sources: ReadonlyArray<SourceConfigState | undefined>,
  now: number,
  propagationSeconds: number,
): DestinationStartVerdict {
  let wait = 0;
  let missingSources = 0;
  for (const source of sources) {
    if (source === undefined) {
      missingSources += 1;
      continue;
    }
    if (!source.positionMeta)
      return { start: false, reason: "SourceMetaPending", waitSeconds: propagationSeconds };
    wait = Math.max(wait, source.lastModifyTime + propagationSeconds - now);
  }
  return wait > 0
    ? { start: false, reason: "SourceMetaPending", waitSeconds: Math.ceil(wait) }
    : { start: true, missingSources };
}

/**
 * The source config may be unbound from its machine group only when no machine of the group is
 * left that is not migrated: unbinding reaches every member, and a host that was never tagged
 * would stop being collected anywhere. Machines are matched by IP (what a group member reports).
 */
export function mayRetireSourceGroup(
  groupMachines: readonly Pick<ObservedMachine, "ip">[],
  migratedIps: ReadonlySet<string>,
): { retire: boolean; notMigrated: string[] } {
  const notMigrated = [...new Set(groupMachines.map((machine) => machine.ip))]
    .filter((ip) => !migratedIps.has(ip))
    .sort();
  return { retire: notMigrated.length === 0, notMigrated };
}

/**
 * A retired source config goes back to its group when a machine of the group is neither migrated
 * nor on its way (tagged for the route, not failed): an instance offboarded or failed after the
 * retire, or a machine that joined the group since, is collected by nobody otherwise. Binding
 * reaches every member, so migrated hosts ship to the source again too (as before the cutover),
 * until the whole group is migrated and the cutover retires the config again.
 */
export function sourceGroupUncollected(
  groupIps: readonly string[],
  migratedIps: ReadonlySet<string>,
  onTheWayIps: ReadonlySet<string>,
): { restore: boolean; uncollected: string[] } {
  const uncollected = [...new Set(groupIps)]
    .filter((ip) => !migratedIps.has(ip) && !onTheWayIps.has(ip))
    .sort();
  return { restore: uncollected.length > 0, uncollected };
}

/**
 * The machines of a retired source group among instances being offboarded (by IP): the source
 * config must go back to the group before their revoke (sourceGroupUncollected, event side).
 */
export function offboardedGroupMachines(
  offboarding: ReadonlyArray<{ instanceId: string; ips: readonly string[] }>,
  groupIps: readonly string[],
): string[] {
  const group = new Set(groupIps);
  return offboarding.filter((instance) => instance.ips.some((ip) => group.has(ip))).map((i) => i.instanceId);
}

function fileKey(position: Pick<FilePosition, "host" | "inode">): string {
  return `${position.host}\u0000${position.inode}`;
}

function comparePositions(a: FilePosition, b: FilePosition): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.inode < b.inode ? -1 : a.inode > b.inode ? 1 : 0;
}
