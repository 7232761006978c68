/**
 * `verify --html`: one self-contained page per run (inline CSS and SVG, no script, nothing
 * fetched). Per route and source account: the verdict, lines per minute in the source and in the
 * destination across the migration as two lines of an SVG chart with the cutover marked, the copy
 * jobs, and every file with missing or doubled lines. Every string is escaped.
 *
 * Hooks for tests: `data-verdict` ("once" | "not-once") on each section, `data-count` on the totals,
 * `data-series` ("source" | "destination") on the chart's polylines, `data-cutover` on its marker,
 * `data-copy-range` on the span the copy covers, `data-fault` ("missing" | "extra-copies" |
 * "holes") with `data-minute` and `data-lines` on each fault mark, `data-host` / `data-inode` on
 * each problem row.
 */
import {
  LINE_TIME_SKEW_SECONDS,
  type MinuteCount,
  type VerifyReport,
} from "../../shared/status/verifyReport";
import { escapeHtml } from "./htmlReport";

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.once{color:#1a7f37}.not-once{color:#cf222e}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
svg{border:1px solid #d0d7de;background:#fff}
.source{stroke:#0969da;fill:none;stroke-width:1.5}.destination{stroke:#1a7f37;fill:none;stroke-width:1.5;stroke-dasharray:4 2}
.cutover{stroke:#cf222e;stroke-width:1}
.copy-range{fill:#0969da;fill-opacity:.07}
.fault-missing{fill:#cf222e;color:#cf222e}.fault-extra-copies{fill:#bc4c00;color:#bc4c00}.fault-holes{fill:#8250df;color:#8250df}
.legend span{display:inline-block;margin-right:16px}
`;

const WIDTH = 800;
const HEIGHT = 200;
const PAD = 30;

export function renderVerifyHtml(reports: readonly VerifyReport[]): string {
  return [
    "<!DOCTYPE html>",
    `<html lang="en">`,
    "<head>",
    `<meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    "<title>logtail-xacct verify</title>",
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    "<h1>logtail-xacct verify</h1>",
    ...reports.map(renderReport),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function renderReport(report: VerifyReport): string {
  const verdict = report.ok ? "once" : "not-once";
  const { totals } = report;
  const count = (name: string, value: number) => `<td data-count="${name}">${value}</td>`;
  const problems = report.files.filter((file) => file.missing > 0 || file.extraCopies > 0 || file.holes > 0);
  return [
    `<section data-verdict="${verdict}">`,
    `<h2>${escapeHtml(report.route)} from ${escapeHtml(report.sourceAccount)}: <span class="${verdict}">${report.ok ? "every line once" : "not exactly once"}</span></h2>`,
    "<table><tr><th>files</th><th>source lines</th><th>destination lines</th><th>missing</th><th>duplicated</th><th>extra copies</th><th>holes</th><th>still to copy</th><th>history missing</th><th>history extra</th><th>history repeated in the source</th><th>after the cutover in the source only</th></tr>",
    `<tr>${count("files", totals.files)}${count("source", totals.inSource)}${count("destination", totals.inDestination)}${count("missing", totals.missing)}${count("duplicated", totals.duplicated)}${count("extra-copies", totals.extraCopies)}${count("holes", totals.holes)}${count("awaiting-copy", totals.awaitingCopy)}${count("history-missing", totals.unplacedMissing)}${count("history-extra", totals.unplacedExtra)}${count("history-repeated", totals.unplacedRepeated)}${count("source-only", totals.sourceOnlyLines)}</tr></table>`,
    report.holesAreLoss
      ? ""
      : `<p data-holes-judged="false">The route's configs have processors, which may drop lines: holes are shown, not held against the route.</p>`,
    report.lineIdentity === "content"
      ? `<p data-line-identity="content">Copies of a line are told apart from other lines by its position and a digest of its content.</p>`
      : `<p data-line-identity="${report.lineIdentity}">Some lines have no content digest: their copies were told apart by read time, so a re-read more than ${LINE_TIME_SKEW_SECONDS} s later counts as a line of its own.</p>`,
    renderChart(report),
    `<table id="copy-jobs"><tr><th>copy job</th><th>status</th></tr>${report.copyJobs
      .map((job) => `<tr><td>${escapeHtml(job.name)}</td><td>${escapeHtml(job.status)}</td></tr>`)
      .join("")}</table>`,
    problems.length === 0
      ? `<p class="once">No file has a missing or doubled line, or a hole.</p>`
      : `<table id="problems"><tr><th>host</th><th>inode</th><th>missing</th><th>missing offsets</th><th>duplicated</th><th>duplicated offsets</th><th>holes</th><th>hole offsets</th></tr>${problems
          .map(
            (file) =>
              `<tr data-host="${escapeHtml(file.host)}" data-inode="${escapeHtml(file.inode)}"><td>${escapeHtml(file.host)}</td><td>${escapeHtml(file.inode)}</td><td>${file.missing}</td><td>${file.missingOffsets.join(", ")}</td><td>${file.duplicated}</td><td>${file.duplicatedOffsets.join(", ")}</td><td>${file.holes}</td><td>${file.holeOffsets.join(", ")}</td></tr>`,
          )
          .join("")}</table>`,
    "</section>",
  ].join("\n");
}

/** Lines per minute: the source in blue, the destination dashed green, the cutover a red line. */
function renderChart(report: VerifyReport): string {
  const { source, destination } = report.perMinute;
  const all = [...source, ...destination];
  if (all.length === 0) return `<p>No lines in the window.</p>`;
  const minutes = all.map((point) => point.minute);
  const first = Math.min(...minutes, report.cutoverAt ?? Number.POSITIVE_INFINITY);
  const last = Math.max(...minutes, report.cutoverAt ?? Number.NEGATIVE_INFINITY, first + 60);
  const top = Math.max(1, ...all.map((point) => point.lines));
  const x = (minute: number) => PAD + ((minute - first) / (last - first)) * (WIDTH - 2 * PAD);
  const y = (lines: number) => HEIGHT - PAD - (lines / top) * (HEIGHT - 2 * PAD);
  const line = (points: readonly MinuteCount[], series: string) =>
    `<polyline class="${series}" data-series="${series}" points="${points
      .map((point) => `${x(point.minute).toFixed(1)},${y(point.lines).toFixed(1)}`)
      .join(" ")}"/>`;
  const cutover =
    report.cutoverAt === undefined
      ? ""
      : `<line class="cutover" data-cutover="${report.cutoverAt}" x1="${x(report.cutoverAt).toFixed(1)}" x2="${x(report.cutoverAt).toFixed(1)}" y1="${PAD}" y2="${HEIGHT - PAD}"/>`;
  // The copy covers what the source received from the window's start (the route's backfill.from,
  // or --since) up to the cutover.
  const copyStart = Math.max(first, report.window.from);
  const copyRange =
    report.cutoverAt === undefined || report.copyJobs.length === 0 || report.cutoverAt <= copyStart
      ? ""
      : `<rect class="copy-range" data-copy-range="${copyStart}-${report.cutoverAt}" x="${x(copyStart).toFixed(1)}" y="${PAD}" width="${(x(report.cutoverAt) - x(copyStart)).toFixed(1)}" height="${HEIGHT - 2 * PAD}"/>`;
  // Each minute with a fault: a mark under the axis per kind, missing lowest.
  const kinds = [
    ["missing", "missing"],
    ["extraCopies", "extra-copies"],
    ["holes", "holes"],
  ] as const;
  const faults = report.faultMinutes.flatMap((minute) =>
    kinds.flatMap(([field, name], row) =>
      minute[field] === 0
        ? []
        : [
            `<rect class="fault-${name}" data-fault="${name}" data-minute="${minute.minute}" data-lines="${minute[field]}" x="${(x(Math.min(Math.max(minute.minute, first), last)) - 2).toFixed(1)}" y="${HEIGHT - PAD + 2 + row * 5}" width="4" height="4"><title>${minute[field]} ${name.replace("-", " ")} at ${new Date(minute.minute * 1000).toISOString()}</title></rect>`,
          ],
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="lines per minute">`,
    copyRange,
    line(source, "source"),
    line(destination, "destination"),
    cutover,
    ...faults,
    `<text x="${PAD}" y="${PAD - 10}" font-size="11">${top} lines/min</text>`,
    `<text x="${PAD}" y="${HEIGHT - 8}" font-size="11">${new Date(first * 1000).toISOString()}</text>`,
    `<text x="${WIDTH - PAD}" y="${HEIGHT - 8}" font-size="11" text-anchor="end">${new Date(last * 1000).toISOString()}</text>`,
    "</svg>",
    `<p class="legend"><span class="source">— source logstore</span><span class="destination">- - destination logstore</span><span class="not-once">| cutover (copy range end)</span><span>shaded: what the copy covers</span><span>marks under the axis: <span class="fault-missing">■ missing</span> <span class="fault-extra-copies">■ extra copies</span> <span class="fault-holes">■ holes</span></span></p>`,
  ].join("\n");
}
