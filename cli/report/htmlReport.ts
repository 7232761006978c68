/**
 * The fleet at a glance: one self-contained HTML5 document (inline CSS, no script, nothing fetched)
 * rendered from a FleetReport. One small square per instance, coloured by stage, grouped by route;
 * the failed instances with their remedy; each route's migration per source account (hosts cut over,
 * the source config, the history copy).
 *
 * Every string from the report is data (instance ids, routes, reasons, remedies come from tags a
 * customer can write), so every one is HTML-escaped; a Content-Security-Policy that allows no
 * script and no fetch is a second line. The output is linear in the number of instances (one short
 * element per instance), so 10,000 instances stay a file of a megabyte or two.
 *
 * Hooks for tests and scripts: `data-stage` and `data-instance` on each square, `data-count-stage`
 * (the number as text) on each header total, `data-count-total`, `id="failed"`, `id="copy-jobs"`.
 */
import {
  type FleetReport,
  type ReportInstance,
  type StageKey,
  stageOrder,
  UNTAGGED,
} from "../../shared/status/fleetReport";

/** The colour families a stage is drawn in; `failed:<Reason>` are all red. */
type StageClass = "pending" | "authorized" | "collecting" | "failed" | "revoked" | "untracked";

const FIXED_STAGES: readonly StageKey[] = ["pending", "authorized", "collecting", "revoked", "untracked"];

const LEGEND: ReadonlyArray<{ stageClass: StageClass; label: string }> = [
  { stageClass: "collecting", label: "collecting: the agent heartbeats into the hub" },
  { stageClass: "authorized", label: "authorized: host configured, no heartbeat yet" },
  { stageClass: "pending", label: "pending: tagged, not onboarded yet" },
  { stageClass: "failed", label: "failed: see the table of failed instances" },
  { stageClass: "revoked", label: "revoked: untagged and cleaned up" },
  { stageClass: "untracked", label: "untracked: no status tag of ours" },
];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function stageClassOf(stage: string): StageClass {
  if (stage.startsWith("failed:")) return "failed";
  switch (stage) {
    case "pending":
    case "authorized":
    case "collecting":
    case "revoked":
      return stage;
    default:
      return "untracked";
  }
}

function compareStages(a: string, b: string): number {
  return stageOrder(a as StageKey) - stageOrder(b as StageKey) || a.localeCompare(b);
}

/** Stages with a count, in display order. */
function countedStages(counts: Partial<Record<StageKey, number>>): Array<[string, number]> {
  return Object.entries(counts)
    .filter((entry): entry is [string, number] => typeof entry[1] === "number" && entry[1] > 0)
    .sort(([a], [b]) => compareStages(a, b));
}

function addCounts(into: Map<string, number>, counts: Partial<Record<StageKey, number>>): void {
  for (const [stage, count] of Object.entries(counts)) {
    if (typeof count === "number") into.set(stage, (into.get(stage) ?? 0) + count);
  }
}

interface RouteView {
  route: string;
  counts: Map<string, number>;
  groups: FleetReport["groups"];
  instances: ReportInstance[];
}

/** Routes in name order, the untagged instances last. */
function routeViews(report: FleetReport): RouteView[] {
  const views = new Map<string, RouteView>();
  const view = (route: string): RouteView => {
    let found = views.get(route);
    if (found === undefined) {
      found = { route, counts: new Map(), groups: [], instances: [] };
      views.set(route, found);
    }
    return found;
  };
  for (const group of report.groups) {
    const v = view(group.route);
    v.groups.push(group);
    addCounts(v.counts, group.counts);
  }
  for (const instance of report.instances) view(instance.route).instances.push(instance);
  // A route with instances but no group (a hand-made report): count its squares.
  for (const v of views.values()) {
    if (v.groups.length === 0) {
      for (const instance of v.instances)
        v.counts.set(instance.stage, (v.counts.get(instance.stage) ?? 0) + 1);
    }
  }
  return [...views.values()].sort(
    (a, b) => Number(a.route === UNTAGGED) - Number(b.route === UNTAGGED) || a.route.localeCompare(b.route),
  );
}

function chip(stage: string, count: number, hook: string): string {
  const s = escapeHtml(stage);
  return `<li class="chip"><span class="sw s-${stageClassOf(stage)}"></span>${s} <b ${hook}="${s}">${count}</b></li>`;
}

function renderTotals(report: FleetReport): string {
  const stages = new Set<string>(FIXED_STAGES);
  for (const stage of Object.keys(report.totals)) stages.add(stage);
  const total = report.instances.length;
  const chips = [...stages]
    .sort(compareStages)
    .map((stage) => chip(stage, report.totals[stage as StageKey] ?? 0, "data-count-stage"));
  return `<ul class="chips totals"><li class="chip all">instances <b data-count-total>${total}</b></li>${chips.join("")}</ul>`;
}

function renderSquare(instance: ReportInstance): string {
  const stage = escapeHtml(instance.stage);
  const id = escapeHtml(instance.instanceId);
  const title = escapeHtml(
    `${instance.instanceId} · ${instance.accountId} · ${instance.region} · ${instance.stage}`,
  );
  return `<i class="q s-${stageClassOf(instance.stage)}" title="${title}" data-stage="${stage}" data-instance="${id}"></i>`;
}

function renderRoute(view: RouteView): string {
  const route = escapeHtml(view.route);
  const total = [...view.counts.values()].reduce((sum, n) => sum + n, 0);
  const chips = [...view.counts.entries()]
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => compareStages(a, b))
    .map(([stage, n]) => chip(stage, n, "data-route-stage"))
    .join("");
  const note =
    view.route === UNTAGGED ? `<p class="note">Instances onboarded once and untagged since.</p>` : "";
  const groupRows = view.groups
    .map((group) => {
      const counts = countedStages(group.counts)
        .map(([stage, n]) => `${escapeHtml(stage)} ${n}`)
        .join(", ");
      return `<tr><td>${escapeHtml(group.accountId)}</td><td>${escapeHtml(group.region)}</td><td class="n">${group.total}</td><td>${counts}</td></tr>`;
    })
    .join("");
  const groups =
    view.groups.length === 0
      ? ""
      : `<details><summary>by account and region</summary><table class="groups"><thead><tr><th>account</th><th>region</th><th class="n">instances</th><th>stages</th></tr></thead><tbody>${groupRows}</tbody></table></details>`;
  // Squares grouped by stage (then account, region, id), so each stage's share reads as one block.
  const squares = [...view.instances]
    .sort(
      (a, b) =>
        compareStages(a.stage, b.stage) ||
        a.accountId.localeCompare(b.accountId) ||
        a.region.localeCompare(b.region) ||
        a.instanceId.localeCompare(b.instanceId),
    )
    .map(renderSquare)
    .join("\n");
  return [
    `<section class="route" data-route="${route}">`,
    `<h2><span class="name">${route}</span> <span class="count">${total} instance${total === 1 ? "" : "s"}</span></h2>`,
    `<ul class="chips">${chips}</ul>`,
    note,
    `<div class="grid" role="img" aria-label="${route}: ${total} instances by stage">\n${squares}\n</div>`,
    groups,
    `</section>`,
  ].join("\n");
}

function renderFailed(report: FleetReport): string {
  const rows = report.failed
    .map(
      (f) =>
        `<tr><td class="id">${escapeHtml(f.instanceId)}</td><td>${escapeHtml(f.accountId)}</td><td>${escapeHtml(f.region)}</td><td>${escapeHtml(f.route)}</td><td class="reason">${escapeHtml(f.reason)}</td><td>${escapeHtml(f.remedy)}</td></tr>`,
    )
    .join("\n");
  const none =
    report.failed.length === 0
      ? `<tfoot><tr><td colspan="6" class="none">No failed instances.</td></tr></tfoot>`
      : "";
  return [
    `<h2>Failed instances <span class="count">${report.failed.length}</span></h2>`,
    `<table id="failed"><thead><tr><th>instance</th><th>account</th><th>region</th><th>route</th><th>reason</th><th>remedy</th></tr></thead>`,
    `<tbody>\n${rows}\n</tbody>${none}</table>`,
  ].join("\n");
}

function renderCopyJobs(report: FleetReport): string {
  const rows = report.copyJobs
    .map((job) => {
      const status = escapeHtml(job.status);
      const name = job.name === "" ? `<span class="none">—</span>` : escapeHtml(job.name);
      const cls = job.status === "missing" ? ` class="missing"` : "";
      const hosts = job.hosts === undefined ? "—" : `${job.collecting ?? 0}/${job.hosts}`;
      return `<tr><td>${escapeHtml(job.route)}</td><td>${escapeHtml(job.sourceAccount)}</td><td>${hosts}</td><td>${escapeHtml(job.sourceConfig ?? "—")}</td><td class="id">${name}</td><td${cls}>${status}</td></tr>`;
    })
    .join("\n");
  const none =
    report.copyJobs.length === 0
      ? `<tfoot><tr><td colspan="6" class="none">No route hands over from a source account.</td></tr></tfoot>`
      : "";
  return [
    `<h2>Migrations <span class="count">${report.copyJobs.length}</span></h2>`,
    `<table id="copy-jobs"><thead><tr><th>route</th><th>source account</th><th>collecting / hosts</th><th>source config</th><th>copy job</th><th>status</th></tr></thead>`,
    `<tbody>\n${rows}\n</tbody>${none}</table>`,
  ].join("\n");
}

function renderLegend(): string {
  const items = LEGEND.map(
    ({ stageClass, label }) => `<li><span class="sw s-${stageClass}"></span>${escapeHtml(label)}</li>`,
  ).join("");
  return `<ul class="legend" aria-label="legend">${items}</ul>`;
}

const CSS = `
:root{--collecting:#2e9e44;--authorized:#2f6fd6;--pending:#9aa0a6;--failed:#d93025;--revoked:#8e5bb5;--untracked:#e4e7eb}
*{box-sizing:border-box}
body{margin:0;padding:16px 24px 40px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1f2328;background:#fff}
header{border-bottom:1px solid #d0d7de;margin-bottom:12px;padding-bottom:8px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:20px 0 6px}
h2 .count{font-weight:normal;color:#57606a;font-size:14px}
.meta{color:#57606a;margin:0 0 8px}
.meta code{color:#1f2328}
.chips{list-style:none;margin:4px 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px}
.chip{white-space:nowrap}
.chip b{font-variant-numeric:tabular-nums}
.totals .chip.all{font-weight:600}
.sw{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;vertical-align:-1px}
.legend{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:2px 18px;color:#57606a;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:2px;margin:6px 0;max-width:100%}
.q{display:block;width:10px;height:10px;border-radius:2px}
.s-collecting{background:var(--collecting)}
.s-authorized{background:var(--authorized)}
.s-pending{background:var(--pending)}
.s-failed{background:var(--failed)}
.s-revoked{background:var(--revoked)}
.s-untracked{background:var(--untracked);box-shadow:inset 0 0 0 1px #b8bec5}
.note{color:#57606a;margin:2px 0}
details{margin:4px 0 8px;color:#57606a}
summary{cursor:pointer;font-size:12px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #e5e8eb;overflow-wrap:anywhere}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.id{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
td.reason{color:var(--failed);font-weight:600}
td.missing{color:var(--failed)}
.none{color:#57606a;font-style:italic}
table.groups{width:auto}
`;

/** The whole report as one HTML document. */
export function renderHtmlReport(report: FleetReport): string {
  const generatedAt = escapeHtml(report.generatedAt);
  const hub = escapeHtml(report.hubAccountId);
  const routes = routeViews(report).map(renderRoute).join("\n");
  return [
    "<!DOCTYPE html>",
    `<html lang="en">`,
    "<head>",
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    // Nothing to run and nothing to fetch: even a value that escaped escaping could not act.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>logtail-xacct fleet status — ${generatedAt}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    "<header>",
    "<h1>logtail-xacct fleet status</h1>",
    `<p class="meta">generated <time datetime="${generatedAt}">${generatedAt}</time> · hub account <code>${hub}</code></p>`,
    renderTotals(report),
    renderLegend(),
    "</header>",
    "<main>",
    report.instances.length === 0 && report.groups.length === 0
      ? `<p class="none" id="no-instances">No instances are tagged for collection.</p>`
      : routes,
    renderFailed(report),
    renderCopyJobs(report),
    "</main>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
