/**
 * One function's own peak memory. The local FC runtime runs every function in the process of the
 * emulator and the simulated hosts, so that process's RSS says nothing about one function. Here a
 * function's deploy bundle (`npm run package`, the file FC runs) is invoked once in a fresh, bare
 * `node` — no tsx, no node_modules in reach — against the local stack, on a real workload, and the
 * child reports its own peak resident set (`process.resourceUsage().maxRSS`, the kernel's
 * high-water mark, cross-checked with VmHWM from /proc/self/status). That is what FC's memory
 * limit (512 MB in s.yaml) is held against: the Node runtime, the bundle and the workload.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EmulatorHandle } from "../emulator/index";
import { emulatorRoleCredentials, type FunctionSpec, loadServerlessSpec } from "../localstack/fc";
import { packageFunctions, REPO_ROOT } from "../scripts/package";
import { round } from "./common";

/** FC memory every function gets (s.yaml `memorySize`). */
export const FUNCTION_MEMORY_LIMIT_MB = 512;
export const TEMPLATE = join(REPO_ROOT, "s.yaml");
export const ROUTES_FILE = join(REPO_ROOT, "config", "routes.example.yaml");

/**
 * Run by the bare node: `harness.js <bundle> <request.json>`. `*.localhost` (the local stack's
 * names) resolve to 127.0.0.1, standing in for DNS, as test/deploy/bundle.test.ts does.
 */
const HARNESS = `"use strict";
const dns = require("node:dns");
const { readFileSync } = require("node:fs");
const [bundle, requestFile] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestFile, "utf8"));
const original = dns.lookup;
dns.lookup = (hostname, options, callback) => {
  if (!hostname.endsWith(".localhost")) return original(hostname, options, callback);
  const done = typeof options === "function" ? options : callback;
  const all = typeof options === "object" && options !== null && options.all === true;
  process.nextTick(() => (all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4)));
};
const vmHwmKb = () => {
  const match = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) : undefined;
};
const print = (report) => process.stdout.write("@@result " + JSON.stringify(report) + "\\n");
const started = process.hrtime.bigint();
const describe = (error) => String((error && error.message) || error);
let loaded;
try {
  loaded = require(bundle);
} catch (error) {
  print({ ok: false, error: "load: " + describe(error), maxRssKb: process.resourceUsage().maxRSS });
  process.exit(0);
}
const loadedMaxRssKb = process.resourceUsage().maxRSS;
const finish = (outcome) => {
  const memory = process.memoryUsage();
  print({
    ...outcome,
    loadedMaxRssKb,
    maxRssKb: process.resourceUsage().maxRSS,
    vmHwmKb: vmHwmKb(),
    heapUsedBytes: memory.heapUsed,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  });
};
Promise.resolve()
  .then(() => loaded.handler(Buffer.from(request.event, "utf8"), request.context))
  .then(
    (result) => finish({ ok: true, result: String(result).slice(0, 300) }),
    (error) => finish({ ok: false, error: describe(error) }),
  );
`;

export interface FunctionBundles {
  dir: string;
  /** Function resource name (`reconcile`) → its bundle file. */
  bundle(name: string): string;
  cleanup(): void;
}

/** `npm run package` into a temporary folder (dist/ is left alone), with the routes file the local stack uses. */
export async function packageBundles(): Promise<FunctionBundles> {
  const dir = mkdtempSync(join(tmpdir(), "bench-fn-bundles-"));
  const packaged = await packageFunctions({
    outDir: join(dir, "dist"),
    config: ROUTES_FILE,
    log: () => undefined,
  });
  writeFileSync(join(dir, "harness.js"), HARNESS);
  return {
    dir,
    bundle: (name) => {
      const found = packaged.functions.find((fn) => fn.name === name);
      if (found === undefined) throw new Error(`no bundle for function ${name}`);
      return found.bundle;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface FunctionProbe {
  /** s.yaml resource name: reconcile, authorize, heartbeat, apply. */
  function: string;
  /** What it was given, in words. */
  workload: string;
  instances: number;
  ok: boolean;
  /** The handler's return value (shortened), or the error. */
  result?: string;
  error?: string;
  /** Peak RSS of the whole child, runtime included: what FC's memory limit applies to. */
  peakRssMb: number;
  /** Peak RSS right after the bundle was required, before the handler ran. */
  loadedRssMb: number;
  heapUsedMb: number;
  seconds: number;
  /** Stopped at the function's FC timeout (s.yaml); the peak is then what was seen until then. */
  timedOut?: boolean;
}

export interface ProbeTarget {
  emulator: EmulatorHandle;
  endpointsFile: string;
  logFile: string;
  hubAccountId: string;
  hubRegion: string;
}

function functionSpec(name: string, hubAccountId: string): FunctionSpec {
  const spec = loadServerlessSpec(TEMPLATE, { env: process.env, config: { AccountID: hubAccountId } });
  const found = spec.functions.find((fn) => fn.resource === name);
  if (found === undefined) throw new Error(`s.yaml has no function ${name}`);
  return found;
}

/**
 * Invokes one bundle once in a bare node on `event`, with the context and environment FC would
 * give it on the local stack (the function role's credentials from the emulator, s.yaml's
 * variables, the endpoints file). Asynchronous: the emulator and the hosts live in this process
 * and must keep serving while the child runs.
 */
export async function probeFunction(
  bundles: FunctionBundles,
  target: ProbeTarget,
  name: string,
  event: string,
  describe: { workload: string; instances: number },
): Promise<FunctionProbe> {
  const spec = functionSpec(name, target.hubAccountId);
  // FC stops an invocation at the function's timeout; so does the probe (wall clock).
  const timeoutMs = spec.timeout * 1000;
  const credentials = await emulatorRoleCredentials(target.emulator.accounts)({
    functionName: spec.name,
    ...(spec.role === undefined ? {} : { role: spec.role }),
    accountId: target.hubAccountId,
    region: target.hubRegion,
  });
  const requestFile = join(bundles.dir, `request-${name}-${Date.now()}.json`);
  writeFileSync(
    requestFile,
    JSON.stringify({
      event,
      context: {
        requestId: `bench-${name}-${Date.now()}`,
        credentials: {
          accessKeyId: credentials.accessKeyId,
          accessKeySecret: credentials.accessKeySecret,
          securityToken: credentials.securityToken,
        },
        function: { name: spec.name, handler: spec.handler, memory: spec.memorySize, timeout: spec.timeout },
        region: target.hubRegion,
        accountId: target.hubAccountId,
      },
    }),
  );
  const started = performance.now();
  try {
    const { stdout, stderr, code, timedOut, vmHwmKb } = await runChild(
      process.execPath,
      [join(bundles.dir, "harness.js"), bundles.bundle(name), requestFile],
      {
        // A clean environment: no NODE_OPTIONS (no tsx), only what FC would set from s.yaml.
        PATH: process.env.PATH ?? "",
        ...spec.environmentVariables,
        LOGTAIL_XACCT_ENDPOINTS_FILE: target.endpointsFile,
        LOGTAIL_XACCT_LOG_FILE: target.logFile,
      },
      timeoutMs,
    );
    const seconds = round((performance.now() - started) / 1000, 1);
    const line = stdout.split("\n").find((candidate) => candidate.startsWith("@@result "));
    if (line === undefined)
      return {
        function: name,
        ...describe,
        ok: false,
        error: timedOut
          ? `stopped at the function's timeout (${spec.timeout} s), as FC would stop it`
          : `exit ${code}, no result: ${stderr.trim().split("\n").at(-1) ?? ""}`,
        ...(timedOut ? { timedOut } : {}),
        // What this process saw of the child's high-water mark until it ended.
        peakRssMb: vmHwmKb === undefined ? Number.NaN : round(vmHwmKb / 1024, 1),
        loadedRssMb: Number.NaN,
        heapUsedMb: Number.NaN,
        seconds,
      };
    const report = JSON.parse(line.slice("@@result ".length)) as {
      ok: boolean;
      result?: string;
      error?: string;
      maxRssKb: number;
      vmHwmKb?: number;
      loadedMaxRssKb?: number;
      heapUsedBytes?: number;
    };
    const peakKb = Math.max(report.maxRssKb, report.vmHwmKb ?? 0, vmHwmKb ?? 0);
    return {
      function: name,
      ...describe,
      ok: report.ok,
      ...(report.result === undefined ? {} : { result: report.result }),
      ...(report.error === undefined ? {} : { error: report.error }),
      peakRssMb: round(peakKb / 1024, 1),
      loadedRssMb: round((report.loadedMaxRssKb ?? Number.NaN) / 1024, 1),
      heapUsedMb: round((report.heapUsedBytes ?? Number.NaN) / 1024 ** 2, 1),
      seconds,
    };
  } finally {
    rmSync(requestFile, { force: true });
  }
}

function runChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
  /** The child's VmHWM as last read from /proc while it ran (a child stopped at its timeout reports nothing itself). */
  vmHwmKb?: number;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let timedOut = false;
    let vmHwmKb: number | undefined;
    const sample = setInterval(() => {
      try {
        const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (match) vmHwmKb = Math.max(vmHwmKb ?? 0, Number(match[1]));
      } catch {
        // Gone already.
      }
    }, 500);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      // Only the tail matters (the reason a child died).
      stderr = (stderr + chunk).slice(-8192);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      clearInterval(sample);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearInterval(sample);
      resolve({ stdout, stderr, code, timedOut, ...(vmHwmKb === undefined ? {} : { vmHwmKb }) });
    });
  });
}
