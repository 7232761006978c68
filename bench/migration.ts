/**
 * Migration benchmark (not a test): the handover of route app-b-prod from app-b's own Logtail
 * config to the route's config, per scenario and per procedure, counted line by line:
 * (a) `manual`: Alibaba's manual procedure scripted literally (`start --by-hand`, byHand.ts);
 * (b) `previous`: the product's cutover before the position handover (the same routes file without
 *     `retire`: destination forced with the default 1 MB tail, history copied by receive time up to
 *     the copy job's creation);
 * (c) `protocol`: the exactly-once handover (README "Exactly-once cutover").
 * Targets (issue), for (c): zero lines lost and zero duplicated in every scenario, except copies
 * the agents or the copy service make themselves, which verify must all find.
 *
 *   npm run bench:migration [-- --lines-per-second 10 --scale 20 --timeout 400 --only steady,rename
 *     --procedures manual,previous,protocol --json]
 *
 * Each scenario is a fleet file derived from test/fixtures/localstack/fleet.writers.yaml (four app-b
 * hosts writing /var/log/app-b/app.log), written to a temp dir and run as
 * `logtail-xacct start --exit-when-converged --json` in a child process, one at a time (the stack
 * is not reusable in one process), killed after `--timeout` wall seconds. From its JSON summary:
 * the ledger's counts (`delivery`: what the hosts wrote and what became of each line in
 * central-logs/app-b), the product's own `verify` verdict from the logstores, convergence and time.
 *
 * Exit code 0 when every run produced a summary, whether or not the targets were met (the table
 * says); 1 when a run crashed, timed out or printed no summary, or no verify verdict although
 * hosts were migrated.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { RouteDelivery } from "../localstack/demo/scenario";
import { copiesFound, linesLost, type VerifyReport } from "../shared/status/verifyReport";
import { numberOption } from "./common";

const ROOT = join(__dirname, "..");
const CLI = join(ROOT, "bin/logtail-xacct.js");
const BASE_FLEET = join(ROOT, "test/fixtures/localstack/fleet.writers.yaml");
const ROUTE = "app-b-prod";
const ROUTES = join(ROOT, "config/routes.example.yaml");

const PROCEDURES = {
  manual: "(a) manual",
  previous: "(b) previous",
  protocol: "(c) protocol",
} as const;
type Procedure = keyof typeof PROCEDURES;

/** The parts of the fixture fleet the scenarios change; everything else is passed through as is. */
interface Writer {
  path: string;
  linesPerSecond: number;
  rotate?: { mode: "rename" | "copytruncate"; everySeconds: number; keep: number };
}
interface Fleet {
  accounts: Array<{
    name: string;
    agentConfigDelaySeconds?: number;
    putLogsAnswerLoss?: number;
    copyJobRestart?: { afterSeconds: number; resumesFrom: "stop" | "lastSave"; linesPerSecond?: number };
  }>;
  instances: Array<{
    count?: number;
    name?: string;
    agentVersion?: string;
    agentCrashEverySeconds?: number;
    tagAfterCutover?: boolean;
    untagAfterRetire?: boolean;
    agentRestartAtCutover?: "clean" | "crash";
    writers: Writer[];
  }>;
}

interface Scenario {
  name: string;
  change: (fleet: Fleet) => void;
  /**
   * The agents (crash re-reads, packs sent again) or the copy service (a restart that resumes from
   * its last save) make copies themselves here: the target is then nothing lost and every copy
   * found by verify, not zero copies.
   */
  copiesExpected?: boolean;
}

/** The ledger's counts for the route (cli `start` summary `delivery[]`). */
type Delivery = Pick<
  RouteDelivery,
  | "route"
  | "hosts"
  | "written"
  | "once"
  | "duplicated"
  | "extraCopies"
  | "missing"
  | "missingUnreadable"
  | "missingButElsewhere"
  | "latency"
>;
/** `verify`'s verdict for the route (cli `start` summary `verify[]`). */
type Verdict = Pick<VerifyReport, "route" | "ok" | "copyUnfinished" | "totals">;
interface StartSummary {
  converged: boolean;
  seconds?: number;
  emulatedSeconds?: number;
  delivery?: Delivery[];
  verify?: Verdict[];
}

interface Outcome {
  scenario: string;
  procedure: Procedure;
  /** The scenario's agents or copy service make copies themselves (Scenario.copiesExpected). */
  copiesExpected?: boolean;
  /** Wall seconds of the whole child process (start-up, migration, drain, verify, stop). */
  runSeconds: number;
  exitCode: number | null;
  /** Why the run counts as crashed, if it does. */
  crash?: string;
  converged?: boolean;
  /** Wall and emulated seconds from the first tag to convergence (or the deadline). */
  seconds?: number;
  emulatedSeconds?: number;
  delivery?: Delivery;
  verdict?: Verdict;
  stderrTail?: string;
}

const linesPerSecond = numberOption("lines-per-second", 10);
const scale = numberOption("scale", 20);
const timeoutSeconds = numberOption("timeout", 400);
const deadlineIndex = process.argv.indexOf("--deadline");
const deadline = deadlineIndex < 0 ? undefined : process.argv[deadlineIndex + 1];
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex < 0 ? undefined : (process.argv[onlyIndex + 1] ?? "").split(",").filter(Boolean);
const json = process.argv.includes("--json");
const proceduresIndex = process.argv.indexOf("--procedures");
const procedures = (
  proceduresIndex < 0 ? Object.keys(PROCEDURES) : (process.argv[proceduresIndex + 1] ?? "").split(",")
).filter(Boolean);

const appLog = (fleet: Fleet): Writer[] =>
  fleet.instances.flatMap((entry) => entry.writers.filter((writer) => writer.path.endsWith("/app.log")));

const delays =
  (source: number, hub: number) =>
  (fleet: Fleet): void => {
    for (const account of fleet.accounts) {
      if (account.name === "app-b") account.agentConfigDelaySeconds = source;
      if (account.name === "hub") account.agentConfigDelaySeconds = hub;
    }
  };

function scenarios(rate: number): Scenario[] {
  const delay = (source: number, hub: number): Scenario => ({
    name: `config delay src ${source} s, hub ${hub} s`,
    change: delays(source, hub),
  });
  const manyRate = rate / 2;
  // The copy (about 10,000 lines) is slowed to 50 lines/s so that the restart at 90 s, after the
  // job's first periodic save at 65 s, lands mid-copy.
  const copyRestart = (resumesFrom: "stop" | "lastSave"): Scenario => ({
    name: `copy job restarted (resumes from ${resumesFrom === "stop" ? "where it stopped" : "its last save"})`,
    copiesExpected: resumesFrom === "lastSave",
    change: (fleet) => {
      for (const account of fleet.accounts)
        if (account.name === "app-b")
          account.copyJobRestart = { afterSeconds: 90, resumesFrom, linesPerSecond: 50 };
    },
  });
  return [
    { name: "steady writing", change: () => {} },
    {
      name: "rename rotation every 60 s (keep 2)",
      change: (fleet) => {
        for (const writer of appLog(fleet)) writer.rotate = { mode: "rename", everySeconds: 60, keep: 2 };
      },
    },
    {
      name: "copytruncate every 90 s",
      change: (fleet) => {
        for (const writer of appLog(fleet))
          writer.rotate = { mode: "copytruncate", everySeconds: 90, keep: 1 };
      },
    },
    {
      // The manual procedure's gap: the old config gone at 10 s, the new one only at 120 s, and
      // app.log renamed away in between (the agent follows a rename only for a file it reads).
      name: "rename every 60 s, config delay src 10 s, hub 120 s",
      change: (fleet) => {
        delays(10, 120)(fleet);
        for (const writer of appLog(fleet)) writer.rotate = { mode: "rename", everySeconds: 60, keep: 2 };
      },
    },
    delay(10, 60),
    delay(60, 10),
    delay(120, 10),
    delay(10, 120),
    delay(60, 60),
    delay(60, 120),
    delay(120, 60),
    {
      name: "agents restarted at the cutover",
      change: (fleet) => {
        for (const entry of fleet.instances) entry.agentRestartAtCutover = "clean";
      },
    },
    {
      name: "agents crash at the cutover",
      copiesExpected: true,
      change: (fleet) => {
        for (const entry of fleet.instances) entry.agentRestartAtCutover = "crash";
      },
    },
    {
      name: "agents crash every 120 s",
      copiesExpected: true,
      change: (fleet) => {
        for (const entry of fleet.instances) entry.agentCrashEverySeconds = 120;
      },
    },
    {
      name: "5% of PutLogs answers lost",
      copiesExpected: true,
      change: (fleet) => {
        for (const account of fleet.accounts) account.putLogsAnswerLoss = 0.05;
      },
    },
    copyRestart("stop"),
    copyRestart("lastSave"),
    {
      // A fifth host of the source group, tagged once the copy is cut ((a) migrates it with the rest).
      name: "a host tagged after the cut",
      change: (fleet) => {
        const [first] = fleet.instances;
        if (first) fleet.instances.push({ ...first, count: 1, name: "app-b-late", tagAfterCutover: true });
      },
    },
    {
      name: "old 1.x agent (1.8.7)",
      change: (fleet) => {
        for (const entry of fleet.instances) entry.agentVersion = "1.8.7";
      },
    },
    {
      name: `12 hosts at ${manyRate} lines/s`,
      change: (fleet) => {
        for (const entry of fleet.instances) entry.count = 12;
        for (const writer of appLog(fleet)) writer.linesPerSecond = manyRate;
      },
    },
  ];
}

/** `start`'s arguments that choose the procedure; `previousRoutes` is the routes file without `retire`. */
function procedureArgs(procedure: Procedure, previousRoutes: string): string[] {
  if (procedure === "manual") return ["--by-hand", ROUTE];
  if (procedure === "previous") return ["--config", previousRoutes];
  return [];
}

/** The routes file of (b): the example's, without `retire` on the route's sources. */
function writePreviousRoutes(file: string): void {
  const routes = parseYaml(readFileSync(ROUTES, "utf8")) as {
    routes: Record<string, { sources: Array<{ retire?: unknown }> }>;
  };
  const route = routes.routes[ROUTE];
  if (route === undefined) throw new Error(`${ROUTES} has no route ${ROUTE}`);
  for (const source of route.sources) delete source.retire;
  writeFileSync(file, stringifyYaml(routes));
}

/** Runs `start` on one fleet file in a child process; its summary, or why there is none. */
function runStart(
  scenario: string,
  procedure: Procedure,
  fleetFile: string,
  previousRoutes: string,
): Promise<Outcome> {
  const args = [
    CLI,
    "start",
    "--fleet",
    fleetFile,
    ...procedureArgs(procedure, previousRoutes),
    "--scale",
    String(scale),
    "--exit-when-converged",
    "--json",
    ...(deadline === undefined ? [] : ["--deadline", deadline]),
  ];
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends the child and the host sandboxes it started.
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
    }, timeoutSeconds * 1000);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({
        scenario,
        procedure,
        runSeconds: 0,
        exitCode: null,
        crash: `spawn failed: ${error.message}`,
      });
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      const runSeconds = (performance.now() - started) / 1000;
      const outcome: Outcome = {
        scenario,
        procedure,
        runSeconds,
        exitCode,
        stderrTail: stderr.slice(-1500),
      };
      if (timedOut)
        return resolve({ ...outcome, crash: `killed after the ${timeoutSeconds} s wall timeout` });
      if (signal !== null) return resolve({ ...outcome, crash: `ended by ${signal}` });
      const last = Buffer.concat(stdout).toString("utf8").trim().split("\n").at(-1) ?? "";
      let summary: StartSummary;
      try {
        summary = JSON.parse(last) as StartSummary;
      } catch {
        return resolve({ ...outcome, crash: `exit ${exitCode}, no JSON summary` });
      }
      const delivery = summary.delivery?.find((route) => route.route === ROUTE);
      const verdict = summary.verify?.find((route) => route.route === ROUTE);
      const result: Outcome = {
        ...outcome,
        converged: summary.converged,
        ...(summary.seconds === undefined ? {} : { seconds: summary.seconds }),
        ...(summary.emulatedSeconds === undefined ? {} : { emulatedSeconds: summary.emulatedSeconds }),
        ...(delivery === undefined ? {} : { delivery }),
        ...(verdict === undefined ? {} : { verdict }),
      };
      // `start --exit-when-converged` exits 1 when not converged, with its summary: not a crash.
      if (exitCode !== 0 && summary.converged) result.crash = `exit ${exitCode} although converged`;
      else if (delivery === undefined) result.crash = `no ${ROUTE} delivery in the summary`;
      // No host migrated (all refused as too old): no handover, no index, nothing to verify. Only
      // the protocol's handover has a verify verdict.
      else if (procedure === "protocol" && verdict === undefined && delivery.hosts > 0)
        result.crash = `no ${ROUTE} verify verdict (verify did not run)`;
      resolve(result);
    });
  });
}

const count = (value: number | undefined): string =>
  value === undefined ? "-" : value.toLocaleString("en-US");

function ratio(part: number | undefined, whole: number | undefined): string {
  if (part === undefined || whole === undefined || whole === 0) return "-";
  return part === 0 ? "0" : (part / whole).toPrecision(2);
}

const agrees = (outcome: Outcome): boolean | undefined =>
  outcome.delivery === undefined || outcome.verdict === undefined
    ? undefined
    : linesLost(outcome.verdict.totals) === outcome.delivery.missing &&
      copiesFound(outcome.verdict.totals) === outcome.delivery.extraCopies;

function agreeCell(outcome: Outcome): string {
  const agreed = agrees(outcome);
  if (agreed === undefined) return "-";
  if (agreed) return "yes";
  const totals = outcome.verdict?.totals;
  return totals === undefined ? "NO" : `NO (${linesLost(totals)} lost, ${copiesFound(totals)} dup)`;
}

/** Nothing lost, and no copy, or (where the agents make copies) every copy found by verify. */
const metTarget = (outcome: Outcome): boolean =>
  outcome.delivery !== undefined &&
  outcome.delivery.missing === 0 &&
  (outcome.copiesExpected ? agrees(outcome) === true : outcome.delivery.extraCopies === 0);

function latencyCell(outcome: Outcome): string {
  const latency = outcome.delivery?.latency;
  return latency === undefined ? "-" : `${latency.p50} / ${latency.p99}`;
}

function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** One row per run. */
function renderTable(outcomes: readonly Outcome[]): string {
  const header = [
    "scenario",
    "procedure",
    "written",
    "lost",
    "duplicated",
    "lost/written",
    "dup/written",
    "verify = ledger",
    "converged",
    "emulated s",
    "latency p50 / p99 s",
    "wall s",
    "run s",
  ];
  const rows = outcomes.map((outcome) => [
    outcome.scenario,
    PROCEDURES[outcome.procedure],
    count(outcome.delivery?.written),
    count(outcome.delivery?.missing),
    count(outcome.delivery?.extraCopies),
    ratio(outcome.delivery?.missing, outcome.delivery?.written),
    ratio(outcome.delivery?.extraCopies, outcome.delivery?.written),
    agreeCell(outcome),
    outcome.converged === undefined ? "CRASH" : outcome.converged ? "yes" : "NO",
    outcome.emulatedSeconds === undefined ? "-" : outcome.emulatedSeconds.toFixed(1),
    latencyCell(outcome),
    outcome.seconds === undefined ? "-" : outcome.seconds.toFixed(1),
    outcome.runSeconds.toFixed(1),
  ]);
  return markdownTable(header, rows);
}

/** One row per scenario: lost and duplicated lines per written line, procedure beside procedure. */
function renderComparison(outcomes: readonly Outcome[]): string {
  const chosen = (Object.keys(PROCEDURES) as Procedure[]).filter((procedure) =>
    outcomes.some((outcome) => outcome.procedure === procedure),
  );
  const scenarioNames = [...new Set(outcomes.map((outcome) => outcome.scenario))];
  const cell = (outcome: Outcome | undefined): string => {
    const delivery = outcome?.delivery;
    if (delivery === undefined) return outcome?.crash === undefined ? "-" : "CRASH";
    return `${count(delivery.missing)} / ${count(delivery.extraCopies)} of ${count(delivery.written)}`;
  };
  const rows = scenarioNames.map((scenario) => [
    scenario,
    ...chosen.map((procedure) =>
      cell(outcomes.find((outcome) => outcome.scenario === scenario && outcome.procedure === procedure)),
    ),
  ]);
  return markdownTable(
    ["scenario", ...chosen.map((procedure) => `${PROCEDURES[procedure]}: lost / dup of written`)],
    rows,
  );
}

function renderTotal(outcomes: readonly Outcome[], procedure: Procedure): string {
  const runs = outcomes.filter((outcome) => outcome.procedure === procedure);
  const sum = (pick: (delivery: Delivery) => number) =>
    runs.reduce((total, outcome) => total + (outcome.delivery ? pick(outcome.delivery) : 0), 0);
  const written = sum((delivery) => delivery.written);
  const lost = sum((delivery) => delivery.missing);
  const duplicated = sum((delivery) => delivery.extraCopies);
  const n = runs.length;
  const wall = runs.reduce((total, outcome) => total + outcome.runSeconds, 0);
  const target =
    procedure === "protocol"
      ? `target (0 lost; 0 duplicated, or every agent copy found by verify) met in ${runs.filter(metTarget).length}/${n}; ` +
        `verify = ledger in ${runs.filter((outcome) => agrees(outcome) === true).length}/${n}; `
      : `0 lost and 0 duplicated in ${runs.filter((outcome) => outcome.delivery?.missing === 0 && outcome.delivery.extraCopies === 0).length}/${n}; `;
  return (
    `${PROCEDURES[procedure]}: ${count(written)} written, ${count(lost)} lost (${ratio(lost, written)}), ` +
    `${count(duplicated)} duplicated (${ratio(duplicated, written)}); ${target}` +
    `converged ${runs.filter((outcome) => outcome.converged === true).length}/${n}; ` +
    `crashed ${runs.filter((outcome) => outcome.crash !== undefined).length}/${n}; ` +
    `${wall.toFixed(0)} s wall`
  );
}

/** What the tables do not show: where lost lines went, verify's unplaced lines, crashes. */
function renderNotes(outcomes: readonly Outcome[]): string[] {
  const notes: string[] = [];
  for (const outcome of outcomes) {
    const { delivery, verdict } = outcome;
    const run = `${outcome.scenario}, ${PROCEDURES[outcome.procedure]}`;
    if (outcome.crash !== undefined) notes.push(`${run}: CRASH: ${outcome.crash}`);
    if (delivery && (delivery.missing > 0 || delivery.extraCopies > 0))
      notes.push(
        `${run}: ledger: ${delivery.missing} lost (${delivery.missingUnreadable} unreadable, ` +
          `${delivery.missingButElsewhere} only in the source logstore), ${delivery.duplicated} lines ` +
          `stored more than once (${delivery.extraCopies} extra copies)`,
      );
    if (verdict && (!verdict.ok || verdict.totals.unplacedMissing > 0 || verdict.totals.unplacedExtra > 0))
      notes.push(
        `${run}: verify ok=${verdict.ok}: ${verdict.totals.missing} missing, ` +
          `${verdict.totals.extraCopies} extra copies, unplaced ${verdict.totals.unplacedMissing} missing / ` +
          `${verdict.totals.unplacedExtra} extra, copy unfinished ${verdict.copyUnfinished}`,
      );
  }
  return notes;
}

async function main(): Promise<number> {
  const unknown = procedures.filter((procedure) => !(procedure in PROCEDURES));
  if (unknown.length > 0 || procedures.length === 0) {
    process.stderr.write(
      `--procedures ${procedures.join(",")}: expected some of ${Object.keys(PROCEDURES).join(",")}\n`,
    );
    return 2;
  }
  const chosenProcedures = (Object.keys(PROCEDURES) as Procedure[]).filter((p) => procedures.includes(p));
  const all = scenarios(linesPerSecond);
  const chosen = only === undefined ? all : all.filter((s) => only.some((word) => s.name.includes(word)));
  if (chosen.length === 0) {
    process.stderr.write(`--only ${only?.join(",")}: no scenario matches\n`);
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), "bench-migration-"));
  const previousRoutes = join(workDir, "routes.previous.yaml");
  writePreviousRoutes(previousRoutes);
  const outcomes: Outcome[] = [];
  const runs = chosen.length * chosenProcedures.length;
  try {
    process.stderr.write(
      `migration bench: ${chosen.length} scenarios × ${chosenProcedures.length} procedures, app.log at ` +
        `${linesPerSecond} lines/s per host, scale ×${scale}, ${timeoutSeconds} s wall timeout per run\n`,
    );
    for (const [index, scenario] of chosen.entries()) {
      const fleet = parseYaml(readFileSync(BASE_FLEET, "utf8")) as Fleet;
      for (const writer of appLog(fleet)) writer.linesPerSecond = linesPerSecond;
      scenario.change(fleet);
      const file = join(workDir, `scenario-${index + 1}.yaml`);
      writeFileSync(file, stringifyYaml(fleet));
      for (const [step, procedure] of chosenProcedures.entries()) {
        process.stderr.write(
          `[${index * chosenProcedures.length + step + 1}/${runs}] ${scenario.name}, ${PROCEDURES[procedure]} … `,
        );
        const outcome = {
          ...(await runStart(scenario.name, procedure, file, previousRoutes)),
          copiesExpected: scenario.copiesExpected === true,
        };
        outcomes.push(outcome);
        const { delivery } = outcome;
        process.stderr.write(
          outcome.crash !== undefined
            ? `CRASH (${outcome.crash})\n${outcome.stderrTail ?? ""}\n`
            : `${delivery?.written} written, ${delivery?.missing} lost, ${delivery?.extraCopies} dup, ` +
                `converged ${outcome.converged}, ${outcome.runSeconds.toFixed(1)} s\n`,
        );
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const lines = [
    "",
    `Migration of route ${ROUTE}: app.log at ${linesPerSecond} lines/s per host, emulator ×${scale}; ` +
      "lost = ledger missing, duplicated = ledger extraCopies; emulated s / wall s = first tag (or the " +
      "manual procedure's start) to convergence; latency = write to first arrival in the destination, " +
      "emulated s; run s = whole child process",
    "",
    renderComparison(outcomes),
    "",
    renderTable(outcomes),
    "",
    ...chosenProcedures.map((procedure) => renderTotal(outcomes, procedure)),
    ...renderNotes(outcomes),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (json)
    process.stdout.write(
      `${JSON.stringify(outcomes.map(({ stderrTail: _stderrTail, ...outcome }) => outcome))}\n`,
    );
  return outcomes.some((outcome) => outcome.crash !== undefined) ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
