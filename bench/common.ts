/**
 * What the benchmarks share: command-line numbers, order statistics, the fleet file of the
 * pipeline benchmarks, and the shape of a reported figure (value, unit, target, verdict).
 */
import { cpus, freemem, loadavg, totalmem } from "node:os";

/** A line of progress or result text; the scripts print to stdout, the report to stderr. */
export type Log = (line: string) => void;

export const stdoutLog: Log = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Progress beside a machine-readable stdout. */
export const stderrLog: Log = (line) => {
  process.stderr.write(`${line}\n`);
};

/** `--name N` from argv, or `fallback` when absent or not a number. */
export function numberOption(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const index = argv.indexOf(`--${name}`);
  const value = index < 0 ? Number.NaN : Number(argv[index + 1]);
  return Number.isNaN(value) ? fallback : value;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const elapsedSeconds = (startedMs: number) => (performance.now() - startedMs) / 1000;

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The accounts of config/routes.example.yaml, as bench:pipeline has always used them. */
export const HUB_ACCOUNT = "1200000000000456";
export const SPOKE_ACCOUNT = "1700000000000397";
export const REGION = "cn-hangzhou";

/**
 * The fleet of the pipeline benchmarks: the hub (with the forwarder and FC roles), the two spokes
 * of the example routes file, and `instances` healthy Linux hosts of app-b. `tags` presets tags on
 * every instance (no event is emitted for them: the emulator loads them as they are).
 */
/** A share of a generated fleet whose hosts start their commands late (emulated seconds). */
export interface SlowHosts {
  share: number;
  commandDelaySeconds: number;
}

/** Each host has an unwritten log where app-b-prod reads: idle, it collects after its diagnosis. */
const IDLE_LOG = ", idleLogs: [/var/log/app-b/old.log]";
/**
 * A log the host writes a line to every 10 s: its route proves collection with its lines within a
 * heartbeat period, where an idle host waits out the route's delivery timeout and an inspect
 * (README "Collecting means lines").
 */
const ACTIVE_LOG = ", writers: [{ path: /var/log/app-b/app.log, linesPerSecond: 0.1 }]";

export function pipelineFleetYaml(
  instances: number,
  tags?: Readonly<Record<string, string>>,
  slow: readonly SlowHosts[] = [],
  logs: "idle" | "active" = "idle",
): string {
  const logText = logs === "idle" ? IDLE_LOG : ACTIVE_LOG;
  const tagText =
    tags === undefined
      ? ""
      : `, tags: { ${Object.entries(tags)
          .map(([key, value]) => `${key}: ${value}`)
          .join(", ")} }`;
  // The slow shares first, the rest at full speed; every count at least 1 where its share is.
  const groups: string[] = [];
  let left = instances;
  for (const { share, commandDelaySeconds } of slow) {
    const count = Math.min(left, Math.max(1, Math.round(instances * share)));
    if (count <= 0) continue;
    groups.push(
      `  - { account: app-b, region: ${REGION}, count: ${count}, commandDelaySeconds: ${commandDelaySeconds}${logText}${tagText} }`,
    );
    left -= count;
  }
  if (left > 0) groups.push(`  - { account: app-b, region: ${REGION}, count: ${left}${logText}${tagText} }`);
  return [
    "accounts:",
    `  - { id: "${HUB_ACCOUNT}", name: hub, roles: [{ name: logtail-xacct-event-forwarder, trustedAccounts: ["${SPOKE_ACCOUNT}"] }, { name: logtail-xacct-fc, trustedServices: [fc.aliyuncs.com] }] }`,
    `  - { id: "${SPOKE_ACCOUNT}", name: app-b, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["${HUB_ACCOUNT}"] }] }`,
    `  - { id: "1800000000000512", name: payments, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["${HUB_ACCOUNT}"] }] }`,
    "instances:",
    ...groups,
    "",
  ].join("\n");
}

export type Comparison = "<" | "<=" | ">" | ">=";

export interface Target {
  comparison: Comparison;
  value: number;
}

export type Verdict = "pass" | "fail" | "info" | "not measured";

/** One reported number: what it is, its unit, the target it is held to (if any) and the verdict. */
export interface Figure {
  id: string;
  label: string;
  value: number | null;
  unit: string;
  target?: Target;
  verdict: Verdict;
  /** How it was measured or what bounds it, when the label alone does not say. */
  note?: string;
  /**
   * The value is a floor, not the figure (e.g. the time to converge of a run stopped at its
   * deadline): it fails an upper target it already exceeds, and otherwise proves nothing.
   */
  atLeast?: boolean;
}

export function meets(value: number, target: Target): boolean {
  switch (target.comparison) {
    case "<":
      return value < target.value;
    case "<=":
      return value <= target.value;
    case ">":
      return value > target.value;
    case ">=":
      return value >= target.value;
  }
}

/** A figure with its verdict computed: a missing or non-finite value is "not measured", never a pass. */
export function figure(
  input: Omit<Figure, "verdict" | "value"> & { value: number | null | undefined },
): Figure {
  const value =
    input.value === undefined || input.value === null || !Number.isFinite(input.value) ? null : input.value;
  const upperTarget = input.target?.comparison === "<" || input.target?.comparison === "<=";
  let verdict: Verdict;
  if (value === null) verdict = "not measured";
  else if (input.target === undefined) verdict = "info";
  else if (!input.atLeast) verdict = meets(value, input.target) ? "pass" : "fail";
  else verdict = upperTarget && !meets(value, input.target) ? "fail" : "not measured";
  return { ...input, value, verdict };
}

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  freeMemoryGb: number;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine shows here. */
  loadAverage: number[];
  node: string;
  platform: string;
  date: string;
}

export function machineFacts(): MachineFacts {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? "unknown",
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Rounds for reports: enough digits to read, not float noise. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * JSON as the repository's formatter (biome, line width 110) writes it, so `npm run lint` accepts
 * the generated report: objects one key per line, arrays of plain values on one line when it fits.
 */
export function formatJson(value: unknown, lineWidth = 110): string {
  const containsObject = (item: unknown): boolean =>
    Array.isArray(item) ? item.some(containsObject) : item !== null && typeof item === "object";
  const inline = (item: unknown): string =>
    Array.isArray(item) ? `[${item.map(inline).join(", ")}]` : (JSON.stringify(item) ?? "null");
  const write = (item: unknown, indent: string, prefixLength: number): string => {
    if (item === null || typeof item !== "object") return JSON.stringify(item) ?? "null";
    const inner = `${indent}  `;
    if (Array.isArray(item)) {
      if (item.length === 0) return "[]";
      if (!containsObject(item)) {
        const flat = inline(item);
        // `,` after the value counts towards the width too.
        if (prefixLength + flat.length + 1 <= lineWidth) return flat;
      }
      return `[\n${item.map((element) => `${inner}${write(element, inner, inner.length)}`).join(",\n")}\n${indent}]`;
    }
    const entries = Object.entries(item).filter(([, element]) => element !== undefined);
    if (entries.length === 0) return "{}";
    return `{\n${entries
      .map(([key, element]) => {
        const head = `${inner}${JSON.stringify(key)}: `;
        return `${head}${write(element, inner, head.length)}`;
      })
      .join(",\n")}\n${indent}}`;
  };
  return `${write(value, "", 0)}\n`;
}
