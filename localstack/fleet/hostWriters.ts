/**
 * Hosts write logs: per host, writers append lines to real files under the host's `/var/log`
 * (`<host dir>/var-log/`, the files the agent reads), at a rate on the emulator clock, and rotate
 * them (rename-and-create or copytruncate, at a size or an interval). Every line names its host,
 * path and per-path sequence number (format: `formatLine`), and every write goes into the ledger.
 *
 * Cost: one timer for all writers; a tick writes each writer's due lines with one `write` call (two
 * when a rotation falls inside), so 300 hosts × 20 lines/s is 300 small writes per emulated second.
 * A tick after a long clock jump catches up in one batch (rotating at most once per interval).
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  futimesSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { onDisk } from "../agent/hostPaths";
import type { LineLedger } from "./lineLedger";

const pathSegment = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export const writerSchema = z.strictObject({
  /** The file, under `/var/log/` (the only log directory a simulated host has). */
  path: z.string().refine(
    (path) =>
      path.startsWith("/var/log/") &&
      path.length <= 255 &&
      path
        .slice("/var/log/".length)
        .split("/")
        .every((segment) => pathSegment.test(segment)),
    "a file under /var/log/ whose path segments are letters, digits, '.', '_' or '-' (no '..', at most 255 characters)",
  ),
  linesPerSecond: z.number().positive().max(10_000),
  /** Bytes per line including the newline; a line is never shorter than its header (see README). */
  lineBytes: z.number().int().min(64).max(1_048_576).default(200),
  rotate: z
    .strictObject({
      /** `rename`: path → path.1 (older ones shift up) and a new file; `copytruncate`: copy, then truncate in place. */
      mode: z.enum(["rename", "copytruncate"]),
      /** Rotate before a write would make the file larger than this. */
      sizeBytes: z.number().int().min(1024).optional(),
      /** Rotate every this many emulated seconds. */
      everySeconds: z.number().positive().optional(),
      /** Rotated files kept (path.1 … path.N). */
      keep: z.number().int().min(1).max(20).default(1),
    })
    .refine((rotate) => (rotate.sizeBytes === undefined) !== (rotate.everySeconds === undefined), {
      message: "rotate needs exactly one of sizeBytes and everySeconds",
    })
    .optional(),
});

export type WriterSpec = z.output<typeof writerSchema>;

export const writersSchema = z
  .array(writerSchema)
  .max(20)
  .default([])
  .superRefine((writers, issues) => {
    const paths = new Set(writers.map((writer) => writer.path));
    for (const [index, writer] of writers.entries()) {
      if (writers.findIndex((other) => other.path === writer.path) !== index) {
        issues.addIssue({
          code: "custom",
          path: [index, "path"],
          message: `duplicate writer path ${writer.path}`,
        });
      }
      for (let k = 1; k <= (writer.rotate?.keep ?? 0); k += 1) {
        if (paths.has(`${writer.path}.${k}`)) {
          issues.addIssue({
            code: "custom",
            path: [index, "rotate"],
            message: `rotated file ${writer.path}.${k} is another writer's path`,
          });
        }
      }
    }
  });

const HEADER_MARK = "ltx";

/**
 * One line: `<ISO time written> ltx host=<instance id> file=<path> seq=<n> <x…>` and `\n`, padded with `x`
 * to `lineBytes`. `seq` counts from 1 per (host, path) and goes on across rotations.
 */
const paddings = new Map<number, string>();

/** `x` × n, kept per length (a writer's lines differ in length by a few digits at most). */
function padding(length: number): string {
  let text = paddings.get(length);
  if (text === undefined) {
    text = "x".repeat(length);
    if (paddings.size < 4096) paddings.set(length, text);
  }
  return text;
}

export function formatLine(
  at: number,
  instanceId: string,
  path: string,
  seq: number,
  lineBytes: number,
): string {
  const header = `${new Date(at).toISOString()} ${HEADER_MARK} host=${instanceId} file=${path} seq=${seq} `;
  const pad = lineBytes - header.length - 1;
  return pad > 0 ? `${header}${padding(pad)}\n` : `${header}\n`;
}

const linePattern = /^(\S+) ltx host=(\S+) file=(\S+) seq=(\d+) /;

/** Reads a line back: which host, path and sequence it is (undefined when it is not a writer's line). */
export function parseLine(
  text: string,
): { at: number; instanceId: string; path: string; seq: number } | undefined {
  const match = linePattern.exec(text);
  if (match === null) return undefined;
  const [, time = "", instanceId = "", path = "", seq = "0"] = match;
  return { at: Date.parse(time), instanceId, path, seq: Number(seq) };
}

interface WriterState {
  instanceId: string;
  spec: WriterSpec;
  file: string;
  fd: number | undefined;
  inode: number;
  size: number;
  seq: number;
  startedAt: number;
  lastRotateAt: number;
  /** One line of this writer's length; only the header part changes per line. */
}

export interface WriterClock {
  now(): number;
  setTimeout(ms: number, callback: () => void): () => void;
}

export class HostWriters {
  private readonly writers: WriterState[] = [];
  private cancel: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly clock: WriterClock,
    readonly ledger: LineLedger,
    private readonly tickMs = 1_000,
  ) {}

  /** Adds a host's writers; `hostDir` is the host's private directory (its HostRoot). */
  add(instanceId: string, hostDir: string, specs: readonly WriterSpec[]): void {
    const now = this.clock.now();
    for (const spec of specs) {
      const file = onDisk(hostDir, spec.path);
      if (file === undefined)
        throw new Error(`${instanceId}: writer path ${spec.path} is not under /var/log`);
      mkdirSync(dirname(file), { recursive: true });
      this.writers.push({
        instanceId,
        spec,
        file,
        fd: undefined,
        inode: 0,
        size: 0,
        seq: 0,
        startedAt: now,
        lastRotateAt: now,
      });
    }
  }

  /** Runs the writers on the clock until `stop`. */
  start(): void {
    const schedule = (): void => {
      this.cancel = this.clock.setTimeout(this.tickMs, () => {
        this.tick();
        schedule();
      });
    };
    schedule();
  }

  /** Whether the writers still write (`stop` ends it for good). */
  get writing(): boolean {
    return !this.stopped;
  }

  /** Stops writing for good (the fleet's shared timer may still call `tick`). */
  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
    for (const writer of this.writers) this.close(writer);
  }

  /** Writes every line due by now. Returns how many. */
  tick(): number {
    if (this.stopped) return 0;
    const now = this.clock.now();
    let written = 0;
    for (const writer of this.writers) {
      const due = Math.floor(((now - writer.startedAt) * writer.spec.linesPerSecond) / 1000) - writer.seq;
      if (due > 0) written += this.write(writer, due, now);
    }
    return written;
  }

  /** Appends raw bytes to a writer's file as one line (tests: invalid UTF-8, overlong lines); the ledger records it. */
  writeRaw(instanceId: string, path: string, body: Buffer): number {
    const writer = this.writers.find((w) => w.instanceId === instanceId && w.spec.path === path);
    if (writer === undefined) throw new Error(`no writer ${path} on ${instanceId}`);
    const fd = this.open(writer);
    const line = body[body.length - 1] === 0x0a ? body : Buffer.concat([body, Buffer.from("\n")]);
    const startOffset = writer.size;
    writeSync(fd, line);
    this.touch(fd);
    writer.size += line.length;
    writer.seq += 1;
    // Rate-driven lines keep their numbering: this line takes the next sequence number.
    writer.startedAt -= 1000 / writer.spec.linesPerSecond;
    this.ledger.recordWrite({
      instanceId,
      path,
      inode: writer.inode,
      firstSeq: writer.seq,
      count: 1,
      startOffset,
      bytes: line.length,
      at: this.clock.now(),
    });
    return writer.seq;
  }

  /** Rotates a writer's file now, whatever its schedule (tests). */
  rotateNow(instanceId: string, path: string, mode: "rename" | "copytruncate", keep = 1): void {
    const writer = this.writers.find((w) => w.instanceId === instanceId && w.spec.path === path);
    if (writer === undefined) throw new Error(`no writer ${path} on ${instanceId}`);
    this.rotate(writer, mode, keep, this.clock.now());
  }

  stats(): { writers: number } {
    return { writers: this.writers.length };
  }

  private write(writer: WriterState, count: number, now: number): number {
    const { spec } = writer;
    const rotate = spec.rotate;
    if (rotate?.everySeconds !== undefined && now - writer.lastRotateAt >= rotate.everySeconds * 1000) {
      this.rotate(writer, rotate.mode, rotate.keep, now);
    }
    let left = count;
    while (left > 0) {
      let n = left;
      if (rotate?.sizeBytes !== undefined) {
        const room = Math.floor((rotate.sizeBytes - writer.size) / spec.lineBytes);
        if (room <= 0 && writer.size > 0) {
          this.rotate(writer, rotate.mode, rotate.keep, now);
          continue;
        }
        n = Math.max(1, Math.min(left, room));
      }
      this.append(writer, n, now);
      left -= n;
    }
    return count;
  }

  private append(writer: WriterState, count: number, now: number): void {
    const fd = this.open(writer);
    const { spec, instanceId } = writer;
    const parts: string[] = new Array(count);
    // Every line carries the time it was written (the batch's write), so latencies count from there.
    const head = `${new Date(now).toISOString()} ${HEADER_MARK} host=${instanceId} file=${spec.path} seq=`;
    for (let i = 0; i < count; i += 1) {
      const seq = writer.seq + 1 + i;
      const header = `${head}${seq} `;
      const pad = spec.lineBytes - header.length - 1;
      parts[i] = pad > 0 ? `${header}${padding(pad)}\n` : `${header}\n`;
    }
    const body = Buffer.from(parts.join(""), "utf8");
    const startOffset = writer.size;
    writeSync(fd, body);
    this.touch(fd);
    this.ledger.recordWrite({
      instanceId,
      path: spec.path,
      inode: writer.inode,
      firstSeq: writer.seq + 1,
      count,
      startOffset,
      bytes: body.length,
      at: now,
    });
    writer.seq += count;
    writer.size += body.length;
  }

  /** File times are emulator time, so the agent's "modified within 120 s" compares like with like. */
  private touch(fd: number): void {
    const seconds = this.clock.now() / 1000;
    futimesSync(fd, seconds, seconds);
  }

  private open(writer: WriterState): number {
    if (writer.fd !== undefined) return writer.fd;
    const fd = openSync(writer.file, "a");
    const stat = fstatSync(fd);
    if (stat.size === 0) this.touch(fd);
    writer.fd = fd;
    writer.inode = stat.ino;
    writer.size = stat.size;
    return fd;
  }

  private close(writer: WriterState): void {
    if (writer.fd !== undefined) closeSync(writer.fd);
    writer.fd = undefined;
  }

  private rotate(writer: WriterState, mode: "rename" | "copytruncate", keep: number, now: number): void {
    writer.lastRotateAt = now;
    if (!existsSync(writer.file)) return;
    rmSync(`${writer.file}.${keep}`, { force: true });
    for (let k = keep - 1; k >= 1; k -= 1) {
      if (existsSync(`${writer.file}.${k}`)) renameSync(`${writer.file}.${k}`, `${writer.file}.${k + 1}`);
    }
    if (mode === "rename") {
      this.close(writer);
      renameSync(writer.file, `${writer.file}.1`);
      // logrotate's `create`: the new file exists at once.
      this.open(writer);
    } else {
      copyFileSync(writer.file, `${writer.file}.1`);
      truncateSync(writer.file, 0);
      if (writer.fd !== undefined) this.touch(writer.fd);
      writer.size = 0;
    }
  }
}
