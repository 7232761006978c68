/**
 * The ledger of every line the simulated hosts wrote: per (instance, path) the runs of lines written
 * into one file (inode) at consecutive offsets, so a million lines cost a few objects. It is what
 * the logstores are compared against: a line is (instance, path, sequence); its inode and offset
 * come from the run that holds it. The agents add what became of unusual lines (split, invalid
 * UTF-8 replaced, lost to a truncation or to a file removed before it was read).
 */

/** Lines `firstSeq..lastSeq` written one after the other into one file from `startOffset`. */
export interface WrittenRun {
  inode: number;
  firstSeq: number;
  lastSeq: number;
  startOffset: number;
  /** Bytes per line including the newline, or 0 when the run's lines differ in length (`endOffset`). */
  lineBytes: number;
  endOffset: number;
  /** Emulator ms of the first line's write. */
  writtenAt: number;
}

export interface FileLedger {
  instanceId: string;
  path: string;
  lines: number;
  bytes: number;
  runs: WrittenRun[];
}

export type LineFate =
  /** A line longer than the agent's limit, shipped as several logs. */
  | "split"
  /** Bytes that are not UTF-8, shipped with U+FFFD in their place. */
  | "invalid-utf8"
  /** Lines the agent will never read: truncated (copytruncate) or removed before it got to them. */
  | "unread";

export interface FateRecord {
  instanceId: string;
  path: string;
  inode: number;
  fromOffset: number;
  toOffset: number;
  fate: LineFate;
  /** Emulator ms. */
  at: number;
}

export class LineLedger {
  private readonly files = new Map<string, FileLedger>();
  private readonly fateRecords: FateRecord[] = [];
  private readonly maxFates: number;
  private droppedFates = 0;

  constructor(options: { maxFateRecords?: number } = {}) {
    this.maxFates = options.maxFateRecords ?? 10_000;
  }

  /** Records `count` lines written at once; consecutive writes of equal lines extend one run. */
  recordWrite(entry: {
    instanceId: string;
    path: string;
    inode: number;
    firstSeq: number;
    count: number;
    startOffset: number;
    bytes: number;
    at: number;
  }): void {
    if (entry.count <= 0) return;
    const file = this.file(entry.instanceId, entry.path);
    const lineBytes = entry.bytes % entry.count === 0 ? entry.bytes / entry.count : 0;
    const last = file.runs[file.runs.length - 1];
    if (
      last !== undefined &&
      last.inode === entry.inode &&
      last.lineBytes !== 0 &&
      last.lineBytes === lineBytes &&
      last.endOffset === entry.startOffset &&
      last.lastSeq + 1 === entry.firstSeq
    ) {
      last.lastSeq += entry.count;
      last.endOffset += entry.bytes;
    } else {
      file.runs.push({
        inode: entry.inode,
        firstSeq: entry.firstSeq,
        lastSeq: entry.firstSeq + entry.count - 1,
        startOffset: entry.startOffset,
        lineBytes,
        endOffset: entry.startOffset + entry.bytes,
        writtenAt: entry.at,
      });
    }
    file.lines += entry.count;
    file.bytes += entry.bytes;
  }

  /** What an agent did with an unusual stretch of a file (bounded: the oldest records are kept). */
  recordFate(record: FateRecord): void {
    if (this.fateRecords.length >= this.maxFates) {
      this.droppedFates += 1;
      return;
    }
    this.fateRecords.push(record);
  }

  /** Where line `seq` of a path is: its file's inode and its offset (undefined: never written). */
  locate(instanceId: string, path: string, seq: number): { inode: number; offset: number } | undefined {
    const file = this.files.get(key(instanceId, path));
    if (file === undefined) return undefined;
    for (const run of file.runs) {
      if (seq < run.firstSeq || seq > run.lastSeq) continue;
      if (run.lineBytes === 0)
        return seq === run.firstSeq ? { inode: run.inode, offset: run.startOffset } : undefined;
      return { inode: run.inode, offset: run.startOffset + (seq - run.firstSeq) * run.lineBytes };
    }
    return undefined;
  }

  file(instanceId: string, path: string): FileLedger {
    const id = key(instanceId, path);
    let file = this.files.get(id);
    if (file === undefined) {
      file = { instanceId, path, lines: 0, bytes: 0, runs: [] };
      this.files.set(id, file);
    }
    return file;
  }

  filesOf(instanceId?: string): FileLedger[] {
    const all = [...this.files.values()];
    return instanceId === undefined ? all : all.filter((file) => file.instanceId === instanceId);
  }

  fates(): readonly FateRecord[] {
    return this.fateRecords;
  }

  totals(): {
    files: number;
    lines: number;
    bytes: number;
    runs: number;
    fates: number;
    droppedFates: number;
  } {
    let lines = 0;
    let bytes = 0;
    let runs = 0;
    for (const file of this.files.values()) {
      lines += file.lines;
      bytes += file.bytes;
      runs += file.runs.length;
    }
    return {
      files: this.files.size,
      lines,
      bytes,
      runs,
      fates: this.fateRecords.length,
      droppedFates: this.droppedFates,
    };
  }
}

function key(instanceId: string, path: string): string {
  return `${instanceId}\u0000${path}`;
}
