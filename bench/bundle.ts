/**
 * Bundle benchmark (not a test): what `npm run package` gives each function — bundle size and cold
 * load time — against the same code compiled by tsc and loaded from node_modules. Targets: each
 * bundle < 1.5 MB (1,536 KB) and its cold load < 150 ms median.
 *
 *   npm run bench:bundle [-- --runs 15]
 *
 * A cold load is a fresh `node` that `require`s the function and exits: the require is timed
 * inside the child (process.hrtime around it, so Node's own start-up is left out), the whole
 * process from outside. Medians of N runs. The unbundled size is what the require loaded: the sum
 * of the files in require.cache. Exits non-zero only if a bundle fails to load.
 * `runBundleBench` returns the figures for bench/report.ts; run directly, this file prints them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { packageFunctions, REPO_ROOT } from "../scripts/package";
import { type Log, median, numberOption, stdoutLog } from "./common";

export const BUNDLE_TARGET_KB = 1536;
export const BUNDLE_TARGET_LOAD_MS = 150;

/** Run by each child: `node -e PROBE <module>`. */
const PROBE = `
const { statSync } = require("node:fs");
const target = process.argv[1];
const started = process.hrtime.bigint();
let error;
try {
  const loaded = require(target);
  if (typeof loaded.handler !== "function") error = "exports no handler function";
} catch (caught) {
  error = String((caught && caught.message) || caught);
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const files = Object.keys(require.cache);
let bytes = 0;
for (const file of files) {
  try {
    bytes += statSync(file).size;
  } catch {}
}
process.stdout.write(JSON.stringify({ error, ms, files: files.length, bytes }));
`;

const probeResult = z.object({
  error: z.string().optional(),
  ms: z.number(),
  files: z.number(),
  bytes: z.number(),
});

export interface Measured {
  error?: string;
  loadMs: number;
  wallMs: number;
  files: number;
  bytes: number;
}

/** N fresh processes, each requiring `module` once, with a clean environment. */
function coldLoads(module: string, cwd: string, runs: number): Measured {
  const loads: number[] = [];
  const walls: number[] = [];
  let last: z.infer<typeof probeResult> | undefined;
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ["-e", PROBE, module], {
      cwd,
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    walls.push(Number(process.hrtime.bigint() - started) / 1e6);
    const parsed = probeResult.safeParse(safeJson(child.stdout));
    if (child.status !== 0 || !parsed.success) {
      return {
        error: `exit ${child.status ?? child.signal}: ${(child.stderr || child.stdout).trim().split("\n")[0]}`,
        loadMs: Number.NaN,
        wallMs: Number.NaN,
        files: 0,
        bytes: 0,
      };
    }
    last = parsed.data;
    if (last.error !== undefined) break;
    loads.push(last.ms);
  }
  return {
    ...(last?.error === undefined ? {} : { error: last.error }),
    loadMs: median(loads),
    wallMs: median(walls),
    files: last?.files ?? 0,
    bytes: last?.bytes ?? 0,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The project compiled as it is configured (CommonJS), into `outDir` inside the repo so node_modules resolve. */
function compileWithTsc(outDir: string): void {
  const tsc = require.resolve("typescript/bin/tsc", { paths: [REPO_ROOT] });
  const result = spawnSync(
    process.execPath,
    [tsc, "-p", join(REPO_ROOT, "tsconfig.json"), "--noEmit", "false", "--outDir", outDir],
    { cwd: REPO_ROOT, encoding: "utf8" },
  );
  if (result.status !== 0) {
    // Type errors elsewhere in the repository still emit JavaScript; only a missing output is fatal.
    const first = `${result.stdout}${result.stderr}`.trim().split("\n").slice(0, 3).join("\n  ");
    process.stderr.write(`tsc exited ${result.status} (emitted anyway):\n  ${first}\n`);
  }
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const ms = (value: number) => (Number.isNaN(value) ? "—" : value.toFixed(1));
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? (a / b).toFixed(2) : "—");

export interface BundleBenchOptions {
  /** Cold loads per build and function (medians are reported). */
  runs?: number;
  log?: Log;
}

export interface BundledFunction {
  name: string;
  bytes: number;
  bundled: Measured;
  /** The same function from the tsc build, loaded from node_modules. */
  unbundled: Measured;
}

export interface BundleBenchResult {
  runs: number;
  packageSeconds: number;
  tscSeconds: number;
  sdk: Array<{ pkg: string; methodsKept: number; methodsOf: number; models?: { kept: number; of: number } }>;
  functions: BundledFunction[];
  /** Bundles that did not load (each is also in its function's `bundled.error`). */
  failed: number;
}

export async function runBundleBench(options: BundleBenchOptions = {}): Promise<BundleBenchResult> {
  const runs = options.runs ?? 15;
  const log = options.log ?? stdoutLog;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${runs}: a positive integer`);

  const out = mkdtempSync(join(tmpdir(), "ltx-bench-bundle-"));
  const scratch = join(REPO_ROOT, ".tmp");
  mkdirSync(scratch, { recursive: true });
  const compiled = mkdtempSync(join(scratch, "bench-bundle-tsc-"));
  try {
    const buildStarted = process.hrtime.bigint();
    const packaged = await packageFunctions({
      outDir: out,
      config: join(REPO_ROOT, "config", "routes.example.yaml"),
      log: () => undefined,
    });
    const buildMs = Number(process.hrtime.bigint() - buildStarted) / 1e6;
    const tscStarted = process.hrtime.bigint();
    compileWithTsc(compiled);
    const tscMs = Number(process.hrtime.bigint() - tscStarted) / 1e6;
    log(
      `bench:bundle — node ${process.version}, ${runs} cold loads each; package ${(buildMs / 1000).toFixed(1)} s, tsc ${(tscMs / 1000).toFixed(1)} s`,
    );
    for (const sdk of packaged.sdk) {
      const models = sdk.models ? `${sdk.models.kept}/${sdk.models.of} models` : "models whole";
      log(`  ${sdk.pkg}: ${sdk.methods.kept}/${sdk.methods.of} methods, ${models} bundled`);
    }

    const rows: string[][] = [
      [
        "function",
        "bundle KB",
        "load ms",
        "wall ms",
        "tsc KB (files)",
        "load ms",
        "wall ms",
        "size ×",
        "load ×",
        `< ${BUNDLE_TARGET_KB} KB`,
        `< ${BUNDLE_TARGET_LOAD_MS} ms`,
      ],
    ];
    let failed = 0;
    const functions: BundledFunction[] = [];
    for (const fn of packaged.functions) {
      const bundled = coldLoads(fn.bundle, fn.dir, runs);
      const unbundledModule = join(compiled, "functions", fn.name, "index.js");
      const unbundled = existsSync(unbundledModule)
        ? coldLoads(unbundledModule, compiled, runs)
        : { error: "not compiled", loadMs: Number.NaN, wallMs: Number.NaN, files: 0, bytes: 0 };
      if (bundled.error !== undefined) {
        failed += 1;
        process.stderr.write(`${fn.name}: the bundle does not load: ${bundled.error}\n`);
      }
      if (unbundled.error !== undefined)
        process.stderr.write(`${fn.name}: the tsc build does not load: ${unbundled.error}\n`);
      functions.push({ name: fn.name, bytes: fn.bytes, bundled, unbundled });
      rows.push([
        fn.name,
        kb(fn.bytes),
        ms(bundled.loadMs),
        ms(bundled.wallMs),
        `${kb(unbundled.bytes)} (${unbundled.files})`,
        ms(unbundled.loadMs),
        ms(unbundled.wallMs),
        ratio(fn.bytes, unbundled.bytes),
        ratio(bundled.loadMs, unbundled.loadMs),
        fn.bytes / 1024 < BUNDLE_TARGET_KB ? "yes" : "NO",
        bundled.loadMs < BUNDLE_TARGET_LOAD_MS ? "yes" : "NO",
      ]);
    }
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
    for (const [i, row] of rows.entries()) {
      const line = row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join("  ");
      log(line);
      if (i === 0) log("-".repeat(line.length));
    }
    log(
      "load ms: median require time inside a fresh node; wall ms: median of the whole process; × = bundled / tsc",
    );
    return {
      runs,
      packageSeconds: buildMs / 1000,
      tscSeconds: tscMs / 1000,
      sdk: packaged.sdk.map((sdk) => ({
        pkg: sdk.pkg,
        methodsKept: sdk.methods.kept,
        methodsOf: sdk.methods.of,
        ...(sdk.models ? { models: { kept: sdk.models.kept, of: sdk.models.of } } : {}),
      })),
      functions,
      failed,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(compiled, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runBundleBench({ runs: numberOption("runs", 15) }).then(
    (result) => {
      process.exitCode = result.failed === 0 ? 0 : 1;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
