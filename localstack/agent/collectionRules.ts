/**
 * Logtail's decisions about files, as pure functions (sources: ../../../shared/ALIBABA-FACTS.md,
 * "Data plane: how the agent reads files and ships lines", from alibaba/loongcollector f02d980 and
 * alibaba/ilogtail v1.8.8):
 * - which config reads a file: `core/file_server/ConfigManager.cpp` FindBestMatch /
 *   FindMatchWithForceFlag — among configs without `AllowingIncludedByMultiConfigs`, the deepest
 *   base path, then the oldest `createTime`; forced configs read as well;
 * - where a first read starts: `FileReaderOptions.cpp` (`TailSizeKB` 1024 on Linux, 51200 on
 *   Windows) and `LogFileReader.cpp` (moved to the next line start, none at 0 or EOF).
 */
import type { ConfigRecord } from "../../emulator/sls/backend";

/** A Logtail file config as the agent runs it. */
export interface CollectionConfig {
  /** `<account>/<project>/<config name>`: checkpoints are per config name, within a project. */
  id: string;
  accountId: string;
  region: string;
  project: string;
  name: string;
  logstore: string;
  /** The directory part of the file path (no wildcard), e.g. `/var/log/app-b`. */
  baseDir: string;
  /** Path segments of `baseDir`: the contest's "deepest base path". */
  depth: number;
  /** Subdirectory levels below `baseDir` also read (a `/**` directory in the path, `MaxDirSearchDepth`). */
  maxDepth: number;
  /** The file-name pattern (`*` and `?`). */
  filePattern: RegExp;
  forced: boolean;
  positionMeta: boolean;
  tailSizeKB: number | undefined;
  createTime: number;
  lastModifyTime: number;
}

export const DEFAULT_TAIL_SIZE_KB = { linux: 1024, windows: 51_200 } as const;

/** Files modified within this long of a directory's (re)registration are noticed at once. */
export const EXISTED_FILE_ACTIVE_TIMEOUT_MS = 120_000;

/**
 * Reads a stored config (pipeline or legacy) into what the agent needs, or undefined when it has
 * no single file input this simulation can follow (a wildcard in the directory, no input_file).
 */
export function collectionConfigOf(
  record: ConfigRecord,
  where: { accountId: string; region: string; project: string },
): CollectionConfig | undefined {
  let filePath: string | undefined;
  let logstore: string | undefined;
  let forced = false;
  let positionMeta = false;
  let tailSizeKB: number | undefined;
  let searchDepth = 0;
  if (record.kind === "pipeline") {
    const input = record.body.inputs.find((plugin) => plugin.Type === "input_file");
    const paths = input?.FilePaths;
    filePath = Array.isArray(paths) && typeof paths[0] === "string" ? paths[0] : undefined;
    forced = input?.AllowingIncludedByMultiConfigs === true;
    positionMeta = input?.AppendingLogPositionMeta === true;
    tailSizeKB = typeof input?.TailSizeKB === "number" ? input.TailSizeKB : undefined;
    searchDepth = typeof input?.MaxDirSearchDepth === "number" ? input.MaxDirSearchDepth : 0;
    const flusher = record.body.flushers.find((plugin) => plugin.Type === "flusher_sls");
    logstore = typeof flusher?.Logstore === "string" ? flusher.Logstore : undefined;
  } else {
    const detail = record.body.inputDetail;
    const dir = detail.logPath;
    const pattern = detail.filePattern;
    if (typeof dir === "string" && typeof pattern === "string") {
      filePath = `${dir.replace(/\/+$/, "")}/${pattern}`;
    }
    const advanced = detail.advanced;
    if (typeof advanced === "object" && advanced !== null) {
      forced = "force_multiconfig" in advanced && advanced.force_multiconfig === true;
      positionMeta = "enable_log_position_meta" in advanced && advanced.enable_log_position_meta === true;
    }
    tailSizeKB = typeof detail.tailSizeKB === "number" ? detail.tailSizeKB : undefined;
    searchDepth = typeof detail.maxDepth === "number" ? detail.maxDepth : 0;
    logstore = record.body.outputDetail.logstoreName;
  }
  if (filePath === undefined || logstore === undefined) return undefined;
  const input = fileInputOf(filePath, searchDepth, record.kind === "pipeline");
  if (input === undefined) return undefined;
  return {
    id: `${where.accountId}/${where.project}/${record.name}`,
    accountId: where.accountId,
    region: where.region,
    project: where.project,
    name: record.name,
    logstore,
    ...input,
    forced,
    positionMeta,
    tailSizeKB,
    createTime: record.createTime,
    lastModifyTime: record.lastModifyTime,
  };
}

type FileInput = Pick<CollectionConfig, "baseDir" | "depth" | "maxDepth" | "filePattern">;

/**
 * A file path's directory, depth and name pattern. In a pipeline config only a directory ending in
 * `/**` searches subdirectories (down to MaxDirSearchDepth); a legacy config's `maxDepth` always does.
 */
function fileInputOf(filePath: string, searchDepth: number, pipeline: boolean): FileInput | undefined {
  const cut = filePath.lastIndexOf("/");
  let baseDir = filePath.slice(0, cut);
  const name = filePath.slice(cut + 1);
  const recursive = baseDir.endsWith("/**");
  if (recursive) baseDir = baseDir.slice(0, -3);
  const depth = recursive || !pipeline ? searchDepth : 0;
  if (cut <= 0 || baseDir === "" || /[*?]/.test(baseDir) || name === "") return undefined;
  return {
    baseDir,
    depth: baseDir.split("/").filter((part) => part !== "").length,
    maxDepth: Math.max(0, Math.min(depth, 1000)),
    filePattern: globToRegExp(name),
  };
}

/**
 * Whether a pipeline config's `FilePaths` entry (with its `MaxDirSearchDepth`) reads the file at
 * `path` (false for a path this simulation cannot follow, such as a wildcard directory).
 */
export function filePathCovers(filePath: string, path: string, maxDirSearchDepth = 0): boolean {
  const input = fileInputOf(filePath, maxDirSearchDepth, true);
  if (input === undefined) return false;
  const cut = path.lastIndexOf("/");
  return coversDir(input, path.slice(0, cut)) && input.filePattern.test(path.slice(cut + 1));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

/** Whether the config reads files directly in `dir` (its base directory or one within its depth). */
export function coversDir(config: Pick<CollectionConfig, "baseDir" | "maxDepth">, dir: string): boolean {
  if (dir === config.baseDir) return true;
  if (config.maxDepth === 0 || !dir.startsWith(`${config.baseDir}/`)) return false;
  return dir.slice(config.baseDir.length + 1).split("/").length <= config.maxDepth;
}

export function matches(config: CollectionConfig, dir: string, fileName: string): boolean {
  return coversDir(config, dir) && config.filePattern.test(fileName);
}

/**
 * The configs that read one file: every forced config, plus the one winner among the others
 * (deepest base path, then oldest createTime; an exact tie is arbitrary in Logtail — here the
 * smaller id). `honoursForce` false (a 1.x agent, conservative model): every config is in the contest.
 */
export function readersOf(
  candidates: readonly CollectionConfig[],
  honoursForce: boolean,
): CollectionConfig[] {
  const forced = honoursForce ? candidates.filter((config) => config.forced) : [];
  let best: CollectionConfig | undefined;
  for (const config of candidates) {
    if (honoursForce && config.forced) continue;
    if (
      best === undefined ||
      config.depth > best.depth ||
      (config.depth === best.depth &&
        (config.createTime < best.createTime ||
          (config.createTime === best.createTime && config.id < best.id)))
    ) {
      best = config;
    }
  }
  return best === undefined ? forced : [best, ...forced];
}

/**
 * Where a file seen for the first time starts: `max(0, size − tailSizeKB·1024)`, moved forward to
 * the next line start. `before` is the byte just before the raw start and `after` the bytes from it
 * (enough to find a newline); neither is read when the start is 0 or the end.
 */
export function tailStart(
  size: number,
  tailSizeKB: number,
  peek: (from: number, length: number) => Buffer,
  maxScan: number,
): number {
  const start = Math.max(0, size - tailSizeKB * 1024);
  if (start === 0 || start >= size) return start;
  const window = peek(start - 1, Math.min(size - start + 1, maxScan + 1));
  const newline = window.indexOf(0x0a);
  return newline < 0 ? size : start + newline;
}

/** `__pack_id__`: a source id (hex of a hash of host and config) and a per-source sequence, as Logtail writes it. */
export function packId(sourceId: string, sequence: number): string {
  return `${sourceId}-${sequence.toString(16).toUpperCase()}`;
}

export function sourceIdOf(text: string): string {
  let high = 0x811c9dc5;
  let low = 0x01000193;
  for (let i = 0; i < text.length; i += 1) {
    high = Math.imul(high ^ text.charCodeAt(i), 0x01000193) >>> 0;
    low = Math.imul(low ^ text.charCodeAt(text.length - 1 - i), 0x811c9dc5) >>> 0;
  }
  return `${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")}`.toUpperCase();
}
