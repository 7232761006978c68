/**
 * The operator commands' text output: aligned columns, stable to parse (no colour, no progress)
 * when stdout is not a terminal; colour only on a terminal.
 */
import type { DriftReport } from "../../shared/status/driftReport";
import { type FleetReport, type StageKey, stageOrder } from "../../shared/status/fleetReport";

const COLOURS = { green: 32, red: 31, yellow: 33, blue: 34, dim: 2 } as const;

export function painter(enabled: boolean) {
  return (colour: keyof typeof COLOURS, text: string): string =>
    enabled ? `\u001b[${COLOURS[colour]}m${text}\u001b[0m` : text;
}

/**
 * Tag values reach this output, and anyone allowed to tag an instance chooses them: control
 * characters (an escape sequence can rewrite or hide what the terminal shows) are printed as `\xNN`.
 */
export function printable<T>(value: T): T {
  if (typeof value === "string") {
    return value.replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point
      /[\u0000-\u001f\u007f-\u009f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    ) as T;
  }
  if (Array.isArray(value)) return value.map(printable) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [printable(k), printable(v)])) as T;
  }
  return value;
}

const COLUMNS = ["pending", "authorized", "collecting", "failed", "revoked", "untracked"] as const;

function column(stage: StageKey): (typeof COLUMNS)[number] {
  return stage.startsWith("failed:") ? "failed" : (stage as (typeof COLUMNS)[number]);
}

function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function renderStatusText(unsafe: FleetReport, colour = false): string {
  const report = printable(unsafe);
  const paint = painter(colour);
  const header = ["route", "account", "region", ...COLUMNS, "total"];
  const rows: string[][] = [header];
  for (const group of report.groups) {
    const counts: Record<string, number> = {};
    for (const [stage, count] of Object.entries(group.counts))
      counts[column(stage as StageKey)] = (counts[column(stage as StageKey)] ?? 0) + (count ?? 0);
    rows.push([
      group.route,
      group.accountId,
      group.region,
      ...COLUMNS.map((c) => String(counts[c] ?? 0)),
      String(group.total),
    ]);
  }
  const numeric = new Set(header.map((_, i) => i).filter((i) => i >= 3));
  let text = `fleet status at ${report.generatedAt} (hub ${report.hubAccountId})\n`;
  text += report.groups.length === 0 ? "no tagged or onboarded instances\n" : `${table(rows, numeric)}\n`;
  const totals = Object.entries(report.totals)
    .sort((a, b) => stageOrder(a[0] as StageKey) - stageOrder(b[0] as StageKey) || a[0].localeCompare(b[0]))
    .map(([stage, count]) => {
      const label = `${stage} ${count}`;
      if (stage === "collecting") return paint("green", label);
      if (stage.startsWith("failed:")) return paint("red", label);
      return label;
    });
  if (totals.length > 0) text += `totals: ${totals.join(", ")}\n`;
  // Which key found each heartbeat: an ARM or LoongCollector host shows up here, not as a failure.
  const keys = new Map<string, number>();
  for (const instance of report.instances)
    if (instance.heartbeatKey !== undefined)
      keys.set(instance.heartbeatKey, (keys.get(instance.heartbeatKey) ?? 0) + 1);
  if (keys.size > 0)
    text += `heartbeats matched by: ${[...keys]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([key, count]) => `${key} ${count}`)
      .join(", ")}\n`;
  if (report.failed.length > 0) {
    text += `\nfailed instances (${report.failed.length}):\n`;
    text += `${table([
      ["instance", "account", "region", "route", "reason", "remedy"],
      ...report.failed.map((f) => [
        f.instanceId,
        f.accountId,
        f.region,
        f.route,
        paint("red", f.reason),
        f.remedy,
      ]),
    ])}\n`;
  }
  if (report.strangers && report.strangers.length > 0) {
    // Nothing here is changed by this tool: the remedy is the operator's (see README, "Strangers").
    text += `\n${paint("yellow", `machines in route groups that no instance accounts for (${report.strangers.length})`)}:\n`;
    text += `${table([
      ["route", "os", "ip", "machine id", "host id"],
      ...report.strangers.map((s) => [s.route, s.os, s.ip, s.machineUniqueId, s.hostId ?? "-"]),
    ])}\n`;
  }
  if (report.copyJobs.length > 0) {
    text += "\nmigrations (cutover per route and source account):\n";
    text += `${table([
      ["route", "source account", "collecting", "source config", "copy job", "status"],
      ...report.copyJobs.map((j) => [
        j.route,
        j.sourceAccount,
        j.hosts === undefined ? "-" : `${j.collecting ?? 0}/${j.hosts}`,
        j.sourceConfig ?? "-",
        j.name || "-",
        j.status,
      ]),
    ])}\n`;
  }
  return text;
}

export function renderDriftText(unsafe: DriftReport, colour = false): string {
  const drift = printable(unsafe);
  const paint = painter(colour);
  const instances = drift.items.reduce((n, item) => n + item.instanceIds.length, 0);
  let text = `plan at ${drift.generatedAt}: ${drift.items.length} findings, ${instances} instances, ${drift.actions.length} actions — nothing was changed\n`;
  if (drift.items.length === 0)
    return `${text}nothing to do: the fleet matches the tags and the routes file\n`;
  for (const item of drift.items) {
    const where = [item.route, item.accountId && `${item.accountId}${item.region ? `/${item.region}` : ""}`]
      .filter(Boolean)
      .join(" ");
    const count = item.instanceIds.length > 0 ? ` (${item.instanceIds.length} instances)` : "";
    text += `\n${paint("yellow", item.kind)}  ${where}${count}\n  ${item.detail}\n`;
    text += `  → ${item.remedy || paint("red", "needs a person: reconcile does not change it")}\n`;
    if (item.instanceIds.length > 0) text += `  ${item.instanceIds.join(" ")}\n`;
  }
  const accounts = Object.entries(drift.byAccount);
  if (accounts.length > 0) {
    text += "\nper account:\n";
    for (const [account, kinds] of accounts)
      text += `  ${account}: ${Object.entries(kinds)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ")}\n`;
  }
  return text;
}

/** Progress on stderr: a bar redrawn in place on a terminal, one line per step otherwise. */
export function progressPrinter(err: (text: string) => void, tty: boolean, label: string) {
  let last = "";
  return {
    update(progress: { phase: string; done: number; total: number; what: string }): void {
      if (tty) {
        const width = 24;
        const filled = progress.total === 0 ? width : Math.round((progress.done / progress.total) * width);
        const line = `${label} ${progress.phase.padEnd(7)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${progress.done}/${progress.total} ${progress.what}`;
        err(`\r${line.slice(0, 110).padEnd(last.length)}`);
        last = line.slice(0, 110);
      } else {
        err(`${label}: ${progress.phase} ${progress.done}/${progress.total} ${progress.what}\n`);
      }
    },
    done(): void {
      if (tty && last !== "") err("\n");
    },
  };
}
