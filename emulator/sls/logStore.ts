/**
 * The stored lines of one logstore: shards of log groups in receive order, cursors, retention, and
 * the LogRowSource the query engine reads. No HTTP; time comes from the injected clock.
 *
 * Storage is per group, column-wise (LogGroupColumns: typed arrays for times, one array of keys and
 * one of values), with content keys and short values interned in bounded tables, so a stored line
 * costs little more than its value strings. Groups expire as a whole when `receiveTime + ttl` has
 * passed on the emulator clock; expiry runs lazily on every write and read.
 */
import type { Clock } from "../core/types";
import type { LogGroupColumns } from "./logGroupCodec";
import type { LogRow, LogRowSource } from "./logRows";

/** One stored log group: what PutLogs received, stamped with its receive time. */
export interface StoredGroup {
  /** Position in its shard since the shard was created (the cursor's number). */
  readonly sequence: number;
  /** Arrival on the emulator clock, Unix seconds (`__tag__:__receive_time__`). */
  readonly receiveTime: number;
  readonly columns: LogGroupColumns;
  /** Smallest and largest `__time__` of its logs, to skip the group in a time-range scan. */
  readonly minTime: number;
  readonly maxTime: number;
  /** Uncompressed protobuf size as received. */
  readonly rawSize: number;
}

export interface ShardView {
  shardID: number;
  status: "readwrite";
  inclusiveBeginKey: string;
  exclusiveEndKey: string;
  createTime: number;
}

class Shard {
  /** Live groups; `groups[i].sequence === dropped + i`. */
  groups: StoredGroup[] = [];
  dropped = 0;

  constructor(
    readonly id: number,
    readonly beginKey: string,
    readonly endKey: string,
    readonly createTime: number,
  ) {}

  get nextSequence(): number {
    return this.dropped + this.groups.length;
  }

  /** Index of the first group received at or after `seconds` (groups.length when none). */
  indexAtOrAfter(seconds: number): number {
    let low = 0;
    let high = this.groups.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.groups[middle]?.receiveTime ?? 0) < seconds) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Drops the groups received before `seconds`; returns the lines and raw bytes dropped. */
  dropBefore(seconds: number): { lines: number; bytes: number } {
    const count = this.indexAtOrAfter(seconds);
    let lines = 0;
    let bytes = 0;
    for (let i = 0; i < count; i += 1) {
      lines += this.groups[i]?.columns.times.length ?? 0;
      bytes += this.groups[i]?.rawSize ?? 0;
    }
    if (count > 0) {
      this.groups = this.groups.slice(count);
      this.dropped += count;
    }
    return { lines, bytes };
  }
}

const hashSpace = 2n ** 128n;
const maxInternedLength = 64;
const maxInternedStrings = 100_000;

/** Splits the 128-bit MD5 key space evenly, as SLS does for a new logstore. */
function shardKeys(count: number): [string, string][] {
  const keys: [string, string][] = [];
  for (let i = 0; i < count; i += 1) {
    const begin = (hashSpace * BigInt(i)) / BigInt(count);
    const end = (hashSpace * BigInt(i + 1)) / BigInt(count);
    keys.push([hex128(begin), i + 1 === count ? "ffffffffffffffffffffffffffffffff" : hex128(end)]);
  }
  return keys;
}

function hex128(value: bigint): string {
  return value.toString(16).padStart(32, "0");
}

export interface LogStoreOptions {
  shardCount: number;
  /** Retention in days, read on every expiry check (UpdateLogStore may change it). */
  ttlDays: () => number;
}

/** A bounded string table: equal strings share one instance; past its size new strings pass through. */
class InternTable {
  private readonly table = new Map<string, string>();
  readonly intern = (text: string): string => {
    if (text.length > maxInternedLength) return text;
    const known = this.table.get(text);
    if (known !== undefined) return known;
    if (this.table.size < maxInternedStrings) this.table.set(text, text);
    return text;
  };
}

export class LogStore implements LogRowSource {
  private readonly shards: Shard[];
  private roundRobin = 0;
  private lines = 0;
  private bytes = 0;
  private readonly keys = new InternTable();
  private readonly values = new InternTable();

  constructor(
    private readonly clock: Clock,
    private readonly options: LogStoreOptions,
  ) {
    const created = this.nowSeconds();
    this.shards = shardKeys(options.shardCount).map(([begin, end], id) => new Shard(id, begin, end, created));
  }

  /** Key interning for the decoder (content keys and tag keys). */
  get internKey(): (text: string) => string {
    return this.keys.intern;
  }

  /** Value interning for the decoder (short values only). */
  get internValue(): (text: string) => string {
    return this.values.intern;
  }

  /** Stored lines (after expiry). */
  get lineCount(): number {
    this.expire();
    return this.lines;
  }

  /** Uncompressed protobuf bytes of the stored groups (after expiry). */
  get rawBytes(): number {
    this.expire();
    return this.bytes;
  }

  listShards(): ShardView[] {
    return this.shards.map((shard) => ({
      shardID: shard.id,
      status: "readwrite",
      inclusiveBeginKey: shard.beginKey,
      exclusiveEndKey: shard.endKey,
      createTime: shard.createTime,
    }));
  }

  hasShard(id: number): boolean {
    return this.shards[id] !== undefined;
  }

  /** The shard whose `[begin, end)` holds a 32-hex-digit hash key. */
  shardForKey(hashKey: string): number {
    const key = hashKey.toLowerCase().padEnd(32, "0");
    const shard = this.shards.find((candidate) => key >= candidate.beginKey && key < candidate.endKey);
    return shard?.id ?? this.shards.length - 1;
  }

  /** Stores one group in a shard (round robin when undefined); returns the group. */
  append(columns: LogGroupColumns, rawSize: number, shardId: number | undefined): StoredGroup {
    this.expire();
    const id = shardId ?? this.nextRoundRobin();
    const shard = this.shards[id];
    if (shard === undefined) throw new RangeError(`shard ${id} does not exist`);
    let minTime = Number.POSITIVE_INFINITY;
    let maxTime = Number.NEGATIVE_INFINITY;
    for (const time of columns.times) {
      if (time < minTime) minTime = time;
      if (time > maxTime) maxTime = time;
    }
    const group: StoredGroup = {
      sequence: shard.nextSequence,
      receiveTime: this.nowSeconds(),
      columns,
      minTime,
      maxTime,
      rawSize,
    };
    shard.groups.push(group);
    this.lines += columns.times.length;
    this.bytes += rawSize;
    return group;
  }

  /** The sequence a GetCursor answers: `begin`, `end`, or the first group received at or after a time. */
  cursorSequence(shardId: number, from: "begin" | "end" | number): number {
    this.expire();
    const shard = this.shard(shardId);
    if (from === "begin") return shard.dropped;
    if (from === "end") return shard.nextSequence;
    return shard.dropped + shard.indexAtOrAfter(from);
  }

  /** Whether a sequence is a position a reader may hold: from the first live group to the end. */
  isReadable(shardId: number, sequence: number): boolean {
    this.expire();
    const shard = this.shard(shardId);
    return sequence >= shard.dropped && sequence <= shard.nextSequence;
  }

  /** Up to `count` groups from `sequence` (stopping before `endSequence`), in receive order. */
  read(shardId: number, sequence: number, count: number, endSequence: number | undefined): StoredGroup[] {
    this.expire();
    const shard = this.shard(shardId);
    const start = sequence - shard.dropped;
    const stopSequence = Math.min(
      sequence + count,
      endSequence ?? Number.POSITIVE_INFINITY,
      shard.nextSequence,
    );
    return shard.groups.slice(Math.max(0, start), Math.max(0, stopSequence - shard.dropped));
  }

  /** LogRowSource: lines with `from <= __time__ < to`, shard after shard, each in receive order. */
  *scan(from: number, to: number): Iterable<LogRow> {
    this.expire();
    for (const shard of this.shards) {
      for (const group of shard.groups) {
        if (group.maxTime < from || group.minTime >= to) continue;
        const times = group.columns.times;
        for (let i = 0; i < times.length; i += 1) {
          const time = times[i] ?? 0;
          if (time >= from && time < to) yield new StoredRow(group, i);
        }
      }
    }
  }

  /** Every stored group, shard after shard (in-process helpers and tests). */
  *groups(): Iterable<StoredGroup> {
    this.expire();
    for (const shard of this.shards) yield* shard.groups;
  }

  /** Drops groups whose retention has passed on the emulator clock. */
  expire(): void {
    // A group received at r lives while now < r + ttl.
    const keepFrom = this.nowSeconds() - this.options.ttlDays() * 86_400 + 1;
    for (const shard of this.shards) {
      const first = shard.groups[0];
      if (first === undefined || first.receiveTime >= keepFrom) continue;
      const dropped = shard.dropBefore(keepFrom);
      this.lines -= dropped.lines;
      this.bytes -= dropped.bytes;
    }
  }

  private shard(id: number): Shard {
    const shard = this.shards[id];
    if (shard === undefined) throw new RangeError(`shard ${id} does not exist`);
    return shard;
  }

  private nextRoundRobin(): number {
    const id = this.roundRobin;
    this.roundRobin = (this.roundRobin + 1) % this.shards.length;
    return id;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }
}

/** The receive-time tag every stored line carries, as PullLogs shows it. */
export const receiveTimeTag = "__receive_time__";

/** One line of a stored group, read through the LogRow contract. */
class StoredRow implements LogRow {
  readonly time: number;

  constructor(
    private readonly group: StoredGroup,
    private readonly index: number,
  ) {
    this.time = group.columns.times[index] ?? 0;
  }

  get(key: string): string | undefined {
    const columns = this.group.columns;
    const start = columns.fieldStart[this.index] ?? 0;
    const end = columns.fieldStart[this.index + 1] ?? 0;
    for (let f = start; f < end; f += 1) if (columns.keys[f] === key) return columns.values[f];
    if (!key.startsWith("__")) return undefined;
    if (key === "__time__") return String(this.time);
    if (key === "__source__") return columns.source;
    if (key === "__topic__") return columns.topic;
    if (key === "__time_ns_part__") {
      const nanos = columns.timeNs?.[this.index] ?? -1;
      return nanos >= 0 ? String(nanos) : undefined;
    }
    if (key.startsWith("__tag__:")) {
      const tag = key.slice("__tag__:".length);
      if (tag === receiveTimeTag) return String(this.group.receiveTime);
      const tags = columns.tags;
      for (let i = 0; i + 1 < tags.length; i += 2) if (tags[i] === tag) return tags[i + 1];
    }
    return undefined;
  }

  *entries(): Iterable<readonly [string, string]> {
    const columns = this.group.columns;
    const end = columns.fieldStart[this.index + 1] ?? 0;
    for (let f = columns.fieldStart[this.index] ?? 0; f < end; f += 1) {
      yield [columns.keys[f] ?? "", columns.values[f] ?? ""];
    }
    yield ["__time__", String(this.time)];
    const nanos = columns.timeNs?.[this.index] ?? -1;
    if (nanos >= 0) yield ["__time_ns_part__", String(nanos)];
    yield ["__source__", columns.source];
    yield ["__topic__", columns.topic];
    const tags = columns.tags;
    for (let i = 0; i + 1 < tags.length; i += 2) yield [`__tag__:${tags[i] ?? ""}`, tags[i + 1] ?? ""];
    yield [`__tag__:${receiveTimeTag}`, String(this.group.receiveTime)];
  }
}
