/**
 * The deploy build (scripts/package.ts): one self-sufficient file per function. Each bundle is
 * copied where no `node_modules` can be found and run by a bare `node` (no NODE_PATH, no
 * NODE_OPTIONS): it must load, find its routes file and host scripts beside itself and, on the
 * local stack, do the real work through the (pruned) SDKs. A bad routes file fails the build.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { promisify } from "node:util";
import {
  BUNDLED_ROUTES_FILE,
  listFunctions,
  METAFILE_SUFFIX,
  type PackageResult,
  packageFunctions,
  REPO_ROOT,
} from "../../scripts/package";
import { RoutesConfigError } from "../../shared/config/routesConfig";
import { decodeMessage } from "../../shared/messages/queueMessages";
import { APPLY_QUEUE, config, HUB, REGION, SPOKE, startPipelineKit } from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const run = promisify(execFile);
const EXAMPLE_ROUTES = join(REPO_ROOT, "config", "routes.example.yaml");
const HOST_SCRIPTS = ["linux.sh", "windows.ps1"];
const FUNCTIONS = ["apply", "authorize", "heartbeat", "reconcile"];

/**
 * Run by a bare node beside a copied bundle: requires it, optionally calls its handler, and prints
 * one result line. `*.localhost` (the local stack's names) resolve to 127.0.0.1 when asked: the
 * only help the process gets, standing in for DNS.
 */
const HARNESS = `"use strict";
const dns = require("node:dns");
const { readFileSync } = require("node:fs");
const [bundle, requestFile] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestFile, "utf8"));
if (request.localhost) {
  const original = dns.lookup;
  dns.lookup = (hostname, options, callback) => {
    if (!hostname.endsWith(".localhost")) return original(hostname, options, callback);
    const done = typeof options === "function" ? options : callback;
    const all = typeof options === "object" && options !== null && options.all === true;
    process.nextTick(() => (all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4)));
  };
}
const print = (report) => process.stdout.write("@@result " + JSON.stringify(report) + "\\n");
const fail = (error) => ({ name: error && error.name, code: error && error.code, message: String(error && error.message) });
let loaded;
try {
  loaded = require(bundle);
} catch (error) {
  print({ loaded: false, error: fail(error) });
  process.exit(0);
}
const report = { loaded: true, handler: typeof loaded.handler, modules: Object.keys(require.cache) };
if (request.event === undefined) print(report);
else
  Promise.resolve()
    .then(() => loaded.handler(Buffer.from(request.event, "utf8"), request.context))
    .then(
      (result) => print({ ...report, ok: true, result }),
      (error) => print({ ...report, ok: false, error: fail(error) }),
    );
`;

interface HarnessReport {
  loaded: boolean;
  handler?: string;
  modules?: string[];
  ok?: boolean;
  result?: unknown;
  error?: { name?: string; code?: string; message: string };
}

interface Invocation {
  event?: string;
  context?: Record<string, unknown>;
  localhost?: boolean;
  env?: Record<string, string>;
}

/** Nothing a bare `require` could find: no node_modules in `dir` or any folder above it. */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, "node_modules"))) found.push(join(at, "node_modules"));
    if (dirname(at) === at) return found;
  }
}

describe("the deploy bundles (npm run package)", () => {
  let out: string;
  let bare: string;
  let packaged: PackageResult;
  /** `<bare>/<name>`: each bundle folder copied out of the build, beside the harness. */
  const copyOf = (name: string) => join(bare, name);

  async function invoke(name: string, invocation: Invocation = {}): Promise<HarnessReport> {
    const requestFile = join(bare, `request-${name}-${Date.now()}.json`);
    writeFileSync(requestFile, JSON.stringify(invocation));
    // A clean environment: no NODE_PATH, no NODE_OPTIONS (no tsx, no preloads), nothing inherited.
    const { stdout } = await run(
      process.execPath,
      [join(bare, "harness.js"), join(copyOf(name), "index.js"), requestFile],
      {
        cwd: copyOf(name),
        env: { PATH: process.env.PATH ?? "", ...invocation.env },
        timeout: 30_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const line = stdout.split("\n").find((candidate) => candidate.startsWith("@@result "));
    if (line === undefined) throw new Error(`no result from the ${name} bundle; stdout:\n${stdout}`);
    return JSON.parse(line.slice("@@result ".length)) as HarnessReport;
  }

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "ltx-bundle-out-"));
    packaged = await packageFunctions({ outDir: out, config: EXAMPLE_ROUTES, log: () => undefined });
    bare = mkdtempSync(join(tmpdir(), "ltx-bundle-bare-"));
    for (const name of FUNCTIONS) cpSync(join(out, name), copyOf(name), { recursive: true });
    writeFileSync(join(bare, "harness.js"), HARNESS);
  }, 60_000);

  afterAll(() => {
    for (const dir of [out, bare]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("one bundle per function, with the validated routes file and the host scripts beside it", () => {
    expect(listFunctions()).toEqual(FUNCTIONS);
    expect(packaged.functions.map((fn) => fn.name)).toEqual(FUNCTIONS);
    expect(packaged.routes).toMatchObject({ file: EXAMPLE_ROUTES, source: "--config" });
    for (const fn of packaged.functions) {
      // The code package holds what runs and nothing else: no build metadata.
      const files = readdirSync(fn.dir).filter((file) => file !== "index.js.LEGAL.txt");
      expect(files.sort()).toEqual(["index.js", "index.js.map", BUNDLED_ROUTES_FILE, ...HOST_SCRIPTS].sort());
      expect(readFileSync(join(out, `${fn.name}${METAFILE_SUFFIX}`), "utf8")).toMatch(/^\{"inputs":/);
      expect(readFileSync(join(fn.dir, BUNDLED_ROUTES_FILE), "utf8")).toBe(
        readFileSync(EXAMPLE_ROUTES, "utf8"),
      );
      for (const script of HOST_SCRIPTS) {
        expect(readFileSync(join(fn.dir, script), "utf8")).toBe(
          readFileSync(join(REPO_ROOT, "shared", "hostscript", script), "utf8"),
        );
      }
      expect(fn.warnings).toEqual([]);
      expect(fn.bytes).toBeGreaterThan(100_000);
    }
    // No staging folder left behind; the metafiles beside the packages.
    expect(readdirSync(out).sort()).toEqual(
      [...FUNCTIONS, ...FUNCTIONS.map((name) => `${name}${METAFILE_SUFFIX}`)].sort(),
    );
  });

  test("each bundle loads in a bare node with no node_modules in reach, and nothing else is loaded", async () => {
    expect(nodeModulesAbove(bare)).toEqual([]);
    for (const name of FUNCTIONS) {
      const report = await invoke(name);

      expect({ name, ...report, modules: undefined }).toEqual({ name, loaded: true, handler: "function" });
      // The harness and the bundle: every other module came from the bundle itself or Node.
      expect(report.modules?.sort()).toEqual(
        [join(bare, "harness.js"), join(copyOf(name), "index.js")].sort(),
      );
    }
  });

  test("each handler reads its routes file beside the bundle, then stops at the missing FC credentials", async () => {
    for (const name of FUNCTIONS) {
      const report = await invoke(name, { event: "", context: { requestId: `bare-${name}` } });

      expect(report.ok).toBe(false);
      expect(report.error?.code).toBeUndefined(); // not MODULE_NOT_FOUND, not ENOENT
      expect(report.error?.message).toMatch(/the FC context carries no credentials/);
    }
    // Without the routes file beside it, the same call fails earlier, naming the file it looked for.
    rmSync(join(copyOf("heartbeat"), BUNDLED_ROUTES_FILE));
    try {
      const report = await invoke("heartbeat", { event: "", context: {} });
      expect(report.error).toMatchObject({ name: "RoutesConfigError" });
      expect(report.error?.message).toContain(`${copyOf("heartbeat")}${sep}${BUNDLED_ROUTES_FILE}`);
    } finally {
      cpSync(join(out, "heartbeat", BUNDLED_ROUTES_FILE), join(copyOf("heartbeat"), BUNDLED_ROUTES_FILE));
    }
  });

  test("a bad routes file fails the build with the schema's message, and no bundle is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-bundle-bad-"));
    try {
      const bad = join(dir, "routes.yaml");
      writeFileSync(
        bad,
        readFileSync(EXAMPLE_ROUTES, "utf8")
          .replace('accountId: "1200000000000456"', 'accountId: "120000000000045"')
          .replace("tagKey: logtail-xacct-route", "tagKey: logtail-xacct-route\ncolour: blue"),
      );
      const target = join(dir, "dist");

      const failure = packageFunctions({ outDir: target, config: bad, log: () => undefined });

      await expect(failure).rejects.toBeInstanceOf(RoutesConfigError);
      const message = await failure.then(
        () => "",
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      expect(message).toMatch(/^.*routes\.yaml: 2 problems/);
      expect(message).toMatch(/colour: unknown key "colour" \(line 7\)/);
      expect(message).toMatch(/hub\.accountId: .*\(line 12\)/);
      expect(existsSync(target)).toBe(false);

      // The command line: the same message on stderr, exit 1, nothing written.
      const cli = await run(
        join(REPO_ROOT, "node_modules", ".bin", "tsx"),
        [join(REPO_ROOT, "scripts", "package.ts"), "--config", bad, "--out", target],
        { cwd: REPO_ROOT, timeout: 30_000 },
      ).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
      );
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain(message);
      expect(existsSync(target)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describeRequiring(sandboxRequirement(), "on the local stack", () => {
    const INSTANCE = "i-bp1bundle000001";
    const timer = '{"triggerTime":"2026-04-01T00:00:00Z","triggerName":"timer","payload":""}';

    test("reconcile, heartbeat and apply take a tagged instance to collecting; authorize dead-letters poison", async () => {
      const kit = await startPipelineKit([
        {
          account: "app-b",
          region: REGION,
          id: INSTANCE,
          tags: { [config.tagKey]: "app-b-prod" },
          // It writes where the route reads: its lines earn `collecting`.
          writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 1 }],
        },
      ]);
      try {
        // The source's history and old collection, so the cutover can complete.
        const source = kit.adapters.sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
        await source.ensureProject();
        await source.ensureLogstore("app-b");
        const endpointsFile = join(bare, "endpoints.json");
        writeFileSync(endpointsFile, JSON.stringify(kit.stack.emulator.endpoints));
        const hub = kit.stack.emulator.endpoints.accounts.find((account) => account.id === HUB);
        if (hub === undefined) throw new Error("the emulator has no hub key");
        const logFile = join(bare, "functions.log");
        // As FC runs them: the function's credentials in the context; the local stack's endpoints.
        const invokeOnStack = async (name: string, event: string) => {
          const report = await invoke(name, {
            event,
            context: {
              requestId: `bundle-${name}`,
              region: REGION,
              accountId: HUB,
              credentials: { accessKeyId: hub.accessKeyId, accessKeySecret: hub.accessKeySecret },
            },
            env: { LOGTAIL_XACCT_ENDPOINTS_FILE: endpointsFile, LOGTAIL_XACCT_LOG_FILE: logFile },
            localhost: true,
          });
          if (!report.ok) throw new Error(`${name}: ${JSON.stringify(report.error)}`);
          return report.result;
        };

        // apply: the apply queue's messages as the MNS trigger delivers them.
        const queue = kit.adapters.queue();
        const applyRound = async (type: "apply" | "host-work" = "apply") => {
          const received = await queue.receive(APPLY_QUEUE, 16, 0);
          expect(received.map((item) => decodeMessage(item.body))).toContainEqual(
            expect.objectContaining({ ok: true, message: expect.objectContaining({ type }) }),
          );
          const trigger = received.map((item) => ({
            id: item.messageId,
            source: "MNS-Function-logtail-xacct-apply",
            specversion: "1.0",
            type: "mns:Queue:SendMessage",
            data: { messageId: item.messageId, messageBody: item.body },
          }));
          expect(await invokeOnStack("apply", JSON.stringify(trigger))).toBe("applied 1");
          await queue.delete(
            APPLY_QUEUE,
            received.map((item) => item.receiptHandle),
          );
        };

        // reconcile: ECS through an assumed spoke role (STS), SLS, MNS; its host command is handed
        // to the apply queue, whose run reaches Cloud Assistant.
        const executed = JSON.parse(String(await invokeOnStack("reconcile", timer)));
        expect(executed).toMatchObject({ authorize: 1, ensureRoute: 1 });
        expect(kit.status(INSTANCE)).toBe("pending");
        await applyRound("host-work");
        expect(kit.status(INSTANCE)).toBe("authorized");

        // heartbeat: the queued check finds the agent's heartbeat and hands the instance to apply.
        kit.stack.emulator.advanceClock(10_000);
        const checked = JSON.parse(String(await invokeOnStack("heartbeat", timer)));
        expect(checked).toMatchObject({ healthy: 1 });
        // The first apply binds the config: heartbeating is not collecting yet.
        await applyRound();
        expect(kit.status(INSTANCE)).toBe("authorized");
        // The agent ships the host's lines; the heartbeat check's next look sees them.
        await kit.letLinesFlow(40);
        expect(JSON.parse(String(await invokeOnStack("heartbeat", timer)))).toMatchObject({ healthy: 1 });
        await applyRound();
        expect(kit.status(INSTANCE)).toBe("collecting");

        // authorize: a malformed event goes to the dead-letter queue with its reason.
        const poison = '{"specversion":"1.0","type":"ecs:ActionTrail:ApiCall","source":"acs.ecs"}';
        expect(await invokeOnStack("authorize", poison)).toBe("rejected");
        expect(kit.deadLetters()).toEqual([
          expect.objectContaining({ function: "authorize", reason: "MalformedEvent", original: poison }),
        ]);

        const logged = readFileSync(logFile, "utf8").trim().split("\n");
        const errors = logged
          .map((line) => JSON.parse(line) as { outcome?: string })
          .filter((line) => line.outcome === "error");
        expect(errors).toEqual([]);
      } finally {
        await kit.stop();
      }
    }, 60_000);
  });
});
