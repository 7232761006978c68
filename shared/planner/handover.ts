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

/** The destination config's first line in a file, and when it was received (Unix seconds). */
export interface DestinationStart extends FilePosition {
  since: number;
}

/** The source config's last line in a file before the copy's end, and when it was received. */
export interface SourceProgress extends FilePosition {
  received: number;
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
}

export type HandoverVerdict =
  | {
      kind: "ready";
      /** Source lines at or past these offsets were read by the destination config too: not copied. */
      exclusions: FilePosition[];
    }
  | {
      kind: "waiting";
      /** Files where the source has not shipped up to the destination's first offset yet. */
      behind: Array<{ host: string; inode: string; sourceAt: number | undefined; destinationFrom: number }>;
      /** Files the source is shipping that the destination has not shipped a line of yet. */
      unread: FilePosition[];
    };

/**
 * Whether the copy may be cut now.
 * - A file both configs read: the destination's first offset F splits it. The source lines below F
 *   are copied, so the source must have shipped past F before the copy's end (else: wait). When the
 *   destination read it from its start (F = 0) nothing of the source's is needed.
 * - A file only the source is shipping (a line within `sourceSilenceSeconds` of the copy's end), of
 *   a host the destination reads other files of: the destination has not seen the file yet, and
 *   lines shipped by the source after the copy's end would be lost: wait. (A host the destination
 *   has no line of at all is not known to be migrated: README, residual risks.)
 * - A file idle in the source: copied whole; the destination starts at its end.
 * - A file only the destination reads, for `sourceSilenceSeconds`: not the source's (paths differ).
 */
export function decideHandover(
  destinationFirst: readonly DestinationStart[],
  sourceLast: readonly SourceProgress[],
  timing: HandoverTiming,
): HandoverVerdict {
  const sourceAt = new Map(sourceLast.map((position) => [fileKey(position), position]));
  const destinationFiles = new Set(destinationFirst.map(fileKey));
  const exclusions: FilePosition[] = [];
  const behind: Extract<HandoverVerdict, { kind: "waiting" }>["behind"] = [];
  for (const start of destinationFirst) {
    const { host, inode, offset } = start;
    const reached = sourceAt.get(fileKey(start))?.offset;
    const silent = reached === undefined && timing.now - start.since >= timing.sourceSilenceSeconds;
    if (offset === 0 || (reached !== undefined && reached >= offset) || silent) {
      exclusions.push({ host, inode, offset });
    } else {
      behind.push({ host, inode, sourceAt: reached, destinationFrom: offset });
    }
  }
  // Only hosts the destination reads from: a host that is not migrated (failed, or in the source
  // group without the route) ships to the source alone for good and must not hold the cut back.
  const destinationHosts = new Set(destinationFirst.map((start) => start.host));
  const unread = sourceLast
    .filter(
      (progress) =>
        destinationHosts.has(progress.host) &&
        !destinationFiles.has(fileKey(progress)) &&
        progress.received > timing.until - timing.sourceSilenceSeconds,
    )
    .map(({ host, inode, offset }) => ({ host, inode, offset }))
    .sort(comparePositions);
  exclusions.sort(comparePositions);
  return behind.length > 0 || unread.length > 0
    ? { kind: "waiting", behind, unread }
    : { kind: "ready", exclusions };
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

function fileKey(position: Pick<FilePosition, "host" | "inode">): string {
  return `${position.host}\u0000${position.inode}`;
}

function comparePositions(a: FilePosition, b: FilePosition): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.inode < b.inode ? -1 : a.inode > b.inode ? 1 : 0;
}
