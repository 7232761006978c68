/**
 * The protobuf messages of the SLS data plane, from `@alicloud/log`'s `lib/sls.proto`:
 *
 *   message Log      { required uint32 Time = 1; repeated Content Contents = 2; optional fixed32 TimeNs = 4;
 *                      message Content { required string Key = 1; required string Value = 2; } }
 *   message LogTag   { required string Key = 1; required string Value = 2; }
 *   message LogGroup { repeated Log Logs = 1; optional string Reserved = 2; optional string Topic = 3;
 *                      optional string Source = 4; repeated LogTag LogTags = 6; }
 *   message LogGroupList { repeated LogGroup logGroupList = 1; }
 *
 * Hand-written for these five messages: the decoder fills the compact arrays the store keeps (no
 * object per line), checks wire types and required fields, and skips unknown fields as protobuf does.
 */

export class ProtobufFormatError extends Error {
  override readonly name = "ProtobufFormatError";
}

/** A decoded LogGroup in the shape the store keeps: one array per column, no object per line. */
export interface LogGroupColumns {
  topic: string;
  source: string;
  /** Tags as `[key, value, key, value, …]`. */
  tags: string[];
  /** `Time` per log (Unix seconds). */
  times: Uint32Array;
  /** `TimeNs` per log, or -1 where absent; undefined when no log has one. */
  timeNs: Float64Array | undefined;
  /** Contents of log `i` are `keys[fieldStart[i] .. fieldStart[i+1])` with the same `values`. */
  fieldStart: Uint32Array;
  keys: string[];
  values: string[];
}

/** Turns equal strings into one instance (the store passes a bounded table). */
export type Intern = (text: string) => string;

const identity: Intern = (text) => text;

const wireVarint = 0;
const wireFixed64 = 1;
const wireBytes = 2;
const wireFixed32 = 5;

/** One cursor over the whole buffer; a nested message narrows `end` while it is read (no reader per message). */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.end) throw new ProtobufFormatError("truncated varint");
      const byte = this.buf[this.pos++] ?? 0;
      if (shift < 49) result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
    throw new ProtobufFormatError("varint longer than 10 bytes");
  }

  /** Returns the [start, end) of a length-delimited field and moves past it. */
  bytes(): number {
    const length = this.varint();
    if (length > this.end - this.pos)
      throw new ProtobufFormatError("length-delimited field runs past its message");
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /**
   * Enters a length-delimited field as a message: `end` becomes the field's end, the enclosing end
   * is returned for `leave` once the message is read (then `pos` is at the field's end).
   */
  enter(): number {
    const length = this.varint();
    if (length > this.end - this.pos)
      throw new ProtobufFormatError("length-delimited field runs past its message");
    const outer = this.end;
    this.end = this.pos + length;
    return outer;
  }

  leave(outer: number): void {
    this.end = outer;
  }

  string(intern: Intern): string {
    const start = this.bytes();
    return intern(this.buf.toString("utf8", start, this.pos));
  }

  fixed32(): number {
    if (this.end - this.pos < 4) throw new ProtobufFormatError("truncated fixed32");
    const value = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }

  skip(wireType: number): void {
    if (wireType === wireVarint) this.varint();
    else if (wireType === wireBytes) this.bytes();
    else if (wireType === wireFixed32) this.fixed32();
    else if (wireType === wireFixed64) {
      if (this.end - this.pos < 8) throw new ProtobufFormatError("truncated fixed64");
      this.pos += 8;
    } else throw new ProtobufFormatError(`unsupported wire type ${wireType}`);
  }
}

function wireError(field: string, actual: number, expected: number): ProtobufFormatError {
  return new ProtobufFormatError(`${field} has wire type ${actual}, expected ${expected}`);
}

/** Decodes a LogGroup; a malformed message is a ProtobufFormatError naming what is wrong. */
export function decodeLogGroup(
  buf: Buffer,
  internKey: Intern = identity,
  internValue: Intern = identity,
): LogGroupColumns {
  const reader = new Reader(buf, 0, buf.length);
  let topic = "";
  let source = "";
  const tags: string[] = [];
  const times: number[] = [];
  const nanos: number[] = [];
  const fieldStart: number[] = [0];
  const keys: string[] = [];
  const values: string[] = [];
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1) {
      if (wire !== wireBytes) throw wireError("LogGroup.Logs", wire, wireBytes);
      const outer = reader.enter();
      decodeLog(reader, times, nanos, keys, values, internKey, internValue);
      reader.leave(outer);
      fieldStart.push(keys.length);
    } else if (field === 3) {
      if (wire !== wireBytes) throw wireError("LogGroup.Topic", wire, wireBytes);
      topic = reader.string(identity);
    } else if (field === 4) {
      if (wire !== wireBytes) throw wireError("LogGroup.Source", wire, wireBytes);
      source = reader.string(identity);
    } else if (field === 6) {
      if (wire !== wireBytes) throw wireError("LogGroup.LogTags", wire, wireBytes);
      const outer = reader.enter();
      decodePair(reader, "LogTag", internKey, identity, tags, tags);
      reader.leave(outer);
    } else if (field === 0) {
      throw new ProtobufFormatError("field number 0 is invalid");
    } else {
      reader.skip(wire);
    }
  }
  let anyNanos = false;
  for (const value of nanos) if (value >= 0) anyNanos = true;
  return {
    topic,
    source,
    tags,
    times: Uint32Array.from(times),
    timeNs: anyNanos ? Float64Array.from(nanos) : undefined,
    fieldStart: Uint32Array.from(fieldStart),
    keys,
    values,
  };
}

/** Reads one Log up to `reader.end`: its time goes to `times`, its TimeNs (or -1) to `nanos`. */
function decodeLog(
  reader: Reader,
  times: number[],
  nanos: number[],
  keys: string[],
  values: string[],
  internKey: Intern,
  internValue: Intern,
): void {
  let time: number | undefined;
  let timeNs = -1;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1) {
      if (wire !== wireVarint) throw wireError("Log.Time", wire, wireVarint);
      time = reader.varint() % 2 ** 32;
    } else if (field === 2) {
      if (wire !== wireBytes) throw wireError("Log.Contents", wire, wireBytes);
      const outer = reader.enter();
      decodePair(reader, "Log.Content", internKey, internValue, keys, values);
      reader.leave(outer);
    } else if (field === 4) {
      if (wire !== wireFixed32) throw wireError("Log.TimeNs", wire, wireFixed32);
      timeNs = reader.fixed32();
    } else if (field === 0) {
      throw new ProtobufFormatError("field number 0 is invalid");
    } else {
      reader.skip(wire);
    }
  }
  if (time === undefined) throw new ProtobufFormatError("Log.Time is required");
  times.push(time);
  nanos.push(timeNs);
}

/** Reads one key/value message up to `reader.end`; pushes the key to `keysOut`, then the value to `valuesOut`. */
function decodePair(
  reader: Reader,
  message: string,
  internKey: Intern,
  internValue: Intern,
  keysOut: string[],
  valuesOut: string[],
): void {
  let key: string | undefined;
  let value: string | undefined;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1) {
      if (wire !== wireBytes) throw wireError(`${message}.Key`, wire, wireBytes);
      key = reader.string(internKey);
    } else if (field === 2) {
      if (wire !== wireBytes) throw wireError(`${message}.Value`, wire, wireBytes);
      value = reader.string(internValue);
    } else if (field === 0) {
      throw new ProtobufFormatError("field number 0 is invalid");
    } else {
      reader.skip(wire);
    }
  }
  if (key === undefined) throw new ProtobufFormatError(`${message}.Key is required`);
  if (value === undefined) throw new ProtobufFormatError(`${message}.Value is required`);
  keysOut.push(key);
  valuesOut.push(value);
}

// ---- encoding ---------------------------------------------------------------------------------------

/** One log group to encode, in the same columns (a range of logs of it). */
export interface LogGroupSlice {
  group: LogGroupColumns;
  /** Extra tags appended after the group's own (e.g. `__receive_time__`). */
  extraTags: readonly string[];
}

/** Encodes a LogGroup (the client side of PutLogs: tests and the benchmark). */
export function encodeLogGroup(group: LogGroupColumns): Buffer {
  const slice = { group, extraTags: [] };
  const measured = measureGroup(slice);
  const writer = new Writer(measured.size);
  writeGroupBody(writer, slice, measured.logSizes);
  return writer.finish();
}

/** Encodes a LogGroupList (PullLogs' protobuf answer). */
export function encodeLogGroupList(groups: readonly LogGroupSlice[]): Buffer {
  const measured = groups.map(measureGroup);
  let total = 0;
  for (const { size } of measured) total += 1 + varintSize(size) + size;
  const writer = new Writer(total);
  for (const [index, slice] of groups.entries()) {
    const group = measured[index];
    if (group === undefined) throw new Error("no measured group");
    writer.tag(1, wireBytes);
    writer.varint(group.size);
    writeGroupBody(writer, slice, group.logSizes);
  }
  return writer.finish();
}

/** A group's encoded size and each log's (computed once: the writer needs them as length prefixes). */
interface MeasuredGroup {
  size: number;
  logSizes: Float64Array;
}

function measureGroup(slice: LogGroupSlice): MeasuredGroup {
  const { group } = slice;
  const logSizes = new Float64Array(group.times.length);
  let size = 0;
  for (let i = 0; i < group.times.length; i += 1) {
    const log = logSize(group, i);
    logSizes[i] = log;
    size += 1 + varintSize(log) + log;
  }
  if (group.topic !== "") size += stringFieldSize(group.topic);
  if (group.source !== "") size += stringFieldSize(group.source);
  for (const tags of [group.tags, slice.extraTags]) {
    for (let i = 0; i + 1 < tags.length; i += 2) {
      const pair = pairSize(tags[i] ?? "", tags[i + 1] ?? "");
      size += 1 + varintSize(pair) + pair;
    }
  }
  return { size, logSizes };
}

function logSize(group: LogGroupColumns, index: number): number {
  let size = 1 + varintSize(group.times[index] ?? 0);
  const end = group.fieldStart[index + 1] ?? 0;
  for (let f = group.fieldStart[index] ?? 0; f < end; f += 1) {
    const pair = pairSize(group.keys[f] ?? "", group.values[f] ?? "");
    size += 1 + varintSize(pair) + pair;
  }
  if (group.timeNs !== undefined && (group.timeNs[index] ?? -1) >= 0) size += 5;
  return size;
}

function pairSize(key: string, value: string): number {
  return stringFieldSize(key) + stringFieldSize(value);
}

function stringFieldSize(text: string): number {
  const length = Buffer.byteLength(text);
  return 1 + varintSize(length) + length;
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 128)) size += 1;
  return size;
}

function writeGroupBody(writer: Writer, slice: LogGroupSlice, logSizes: Float64Array): void {
  const { group } = slice;
  for (let i = 0; i < group.times.length; i += 1) {
    writer.tag(1, wireBytes);
    writer.varint(logSizes[i] ?? 0);
    writer.tag(1, wireVarint);
    writer.varint(group.times[i] ?? 0);
    const end = group.fieldStart[i + 1] ?? 0;
    for (let f = group.fieldStart[i] ?? 0; f < end; f += 1) {
      writePair(writer, 2, group.keys[f] ?? "", group.values[f] ?? "");
    }
    const nanos = group.timeNs?.[i] ?? -1;
    if (nanos >= 0) {
      writer.tag(4, wireFixed32);
      writer.fixed32(nanos);
    }
  }
  if (group.topic !== "") writer.string(3, group.topic);
  if (group.source !== "") writer.string(4, group.source);
  for (const tags of [group.tags, slice.extraTags]) {
    for (let i = 0; i + 1 < tags.length; i += 2) writePair(writer, 6, tags[i] ?? "", tags[i + 1] ?? "");
  }
}

function writePair(writer: Writer, field: number, key: string, value: string): void {
  const keyBytes = Buffer.byteLength(key);
  const valueBytes = Buffer.byteLength(value);
  writer.tag(field, wireBytes);
  writer.varint(1 + varintSize(keyBytes) + keyBytes + 1 + varintSize(valueBytes) + valueBytes);
  writer.bytesOf(1, key, keyBytes);
  writer.bytesOf(2, value, valueBytes);
}

class Writer {
  private readonly buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buf[this.pos++] = rest;
  }
  fixed32(value: number): void {
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }
  string(field: number, text: string): void {
    this.bytesOf(field, text, Buffer.byteLength(text));
  }
  /** A string field whose UTF-8 length the caller has measured. */
  bytesOf(field: number, text: string, byteLength: number): void {
    this.tag(field, wireBytes);
    this.varint(byteLength);
    this.pos += this.buf.write(text, this.pos, "utf8");
  }
  finish(): Buffer {
    if (this.pos !== this.buf.length)
      throw new Error(`encoder wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}
