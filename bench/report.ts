/**
 * `npm run bench`: every benchmark in one run on this machine, into one report —
 * `bench/report.json` (every figure with its unit, target and verdict, the machine, each
 * benchmark's full result), `bench/REPORT.md` (a short table, also printed to stdout) and
 * `bench/scale.svg` (the scale curve).
 *
 *   npm run bench [-- --quick] [--only scale,baseline] [--out DIR] [--sizes 100,1000,10000] [--scale 5]
 *                     [--catch-up-max N]
 *   npm run bench -- --render [--out DIR]    # REPORT.md and scale.svg again from report.json
 *
 * --quick: small sizes and short windows, a smoke run of the whole report (its figures are not the
 * targets' conditions). --only: a subset of emulator, fleet, pipeline, bundle, scale, baseline.
 * A benchmark that throws is recorded with its error and the others still run; the exit code is 1
 * then, 0 otherwise (a missed target is a verdict in the report, not a failure of the run).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { loadServerlessSpec } from "../localstack/fc";
import { REPO_ROOT } from "../scripts/package";
import { type BaselineResult, runBaselineBench } from "./baseline";
import { BUNDLE_TARGET_KB, BUNDLE_TARGET_LOAD_MS, type BundleBenchResult, runBundleBench } from "./bundle";
import {
  elapsedSeconds,
  errorText,
  type Figure,
  figure,
  formatJson,
  HUB_ACCOUNT,
  type Log,
  type MachineFacts,
  machineFacts,
  round,
} from "./common";
import {
  EMULATOR_TARGET_CALLS_PER_SECOND,
  EMULATOR_TARGET_P99_MS,
  type EmulatorBenchResult,
  runEmulatorBench,
} from "./emulator";
import {
  FLEET_TARGET_HEARTBEAT_CPU_SHARE,
  FLEET_TARGET_RUN_COMMAND_SECONDS,
  type FleetBenchResult,
  runFleetBench,
} from "./fleet";
import { FUNCTION_MEMORY_LIMIT_MB, packageBundles, TEMPLATE } from "./functionMemory";
import {
  PIPELINE_TARGET_BOUND_RATIO,
  PIPELINE_TARGET_CALLS_PER_INSTANCE,
  type PipelineBenchResult,
  runPipelineBench,
} from "./pipeline";
import {
  CATCH_UP_WORKLOAD,
  DEFAULT_CLOCK_SCALE,
  DEFAULT_SIZES,
  growthExponent,
  runScaleBench,
  type ScalePoint,
  type ScaleResult,
  TARGET_GROWTH_EXPONENT,
} from "./scale";
import { scaleChartSvg } from "./svg";

const SECTIONS = ["bundle", "emulator", "fleet", "pipeline", "scale", "baseline"] as const;
type Section = (typeof SECTIONS)[number];

interface Settings {
  quick: boolean;
  only: Section[];
  outDir: string;
  emulatorSeconds: number;
  fleetSeconds: number;
  pipelineInstances: number;
  pipelineScale: number;
  bundleRuns: number;
  scaleSizes: number[];
  clockScale: number;
  /** Largest size at which reconcile's catch-up (every event lost) is measured; null: every size. */
  catchUpMax: number | null;
  baselineInstances: number;
}

interface Report {
  title: string;
  mode: "full" | "quick";
  machine: MachineFacts;
  settings: Settings;
  durationSeconds: number;
  figures: Figure[];
  /** Benchmarks that threw, with the error. */
  errors: Array<{ section: Section; error: string }>;
  results: {
    bundle?: BundleBenchResult;
    emulator?: EmulatorBenchResult;
    fleet?: FleetBenchResult;
    pipeline?: PipelineBenchResult;
    scale?: ScaleResult;
    baseline?: BaselineResult & { pipelineAtSameSize?: ScalePoint };
  };
  method: string[];
}

function parseSettings(argv: readonly string[]): Settings {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index < 0 ? undefined : argv[index + 1];
  };
  const unknown = argv.filter((arg) => arg.startsWith("--") && !KNOWN_FLAGS.includes(arg));
  if (unknown.length > 0)
    throw new Error(`unknown option ${unknown.join(", ")}; see the header of bench/report.ts`);
  const quick = argv.includes("--quick");
  const onlyText = value("only");
  const only = onlyText === undefined ? [...SECTIONS] : onlyText.split(",").map((name) => name.trim());
  const wrong = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (wrong.length > 0) throw new Error(`--only ${wrong.join(",")}: one of ${SECTIONS.join(", ")}`);
  const sizesText = value("sizes");
  const scaleSizes =
    sizesText !== undefined ? sizesText.split(",").map(Number) : quick ? [20, 50, 100] : [...DEFAULT_SIZES];
  if (scaleSizes.some((n) => !(Number.isInteger(n) && n > 0)))
    throw new Error(`--sizes ${sizesText}: whole numbers`);
  const clockScale = Number(value("scale") ?? DEFAULT_CLOCK_SCALE);
  if (!(clockScale > 0 && clockScale <= 100))
    throw new Error(`--scale ${value("scale")}: a number in (0, 100]`);
  return {
    quick,
    only: only as Section[],
    outDir: value("out") ?? join(REPO_ROOT, "bench"),
    emulatorSeconds: quick ? 3 : 10,
    fleetSeconds: quick ? 3 : 10,
    pipelineInstances: quick ? 100 : 1000,
    // Quick: ×5 so the 60 s heartbeat period does not make the smoke run wait minutes.
    pipelineScale: quick ? 5 : 1,
    bundleRuns: quick ? 3 : 9,
    scaleSizes,
    clockScale,
    // Catching up on 10,000 instances is 100 host commands with a ≥ 5 s wait each (~9 min): left to
    // `--catch-up-max 10000` (or bench/scale.ts --catch-up-only) to keep the report near 25 min.
    catchUpMax: value("catch-up-max") !== undefined ? Number(value("catch-up-max")) : quick ? null : 1000,
    baselineInstances: quick ? 50 : 1000,
  };
}

const KNOWN_FLAGS = ["--quick", "--only", "--out", "--sizes", "--scale", "--catch-up-max", "--render"];

function bundleFigures(result: BundleBenchResult): Figure[] {
  const largest = [...result.functions].sort((a, b) => b.bytes - a.bytes)[0];
  const slowest = [...result.functions].sort((a, b) => b.bundled.loadMs - a.bundled.loadMs)[0];
  const loadOk = result.functions.every((fn) => fn.bundled.error === undefined);
  return [
    figure({
      id: "bundle.largestKb",
      label: `largest function bundle (${largest?.name ?? "?"}, of ${result.functions.length})`,
      value: largest === undefined ? null : round(largest.bytes / 1024, 1),
      unit: "KB",
      target: { comparison: "<", value: BUNDLE_TARGET_KB },
    }),
    figure({
      id: "bundle.slowestLoadMs",
      label: `slowest cold load of a bundle (${slowest?.name ?? "?"}, median of ${result.runs})`,
      value: loadOk && slowest !== undefined ? round(slowest.bundled.loadMs, 1) : null,
      unit: "ms",
      target: { comparison: "<", value: BUNDLE_TARGET_LOAD_MS },
    }),
  ];
}

function emulatorFigures(result: EmulatorBenchResult): Figure[] {
  const where = `${result.instances.toLocaleString("en-US")} instances, ${result.concurrency} SDK clients`;
  return [
    figure({
      id: "emulator.unpaced.callsPerSecond",
      label: `emulator throughput, unpaced (${where})`,
      value: round(result.unpaced.callsPerSecond, 0),
      unit: "calls/s",
      target: { comparison: ">=", value: EMULATOR_TARGET_CALLS_PER_SECOND },
    }),
    figure({
      id: "emulator.unpaced.clientP50Ms",
      label: "emulator client latency p50, unpaced",
      value: round(result.unpaced.clientP50Ms, 1),
      unit: "ms",
    }),
    figure({
      id: "emulator.unpaced.clientP99Ms",
      label: "emulator client latency p99, unpaced",
      value: round(result.unpaced.clientP99Ms, 1),
      unit: "ms",
    }),
    figure({
      id: "emulator.paced.serverP50Ms",
      label: `emulator overhead p50 at ${result.paced.pacedRate ?? "?"} calls/s`,
      value: round(result.paced.serverP50Ms, 2),
      unit: "ms",
    }),
    figure({
      id: "emulator.paced.serverP99Ms",
      label: `emulator overhead p99 at ${result.paced.pacedRate ?? "?"} calls/s`,
      value: round(result.paced.serverP99Ms, 2),
      unit: "ms",
      target: { comparison: "<", value: EMULATOR_TARGET_P99_MS },
    }),
  ];
}

function fleetFigures(result: FleetBenchResult): Figure[] {
  const slowest = Math.max(...result.rounds.map((r) => r.seconds));
  const allSucceeded = result.rounds.every((r) => r.success === 100);
  return [
    figure({
      id: "fleet.runCommand100Seconds",
      label: `RunCommand across 100 of ${result.loadedHosts.toLocaleString("en-US")} hosts, slowest of ${result.rounds.length} rounds`,
      value: allSucceeded ? round(slowest, 2) : null,
      unit: "s",
      target: { comparison: "<", value: FLEET_TARGET_RUN_COMMAND_SECONDS },
      ...(allSucceeded ? {} : { note: "a round had instances that did not succeed" }),
    }),
    figure({
      id: "fleet.idleHeartbeatCpuPercent",
      label: `heartbeats of ${result.heartbeat.agents.toLocaleString("en-US")} idle agents (${round(result.heartbeat.heartbeatsPerSecond, 0)}/s)`,
      value: round(result.heartbeat.share * 100, 2),
      unit: "% of one core",
      target: { comparison: "<", value: FLEET_TARGET_HEARTBEAT_CPU_SHARE * 100 },
    }),
  ];
}

function pipelineFigures(result: PipelineBenchResult): Figure[] {
  const where = `${result.instances.toLocaleString("en-US")} instances, rate limits, ×${result.scale}`;
  return [
    figure({
      id: "pipeline.callsPerInstance",
      label: `pipeline API calls per onboarded instance (${where})`,
      value: result.converged ? round(result.callsPerInstance, 3) : null,
      unit: "calls/instance",
      target: { comparison: "<=", value: PIPELINE_TARGET_CALLS_PER_INSTANCE },
      note: `${result.apiCalls} calls, ${result.throttled} throttled`,
    }),
    figure({
      id: "pipeline.floorPerInstance",
      label: "pipeline call floor from batch sizes",
      value: round(result.floorPerInstance, 3),
      unit: "calls/instance",
    }),
    figure({
      id: "pipeline.emulatedSeconds",
      label: "pipeline first tag → last collecting (emulated)",
      value: result.converged ? result.emulatedSeconds : null,
      unit: "s",
      note: `${result.wallSeconds} s wall`,
    }),
    figure({
      id: "pipeline.boundSeconds",
      label: "pipeline time bound (rate limits + heartbeat period)",
      value: result.boundSeconds,
      unit: "s",
      note: `binding: ${result.bindingApi}`,
    }),
    figure({
      id: "pipeline.boundRatio",
      label: "pipeline time / bound",
      value: result.converged ? round(result.boundRatio, 2) : null,
      unit: "×",
      target: { comparison: "<=", value: PIPELINE_TARGET_BOUND_RATIO },
    }),
  ];
}

/** Each function's timeout in s.yaml (seconds). */
function functionTimeouts(): Map<string, number> {
  const spec = loadServerlessSpec(TEMPLATE, { env: process.env, config: { AccountID: HUB_ACCOUNT } });
  return new Map(spec.functions.map((fn) => [fn.resource, fn.timeout]));
}

/** The first words of a probe's workload, for a table cell. */
function shortWorkload(workload: string): string {
  return workload.split(":")[0]?.split(" (")[0] ?? workload;
}

function scaleFigures(result: ScaleResult): Figure[] {
  const figures: Figure[] = [];
  const timeouts = functionTimeouts();
  const largest = result.points.at(-1);
  for (const point of result.points) {
    const n = point.instances.toLocaleString("en-US");
    figures.push(
      figure({
        id: `scale.${point.instances}.wallSeconds`,
        label: point.converged
          ? `scale ${n}: first tag → all collecting (wall)`
          : `scale ${n}: first tag → all collecting (wall; not converged by the deadline)`,
        value: point.wallSeconds,
        ...(point.converged ? {} : { atLeast: true }),
        unit: "s",
        note: `${point.emulatedSeconds} s emulated; ${point.secondsPerInstance} s/instance; ${point.failedOnTheWay} instances failed on the way`,
      }),
      figure({
        id: `scale.${point.instances}.callsPerInstance`,
        label: point.converged
          ? `scale ${n}: API calls per instance`
          : `scale ${n}: API calls per instance (until the deadline)`,
        value: point.callsPerInstance,
        ...(point.converged ? {} : { atLeast: true }),
        unit: "calls/instance",
        note: `${point.apiCalls} calls`,
      }),
    );
    figures.push(
      figure({
        id: `scale.${point.instances}.collecting`,
        label: `scale ${n}: instances collecting at the end`,
        value: point.collecting,
        unit: "instances",
        target: { comparison: ">=", value: point.instances },
        note: `stages at the end: ${JSON.stringify(point.finalStages ?? {})}`,
      }),
    );
    const heaviest = point.memory?.heaviest;
    figures.push(
      figure({
        id: `scale.${point.instances}.heaviestFunctionPeakMb`,
        label: `scale ${n}: heaviest function peak RSS (${heaviest ? heaviest.function : "?"})`,
        value: heaviest?.peakRssMb ?? null,
        unit: "MB",
        target: { comparison: "<", value: FUNCTION_MEMORY_LIMIT_MB },
        ...(heaviest ? { note: heaviest.workload } : {}),
      }),
    );
    const catchUp = point.memory?.probes.find(
      (probe) => probe.function === "reconcile" && probe.workload.startsWith(CATCH_UP_WORKLOAD),
    );
    if (catchUp !== undefined)
      figures.push(
        figure({
          id: `scale.${point.instances}.reconcileCatchUpSeconds`,
          label: `scale ${n}: reconcile catch-up after all events lost`,
          value: catchUp.ok ? catchUp.seconds : null,
          unit: "s",
          target: { comparison: "<", value: timeouts.get("reconcile") ?? Number.NaN },
          note: "against the function's timeout in s.yaml",
        }),
      );
  }
  // At the largest size, how long each function's one invocation took, against its FC timeout.
  for (const probe of largest?.memory?.probes ?? []) {
    if (probe.workload.startsWith(CATCH_UP_WORKLOAD)) continue;
    figures.push(
      figure({
        id: `scale.${largest?.instances}.${probe.function}.seconds`,
        label: `scale ${largest?.instances.toLocaleString("en-US")}: ${probe.function} invocation (${shortWorkload(probe.workload)})`,
        value: probe.ok ? probe.seconds : null,
        unit: "s",
        target: { comparison: "<", value: timeouts.get(probe.function) ?? Number.NaN },
        note: `${probe.workload}; peak RSS ${probe.peakRssMb} MB; against the function's timeout in s.yaml`,
      }),
    );
  }
  // Recomputed from the points. When the larger size did not converge, its time and calls at the
  // deadline are floors of what converging takes, so the slopes computed from them are floors too.
  const [from, to] = result.points.slice(-2);
  if (from !== undefined && to !== undefined && from.converged) {
    const between = `${from.instances.toLocaleString("en-US")} → ${to.instances.toLocaleString("en-US")}`;
    const floor = !to.converged;
    const slope = (a: number, b: number) =>
      round(growthExponent({ size: from.instances, value: a }, { size: to.instances, value: b }));
    const note = floor
      ? `${to.instances} did not converge by its deadline: a floor from the time and calls until then`
      : undefined;
    figures.push(
      figure({
        id: "scale.growth.wallExponent",
        label: `scale growth exponent, wall time ${between}${floor ? " (floor)" : ""}`,
        value: slope(from.wallSeconds, to.wallSeconds),
        unit: "",
        target: { comparison: "<=", value: TARGET_GROWTH_EXPONENT },
        ...(floor ? { atLeast: true } : {}),
        ...(note ? { note } : {}),
      }),
      figure({
        id: "scale.growth.callsExponent",
        label: `scale growth exponent, API calls ${between}${floor ? " (floor)" : ""}`,
        value: slope(from.apiCalls, to.apiCalls),
        unit: "",
        target: { comparison: "<=", value: TARGET_GROWTH_EXPONENT },
        ...(floor ? { atLeast: true } : {}),
        ...(note ? { note } : {}),
      }),
    );
  }
  return figures;
}

function baselineFigures(result: BaselineResult, pipeline: ScalePoint | undefined): Figure[] {
  const n = result.instances.toLocaleString("en-US");
  const figures = [
    figure({
      id: "baseline.callsPerInstance",
      label: `baseline, RunCommand + ListMachines per instance (${n}): API calls per instance`,
      value: result.failed === 0 ? result.callsPerInstance : null,
      unit: "calls/instance",
      note: `${result.apiCalls} calls, ${result.runCommandAndListMachines} of them RunCommand + ListMachines; ${result.failed} failed`,
    }),
    figure({
      id: "baseline.wallSeconds",
      label: `baseline (${n}, ${result.concurrency} in flight): wall time`,
      value: result.failed === 0 ? result.wallSeconds : null,
      unit: "s",
    }),
  ];
  if (pipeline?.converged && result.failed === 0) {
    figures.push(
      figure({
        id: "baseline.callRatio",
        label: `API calls, pipeline / baseline (${n})`,
        value: round(pipeline.apiCalls / result.apiCalls, 3),
        unit: "×",
        note: `${pipeline.apiCalls} / ${result.apiCalls}`,
      }),
      figure({
        id: "baseline.callRatioToTwoPerInstance",
        label: "API calls, pipeline / baseline's RunCommand + ListMachines only",
        value: round(pipeline.apiCalls / result.runCommandAndListMachines, 3),
        unit: "×",
        note: `${pipeline.apiCalls} / ${result.runCommandAndListMachines}`,
      }),
      figure({
        id: "baseline.wallRatio",
        label: "wall time, pipeline / baseline (the pipeline does more; timers pace it)",
        value: round(pipeline.wallSeconds / result.wallSeconds, 3),
        unit: "×",
        note: `${pipeline.wallSeconds} s (first tag → all collecting) / ${result.wallSeconds} s (first command → last heartbeat seen); the pipeline also writes status tags and binds the config, and its timers (heartbeat every minute) set its pace`,
      }),
    );
  }
  return figures;
}

function formatValue(value: number | null, unit: string): string {
  if (value === null) return "—";
  const text = Math.abs(value) >= 1000 ? value.toLocaleString("en-US") : String(value);
  if (unit === "") return text;
  if (unit === "×") return `${text}×`;
  return `${text} ${unit}`;
}

function formatTarget(figureRow: Figure): string {
  if (figureRow.target === undefined) return "";
  const symbol = { "<": "<", "<=": "≤", ">": ">", ">=": "≥" }[figureRow.target.comparison];
  return `${symbol} ${formatValue(figureRow.target.value, figureRow.unit)}`;
}

/** A Markdown table padded as the repository's formatter (biome) writes it. */
function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const width = (text: string) => [...text].length;
  const widths = header.map((title, column) =>
    Math.max(3, width(title), ...rows.map((row) => width(row[column] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, column) => (cells[column] ?? "").padEnd(w + (cells[column] ?? "").length - width(cells[column] ?? ""))).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

function markdown(report: Report, svgFile: string | undefined): string {
  const m = report.machine;
  const lines = [
    `# npm run bench (${report.mode})`,
    "",
    `${m.date}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, node ${m.node}, ${m.platform}; load average at start ${m.loadAverage.join(" / ")}; the whole run took ${round(report.durationSeconds / 60, 1)} min.`,
    "",
    ...markdownTable(
      ["figure", "measured", "target", "verdict"],
      report.figures.map((f) => [
        f.label,
        `${f.atLeast && f.value !== null ? "≥ " : ""}${formatValue(f.value, f.unit)}`,
        formatTarget(f),
        f.verdict === "info" ? "" : f.verdict,
      ]),
    ),
  ];
  const scale = report.results.scale;
  if (scale !== undefined && scale.points.length > 0) {
    lines.push(
      "",
      `Scale curve: emulator time ×${scale.clockScale}, no API rate limits; the heaviest function's peak RSS is its bundle run alone in a bare node on that size's workload (limit ${FUNCTION_MEMORY_LIMIT_MB} MB).`,
      "",
      ...markdownTable(
        [
          "instances",
          "wall s",
          "emulated s",
          "API calls",
          "calls/instance",
          "s/instance",
          "failed on the way",
          "heaviest function, peak RSS",
        ],
        scale.points.map((p) => {
          const heaviest = p.memory?.heaviest;
          return [
            p.instances.toLocaleString("en-US"),
            p.converged ? String(p.wallSeconds) : `not converged in ${p.wallSeconds}`,
            String(p.emulatedSeconds),
            p.apiCalls.toLocaleString("en-US"),
            String(p.callsPerInstance),
            String(p.secondsPerInstance),
            String(p.failedOnTheWay),
            heaviest ? `${heaviest.function} ${heaviest.peakRssMb} MB` : "—",
          ];
        }),
      ),
    );
    const largest = scale.points.at(-1);
    if (largest?.memory !== undefined) {
      lines.push(
        "",
        `Each function alone at ${largest.instances.toLocaleString("en-US")} instances (its deploy bundle in a bare node, one invocation):`,
        "",
        ...markdownTable(
          ["function", "workload", "peak RSS", "after loading", "seconds"],
          largest.memory.probes.map((probe) => [
            probe.function,
            probe.workload,
            `${probe.peakRssMb} MB`,
            `${probe.loadedRssMb} MB`,
            probe.ok ? String(probe.seconds) : `failed: ${probe.error ?? "?"}`,
          ]),
        ),
      );
    }
    if (svgFile !== undefined) lines.push("", `![scale curve](${svgFile})`);
  }
  if (report.errors.length > 0) {
    lines.push("", "Benchmarks that did not run to the end:", "");
    for (const { section, error } of report.errors) lines.push(`- ${section}: ${error}`);
  }
  lines.push("", "How: see `method` in report.json and the headers of bench/*.ts.", "");
  return lines.join("\n");
}

function methodNotes(settings: Settings): string[] {
  return [
    "Everything runs on this machine in one process tree: the emulator, the simulated sandboxed hosts (real host scripts, 4 at a time), the agents and the functions share its cores, and so does anything else running on it (see the load average).",
    `scale: the stack npm start assembles (startLocalStack with s.yaml's functions and triggers, hub queues, dead-letter queue), one fleet of N healthy Linux hosts per size, tagged by the operator's TagResources 50 at a time; emulator time ×${settings.clockScale} and no API rate limits (×20, npm start's default, makes the functions' 90 s command wait shorter than the simulated hosts' queue on 2 cores); API calls counted by the emulator from start to the moment every instance is collecting.`,
    `function memory: after each size converged the in-process functions are stopped and each function's deploy bundle (npm run package) is invoked once in a fresh bare node against that stack; the child reports its own peak RSS (getrusage maxRSS, checked against VmHWM), the Node runtime included, which is what FC's 512 MB applies to. Workloads: reconcile's timer on the converged fleet; authorize on the operator's first TagResources event (50 instances) captured from the hub's bus and replayed; heartbeat's timer with every instance marked authorized and queued as authorize leaves them; apply on one trigger batch (16 messages) of the queue heartbeat filled; and, ${settings.catchUpMax === null ? "at every size" : `at sizes up to ${settings.catchUpMax}`}, reconcile on a second stack whose instances were tagged with no event (all events lost), authorizing every instance. The heaviest is the highest peak.`,
    "baseline: same stack without functions, same fleet size and clock; per instance one RunCommand (the real rendered authorize script) polled with DescribeInvocationResults every second, then ListMachines (pages of 500) every second until its machine shows; 20 instances in flight; all calls counted, setup included. It does less than the pipeline (no status tags, no config binding, no cutover).",
    "pipeline: bench:pipeline (npm start's command with rate limits) — the time bound is in emulated seconds; at ×1 emulated = wall.",
  ];
}

/** Every figure, derived from the benchmarks' results (so a re-render applies the same rules). */
function figuresOf(results: Report["results"]): Figure[] {
  return [
    ...(results.bundle ? bundleFigures(results.bundle) : []),
    ...(results.emulator ? emulatorFigures(results.emulator) : []),
    ...(results.fleet ? fleetFigures(results.fleet) : []),
    ...(results.pipeline ? pipelineFigures(results.pipeline) : []),
    ...(results.scale ? scaleFigures(results.scale) : []),
    ...(results.baseline ? baselineFigures(results.baseline, results.baseline.pipelineAtSameSize) : []),
  ];
}

/** report.json, REPORT.md (also to stdout) and, when the scale curve ran, scale.svg. */
function writeOutputs(report: Report, outDir: string, log: Log): void {
  mkdirSync(outDir, { recursive: true });
  const { results, machine } = report;
  let svgFile: string | undefined;
  if (results.scale !== undefined && results.scale.points.length > 0) {
    const points = results.scale.points;
    svgFile = "scale.svg";
    writeFileSync(
      join(outDir, svgFile),
      scaleChartSvg(
        `logtail-xacct onboarding on the local stack: emulator ×${results.scale.clockScale}, no rate limits, ${machine.cpus} cores, ${machine.date.slice(0, 10)}`,
        "instances (log)",
        [
          {
            title: "wall time to converge",
            unit: "seconds (log)",
            points: points.filter((p) => p.converged).map((p) => ({ x: p.instances, y: p.wallSeconds })),
            linearReference: true,
            atLeast: points
              .filter((p) => !p.converged)
              .map((p) => ({
                x: p.instances,
                y: p.wallSeconds,
                label: `not converged in ${p.wallSeconds} s`,
              })),
          },
          {
            title: "API calls to converge",
            unit: "calls (log)",
            points: points.filter((p) => p.converged).map((p) => ({ x: p.instances, y: p.apiCalls })),
            linearReference: true,
            atLeast: points
              .filter((p) => !p.converged)
              .map((p) => ({ x: p.instances, y: p.apiCalls, label: `${p.apiCalls} by then` })),
          },
          {
            title: "heaviest function, peak RSS",
            unit: "MB (log)",
            points: points.flatMap((p) =>
              p.memory?.heaviest ? [{ x: p.instances, y: p.memory.heaviest.peakRssMb }] : [],
            ),
            limit: { y: FUNCTION_MEMORY_LIMIT_MB, label: `FC memory ${FUNCTION_MEMORY_LIMIT_MB} MB` },
          },
        ],
      ),
    );
  }
  writeFileSync(join(outDir, "report.json"), formatJson(report));
  const text = markdown(report, svgFile);
  writeFileSync(join(outDir, "REPORT.md"), text);
  process.stdout.write(text);
  log(
    `wrote ${["report.json", "REPORT.md", ...(svgFile ? [svgFile] : [])].map((f) => relative(process.cwd(), join(outDir, f))).join(", ")} (run: ${round(report.durationSeconds / 60, 1)} min)`,
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const log: Log = (line) => {
    process.stderr.write(`${line}\n`);
  };
  if (args.includes("--render")) {
    // Only the Markdown and the chart again, from the report.json of an earlier run.
    const dir =
      (args.includes("--out") ? args[args.indexOf("--out") + 1] : undefined) ?? join(REPO_ROOT, "bench");
    const earlier = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
    writeOutputs({ ...earlier, figures: figuresOf(earlier.results) }, dir, log);
    return 0;
  }
  const settings = parseSettings(args);
  const started = performance.now();
  const machine = machineFacts();
  const report: Report = {
    title: "logtail-xacct benchmarks",
    mode: settings.quick ? "quick" : "full",
    machine,
    settings,
    durationSeconds: 0,
    figures: [],
    errors: [],
    results: {},
    method: methodNotes(settings),
  };
  const run = async <T>(section: Section, work: () => Promise<T>): Promise<T | undefined> => {
    if (!settings.only.includes(section)) return undefined;
    const sectionStarted = performance.now();
    log(`== ${section}`);
    try {
      const result = await work();
      log(`== ${section} done in ${elapsedSeconds(sectionStarted).toFixed(0)} s`);
      return result;
    } catch (error) {
      log(`== ${section} FAILED after ${elapsedSeconds(sectionStarted).toFixed(0)} s: ${errorText(error)}`);
      report.errors.push({ section, error: errorText(error) });
      return undefined;
    }
  };

  report.results.bundle = await run("bundle", () => runBundleBench({ runs: settings.bundleRuns, log }));
  report.results.emulator = await run("emulator", () =>
    runEmulatorBench({ seconds: settings.emulatorSeconds, log }),
  );
  report.results.fleet = await run("fleet", () => runFleetBench({ seconds: settings.fleetSeconds, log }));
  report.results.pipeline = await run("pipeline", () =>
    runPipelineBench({ instances: settings.pipelineInstances, scale: settings.pipelineScale, log }),
  );
  report.results.scale = await run("scale", async () => {
    const bundles = await packageBundles();
    try {
      return await runScaleBench({
        sizes: settings.scaleSizes,
        scale: settings.clockScale,
        catchUpMax: settings.catchUpMax ?? Number.POSITIVE_INFINITY,
        bundles,
        log,
      });
    } finally {
      bundles.cleanup();
    }
  });
  const baseline = await run("baseline", async () => {
    const result = await runBaselineBench({
      instances: settings.baselineInstances,
      scale: settings.clockScale,
      log,
    });
    // The pipeline at the same size and clock: from the scale curve, or onboarded now (without memory probes).
    let pipelineAtSameSize = report.results.scale?.points.find((p) => p.instances === result.instances);
    if (pipelineAtSameSize === undefined) {
      const extra = await runScaleBench({
        sizes: [result.instances],
        scale: settings.clockScale,
        memory: false,
        log,
      });
      pipelineAtSameSize = extra.points[0];
    }
    return { ...result, ...(pipelineAtSameSize ? { pipelineAtSameSize } : {}) };
  });
  if (baseline !== undefined) report.results.baseline = baseline;

  const { results } = report;
  report.figures = figuresOf(results);
  report.durationSeconds = round(elapsedSeconds(started), 1);

  writeOutputs(report, settings.outDir, log);
  return report.errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
