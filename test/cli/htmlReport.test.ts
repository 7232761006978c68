import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { escapeHtml, renderHtmlReport } from "../../cli/report/htmlReport";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { Observed } from "../../shared/planner/types";
import {
  buildFleetReport,
  type FleetReport,
  type ReportCopyJob,
  type ReportInstance,
  type StageKey,
  UNTAGGED,
} from "../../shared/status/fleetReport";
import { commandRequirement, describeRequiring } from "../support/requires";

const CHROMIUM = "/usr/bin/chromium";

const ACCOUNTS = ["1111111111111111", "2222222222222222", "3333333333333333"];
const REGIONS = ["cn-hangzhou", "cn-shanghai"];
/** A deterministic mix: mostly collecting, some of every other stage. */
const STAGE_CYCLE: StageKey[] = [
  ...Array.from({ length: 11 }, (): StageKey => "collecting"),
  "authorized",
  "authorized",
  "pending",
  "pending",
  "failed:NoHeartbeat",
  "failed:CloudAssistantOffline",
  "failed:AgentNotRunning",
  "revoked",
  "untracked",
];

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));

/**
 * The report the status command would build for these instances: each becomes an observed instance
 * whose tags carry its route and status, through the real buildFleetReport.
 */
function reportOf(instances: ReportInstance[], copyJobs: ReportCopyJob[] = []): FleetReport {
  const observed: Observed = {
    now: Date.parse("2025-11-02T04:00:00.000Z"),
    instances: instances.map((instance) => ({
      instanceId: instance.instanceId,
      accountId: instance.accountId,
      region: instance.region,
      os: "linux",
      status: instance.state,
      serialNumber: "",
      tags: {
        ...(instance.route === UNTAGGED ? {} : { [config.tagKey]: instance.route }),
        ...(instance.stage === "untracked" ? {} : { [config.statusTagKey]: instance.stage }),
      },
    })),
    routes: {},
  };
  return { ...buildFleetReport(config, observed), copyJobs };
}

function fleet(routes: Record<string, number>): ReportInstance[] {
  const instances: ReportInstance[] = [];
  let n = 0;
  for (const [route, count] of Object.entries(routes)) {
    for (let i = 0; i < count; i += 1, n += 1) {
      instances.push({
        instanceId: `i-bp1${n.toString(16).padStart(8, "0")}`,
        accountId: ACCOUNTS[n % ACCOUNTS.length] ?? "",
        region: REGIONS[Math.floor(n / 3) % REGIONS.length] ?? "",
        route,
        state: n % 17 === 0 ? "Stopped" : "Running",
        stage: STAGE_CYCLE[(n * 7) % STAGE_CYCLE.length] ?? "collecting",
      });
    }
  }
  return instances;
}

const COPY_JOBS: ReportCopyJob[] = [
  { route: "app-a", sourceAccount: "1111111111111111", name: "ltx-backfill-app-a-1111", status: "RUNNING" },
  { route: "app-a", sourceAccount: "2222222222222222", name: "ltx-backfill-app-a-2222", status: "SUCCEEDED" },
  {
    route: "payments",
    sourceAccount: "3333333333333333",
    name: "",
    status: "missing",
    hosts: 12,
    collecting: 9,
    sourceConfig: "bound",
  },
];

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe("renderHtmlReport", () => {
  test("escapes every string from the report: a hostile route, id, reason and remedy stay text", () => {
    const report = reportOf([
      {
        instanceId: `i-"><img src=x onerror=alert(1)>`,
        accountId: "1111111111111111",
        region: "cn-hangzhou",
        route: "<script>alert(1)</script>",
        state: "Running",
        stage: "failed:NoHeartbeat",
      },
    ]);
    const failure = report.failed[0];
    if (failure === undefined) throw new Error("the fixture has one failure");
    failure.remedy = `say "don't" & <b>stop</b>`;
    failure.reason = "<Reason>";
    report.copyJobs = [
      { route: "<script>x</script>", sourceAccount: "a'b", name: `n"m`, status: "<missing>" },
    ];

    const html = renderHtmlReport(report);

    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain("<b>stop</b>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("say &quot;don&#39;t&quot; &amp; &lt;b&gt;stop&lt;/b&gt;");
    expect(html).toContain(`data-instance="i-&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"`);
    expect(html).toContain("&lt;Reason&gt;");
    expect(html).toContain("a&#39;b");
    expect(html).toContain("n&quot;m");
    expect(html).toContain("&lt;missing&gt;");
  });

  test("escapeHtml escapes the five characters and nothing else", () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry' · 東京</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39; · 東京&lt;/a&gt;",
    );
  });

  test("one square per instance, with its stage, id and tooltip", () => {
    const report = reportOf(fleet({ "app-a": 40, "app-b": 25, [UNTAGGED]: 5 }));

    const html = renderHtmlReport(report);

    expect(occurrences(html, "data-stage=")).toBe(70);
    expect(occurrences(html, "data-instance=")).toBe(70);
    for (const [stage, count] of Object.entries(report.totals)) {
      expect(occurrences(html, `data-stage="${stage}"`)).toBe(count);
    }
    const first = report.instances[0];
    if (first === undefined) throw new Error("the fixture has instances");
    expect(html).toContain(
      `title="${first.instanceId} · ${first.accountId} · ${first.region} · ${first.stage}" data-stage="${first.stage}" data-instance="${first.instanceId}"`,
    );
  });

  test("the header shows the title, time, hub and every stage's total; each route its counts", () => {
    const report = reportOf(fleet({ "app-a": 40, "app-b": 25 }), COPY_JOBS);

    const html = renderHtmlReport(report);

    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("<h1>logtail-xacct fleet status</h1>");
    expect(html).toContain(report.generatedAt);
    expect(html).toContain(report.hubAccountId);
    expect(html).toContain("<b data-count-total>65</b>");
    for (const [stage, count] of Object.entries(report.totals)) {
      expect(html).toContain(`data-count-stage="${stage}">${count}</b>`);
    }
    // Stages with no instance still show, with 0.
    for (const stage of ["pending", "authorized", "collecting", "revoked", "untracked"]) {
      expect(html).toMatch(new RegExp(`data-count-stage="${stage}">\\d+</b>`));
    }
    expect(html).toContain(`<span class="name">app-a</span> <span class="count">40 instances</span>`);
    expect(html).toContain(`<span class="name">app-b</span> <span class="count">25 instances</span>`);
    expect(occurrences(html, "<tr><td>app-a</td><td>")).toBeGreaterThanOrEqual(2);
  });

  test("self-contained: no script, no external URL, font or image", () => {
    const html = renderHtmlReport(reportOf(fleet({ "app-a": 50 }), COPY_JOBS));

    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|https?:/i);
  });

  test("an empty report renders, with empty tables", () => {
    const html = renderHtmlReport(reportOf([]));

    expect(html).toContain("<h1>logtail-xacct fleet status</h1>");
    expect(html).toContain(`<b data-count-total>0</b>`);
    expect(html).toContain(`data-count-stage="collecting">0</b>`);
    expect(html).not.toContain("data-stage=");
    expect(html).toContain(`<table id="failed">`);
    expect(html).toContain(`<table id="copy-jobs">`);
    expect(html).toContain("No instances are tagged for collection.");
    expect(html).toContain("No failed instances.");
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
  });

  test("the size stays linear: 10,000 instances are ten times 1,000", () => {
    const small = renderHtmlReport(reportOf(fleet({ "app-a": 600, "app-b": 400 }))).length;
    const large = renderHtmlReport(reportOf(fleet({ "app-a": 6000, "app-b": 4000 }))).length;

    expect(large / small).toBeGreaterThan(8);
    expect(large / small).toBeLessThan(11);
    // Per instance: a square, and a table row for one in ten (failed).
    expect(large / 10_000).toBeLessThan(300);
  });
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("ascii")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describeRequiring(commandRequirement(CHROMIUM), "the HTML report in headless Chromium", () => {
  const VIEWPORT = { width: 1280, height: 800 };
  const HOSTILE_REMEDY = `<script>document.title="pwned"</script> "quoted" & 'single'`;
  let workDir: string;
  let browser: Browser;
  let page: Page;
  let report: FleetReport;
  const problems: string[] = [];
  const requests: string[] = [];
  let fileUrl: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-html-report-"));
    report = reportOf(fleet({ "app-a": 120, "app-b": 90, payments: 60, [UNTAGGED]: 30 }), COPY_JOBS);
    const failure = report.failed[0];
    if (failure === undefined) throw new Error("the fixture has failures");
    failure.remedy = HOSTILE_REMEDY;
    const file = join(workDir, "fleet.html");
    writeFileSync(file, renderHtmlReport(report));
    fileUrl = pathToFileURL(file).href;

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
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("one square per instance, and per stage as many as the report's totals", async () => {
    expect(report.instances).toHaveLength(300);
    expect(await page.locator("[data-stage]").count()).toBe(300);
    expect(await page.locator("[data-instance]").count()).toBe(300);
    const totals = Object.entries(report.totals);
    expect(totals.length).toBeGreaterThanOrEqual(7);
    for (const [stage, count] of totals) {
      expect(await page.locator(`[data-stage="${stage}"]`).count()).toBe(count);
    }
  });

  test("the totals shown are the report's", async () => {
    const shown = new Map<string, number>();
    const hooks = page.locator("[data-count-stage]");
    for (let i = 0; i < (await hooks.count()); i += 1) {
      const hook = hooks.nth(i);
      shown.set((await hook.getAttribute("data-count-stage")) ?? "", Number(await hook.textContent()));
    }
    for (const [stage, count] of Object.entries(report.totals)) expect(shown.get(stage)).toBe(count);
    for (const [stage, count] of shown) expect(report.totals[stage as StageKey] ?? 0).toBe(count);
    expect(Number(await page.locator("[data-count-total]").textContent())).toBe(300);
  });

  test("the tables: one row per failure, one per migration; hostile text shown as text", async () => {
    expect(report.failed.length).toBeGreaterThan(20);
    expect(await page.locator("#failed tbody tr").count()).toBe(report.failed.length);
    expect(await page.locator("#copy-jobs tbody tr").count()).toBe(COPY_JOBS.length);
    const first = report.failed[0];
    if (first === undefined) throw new Error("the fixture has failures");
    const cells = await page.locator("#failed tbody tr").first().locator("td").allTextContents();
    expect(cells).toEqual([
      first.instanceId,
      first.accountId,
      first.region,
      first.route,
      first.reason,
      HOSTILE_REMEDY,
    ]);
    expect(await page.locator("script").count()).toBe(0);
    expect(await page.title()).toBe(`logtail-xacct fleet status — ${report.generatedAt}`);
    const missing = await page.locator("#copy-jobs tbody tr").last().locator("td").allTextContents();
    expect(missing).toEqual(["payments", "3333333333333333", "9/12", "bound", "—", "missing"]);
  });

  test("squares are small, coloured by stage, with a tooltip", async () => {
    const square = page.locator(`[data-stage="collecting"]`).first();
    const box = await square.boundingBox();
    expect(box?.width).toBe(10);
    expect(box?.height).toBe(10);
    const colours = await page.evaluate<Record<string, string>>(`(() => {
      const colour = (stage) => getComputedStyle(document.querySelector('[data-stage="' + stage + '"]')).backgroundColor;
      return { collecting: colour("collecting"), failed: colour("failed:NoHeartbeat"), pending: colour("pending") };
    })()`);
    expect(colours).toEqual({
      collecting: "rgb(46, 158, 68)",
      failed: "rgb(217, 48, 37)",
      pending: "rgb(154, 160, 166)",
    });
    const instance = report.instances[0];
    if (instance === undefined) throw new Error("the fixture has instances");
    expect(await page.locator(`[data-instance="${instance.instanceId}"]`).getAttribute("title")).toBe(
      `${instance.instanceId} · ${instance.accountId} · ${instance.region} · ${instance.stage}`,
    );
  });

  test("no console errors, nothing fetched but the file, no horizontal scroll", async () => {
    expect(problems).toEqual([]);
    expect(requests).toEqual([fileUrl]);
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(
      VIEWPORT.width,
    );
  });

  test("a full-page screenshot is a sensible PNG", async () => {
    const path = join(workDir, "fleet.png");
    await page.screenshot({ path, fullPage: true });

    expect(existsSync(path)).toBe(true);
    expect(statSync(path).size).toBeGreaterThan(5 * 1024);
    const { width, height } = pngSize(readFileSync(path));
    expect(width).toBe(VIEWPORT.width);
    expect(height).toBeGreaterThanOrEqual(VIEWPORT.height);
    expect(height).toBeLessThan(20_000);
    expect(await page.evaluate<number>("document.documentElement.scrollHeight")).toBe(height);
  });
});
