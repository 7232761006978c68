/**
 * The scale curve as a hand-written SVG (no chart library): panels side by side, instances on a
 * log x-axis, each panel's measure on a log y-axis, with a dashed line of slope 1 (linear growth)
 * through the smallest size so "linear or better" reads as "on or under the dashes".
 */

export interface Series {
  title: string;
  unit: string;
  points: Array<{ x: number; y: number }>;
  /** A horizontal limit drawn in red (e.g. the FC memory limit). */
  limit?: { y: number; label: string };
  /** Draw the slope-1 reference through the first point. */
  linearReference?: boolean;
  /** Sizes with no value, only a floor (e.g. not converged by a deadline): hollow marker, labelled. */
  atLeast?: Array<{ x: number; y: number; label: string }>;
}

const PANEL_WIDTH = 300;
const PANEL_HEIGHT = 240;
const MARGIN = { left: 62, right: 16, top: 34, bottom: 46 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c"];

const escapeXml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Powers of ten (and 2×, 5× when the range is narrow) covering [min, max]. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  const narrow = Math.log10(max / min) < 2;
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent += 1) {
    for (const factor of narrow ? [1, 2, 5] : [1]) {
      const value = factor * 10 ** exponent;
      if (value >= min * 0.999 && value <= max * 1.001) ticks.push(value);
    }
  }
  return ticks;
}

function formatNumber(value: number): string {
  if (value >= 1000) return value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (value >= 1) return String(Number(value.toPrecision(3)));
  return String(Number(value.toPrecision(2)));
}

function panel(series: Series, index: number, xLabel: string): string {
  const points = series.points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.y));
  const left = index * PANEL_WIDTH;
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const out: string[] = [`<g transform="translate(${left},0)">`];
  out.push(
    `<text x="${PANEL_WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">${escapeXml(series.title)}</text>`,
  );
  if (points.length === 0 && (series.atLeast ?? []).length === 0) {
    out.push(
      `<text x="${PANEL_WIDTH / 2}" y="${PANEL_HEIGHT / 2}" text-anchor="middle">not measured</text></g>`,
    );
    return out.join("\n");
  }
  const floors = (series.atLeast ?? []).filter((p) => p.x > 0 && p.y > 0);
  const xs = [...points, ...floors].map((p) => p.x);
  const xMin = Math.min(...xs) / 1.5;
  const xMax = Math.max(...xs) * 1.5;
  const first = points[0] ?? { x: 1, y: 1 };
  const reference = series.linearReference ? [(first.y * Math.max(...xs)) / first.x] : [];
  const ys = [
    ...points.map((p) => p.y),
    ...floors.map((p) => p.y),
    ...reference,
    ...(series.limit ? [series.limit.y] : []),
  ];
  const yMin = Math.min(...ys) / 1.6;
  const yMax = Math.max(...ys) * 1.6;
  const sx = (x: number) =>
    MARGIN.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotWidth;
  const sy = (y: number) =>
    MARGIN.top +
    plotHeight -
    ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotHeight;
  const bottom = MARGIN.top + plotHeight;
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
  );
  for (const tick of logTicks(xMin, xMax)) {
    const x = sx(tick).toFixed(1);
    out.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${bottom + 16}" text-anchor="middle">${formatNumber(tick)}</text>`);
  }
  for (const tick of logTicks(yMin, yMax)) {
    const y = sy(tick).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotWidth}" y2="${y}" stroke="#eee"/>`);
    out.push(
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatNumber(tick)}</text>`,
    );
  }
  out.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${PANEL_HEIGHT - 8}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(series.unit)}</text>`,
  );
  const lastX = Math.max(...xs);
  if (series.linearReference && lastX > first.x) {
    const endY = (first.y * lastX) / first.x;
    out.push(
      `<line x1="${sx(first.x).toFixed(1)}" y1="${sy(first.y).toFixed(1)}" x2="${sx(lastX).toFixed(1)}" y2="${sy(endY).toFixed(1)}" stroke="#999" stroke-dasharray="5,4"/>`,
    );
    out.push(
      `<text x="${(sx(lastX) - 4).toFixed(1)}" y="${(sy(endY) - 6).toFixed(1)}" text-anchor="end" fill="#777">linear</text>`,
    );
  }
  if (series.limit) {
    const y = sy(series.limit.y).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotWidth}" y2="${y}" stroke="#d62728" stroke-dasharray="3,3"/>`,
    );
    out.push(
      `<text x="${MARGIN.left + 4}" y="${(Number(y) - 5).toFixed(1)}" fill="#d62728">${escapeXml(series.limit.label)}</text>`,
    );
  }
  const color = COLORS[index % COLORS.length] ?? "#000";
  out.push(
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")}"/>`,
  );
  for (const p of points) {
    out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4" fill="${color}"/>`);
    out.push(
      `<text x="${(sx(p.x) + 6).toFixed(1)}" y="${(sy(p.y) + 14).toFixed(1)}" fill="${color}">${formatNumber(p.y)}</text>`,
    );
  }
  for (const p of floors) {
    const x = sx(p.x).toFixed(1);
    const y = sy(p.y).toFixed(1);
    out.push(`<circle cx="${x}" cy="${y}" r="4" fill="white" stroke="${color}" stroke-width="2"/>`);
    out.push(
      `<line x1="${x}" y1="${Number(y) - 6}" x2="${x}" y2="${Number(y) - 18}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(
      `<text x="${(sx(p.x) - 6).toFixed(1)}" y="${(sy(p.y) + 16).toFixed(1)}" text-anchor="end" fill="${color}">${escapeXml(p.label)}</text>`,
    );
  }
  out.push("</g>");
  return out.join("\n");
}

export function scaleChartSvg(title: string, xLabel: string, series: readonly Series[]): string {
  const width = PANEL_WIDTH * series.length;
  const height = PANEL_HEIGHT + 28;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(`${series.map((s) => s.title).join(", ")} against instances. ${title}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="#555">${escapeXml(title)}</text>`,
    ...series.map((s, index) => panel(s, index, xLabel)),
    "</svg>",
    "",
  ].join("\n");
}
