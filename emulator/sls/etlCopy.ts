/**
 * What a running copy job does: a consumer of its source logstore's shards, reading log groups in
 * receive order from `fromTime` to `toTime` (receive time, Unix seconds), running them through its
 * SPL program and appending the result to every sink. No HTTP, no timers of its own: the backend
 * calls `advance(now)` whenever SLS state is read, and the run catches up tick by tick on the
 * emulator clock (idle stretches are skipped in one step, so a long advance costs nothing).
 */

import type { SplProgram } from "./etlSpl";
import type { LogGroupColumns } from "./logGroupCodec";
import type { LogStore, StoredGroup } from "./logStore";

export interface EtlCopySettings {
  /** Emulator time between two batches. */
  tickMs: number;
  /** Lines a job copies per tick at most (whole groups: a tick ends after the group that crosses it). */
  linesPerTick: number;
  /** The consumer group saves its position this often (emulator time since the run started). */
  checkpointIntervalMs: number;
  /**
   * Seconds of receive time the job scans per second of emulator time (a months-long backfill takes
   * a while even when it finds little). `fromTime: 0` scans from the first stored group.
   */
  scanSpeed: number;
  /** Whether a group received exactly at `toTime` is copied ([from, to] instead of [from, to)). */
  toTimeInclusive: boolean;
  /**
   * When set, the tag the source's `__receive_time__` is written under in the sink (the sink stamps its
   * own `__receive_time__` in any case). What the real service does with it is unverified.
   */
  sourceReceiveTimeTag: string | undefined;
}

export interface EtlSinkTarget {
  name: string;
  store: LogStore;
}

/** Where a run reads and writes, looked up on every tick; a string is why it cannot. */
export interface EtlEndpoints {
  source(): LogStore | string;
  sinks(): EtlSinkTarget[] | string;
}

export interface EtlRange {
  fromTime: number;
  /** 0: until stopped. */
  toTime: number;
}

const readBatchGroups = 256;

export class EtlCopyRun {
  /** Next sequence to read, per shard; undefined until the first tick. */
  private positions: number[] | undefined;
  /** The position the consumer group saved last. */
  private saved: number[] | undefined;
  private nextTickAt: number;
  private nextSaveAt: number;
  private doneAt: number | undefined;
  private failed: { reason: string; at: number } | undefined;
  private copied = 0;
  /** The receive second the scan starts at (fixed on the first tick). */
  private origin: number | undefined;
  private readonly startAt: number;

  constructor(
    private readonly range: EtlRange,
    private readonly program: SplProgram,
    private readonly settings: EtlCopySettings,
    /** When the run starts copying (the end of STARTING), emulator ms. */
    startAt: number,
    /** The consumer group's saved position, from an earlier run of the same job. */
    checkpoint: readonly number[] | undefined,
  ) {
    this.startAt = startAt;
    this.nextTickAt = startAt;
    this.nextSaveAt = startAt + settings.checkpointIntervalMs;
    this.positions = checkpoint === undefined ? undefined : [...checkpoint];
    this.saved = this.positions === undefined ? undefined : [...this.positions];
  }

  /** When every line up to `toTime` was copied (bounded runs only). */
  get completedAt(): number | undefined {
    return this.doneAt;
  }

  get failure(): { reason: string; at: number } | undefined {
    return this.failed;
  }

  /** Lines written to each sink so far in this run. */
  get linesCopied(): number {
    return this.copied;
  }

  /** Does every tick due by `now`. */
  advance(now: number, endpoints: EtlEndpoints): void {
    while (this.doneAt === undefined && this.failed === undefined && this.nextTickAt <= now) {
      this.tick(this.nextTickAt, now, endpoints);
    }
    this.saveDue(now);
  }

  /**
   * The position a restart resumes from: the current one after a clean stop, else (a crash, or the
   * injected fault) the last periodic save, so what came after it is copied again.
   */
  checkpoint(now: number, clean: boolean): number[] | undefined {
    this.saveDue(now);
    return clean ? this.positions?.slice() : this.saved?.slice();
  }

  private tick(at: number, now: number, endpoints: EtlEndpoints): void {
    const source = endpoints.source();
    if (typeof source === "string") {
      this.fail(source, at);
      return;
    }
    const sinks = endpoints.sinks();
    if (typeof sinks === "string") {
      this.fail(sinks, at);
      return;
    }
    const shards = source.listShards().length;
    if (this.positions?.length !== shards) {
      this.positions = Array.from({ length: shards }, (_, shard) =>
        source.cursorSequence(shard, this.range.fromTime),
      );
    }
    const positions = this.positions;
    const origin = this.originOf(source, positions, Math.floor(at / 1000));
    this.saveDue(at);

    const atSeconds = Math.floor(at / 1000);
    const endTime = this.endTime();
    // The scan has reached receive times up to `origin + elapsed · speed`.
    const scanned = origin + Math.floor(((at - this.startAt) * this.settings.scanSpeed) / 1000);
    let budget = this.settings.linesPerTick;
    let backlog = false;
    for (let shard = 0; shard < shards; shard += 1) {
      // Groups received by this tick and before the end of the range.
      const available = source.cursorSequence(shard, Math.min(atSeconds, scanned) + 1);
      const end =
        endTime === undefined ? available : Math.min(available, source.cursorSequence(shard, endTime));
      let position = Math.max(positions[shard] ?? 0, source.cursorSequence(shard, "begin"));
      while (position < end && budget > 0) {
        const groups = source.read(shard, position, readBatchGroups, end);
        if (groups.length === 0) break;
        for (const group of groups) {
          if (budget <= 0) break;
          this.copyGroup(group, sinks);
          budget -= group.columns.times.length;
          position = group.sequence + 1;
        }
      }
      positions[shard] = position;
      if (position < end) backlog = true;
    }

    if (endTime !== undefined && !backlog && atSeconds >= endTime && scanned >= endTime - 1) {
      this.doneAt = at;
      return;
    }
    const tickMs = this.settings.tickMs;
    if (backlog) {
      this.nextTickAt = at + tickMs;
      return;
    }
    // Idle: sleep until the next stored group is due or the range closes (never past `now`'s tick).
    let wake = now + 1;
    for (let shard = 0; shard < shards; shard += 1) {
      const [next] = source.read(shard, positions[shard] ?? 0, 1, undefined);
      if (next !== undefined) wake = Math.min(wake, this.readableAt(next.receiveTime, origin));
    }
    if (endTime !== undefined)
      wake = Math.min(wake, Math.max(endTime * 1000, this.readableAt(endTime - 1, origin)));
    this.nextTickAt = nextOnGrid(at, tickMs, Math.max(wake, at + 1));
  }

  /**
   * Saves the position if a save instant has passed. Positions change only at ticks, and none ran
   * between that instant and `at`, so the position now is the one the instant saw.
   */
  private saveDue(at: number): void {
    if (this.positions === undefined || this.nextSaveAt > at) return;
    this.saved = [...this.positions];
    this.nextSaveAt = nextOnGrid(this.nextSaveAt, this.settings.checkpointIntervalMs, at + 1);
  }

  /** When a group received at `second` has been received and scanned. */
  private readableAt(second: number, origin: number): number {
    const scannedBy = this.startAt + Math.ceil(((second - origin) * 1000) / this.settings.scanSpeed);
    return Math.max(second * 1000, scannedBy);
  }

  /**
   * Where the scan starts: the first stored group at or after the run's position (GetCursor on
   * `fromTime` for a fresh run, the saved position for a resumed one), or now when there is none.
   * A consumer positions itself with a cursor, so receive time before the first stored group costs
   * nothing (a backfill `from` months before any data starts at once).
   */
  private originOf(source: LogStore, positions: readonly number[], nowSeconds: number): number {
    if (this.origin !== undefined) return this.origin;
    let origin = nowSeconds;
    positions.forEach((position, shard) => {
      const [first] = source.read(shard, position, 1, undefined);
      if (first !== undefined) origin = Math.min(origin, first.receiveTime);
    });
    this.origin = origin;
    return origin;
  }

  /** The first receive second not copied, for a bounded range. */
  private endTime(): number | undefined {
    if (this.range.toTime <= 0) return undefined;
    return this.settings.toTimeInclusive ? this.range.toTime + 1 : this.range.toTime;
  }

  private copyGroup(group: StoredGroup, sinks: readonly EtlSinkTarget[]): void {
    const columns = this.program.transform(group);
    if (columns === undefined) return;
    const written = this.withSourceReceiveTime(columns, group);
    const rawSize = this.program.identity ? group.rawSize : estimateRawSize(written);
    for (const sink of sinks) sink.store.append(written, rawSize, undefined);
    this.copied += written.times.length;
  }

  private withSourceReceiveTime(columns: LogGroupColumns, group: StoredGroup): LogGroupColumns {
    const tag = this.settings.sourceReceiveTimeTag;
    if (tag === undefined) return columns;
    return { ...columns, tags: [...columns.tags, tag, String(group.receiveTime)] };
  }

  private fail(reason: string, at: number): void {
    this.failed = { reason, at };
  }
}

/** The first point `start + k·step` (k ≥ 1) at or after `atLeast`. */
function nextOnGrid(start: number, step: number, atLeast: number): number {
  return start + step * Math.max(1, Math.ceil((atLeast - start) / step));
}

/** Protobuf size of a group, near enough for the store's byte counts. */
function estimateRawSize(columns: LogGroupColumns): number {
  let size = columns.topic.length + columns.source.length + 8;
  for (const text of columns.tags) size += text.length + 2;
  for (let i = 0; i < columns.keys.length; i += 1) {
    size += (columns.keys[i]?.length ?? 0) + (columns.values[i]?.length ?? 0) + 6;
  }
  return size + columns.times.length * 10;
}
