// Charts with the vendored Apache ECharts (global `echarts`, SVG renderer), and the colours used everywhere:
// one per severity, one per log table, so a colour means the same thing on every view.
import { h } from "./dom.js";
import { formatNumber, formatTime, isTemporal, typeKind } from "./format.js";

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];
export const SEVERITY_COLORS = {
  critical: "#7a1fa2",
  high: "#d92d20",
  medium: "#f08c00",
  low: "#2f6fdb",
  info: "#667085",
};
const TABLE_COLORS = {
  cloudtrail_logs: "#2f6fdb",
  vpc_flow_logs: "#12a594",
  alb_access_logs: "#f08c00",
  alb_connection_logs: "#c2761b",
  elb_logs: "#9e6a03",
  nlb_tls_logs: "#7c5c3b",
  cloudfront_logs: "#8e44ad",
  s3_access_logs: "#2e9e44",
  waf_logs: "#d92d20",
  r53_rlogs: "#0e7490",
  apigateway_logs: "#db2777",
  cloudwatch_logs: "#64748b",
};
const PALETTE = [
  "#2f6fdb",
  "#12a594",
  "#f08c00",
  "#8e44ad",
  "#d92d20",
  "#2e9e44",
  "#0e7490",
  "#db2777",
  "#9e6a03",
  "#64748b",
  "#5b5bd6",
  "#a3a300",
];
const MAX_SERIES = 10;
const TIME_LABELS = {
  year: "{yyyy}",
  month: "{yyyy}-{MM}",
  day: "{MM}-{dd}",
  hour: "{HH}:{mm}",
  minute: "{HH}:{mm}",
  second: "{HH}:{mm}:{ss}",
};
const OTHER = "other";

export function severityColor(severity) {
  return SEVERITY_COLORS[String(severity).toLowerCase()] || SEVERITY_COLORS.info;
}

export function severityBadge(severity) {
  return h("span", { class: "sev", style: { "--sev": severityColor(severity) } }, severity);
}

// Outcomes read the same everywhere: allowed/accepted green, blocked/rejected/failed red, 4xx amber.
const OUTCOME_COLORS = {
  green: ["accept", "accepted", "allow", "allowed", "success", "succeeded", "noerror", "2xx", "ok"],
  red: ["reject", "rejected", "block", "blocked", "deny", "denied", "failure", "failed", "errors", "5xx", "servfail"],
  amber: ["count", "counted", "4xx", "nxdomain", "challenge", "captcha"],
  grey: ["nodata", "skipdata", "(none)", "other"],
};
const OUTCOME_HEX = { green: "#2e9e44", red: "#d92d20", amber: "#f08c00", grey: "#98a2b3" };
const OUTCOMES = new Map(
  Object.entries(OUTCOME_COLORS).flatMap(([hue, names]) => names.map((name) => [name, OUTCOME_HEX[hue]])),
);

// A series' colour: the log table's own, the severity's, the outcome's, else the palette's by position.
export function colorFor(name, index = 0) {
  const key = String(name);
  if (TABLE_COLORS[key]) return TABLE_COLORS[key];
  if (SEVERITY_COLORS[key]) return SEVERITY_COLORS[key];
  if (OUTCOMES.has(key.toLowerCase())) return OUTCOMES.get(key.toLowerCase());
  return PALETTE[index % PALETTE.length];
}

// -- lifecycle: charts of the current view, resized with the window and disposed on navigation ----------------

const live = new Set();

window.addEventListener("resize", () => {
  for (const chart of live) chart.resize();
});

export function disposeCharts() {
  for (const chart of live) chart.dispose();
  live.clear();
}

export function chartBox(label, { tall = false } = {}) {
  return h("div", { class: tall ? "chart tall" : "chart", role: "img", "aria-label": label });
}

const BASE = {
  useUTC: true,
  animation: false,
  textStyle: { fontFamily: "system-ui, sans-serif", fontSize: 11 },
  grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
  tooltip: { trigger: "axis", confine: true, valueFormatter: (value) => formatNumber(value) },
};

function legend(count) {
  return count > 1
    ? { type: "scroll", top: 0, left: 0, itemWidth: 12, itemHeight: 9, textStyle: { fontSize: 11 } }
    : { show: false };
}

// Draws into `element` once it is in the page (ECharts needs a size); returns the chart.
export function draw(element, option) {
  if (!window.echarts || !element.isConnected) return null;
  const label = element.getAttribute("aria-label") || "Chart";
  const chart = window.echarts.init(element, null, { renderer: "svg" });
  // ECharts' aria writes a long generated description into aria-label; keep ours, short.
  const aria = { enabled: true, label: { description: label } };
  chart.setOption({ ...BASE, aria, legend: legend(option.series.length), ...option });
  live.add(chart);
  return chart;
}

// -- shaping rows into series ----------------------------------------------------------------------------------

// Long rows -> {categories, series: [{name, values}]}: one series per `series` value (the largest MAX_SERIES, the
// rest summed as "other"), or one per y column when there is no series column.
export function pivot(rows, { x, y, series = null }) {
  const categories = [];
  const seen = new Map();
  const sums = new Map();
  for (const row of rows) {
    const key = row[x];
    if (!seen.has(key)) {
      seen.set(key, categories.length);
      categories.push(key);
    }
  }
  if (series === null) {
    return {
      categories,
      series: y.map((column) => ({ name: column.name, values: valuesByCategory(rows, x, column.index, seen) })),
    };
  }
  for (const row of rows) {
    const name = row[series] === null || row[series] === undefined ? "(none)" : String(row[series]);
    sums.set(name, (sums.get(name) || 0) + (Number(row[y[0].index]) || 0));
  }
  const ranked = [...sums.keys()].sort((a, b) => sums.get(b) - sums.get(a));
  const kept = new Set(ranked.slice(0, ranked.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES));
  const byName = new Map();
  for (const row of rows) {
    const raw = row[series] === null || row[series] === undefined ? "(none)" : String(row[series]);
    const name = kept.has(raw) ? raw : OTHER;
    if (!byName.has(name)) byName.set(name, new Array(categories.length).fill(0));
    byName.get(name)[seen.get(row[x])] += Number(row[y[0].index]) || 0;
  }
  const order = [...ranked.filter((name) => kept.has(name)), ...(byName.has(OTHER) ? [OTHER] : [])];
  return { categories, series: order.map((name) => ({ name, values: byName.get(name) })) };
}

function valuesByCategory(rows, x, index, seen) {
  const values = new Array(seen.size).fill(null);
  for (const row of rows) {
    const value = row[index];
    if (value === null || value === undefined) continue;
    const at = seen.get(row[x]);
    values[at] = (values[at] || 0) + Number(value);
  }
  return values;
}

// -- chart kinds -----------------------------------------------------------------------------------------------

// Bars per category, stacked when there are several series. `colors` maps a series name to its colour.
export function barChart(element, { categories, series, horizontal = false, stacked = true, colors = colorFor }) {
  const categoryAxis = {
    type: "category",
    data: categories.map(categoryLabel),
    axisTick: { alignWithLabel: true },
    axisLabel: { hideOverlap: true, overflow: "truncate", width: horizontal ? 220 : 110 },
  };
  const valueAxis = {
    type: "value",
    axisLabel: { formatter: compactNumber },
    splitLine: { lineStyle: { color: "#eceff3" } },
  };
  if (horizontal) {
    categoryAxis.inverse = true; // the largest first, at the top
    const perCategory = series.length > 1 && !stacked ? 24 : 16;
    element.style.height = `${Math.max(220, Math.min(640, categories.length * perCategory + 70))}px`;
  }
  return draw(element, {
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? categoryAxis : valueAxis,
    grid: { ...BASE.grid, top: series.length > 1 ? 36 : 12 },
    series: series.map((item, index) => ({
      name: item.name,
      type: "bar",
      stack: stacked && series.length > 1 ? "total" : undefined,
      data: item.values,
      barMaxWidth: 40,
      itemStyle: { color: colors(item.name, index) },
      emphasis: { focus: "series" },
    })),
  });
}

// Lines over time (categories are ISO times or days) or over categories.
export function lineChart(element, { categories, series, temporal = true, colors = colorFor }) {
  const times = temporal ? categories.map((value) => Date.parse(value)) : null;
  return draw(element, {
    xAxis: temporal
      ? { type: "time", axisLabel: { formatter: TIME_LABELS, hideOverlap: true } }
      : { type: "category", data: categories.map(categoryLabel) },
    yAxis: { type: "value", axisLabel: { formatter: compactNumber }, splitLine: { lineStyle: { color: "#eceff3" } } },
    grid: { ...BASE.grid, top: series.length > 1 ? 36 : 12 },
    series: series.map((item, index) => ({
      name: item.name,
      type: "line",
      showSymbol: item.values.length < 60,
      symbolSize: 4,
      data: temporal ? item.values.map((value, at) => [times[at], value]) : item.values,
      itemStyle: { color: colors(item.name, index) },
      lineStyle: { width: 1.6 },
      emphasis: { focus: "series" },
    })),
  });
}

function categoryLabel(value) {
  if (value === null || value === undefined) return "(none)";
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const text = formatTime(value);
    return text.endsWith(":00") ? text.slice(0, 16) : text;
  }
  return String(value);
}

function compactNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(value);
}

// -- a chart from a query result -------------------------------------------------------------------------------

// The chart a result suggests, from its column types: a time/date first column and numbers -> line; a text first
// column and numbers -> bar; otherwise none. A text column besides the numbers names the series (long form).
export function suggestChart(columns, types) {
  if (columns.length < 2) return null;
  const kinds = types.map(typeKind);
  const numeric = kinds.map((kind, index) => (kind === "number" && index > 0 ? index : -1)).filter((i) => i >= 0);
  if (!numeric.length) return null;
  const x = columns[0];
  if (isTemporal(types[0])) {
    const seriesIndex = kinds.findIndex((kind, index) => index > 0 && kind === "string");
    const series = seriesIndex > 0 ? columns[seriesIndex] : null;
    const y = series ? [columns[numeric[0]]] : numeric.map((index) => columns[index]);
    return { chart: "line", x, y, series };
  }
  if (kinds[0] === "string") return { chart: "bar", x, y: numeric.map((index) => columns[index]), series: null };
  return null;
}

// Draws a dashboard panel or a query result: spec {chart: line|bar, x, y: [names], series}; rows are arrays.
export function drawResult(element, spec, { columns, types, rows }) {
  const x = columns.indexOf(spec.x);
  const y = (spec.y || []).map((name) => ({ name, index: columns.indexOf(name) })).filter((c) => c.index >= 0);
  const series = spec.series ? columns.indexOf(spec.series) : -1;
  if (x < 0 || !y.length) return null;
  const temporal = isTemporal(types[x]);
  const ordered = temporal ? [...rows].sort((a, b) => Date.parse(a[x]) - Date.parse(b[x])) : rows;
  const shaped = pivot(ordered, { x, y, series: series >= 0 ? series : null });
  if (spec.chart === "line") return lineChart(element, { ...shaped, temporal });
  const horizontal = !temporal; // top-N lists read best as horizontal bars, with room for their labels
  return barChart(element, { ...shaped, horizontal, stacked: series >= 0 });
}
