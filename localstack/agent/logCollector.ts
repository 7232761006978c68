/**
 * Simulated Logtail collection: each host's agent reads the files its configs select, by the rules
 * in `collectionRules.ts`, and ships what it reads through the emulator's real PutLogs over HTTP.
 *
 * Per tick (1 s of emulator time by default) and host: which configs reached the agent (per
 * account, after that account's delivery delay), one directory listing per base directory, one
 * `fstat` per reader and one `read` per reader with new bytes; the lines of one read become one
 * LogGroup (one PutLogs). Nothing is done per line but splitting a buffer.
 *
 * Modelled (see ../README.md "Collection" for sources and parameters): config delivery delay per
 * account; the ownership contest and forced configs; reader and checkpoint per (inode, config);
 * TailSizeKB start, 0 for files created while watching, the 120 s rule on (re)registration; readers
 * that follow their inode after a rename; truncation read again from 0; dropped checkpoints of
 * removed configs; checkpoints saved every 15 min, on config updates and clean stops (a crash re-reads
 * from the last save); a send whose answer was lost is sent again with the same body and `__pack_id__`.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import type { Clock } from "../../emulator/core/types";
import type { LogGroupColumns } from "../../emulator/sls/logGroupCodec";
import {
  type CollectionConfig,
  coversDir,
  DEFAULT_TAIL_SIZE_KB,
  EXISTED_FILE_ACTIVE_TIMEOUT_MS,
  packId,
  readersOf,
  sourceIdOf,
  tailStart,
} from "./collectionRules";
import { onDisk } from "./hostPaths";
import {
  type AccessKey,
  buildPutLogsBody,
  type PutLogsBody,
  type PutLogsOutcome,
  type PutLogsTarget,
} from "./putLogsClient";

/** The host as the collector needs it (a SimulatedHost). */
export interface CollectorHost {
  instanceId: string;
  os: "linux" | "windows";
  ip: string;
  hostId: string;
  slsRegion: string;
  /** `logtail_version` / `loongcollector_version`; a 1.x agent gets the conservative model. */
  agentVersion: string;
  /** The host's private directory (its `/var/log` is `var-log/` in it). */
  hostDir(): string;
  networkToSls(): boolean;
}

/** What the agent knows of itself at this moment (from the heartbeat simulator). */
export interface AgentIdentity {
  running: boolean;
  accountIds: readonly string[];
  identifiers: readonly string[];
}

/** The configs of one account that reach a host with these identifiers and IP, as SLS has them now. */
export type ConfigSource = (
  accountId: string,
  region: string,
  identity: { identifiers: readonly string[]; ip: string },
) => CollectionConfig[];

export type Sender = (target: PutLogsTarget, body: PutLogsBody) => Promise<PutLogsOutcome>;

export interface LogCollectorOptions {
  /** Emulator ms between reads. */
  tickMs: number;
  /** Delay before a config change in an account reaches its hosts (unverified for Alibaba's agent). */
  configDelayMs: (accountId: string) => number;
  /** Checkpoints are saved this often (Logtail: 15 min, plus jitter). */
  checkpointIntervalMs: number;
  /** Upper bound of a per-host spread added to the first save (0: all hosts save together). */
  checkpointJitterMs: number;
  /** Bytes read at most per reader and tick (Logtail's read buffer, 512 KB). */
  maxReadBytes: number;
  /** A line longer than this is shipped as several logs (`max_read_buffer_size`, 512 KB; unverified as a line limit). */
  maxLineBytes: number;
  /** Sends failing this long are dropped (Logtail: 6 h). */
  dropAfterMs: number;
  /** Sends in flight across all agents. */
  maxInFlight: number;
  /** How the identifier set is joined in `__tag__:__user_defined_id__` (unverified). */
  userDefinedIdSeparator: string;
}

export const DEFAULT_COLLECTOR_OPTIONS: LogCollectorOptions = {
  tickMs: 1_000,
  configDelayMs: () => 10_000,
  checkpointIntervalMs: 15 * 60_000,
  checkpointJitterMs: 0,
  maxReadBytes: 512 * 1024,
  maxLineBytes: 512 * 1024,
  dropAfterMs: 6 * 3_600_000,
  maxInFlight: 64,
  userDefinedIdSeparator: " ",
};

export interface CollectorEvents {
  /** A stretch of a file the agent will not ship as written (split, invalid UTF-8, unread). */
  fate?(record: {
    instanceId: string;
    path: string;
    inode: number;
    fromOffset: number;
    toOffset: number;
    fate: "split" | "invalid-utf8" | "unread";
    at: number;
  }): void;
  /** A pack PutLogs accepted (`at`: emulator ms); `firstLine` is its first line's text. */
  delivered?(pack: { lines: number; firstLine: string; at: number; attempts: number }): void;
}

interface Reader {
  key: string;
  config: CollectionConfig;
  inode: number;
  path: string;
  fd: number;
  offset: number;
  size: number;
  /** The inode was at a matching name in the last listing. */
  seen: boolean;
  /** The file's first bytes (up to 1 KB) as the reader knew them: a change means another file. */
  signatureLength: number;
  signature: string;
}

/** An offset and the file's signature (its first bytes, up to 1 KB) when it was saved. */
interface Checkpoint {
  offset: number;
  signatureLength: number;
  signature: string;
}

const SIGNATURE_BYTES = 1024;

interface Registration {
  at: number;
  /**
   * Files at matching names when the config was (re)registered ("existing" files), by inode and
   * birth time: a file created later under a reused inode number is a new file, read from 0.
   */
  existing: Set<string> | undefined;
}

interface AccountView {
  history: Array<{ at: number; fingerprint: string; configs: CollectionConfig[] }>;
}

interface HostState {
  host: CollectorHost;
  running: boolean;
  views: Map<string, AccountView>;
  /** False until the first config check (what exists then counts as delivered long ago). */
  viewsStarted: boolean;
  configs: CollectionConfig[];
  fingerprint: string;
  registrations: Map<string, Registration>;
  readers: Map<string, Reader>;
  /** Checkpoints as last saved to disk, by reader key; what a crash goes back to. */
  saved: Map<string, Checkpoint>;
  nextSaveAt: number;
  packSequence: Map<string, number>;
}

interface Pack {
  instanceId: string;
  target: PutLogsTarget;
  body: PutLogsBody;
  lines: number;
  firstLine: string;
  enqueuedAt: number;
  nextAt: number;
  attempts: number;
  inFlight: boolean;
  /** Accepted or refused: leaves the queue at the next pump. */
  done: boolean;
}

export interface CollectorStats {
  hosts: number;
  readers: number;
  linesRead: number;
  packsQueued: number;
  packsSent: number;
  linesSent: number;
  resends: number;
  refused: number;
  dropped: number;
  pending: number;
}

export class LogCollector {
  private readonly hosts = new Map<string, HostState>();
  private queue: Pack[] = [];
  private inFlight = 0;
  private readyFrom = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly options: LogCollectorOptions;
  private readonly counters = {
    linesRead: 0,
    packsQueued: 0,
    packsSent: 0,
    linesSent: 0,
    resends: 0,
    refused: 0,
    dropped: 0,
  };
  private cancel: (() => void) | undefined;
  private readonly scratch: Buffer;

  constructor(
    private readonly clock: Clock & { setTimeout(ms: number, callback: () => void): () => void },
    private readonly deps: {
      identity(instanceId: string): AgentIdentity | undefined;
      configs: ConfigSource;
      keyOf(accountId: string): AccessKey | undefined;
      send: Sender;
      events?: CollectorEvents;
    },
    options: Partial<LogCollectorOptions> = {},
  ) {
    this.options = { ...DEFAULT_COLLECTOR_OPTIONS, ...options };
    this.scratch = Buffer.allocUnsafe(this.options.maxReadBytes);
  }

  get tickMs(): number {
    return this.options.tickMs;
  }

  add(host: CollectorHost): void {
    const now = this.clock.now();
    const jitter =
      this.options.checkpointJitterMs > 0 ? sourceHash(host.instanceId) % this.options.checkpointJitterMs : 0;
    this.hosts.set(host.instanceId, {
      host,
      running: false,
      views: new Map(),
      viewsStarted: false,
      configs: [],
      fingerprint: "",
      registrations: new Map(),
      readers: new Map(),
      saved: new Map(),
      nextSaveAt: now + this.options.checkpointIntervalMs + jitter,
      packSequence: new Map(),
    });
  }

  start(): void {
    const schedule = (): void => {
      this.cancel = this.clock.setTimeout(this.options.tickMs, () => {
        this.tick();
        schedule();
      });
    };
    this.tick();
    schedule();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    for (const state of this.hosts.values()) this.closeReaders(state);
  }

  /** Reads what is new on every host and sends what is due. */
  tick(): void {
    const now = this.clock.now();
    for (const state of this.hosts.values()) this.tickHost(state, now);
    this.pump(now);
  }

  /** Resolves once no send is in flight (tests and benches, after advancing the clock). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /**
   * The agent process dies and its daemon starts it again: readers go back to the last saved
   * checkpoints (what was read since is read again), unsent packs in memory are lost, every config
   * is registered again.
   */
  crash(instanceId: string): void {
    const state = this.hosts.get(instanceId);
    if (state === undefined) throw new Error(`no collecting agent on ${instanceId}`);
    this.closeReaders(state);
    this.queue = this.queue.filter((pack) => pack.instanceId !== instanceId || pack.inFlight);
    this.readyFrom = 0;
    state.fingerprint = "";
  }

  /**
   * The agent is stopped and started again by its init script: the stop saves every reader's
   * checkpoint and the readers close; packs read but not sent stay queued (the agent flushes
   * them at the stop, or sends them after the start: either way they arrive once); every config
   * is registered again, and each file is picked up from its checkpoint.
   */
  restart(instanceId: string): void {
    const state = this.hosts.get(instanceId);
    if (state === undefined) throw new Error(`no collecting agent on ${instanceId}`);
    this.save(state);
    this.closeReaders(state);
    state.fingerprint = "";
  }

  /** Saves every reader's offset now (what a clean stop and a config update do). */
  saveCheckpoints(instanceId: string): void {
    const state = this.hosts.get(instanceId);
    if (state !== undefined) this.save(state);
  }

  readerOffsets(instanceId: string): Array<{ config: string; inode: number; path: string; offset: number }> {
    const state = this.hosts.get(instanceId);
    if (state === undefined) return [];
    return [...state.readers.values()].map((reader) => ({
      config: reader.config.id,
      inode: reader.inode,
      path: reader.path,
      offset: reader.offset,
    }));
  }

  /** Config ids the agent runs now (after delivery delays). */
  configsOf(instanceId: string): string[] {
    return this.hosts.get(instanceId)?.configs.map((config) => config.id) ?? [];
  }

  stats(): CollectorStats {
    let readers = 0;
    for (const state of this.hosts.values()) readers += state.readers.size;
    const pending = this.queue.filter((pack) => !pack.done).length;
    return { hosts: this.hosts.size, readers, ...this.counters, pending };
  }

  // ---- one host ----------------------------------------------------------------------------------

  private tickHost(state: HostState, now: number): void {
    const identity = this.deps.identity(state.host.instanceId);
    const running = identity?.running ?? false;
    if (!running || identity === undefined) {
      if (state.running) {
        // A clean stop saves the checkpoints; the readers close.
        this.save(state);
        this.closeReaders(state);
        state.fingerprint = "";
        state.running = false;
      }
      return;
    }
    state.running = true;
    this.updateConfigs(state, identity, now);
    if (state.configs.length === 0 && state.readers.size === 0) return;
    if (now >= state.nextSaveAt) {
      this.save(state);
      state.nextSaveAt = now + this.options.checkpointIntervalMs;
    }
    this.scan(state, now);
    this.read(state, identity, now);
  }

  /** Applies, per account, the newest config set whose delivery delay has passed. */
  private updateConfigs(state: HostState, identity: AgentIdentity, now: number): void {
    const { host } = state;
    const accounts = new Set(identity.accountIds);
    for (const accountId of new Set([...accounts, ...state.views.keys()])) {
      const configs = accounts.has(accountId)
        ? this.deps.configs(accountId, host.slsRegion, { identifiers: identity.identifiers, ip: host.ip })
        : [];
      const fingerprint = configs.map((config) => `${config.id}@${config.lastModifyTime}`).join(",");
      let view = state.views.get(accountId);
      if (view === undefined) {
        // What is configured when the simulation starts is there already (delivered long ago); an
        // account authorized later starts empty and gets its configs after its delay.
        view = state.viewsStarted
          ? { history: [{ at: Number.NEGATIVE_INFINITY, fingerprint: "", configs: [] }] }
          : { history: [{ at: Number.NEGATIVE_INFINITY, fingerprint, configs }] };
        state.views.set(accountId, view);
      }
      const last = view.history[view.history.length - 1];
      if (last === undefined || last.fingerprint !== fingerprint)
        view.history.push({ at: now, fingerprint, configs });
      const delay = this.options.configDelayMs(accountId);
      while (view.history.length > 1 && (view.history[1]?.at ?? Number.POSITIVE_INFINITY) + delay <= now) {
        view.history.shift();
      }
    }
    state.viewsStarted = true;
    const effective = [...state.views.values()].flatMap((view) => view.history[0]?.configs ?? []);
    effective.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const fingerprint = effective.map((config) => `${config.id}@${config.lastModifyTime}`).join(",");
    if (fingerprint === state.fingerprint) return;
    // A config update: save offsets, drop readers and checkpoints of configs gone, register all again.
    // A running agent has seen (by inotify, within milliseconds) the files created since its last
    // look: they have readers from 0 before the update, as Logtail's would. Without this look a
    // file created within the tick before the update would count as existing and start at its end.
    // A process that just started (no readers) has no such memory.
    if (state.readers.size > 0) this.scan(state, now);
    const kept = new Set(effective.map((config) => config.id));
    this.save(state);
    for (const [key, reader] of state.readers) {
      if (!kept.has(reader.config.id)) {
        closeSync(reader.fd);
        state.readers.delete(key);
      }
    }
    for (const key of [...state.saved.keys()]) {
      if (!kept.has(key.slice(key.indexOf("|") + 1))) state.saved.delete(key);
    }
    const byId = new Map(effective.map((config) => [config.id, config]));
    for (const reader of state.readers.values()) reader.config = byId.get(reader.config.id) ?? reader.config;
    state.configs = effective;
    state.fingerprint = fingerprint;
    state.registrations = new Map(effective.map((config) => [config.id, { at: now, existing: undefined }]));
  }

  /** Lists each directory once, decides each file's readers, opens the readers that are new. */
  private scan(state: HostState, now: number): void {
    const { host } = state;
    for (const reader of state.readers.values()) reader.seen = false;
    const honoursForce = majorVersion(host.agentVersion) >= 2;
    const inodesOf = new Map<string, Set<string>>();
    for (const [dir, configs] of this.directories(state)) {
      const diskDir = onDisk(host.hostDir(), dir);
      if (diskDir === undefined) continue;
      let names: string[];
      try {
        names = readdirSync(diskDir);
      } catch {
        continue;
      }
      for (const name of names) {
        const candidates = configs.filter((config) => config.filePattern.test(name));
        if (candidates.length === 0) continue;
        let stat: { ino: number; size: number; mtimeMs: number; birthtimeMs: number; isFile(): boolean };
        try {
          stat = statSync(`${diskDir}/${name}`);
        } catch {
          continue; // removed since the listing
        }
        if (!stat.isFile()) continue;
        const winners = new Set(readersOf(candidates, honoursForce));
        for (const config of candidates) {
          const inodes = inodesOf.get(config.id) ?? new Set<string>();
          inodesOf.set(config.id, inodes);
          inodes.add(fileIdentity(stat));
          const key = `${stat.ino}|${config.id}`;
          const reader = state.readers.get(key);
          if (!winners.has(config)) {
            // Lost the contest (Logtail drops the loser's reader and checkpoint on the update).
            if (reader !== undefined) {
              closeSync(reader.fd);
              state.readers.delete(key);
            }
            state.saved.delete(key);
            continue;
          }
          if (reader !== undefined) reader.seen = true;
          else this.open(state, config, `${dir}/${name}`, `${diskDir}/${name}`, stat, now);
        }
      }
    }
    for (const config of state.configs) {
      const registration = state.registrations.get(config.id);
      if (registration !== undefined && registration.existing === undefined) {
        registration.existing = inodesOf.get(config.id) ?? new Set();
      }
    }
  }

  /** Every directory some config reads, with the configs that read files directly in it. */
  private directories(state: HostState): Map<string, CollectionConfig[]> {
    const dirs = new Map<string, CollectionConfig[]>();
    const addDir = (dir: string): void => {
      if (!dirs.has(dir)) dirs.set(dir, []);
    };
    for (const config of state.configs) {
      addDir(config.baseDir);
      if (config.maxDepth === 0) continue;
      const walk = (dir: string, level: number): void => {
        const disk = onDisk(state.host.hostDir(), dir);
        if (disk === undefined || level >= config.maxDepth) return;
        let entries: Array<{ name: string; isDirectory(): boolean }>;
        try {
          entries = readdirSync(disk, { withFileTypes: true });
        } catch {
          return;
        }
        for (const entry of entries) {
          if (!entry.isDirectory()) continue;
          addDir(`${dir}/${entry.name}`);
          walk(`${dir}/${entry.name}`, level + 1);
        }
      };
      walk(config.baseDir, 0);
    }
    for (const [dir, list] of dirs)
      for (const config of state.configs) if (coversDir(config, dir)) list.push(config);
    return dirs;
  }

  private open(
    state: HostState,
    config: CollectionConfig,
    path: string,
    diskPath: string,
    stat: { ino: number; size: number; mtimeMs: number; birthtimeMs: number },
    now: number,
  ): void {
    const key = `${stat.ino}|${config.id}`;
    const registration = state.registrations.get(config.id);
    const checkpoint = state.saved.get(key);
    let offset: number;
    if (checkpoint !== undefined) {
      offset = checkpoint.offset <= stat.size ? checkpoint.offset : 0;
    } else if (registration?.existing !== undefined && !registration.existing.has(fileIdentity(stat))) {
      offset = 0; // created after the config was watching its directory
    } else {
      const registeredAt = registration?.at ?? now;
      // An existing file: noticed at once if modified within 120 s of registration, else at its next write.
      if (stat.mtimeMs < registeredAt - EXISTED_FILE_ACTIVE_TIMEOUT_MS) return;
      offset = -1;
    }
    let fd: number;
    try {
      fd = openSync(diskPath, "r");
    } catch {
      return;
    }
    if (checkpoint !== undefined && this.signature(fd, checkpoint.signatureLength) !== checkpoint.signature) {
      // Another file under a reused inode (Logtail compares the first 1 KB): not this checkpoint's file.
      state.saved.delete(key);
      closeSync(fd);
      this.open(state, config, path, diskPath, stat, now);
      return;
    }
    if (offset < 0) {
      const tailKB = config.tailSizeKB ?? DEFAULT_TAIL_SIZE_KB[state.host.os];
      offset = tailStart(
        stat.size,
        tailKB,
        (from, length) => this.peek(fd, from, length),
        this.options.maxLineBytes,
      );
    }
    const signatureLength = Math.min(SIGNATURE_BYTES, stat.size);
    state.readers.set(key, {
      key,
      config,
      inode: stat.ino,
      path,
      fd,
      offset,
      size: stat.size,
      seen: true,
      signatureLength,
      signature: this.signature(fd, signatureLength),
    });
  }

  private peek(fd: number, from: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length);
    const n = readSync(fd, buffer, 0, length, from);
    return buffer.subarray(0, n);
  }

  /** One read per reader with new bytes; its complete lines become one pack. */
  private read(state: HostState, identity: AgentIdentity, now: number): void {
    for (const [key, reader] of state.readers) {
      const size = fstatSync(reader.fd).size;
      // Truncated (copytruncate): the file shrank, or — when it grew again past the offset before
      // this look — its first bytes changed (Logtail compares a signature of the first 1 KB before
      // it reads; LogFileReader::CheckFileSignatureAndOffset).
      const truncated =
        size < reader.offset ||
        (size !== reader.offset &&
          reader.signatureLength > 0 &&
          (size < reader.signatureLength ||
            this.signature(reader.fd, reader.signatureLength) !== reader.signature));
      if (truncated) {
        // What was not read yet is gone; read the new content from 0. What it was the agent cannot
        // know; the part it had seen (a size seen earlier) is noted.
        if (reader.size > reader.offset)
          this.deps.events?.fate?.({
            instanceId: state.host.instanceId,
            path: reader.path,
            inode: reader.inode,
            fromOffset: reader.offset,
            toOffset: reader.size,
            fate: "unread",
            at: now,
          });
        reader.offset = 0;
        reader.signatureLength = 0;
      }
      reader.size = size;
      // The signature covers the first 1 KB once the file has it (Logtail extends it as it grows).
      if (reader.signatureLength < SIGNATURE_BYTES && size > reader.signatureLength) {
        reader.signatureLength = Math.min(SIGNATURE_BYTES, size);
        reader.signature = this.signature(reader.fd, reader.signatureLength);
      }
      if (size === reader.offset) {
        // Drained and no longer under a matching name (rotated away or removed): close.
        if (!reader.seen) {
          closeSync(reader.fd);
          state.readers.delete(key);
        }
        continue;
      }
      const length = Math.min(size - reader.offset, this.options.maxReadBytes);
      const n = readSync(reader.fd, this.scratch, 0, length, reader.offset);
      const chunk = this.scratch.subarray(0, n);
      let end = chunk.lastIndexOf(0x0a) + 1;
      // A buffer full of one unfinished line is shipped as it is (Logtail's forced read).
      if (end === 0 && n >= this.options.maxLineBytes) end = n;
      if (end === 0) continue;
      this.ship(state, identity, reader, chunk.subarray(0, end), now);
      reader.offset += end;
    }
  }

  private ship(state: HostState, identity: AgentIdentity, reader: Reader, bytes: Buffer, now: number): void {
    const { host } = state;
    const { config } = reader;
    const v2 = majorVersion(host.agentVersion) >= 2;
    const meta = v2 && config.positionMeta;
    const keys: string[] = [];
    const values: string[] = [];
    const fieldStart: number[] = [0];
    let first = "";
    const maxLine = this.options.maxLineBytes;
    let start = 0;
    while (start < bytes.length) {
      let stop = bytes.indexOf(0x0a, start);
      const lineEnd = stop < 0 ? bytes.length : stop;
      stop = lineEnd;
      for (let piece = start; piece < lineEnd || piece === start; piece += maxLine) {
        const pieceEnd = Math.min(lineEnd, piece + maxLine);
        const text = bytes.toString("utf8", piece, pieceEnd);
        if (text.includes("\uFFFD") && !bytes.subarray(piece, pieceEnd).equals(Buffer.from(text, "utf8"))) {
          this.noteFate(state, reader, piece, pieceEnd, "invalid-utf8", now);
        }
        if (first === "") first = text;
        keys.push("content");
        values.push(text);
        if (meta) {
          keys.push("__file_offset__");
          values.push(String(reader.offset + piece));
        }
        fieldStart.push(keys.length);
        if (pieceEnd >= lineEnd) break;
      }
      if (lineEnd - start > maxLine) this.noteFate(state, reader, start, lineEnd, "split", now);
      start = lineEnd + 1;
    }
    const count = fieldStart.length - 1;
    if (count === 0) return;
    const sequenceKey = config.id;
    const sequence = (state.packSequence.get(sequenceKey) ?? 0) + 1;
    state.packSequence.set(sequenceKey, sequence);
    const tags = [
      "__hostname__",
      host.instanceId,
      "__path__",
      reader.path.slice(0, 511),
      "__user_defined_id__",
      identity.identifiers.join(this.options.userDefinedIdSeparator),
      "__pack_id__",
      packId(sourceIdOf(`${host.instanceId}/${config.id}`), sequence),
    ];
    // The agent's host id where it has one (LoongCollector: the instance id).
    if (host.hostId !== "") tags.push("__host_id__", host.hostId);
    if (meta) tags.push("__inode__", String(reader.inode));
    const group: LogGroupColumns = {
      topic: "",
      source: host.ip,
      tags,
      times: new Uint32Array(count).fill(Math.floor(now / 1000)),
      timeNs: undefined,
      fieldStart: Uint32Array.from(fieldStart),
      keys,
      values,
    };
    this.counters.linesRead += count;
    const key = this.deps.keyOf(config.accountId);
    if (key === undefined) {
      this.counters.refused += 1;
      return;
    }
    this.queue.push({
      instanceId: host.instanceId,
      target: { region: config.region, project: config.project, logstore: config.logstore, key },
      body: buildPutLogsBody(group),
      lines: count,
      firstLine: first,
      enqueuedAt: now,
      nextAt: now,
      attempts: 0,
      inFlight: false,
      done: false,
    });
    this.counters.packsQueued += 1;
  }

  private noteFate(
    state: HostState,
    reader: Reader,
    from: number,
    to: number,
    fate: "split" | "invalid-utf8",
    now: number,
  ): void {
    this.deps.events?.fate?.({
      instanceId: state.host.instanceId,
      path: reader.path,
      inode: reader.inode,
      fromOffset: reader.offset + from,
      toOffset: reader.offset + to,
      fate,
      at: now,
    });
  }

  // ---- sending -----------------------------------------------------------------------------------

  private pump(now: number): void {
    const keep: Pack[] = [];
    this.readyFrom = 0;
    for (const pack of this.queue) {
      if (pack.done) continue;
      if (pack.inFlight) {
        keep.push(pack);
        continue;
      }
      if (now - pack.enqueuedAt > this.options.dropAfterMs) {
        this.counters.dropped += 1;
        continue;
      }
      keep.push(pack);
      const host = this.hosts.get(pack.instanceId)?.host;
      if (pack.nextAt > now || this.inFlight >= this.options.maxInFlight || !host?.networkToSls()) continue;
      this.dispatch(pack);
    }
    this.queue = keep;
  }

  private dispatch(pack: Pack): void {
    pack.inFlight = true;
    pack.attempts += 1;
    if (pack.attempts > 1) this.counters.resends += 1;
    this.inFlight += 1;
    const job = this.deps
      .send(pack.target, pack.body)
      .then((outcome) => this.settled(pack, outcome))
      .finally(() => {
        this.inFlight -= 1;
        this.running.delete(job);
        this.dispatchNextReady();
      });
    this.running.add(job);
  }

  /** A send finished: the next pack due goes out at once instead of waiting for the next tick. */
  private dispatchNextReady(): void {
    const now = this.clock.now();
    // Packs before `readyFrom` were all in flight or waiting when last looked at: start after them.
    for (let i = this.readyFrom; i < this.queue.length; i += 1) {
      const pack = this.queue[i];
      if (pack === undefined || this.inFlight >= this.options.maxInFlight) return;
      if (pack.done || pack.inFlight || pack.nextAt > now) continue;
      if (!this.hosts.get(pack.instanceId)?.host.networkToSls()) continue;
      this.readyFrom = i + 1;
      this.dispatch(pack);
      return;
    }
    this.readyFrom = this.queue.length;
  }

  private settled(pack: Pack, outcome: PutLogsOutcome): void {
    pack.inFlight = false;
    const now = this.clock.now();
    if (outcome.kind === "retry") {
      // Logtail backs off and sends the same body again (same __pack_id__).
      pack.nextAt = now + Math.min(60_000, 1_000 * 2 ** Math.min(6, pack.attempts - 1));
      return;
    }
    pack.done = true;
    if (outcome.kind === "refused") {
      this.counters.refused += 1;
      return;
    }
    this.counters.packsSent += 1;
    this.counters.linesSent += pack.lines;
    this.deps.events?.delivered?.({
      lines: pack.lines,
      firstLine: pack.firstLine,
      at: now,
      attempts: pack.attempts,
    });
  }

  private save(state: HostState): void {
    for (const [key, reader] of state.readers) {
      const signatureLength = Math.min(SIGNATURE_BYTES, reader.size);
      state.saved.set(key, {
        offset: reader.offset,
        signatureLength,
        signature: this.signature(reader.fd, signatureLength),
      });
    }
  }

  private signature(fd: number, length: number): string {
    return length === 0
      ? ""
      : createHash("md5")
          .update(this.peek(fd, 0, length))
          .digest("hex");
  }

  private closeReaders(state: HostState): void {
    for (const reader of state.readers.values()) closeSync(reader.fd);
    state.readers.clear();
  }
}

/** The major version of an agent version string (unparseable: a current 2.x agent). */
export function majorVersion(version: string): number {
  const major = Number.parseInt(version.split(".")[0] ?? "", 10);
  return Number.isFinite(major) ? major : 2;
}

function sourceHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** A file as the agent tells files apart: its inode, and its birth time where the file system keeps one. */
function fileIdentity(stat: { ino: number; birthtimeMs: number }): string {
  return stat.birthtimeMs > 0 ? `${stat.ino}@${stat.birthtimeMs}` : String(stat.ino);
}
