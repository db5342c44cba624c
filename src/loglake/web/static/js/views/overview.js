// Overview: what the lake holds over the time range, what fired, and whether ingestion is healthy.
import { get } from "../api.js";
import { barChart, chartBox, colorFor, pivot, SEVERITIES, severityColor } from "../charts.js";
import { card, h } from "../dom.js";
import { formatNumber, formatTime } from "../format.js";
import { describeRange, href } from "../state.js";
import { pagedTable } from "../table.js";

export const title = "Overview";

export async function render({ root, alive }) {
  const data = await get("overview");
  if (!alive()) return;
  const events = sum(data.events_per_day, "events");
  const alerts = sum(data.alerts_per_day, "alerts");
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Overview"),
        h("p", { class: "muted" }, `Events and alerts ${describeRange()} (days in UTC).`),
      ),
    ),
  );
  if (!events) root.append(emptyHint());
  const charts = {
    events: chartBox("Events per day by table", { tall: true }),
    alerts: chartBox("Alerts per day by severity", { tall: true }),
    accounts: chartBox("Top accounts by events"),
    regions: chartBox("Top regions by events"),
  };
  root.append(
    h(
      "div",
      { class: "grid" },
      stat("Events", formatNumber(events)),
      stat("Alerts raised", formatNumber(alerts), href("alerts")),
      stat("Tables with events", formatNumber(new Set(data.events_per_day.map((row) => row.table)).size)),
      stat("Last ingest", data.ingestion.last_ingest ? formatTime(data.ingestion.last_ingest) : "never"),
      card("Events per day by table", charts.events, { span: 8 }),
      card("Alerts per day by severity", charts.alerts, { span: 4 }),
      card("Top accounts", charts.accounts, { span: 4 }),
      card("Top regions", charts.regions, { span: 4 }),
      card("Ingestion health", ingestion(data.ingestion), { span: 4 }),
    ),
  );
  drawEvents(charts.events, data.events_per_day);
  drawAlerts(charts.alerts, data.alerts_per_day);
  drawTop(charts.accounts, data.top_accounts, "account");
  drawTop(charts.regions, data.top_regions, "region");
}

function sum(rows, key) {
  return rows.reduce((total, row) => total + (Number(row[key]) || 0), 0);
}

function emptyHint() {
  return h(
    "p",
    { class: "notice" },
    `No events ${describeRange()}. `,
    h("a", { href: href("overview", [], { range: "all", from: "", to: "" }) }, "Show all time"),
    " or ingest logs with ",
    h("code", {}, "loglake ingest"),
    ".",
  );
}

function stat(label, value, link = null) {
  const body = h("div", { class: "value" }, link ? h("a", { href: link }, value) : value);
  return h("section", { class: "card span-3 stat", "aria-label": label }, h("div", { class: "label" }, label), body);
}

function drawEvents(element, rows) {
  if (!rows.length) return element.replaceWith(h("p", { class: "empty" }, "No events."));
  const sorted = [...rows].sort((a, b) => a.day.localeCompare(b.day));
  const long = sorted.map((row) => [row.day, row.table, row.events]);
  barChart(element, pivot(long, { x: 0, y: [{ name: "events", index: 2 }], series: 1 }));
}

function drawAlerts(element, rows) {
  if (!rows.length) return element.replaceWith(h("p", { class: "empty" }, "No alerts."));
  const days = [...new Set(rows.map((row) => row.day))].sort();
  const present = SEVERITIES.filter((severity) => rows.some((row) => row.severity === severity));
  const others = [...new Set(rows.map((row) => row.severity))].filter((severity) => !present.includes(severity));
  const series = [...present, ...others].map((severity) => ({
    name: severity,
    values: days.map((day) =>
      sum(
        rows.filter((row) => row.day === day && row.severity === severity),
        "alerts",
      ),
    ),
  }));
  barChart(element, { categories: days, series, colors: severityColor });
}

function drawTop(element, rows, key) {
  if (!rows.length) return element.replaceWith(h("p", { class: "empty" }, "No events."));
  const categories = rows.map((row) => row[key] ?? "(none)");
  barChart(element, {
    categories,
    series: [{ name: "events", values: rows.map((row) => row.events) }],
    horizontal: true,
    colors: () => (key === "account" ? "#2f6fdb" : "#12a594"),
  });
}

function ingestion(info) {
  const rejects = info.rejects_by_reason || [];
  const total = sum(rejects, "rejects");
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Last ingest"),
      h("dd", {}, info.last_ingest ? `${formatTime(info.last_ingest)} UTC` : "never"),
      h("dt", {}, "Objects read"),
      h("dd", {}, formatNumber(info.objects)),
      h("dt", {}, "Rejected lines"),
      h("dd", { class: total ? "" : "saved" }, total ? formatNumber(total) : "none"),
    ),
    rejects.length
      ? pagedTable({
          label: "Rejects by reason",
          pageSize: 8,
          columns: [
            {
              name: "table",
              render: (value) =>
                h("span", {}, h("span", { class: "swatch", style: { background: colorFor(value) } }), value),
            },
            { name: "reason", className: "wrap" },
            { name: "rejects", type: "BIGINT" },
          ],
          rows: rejects,
        })
      : null,
  );
}
