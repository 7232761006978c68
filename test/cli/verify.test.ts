/**
 * `logtail-xacct verify` on the emulator over HTTP, with the example routes file (route app-b-prod:
 * source app-b-logs/app-b in the app-b account, destination central-logs/app-b in the hub). The
 * logstores are made through the official SLS SDK and filled through PutLogs by the independent
 * `@alicloud/log` client, as Logtail ships them: tags `__hostname__` and `__inode__`, content
 * `__file_offset__`, and history lines without position meta. Then the CLI is run as a person runs
 * it and its verdict, JSON and HTML page (opened in headless Chromium) are checked against the lines
 * that were left out or written twice on purpose.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type LogClient from "@alicloud/log";
import * as $Sls from "@alicloud/sls20201230";
import { type Browser, chromium, type Page } from "playwright-core";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { type EmulatorHandle, startEmulator } from "../../emulator/index";
import type { VerifyReport } from "../../shared/status/verifyReport";
import { logClient } from "../emulator/slsDataPlaneKit";
import { HUB, REGION, SPOKE, slsClient } from "../support/localAccounts";
import { commandRequirement, describeRequiring } from "../support/requires";

const ROUTES = join(__dirname, "../../config/routes.example.yaml");
const CHROMIUM = "/usr/bin/chromium";
const SOURCE = { project: "app-b-logs", logstore: "app-b", config: "app-b-files" };
const DESTINATION = { project: "central-logs", logstore: "app-b" };
/** The emulator's clock (frozen): the verify window is backfill.from (2026-01-01) to this. */
const NOW = Date.UTC(2026, 4, 1);
/** Lines are written an hour before NOW, one a second. */
const T0 = NOW / 1000 - 3600;

/** One line of a tailed file: its host and inode (tags) and its offset; or a history line (no position). */
interface Line {
  host: string;
  inode?: string;
  offset?: number;
  time: number;
  /** When the agent read it (`__time__`), if not at `time`: a crash re-read reads a line again later. */
  readAt?: number;
  /** The `__pack_id__` it was sent in (none when unset). */
  pack?: string;
}

/** `count` lines of one file, 120 bytes apart, one a second from `time`. */
/** A file line's content length: with its newline, the 120 bytes to the next line's offset. */
const LINE_BYTES = 119;

function file(host: string, inode: string, count: number, time: number): Line[] {
  return Array.from({ length: count }, (_, i) => ({
    host,
    inode,
    offset: i * (LINE_BYTES + 1),
    time: time + i,
  }));
}

/** `count` lines of a host without position meta (shipped before the source config had it). */
function history(host: string, count: number, time: number): Line[] {
  return Array.from({ length: count }, (_, i) => ({ host, time: time + i }));
}

const textKey = () => new $Sls.IndexKey({ type: "text", token: [",", " ", ";", "="], docValue: true });
const longKey = () => new $Sls.IndexKey({ type: "long", docValue: true });
/** The keys the product indexes on a handover's logstores; without `content`, verify has no digest. */
const indexOf = (withContent: boolean, withPack = withContent) =>
  new $Sls.Index({
    line: new $Sls.IndexLine({ token: [",", " ", ";", "="], caseSensitive: false }),
    keys: {
      "__tag__:__hostname__": textKey(),
      "__tag__:__inode__": textKey(),
      __file_offset__: longKey(),
      "__tag__:__receive_time__": longKey(),
      ...(withPack ? { "__tag__:__pack_id__": textKey() } : {}),
      ...(withContent ? { content: textKey() } : {}),
    },
  });

describe("logtail-xacct verify on the emulator", () => {
  let emulator: EmulatorHandle;
  let workDir: string;
  let endpointsFile: string;
  let sourceSls: $Sls.default;
  let hubSls: $Sls.default;
  let sourceWriter: LogClient;
  let hubWriter: LogClient;

  const cli = async (...args: string[]) => {
    const io = bufferIo();
    const route = args.includes("--route") ? [] : ["--route", "app-b-prod"];
    const config = args.includes("--config") ? [] : ["--config", ROUTES];
    const code = await main(["verify", ...config, "--endpoints-file", endpointsFile, ...route, ...args], io);
    return { code, out: io.stdout(), err: io.stderr() };
  };
  /** The example routes file with the routes' processors taken out (every line kept). */
  const withoutProcessors = (): string => {
    const file = join(workDir, "routes-without-processors.yaml");
    const routes = parseYaml(readFileSync(ROUTES, "utf8")) as {
      routes: Record<string, { logtailConfig: Record<string, { processors?: unknown }> }>;
    };
    for (const route of Object.values(routes.routes))
      for (const config of Object.values(route.logtailConfig)) delete config.processors;
    writeFileSync(file, stringifyYaml(routes));
    return file;
  };

  /** Empty logstores with the position fields indexed (dropped and made again per scenario). */
  async function freshLogstores(withContent = true): Promise<void> {
    for (const [sls, { project, logstore }] of [
      [sourceSls, SOURCE],
      [hubSls, DESTINATION],
    ] as const) {
      await sls.deleteLogStore(project, logstore).catch((error: unknown) => {
        if ((error as { code?: string }).code !== "LogStoreNotExist") throw error;
      });
      await sls.createLogStore(
        project,
        new $Sls.CreateLogStoreRequest({ logstoreName: logstore, ttl: 30, shardCount: 2 }),
      );
      // Without content analytics, without the pack id either: verify falls back on both.
      await sls.createIndex(project, logstore, new $Sls.CreateIndexRequest({ body: indexOf(withContent) }));
    }
  }

  /** PutLogs, one call per host and inode as Logtail sends a file's lines (history lines per host). */
  async function put(
    writer: LogClient,
    target: { project: string; logstore: string },
    lines: readonly Line[],
  ) {
    const groups = new Map<string, Line[]>();
    for (const line of lines) {
      const key = `${line.host}\u0000${line.inode ?? ""}\u0000${line.pack ?? ""}`;
      groups.set(key, [...(groups.get(key) ?? []), line]);
    }
    for (const group of groups.values()) {
      const [first] = group;
      if (first === undefined) continue;
      await writer.postLogStoreLogs(target.project, target.logstore, {
        logs: group.map((line) => ({
          timestamp: line.readAt ?? line.time,
          content: {
            // A file's line fills its place to the next one (120 bytes, the newline included).
            content:
              `${line.time} INFO:${line.inode === undefined ? "history" : `line at ${line.offset}`}`.padEnd(
                LINE_BYTES,
                ".",
              ),
            ...(line.offset === undefined ? {} : { __file_offset__: String(line.offset) }),
          },
        })),
        tags: [
          { __hostname__: first.host },
          ...(first.inode === undefined ? [] : [{ __inode__: first.inode }]),
          ...(first.pack === undefined ? [] : [{ __pack_id__: first.pack }]),
          { __path__: "/var/log/app-b/app.log" },
        ],
        topic: "",
        source: "10.0.0.7",
      });
    }
  }

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-cli-verify-"));
    endpointsFile = join(workDir, "endpoints.json");
    emulator = await startEmulator({
      fleet: {
        accounts: [
          { ...HUB, roles: [] },
          { ...SPOKE, roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB.id] }] },
        ],
      },
      endpointsFile,
      clock: { startAt: NOW, scale: 0 },
    });
    sourceSls = slsClient(emulator.port, SPOKE);
    hubSls = slsClient(emulator.port, HUB);
    sourceWriter = logClient(emulator.port, SPOKE);
    hubWriter = logClient(emulator.port, HUB);
    await sourceSls.createProject(
      new $Sls.CreateProjectRequest({ projectName: SOURCE.project, description: "app-b's own collection" }),
    );
    await hubSls.createProject(
      new $Sls.CreateProjectRequest({ projectName: DESTINATION.project, description: "the hub's logs" }),
    );
    await freshLogstores();
    // The config the handover retires: verify finds the source's region by it.
    await sourceSls.createLogtailPipelineConfig(
      SOURCE.project,
      new $Sls.CreateLogtailPipelineConfigRequest({
        configName: SOURCE.config,
        inputs: [{ Type: "input_file", FilePaths: ["/var/log/app-b/*.log"], AppendingLogPositionMeta: true }],
        flushers: [
          {
            Type: "flusher_sls",
            Logstore: SOURCE.logstore,
            Region: REGION,
            Endpoint: `${REGION}.log.aliyuncs.com`,
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await emulator?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  describe("scenario A: the destination holds exactly the source's lines", () => {
    const source = [
      ...file("web-1", "1048577", 20, T0),
      ...file("web-2", "2097153", 10, T0 + 100),
      ...history("web-1", 5, T0 - 300),
      ...history("web-2", 2, T0 - 200),
    ];

    beforeAll(async () => {
      await freshLogstores();
      await put(sourceWriter, SOURCE, source);
      // The destination's order differs (copied history, then read lines): order does not matter.
      await put(hubWriter, DESTINATION, [...source].reverse());
    });

    test("exit 0, every line once", async () => {
      const { code, out, err } = await cli();

      expect({ code, err }).toEqual({ code: 0, err: "" });
      expect(out).toContain("route app-b-prod from 1700000000000397: every line once");
      expect(out).toMatch(
        /files 2 {2}source lines 30 {2}destination lines 30 {2}missing 0 {2}duplicated 0 \(\+0 copies\)/,
      );
      expect(out).toContain("lines without position (copied history): missing 0, extra 0");
      expect(out).not.toContain("host web-");
    });

    test("--json: one report, totals zero, every file and host counted", async () => {
      const { code, out } = await cli("--json");

      expect(code).toBe(0);
      const reports = JSON.parse(out) as VerifyReport[];
      expect(reports).toHaveLength(1);
      const [report] = reports;
      expect(report).toMatchObject({
        route: "app-b-prod",
        sourceAccount: "1700000000000397",
        ok: true,
        copyJobs: [],
        copyUnfinished: false,
        window: { from: Date.parse("2026-01-01T00:00:00Z") / 1000, to: NOW / 1000 + 60 },
        totals: {
          files: 2,
          inSource: 30,
          inDestination: 30,
          missing: 0,
          duplicated: 0,
          extraCopies: 0,
          unplacedMissing: 0,
          unplacedExtra: 0,
          unplacedRepeated: 0,
          sourceOnlyLines: 0,
        },
      });
      expect(report?.files.map((f) => [f.host, f.inode, f.inSource, f.inDestination, f.missing])).toEqual([
        ["web-1", "1048577", 20, 20, 0],
        ["web-2", "2097153", 10, 10, 0],
      ]);
      expect(report?.unplaced).toEqual([
        { host: "web-1", inSource: 5, inDestination: 5, missing: 0, extra: 0, repeated: 0, resent: 0 },
        { host: "web-2", inSource: 2, inDestination: 2, missing: 0, extra: 0, repeated: 0, resent: 0 },
      ]);
      // Lines per minute: the same 37 lines in each logstore.
      const total = (points: readonly { lines: number }[]) => points.reduce((n, p) => n + p.lines, 0);
      expect(total(report?.perMinute.source ?? [])).toBe(37);
      expect(total(report?.perMinute.destination ?? [])).toBe(37);
    });

    test("--since after every line: nothing in the window, still ok", async () => {
      const { code, out } = await cli("--json", "--since", new Date((T0 + 1000) * 1000).toISOString());

      expect(code).toBe(0);
      const [report] = JSON.parse(out) as VerifyReport[];
      expect(report?.totals).toMatchObject({ files: 0, inSource: 0, inDestination: 0 });
      expect(report?.window.from).toBe(T0 + 1000);
    });
  });

  /** Scenario B: 3 chosen lines left out of the destination, 2 written there twice, 1 history line left out. */
  const B = {
    host: "web-3",
    inode: "3145729",
    missing: [360, 1200, 2760],
    doubled: [0, 1800],
  };
  const scenarioB = async () => {
    const lines = file(B.host, B.inode, 30, T0);
    const old = history(B.host, 4, T0 - 600);
    await freshLogstores();
    await put(sourceWriter, SOURCE, [...lines, ...old]);
    await put(hubWriter, DESTINATION, [
      ...lines.filter((line) => !B.missing.includes(line.offset ?? -1)),
      ...old.slice(1),
    ]);
    // The doubles: a second PutLogs of the same lines (a re-sent batch).
    await put(
      hubWriter,
      DESTINATION,
      lines.filter((line) => B.doubled.includes(line.offset ?? -1)),
    );
  };

  /** Scenario C: the destination agent crashed and read 2 lines again 15 minutes later. */
  const C = { host: "web-4", inode: "4194305", reread: [240, 360] };
  const scenarioC = async (withContent: boolean) => {
    const lines = file(C.host, C.inode, 10, T0);
    await freshLogstores(withContent);
    await put(sourceWriter, SOURCE, lines);
    await put(hubWriter, DESTINATION, [
      ...lines,
      ...lines
        .filter((line) => C.reread.includes(line.offset ?? -1))
        .map((line) => ({ ...line, readAt: line.time + 900 })),
    ]);
  };

  describe("scenario C: a crash re-read 15 minutes later", () => {
    test("with `content` analysable: both re-read lines found as doubled, by their content digest", async () => {
      await scenarioC(true);
      const { code, out } = await cli("--json");

      expect(code).toBe(4);
      const [report] = JSON.parse(out) as VerifyReport[];
      expect(report?.lineIdentity).toBe("content");
      expect(report?.files).toEqual([
        expect.objectContaining({
          duplicated: 2,
          extraCopies: 2,
          destinationOnly: 0,
          duplicatedOffsets: C.reread,
        }),
      ]);
    });

    test("without analytics on `content`: told apart by read time, and the text says so", async () => {
      await scenarioC(false);
      const { code, out } = await cli();

      expect(code).toBe(0);
      expect(out).toContain("their copies were told apart by read time");
      const json = JSON.parse((await cli("--json")).out) as VerifyReport[];
      expect(json[0]?.lineIdentity).toBe("readTime");
      expect(json[0]?.files[0]).toMatchObject({ duplicated: 0, destinationOnly: 2 });
    });
  });

  describe("scenario E: history lines the source held twice, by pack id", () => {
    // Line A's pack reached the source twice (its answer was lost); line B was written twice, in two packs.
    const lineA = { host: "web-9", time: T0 - 500, pack: "5F3A9C0D2B4E6A81-1" };
    const lineB = { host: "web-9", time: T0 - 400 };
    const source = [
      lineA,
      lineA,
      { ...lineB, pack: "5F3A9C0D2B4E6A81-2" },
      { ...lineB, pack: "5F3A9C0D2B4E6A81-3" },
    ];

    test("both counted as repeated, one of them as a pack sent again; exit 0", async () => {
      await freshLogstores();
      await put(sourceWriter, SOURCE, source);
      await put(hubWriter, DESTINATION, source);

      const { code, out } = await cli("--json");

      expect(code).toBe(0);
      const [report] = JSON.parse(out) as VerifyReport[];
      expect(report?.unplaced).toEqual([
        { host: "web-9", inSource: 4, inDestination: 4, missing: 0, extra: 0, repeated: 2, resent: 1 },
      ]);
      expect((await cli()).out).toContain(
        "2 extra copies, 1 of them in a pack sent again (same __pack_id__)",
      );
    });
  });

  /** Scenario D: lines 5 to 7 of a file read by neither config (a handoff that loses them). */
  const D = { host: "web-5", inode: "5242881", lost: [600, 720, 840] };
  describe("scenario D: lines neither logstore holds", () => {
    beforeAll(async () => {
      const lines = file(D.host, D.inode, 12, T0).filter((line) => !D.lost.includes(line.offset ?? -1));
      await freshLogstores();
      await put(sourceWriter, SOURCE, lines.slice(0, 5));
      await put(hubWriter, DESTINATION, lines);
    });

    test("exit 4: one hole of 360 bytes where the lost lines were, nothing missing by the source's count", async () => {
      const { code, out } = await cli("--config", withoutProcessors());

      expect(code).toBe(4);
      expect(out).toContain(
        "holes in the files' offsets (bytes no line in either logstore covers): 1 (360 bytes)\n",
      );
      expect(out).toContain(
        `host ${D.host} inode ${D.inode}: 0 missing (offsets -), 0 duplicated (offsets -), 1 holes (at 600)`,
      );
      const [report] = JSON.parse(
        (await cli("--config", withoutProcessors(), "--json")).out,
      ) as VerifyReport[];
      expect(report?.totals).toMatchObject({
        missing: 0,
        holes: 1,
        holeBytes: 360,
        filesNotCheckedForHoles: 0,
      });
      expect(report?.faultMinutes).toEqual([
        { minute: T0 + 4 - ((T0 + 4) % 60), missing: 0, extraCopies: 0, holes: 1 },
      ]);
    });

    test("the example route parses its lines and drops what does not parse: the hole is shown, exit 0", async () => {
      const { code, out } = await cli();

      expect(code).toBe(0);
      expect(out).toContain(
        "holes in the files' offsets (bytes no line in either logstore covers): 1 (360 bytes), not counted against the route: its processors may drop lines",
      );
    });
  });

  describe("scenario B: 3 lines missing, 2 doubled, 1 history line missing", () => {
    beforeAll(scenarioB);

    test("exit 4: the text names the file, its missing and doubled offsets", async () => {
      const { code, out } = await cli();

      expect(code).toBe(4);
      expect(out).toContain("route app-b-prod from 1700000000000397: NOT exactly once");
      expect(out).toMatch(
        /files 1 {2}source lines 30 {2}destination lines 27 {2}missing 3 {2}duplicated 2 \(\+2 copies\)/,
      );
      expect(out).toContain("lines without position (copied history): missing 1, extra 0");
      expect(out).toContain(
        `host ${B.host} inode ${B.inode}: 3 missing (offsets ${B.missing.join(", ")}), 2 duplicated (offsets ${B.doubled.join(", ")})`,
      );
    });

    test("--json: exactly those offsets for that host and inode", async () => {
      const { code, out } = await cli("--json");

      expect(code).toBe(4);
      const [report] = JSON.parse(out) as VerifyReport[];
      expect(report?.ok).toBe(false);
      expect(report?.files).toEqual([
        {
          host: B.host,
          inode: B.inode,
          inSource: 30,
          inDestination: 27,
          missing: 3,
          duplicated: 2,
          extraCopies: 2,
          destinationOnly: 0,
          rereadHistory: 0,
          awaitingCopy: 0,
          missingOffsets: B.missing,
          duplicatedOffsets: B.doubled,
          // The missing lines are in the source: no byte of the file is without a line.
          holes: 0,
          holeBytes: 0,
          holeOffsets: [],
          holesChecked: true,
        },
      ]);
      expect(report?.totals).toEqual({
        files: 1,
        inSource: 30,
        inDestination: 27,
        missing: 3,
        duplicated: 2,
        extraCopies: 2,
        unplacedMissing: 1,
        unplacedExtra: 0,
        unplacedRepeated: 0,
        unplacedResent: 0,
        sourceOnlyLines: 0,
        rereadHistory: 0,
        awaitingCopy: 0,
        holes: 0,
        holeBytes: 0,
        filesNotCheckedForHoles: 0,
      });
      expect(report?.unplaced).toEqual([
        { host: B.host, inSource: 4, inDestination: 3, missing: 1, extra: 0, repeated: 0, resent: 0 },
      ]);
    });
  });

  describeRequiring(commandRequirement(CHROMIUM), "verify --html in headless Chromium", () => {
    // A describe of its own: its hooks are this block's, not the emulator's.
    describe("the page of scenario B", () => {
      const VIEWPORT = { width: 1280, height: 800 };
      let browser: Browser;
      let page: Page;
      let fileUrl: string;
      let report: VerifyReport;
      const problems: string[] = [];
      const requests: string[] = [];

      beforeAll(async () => {
        await scenarioB();
        const html = join(workDir, "verify.html");
        const run = await cli("--json", "--html", html);
        expect(run.code).toBe(4);
        expect(run.err).toBe(`verify: HTML report written to ${html}\n`);
        [report] = JSON.parse(run.out) as [VerifyReport];
        expect(readFileSync(html, "utf8").startsWith("<!DOCTYPE html>")).toBe(true);
        fileUrl = pathToFileURL(html).href;

        browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
        page = await browser.newPage({ viewport: VIEWPORT });
        page.on("console", (message) => {
          if (message.type() === "error" || message.type() === "warning")
            problems.push(`${message.type()}: ${message.text()}`);
        });
        page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
        page.on("request", (request) => requests.push(request.url()));
        await page.goto(fileUrl, { waitUntil: "load" });
      }, 60_000);

      afterAll(async () => {
        await browser?.close();
      });

      test("one section, not once, with the report's counts", async () => {
        expect(await page.locator("section[data-verdict]").count()).toBe(1);
        expect(await page.locator(`section[data-verdict="not-once"]`).count()).toBe(1);
        expect(await page.locator("section h2").textContent()).toBe(
          "app-b-prod from 1700000000000397: not exactly once",
        );
        const shown: Record<string, number> = {};
        const hooks = page.locator("[data-count]");
        for (let i = 0; i < (await hooks.count()); i += 1) {
          const hook = hooks.nth(i);
          shown[(await hook.getAttribute("data-count")) ?? ""] = Number(await hook.textContent());
        }
        expect(shown).toEqual({
          files: 1,
          source: 30,
          destination: 27,
          missing: 3,
          duplicated: 2,
          "extra-copies": 2,
          holes: 0,
          "awaiting-copy": 0,
          "history-missing": 1,
          "history-extra": 0,
          "history-repeated": 0,
          "source-only": 0,
        });
      });

      test("the chart marks the copy's span, and each minute's missing lines and extra copies", async () => {
        const copy = page.locator("svg rect[data-copy-range]");
        expect(await copy.count()).toBe(report.cutoverAt === undefined ? 0 : 1);
        const marks: Array<{ kind: string; minute: number; lines: number }> = [];
        const hooks = page.locator("svg rect[data-fault]");
        for (let i = 0; i < (await hooks.count()); i += 1) {
          const hook = hooks.nth(i);
          marks.push({
            kind: (await hook.getAttribute("data-fault")) ?? "",
            minute: Number(await hook.getAttribute("data-minute")),
            lines: Number(await hook.getAttribute("data-lines")),
          });
          expect((await hook.boundingBox())?.width).toBeGreaterThan(0);
        }
        const sum = (kind: string) => marks.filter((m) => m.kind === kind).reduce((n, m) => n + m.lines, 0);
        expect(sum("missing")).toBe(3);
        expect(sum("extra-copies")).toBe(2);
        expect(sum("holes")).toBe(0);
        expect(marks.map((m) => m.minute % 60)).toEqual(marks.map(() => 0));
      });

      test("the chart draws both series, one point per minute with lines", async () => {
        for (const series of ["source", "destination"] as const) {
          const polyline = page.locator(`svg polyline[data-series="${series}"]`);
          expect(await polyline.count()).toBe(1);
          const points = ((await polyline.getAttribute("points")) ?? "").trim().split(/\s+/);
          expect(points).toHaveLength(report.perMinute[series].length);
          expect(points.length).toBeGreaterThan(0);
          for (const point of points) expect(point).toMatch(/^\d+(\.\d)?,\d+(\.\d)?$/);
          const box = await polyline.boundingBox();
          expect(box?.width).toBeGreaterThan(0);
        }
      });

      test("the problem row: that host and inode, its missing and doubled offsets", async () => {
        const rows = page.locator("#problems tr[data-host]");
        expect(await rows.count()).toBe(1);
        const row = page.locator(`#problems tr[data-host="${B.host}"][data-inode="${B.inode}"]`);
        expect(await row.count()).toBe(1);
        expect(await row.locator("td").allTextContents()).toEqual([
          B.host,
          B.inode,
          "3",
          B.missing.join(", "),
          "2",
          B.doubled.join(", "),
          // No hole: the missing lines are in the source.
          "0",
          "",
        ]);
        expect(await row.isVisible()).toBe(true);
      });

      test("no console errors, nothing fetched but the file, no horizontal scroll", async () => {
        expect(problems).toEqual([]);
        expect(requests).toEqual([fileUrl]);
        expect(await page.locator("script").count()).toBe(0);
        expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(
          VIEWPORT.width,
        );
      });
    });
  });

  test("an unknown --route: exit 1, one line, nothing printed on stdout", async () => {
    const { code, out, err } = await cli("--route", "no-such-route");

    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toMatch(
      /^logtail-xacct: --route no-such-route: no such route in .*\(routes: app-b-prod, payments-prod\)\n$/,
    );
  });

  test("a route that hands over from no source (payments-prod): exit 1, one line", async () => {
    const { code, out, err } = await cli("--route", "payments-prod");

    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      "logtail-xacct: route payments-prod hands over from no source (no source with retire and backfill)\n",
    );
  });

  test("a --since that is not a time: exit 2, one line", async () => {
    const { code, err } = await cli("--since", "yesterday");

    expect(code).toBe(2);
    expect(err).toBe(`--since: "yesterday" is not an ISO-8601 time\n`);
  });
});
