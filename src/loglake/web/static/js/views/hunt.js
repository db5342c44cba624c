// Hunt: everything an IP, a principal or an access key did across every log table, as a timeline.
import { get } from "../api.js";
import { barChart, chartBox } from "../charts.js";
import { assetLabel, card, field, h, select } from "../dom.js";
import { basename, formatNumber, plural } from "../format.js";
import { describeRange, updateParams } from "../state.js";
import { pagedTable } from "../table.js";

export const title = "Hunt";

const KINDS = [
  ["auto", "auto-detect"],
  ["ip", "IP address"],
  ["principal", "principal"],
  ["key", "access key id"],
];
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-f:.]+(%\w+)?$/i;
const ACCESS_KEY = /^A(KIA|SIA)[A-Z0-9]+$/;
const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ip for IPv4/IPv6, key for AKIA.../ASIA... ids, else principal (an ARN, a user or role name).
export function detectKind(value) {
  const text = value.trim();
  if (IPV4.test(text) || (text.includes(":") && IPV6.test(text))) return "ip";
  if (ACCESS_KEY.test(text)) return "key";
  return "principal";
}

export async function render({ root, route, alive }) {
  const value = route.params.get("q") || "";
  const chosen = route.params.get("kind") || "auto";
  const kind = chosen === "auto" && value ? detectKind(value) : chosen;
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Hunt"),
        h("p", { class: "muted" }, `One timeline across every log table ${describeRange()}.`),
      ),
    ),
    huntForm(value, chosen),
  );
  if (!value) {
    root.append(
      h(
        "p",
        { class: "empty" },
        "Enter an IP address (v4 or v6), a principal (ARN or name) or an access key id (AKIA…/ASIA…).",
      ),
    );
    return;
  }
  const result = await get("hunt", { kind, value, limit: 5000 });
  if (!alive()) return;
  showTimeline(root, result, value, kind);
}

function huntForm(value, chosen) {
  const input = h("input", {
    type: "search",
    id: "hunt-value",
    value,
    placeholder: "203.0.113.66, arn:aws:iam::…:user/alice, AKIA…",
    autocomplete: "off",
  });
  const detected = h("span", { class: "kind", id: "hunt-kind" }, value ? detectKind(value) : "—");
  const kind = select("hunt-kind-select", KINDS, chosen, () => {});
  input.addEventListener("input", () => (detected.textContent = input.value.trim() ? detectKind(input.value) : "—"));
  const submit = (event) => {
    event.preventDefault();
    updateParams({ q: input.value.trim(), kind: kind.value === "auto" ? "" : kind.value });
  };
  return h(
    "form",
    { class: "hunt-form", role: "search", "aria-label": "Hunt", onsubmit: submit },
    field("IP, principal or access key id", input),
    field("Kind", kind),
    h("div", { class: "field" }, h("span", {}, "Detected"), detected),
    h("button", { type: "submit", class: "primary", id: "hunt-go" }, "Hunt"),
  );
}

function showTimeline(root, result, value, kind) {
  const rows = result.rows;
  const tables = new Set(rows.map((row) => row.lake_table));
  const truncated = result.truncated ? " (first rows only: narrow the time range)" : "";
  const summary = `${plural(rows.length, "event")} in ${plural(tables.size, "table")} for ${kind} ${value}${truncated}`;
  const box = chartBox("Events per table over time");
  root.append(
    h("p", { class: "result-meta", id: "hunt-summary" }, summary),
    h(
      "div",
      { class: "grid" },
      rows.length ? card("Events per table over time", box, { span: 12 }) : null,
      card("Timeline", timelineTable(rows), { span: 12, note: "oldest first" }),
    ),
  );
  if (rows.length) barChart(box, bucketed(rows));
}

// Rows counted per time bucket (at most about 120 buckets) and table; empty buckets kept as gaps.
function bucketed(rows) {
  const times = rows.map((row) => Date.parse(row.lake_time));
  const first = Math.min(...times);
  const size = bucketSize(Math.max(...times) - first);
  const start = Math.floor(first / size) * size;
  const count = Math.floor((Math.max(...times) - start) / size) + 1;
  const categories = Array.from({ length: count }, (_, index) => bucketLabel(start + index * size, size));
  const byTable = new Map();
  rows.forEach((row, index) => {
    if (!byTable.has(row.lake_table)) byTable.set(row.lake_table, new Array(count).fill(0));
    byTable.get(row.lake_table)[Math.floor((times[index] - start) / size)] += 1;
  });
  const total = (values) => values.reduce((a, b) => a + b, 0);
  const series = [...byTable.entries()]
    .map(([name, values]) => ({ name, values }))
    .sort((a, b) => total(b.values) - total(a.values));
  return { categories, series };
}

function bucketSize(span) {
  const sizes = [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 6 * HOUR, DAY];
  return sizes.find((size) => span / size <= 120) || DAY;
}

function bucketLabel(millis, size) {
  const iso = new Date(millis).toISOString();
  return size === DAY ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

function timelineTable(rows) {
  return pagedTable({
    label: "Hunt timeline",
    empty: "Nothing found in this range.",
    rows,
    columns: [
      { name: "lake_time", label: "time (UTC)", type: "TIMESTAMP" },
      { name: "lake_table", label: "table" },
      { name: "action", className: "mono" },
      { name: "principal" },
      { name: "ip" },
      { name: "resource" },
      {
        name: "asset_name",
        label: "asset",
        render: (name, row) => assetLabel(name, row.asset_sensitivity, row.asset_reachability),
      },
      { name: "account" },
      {
        name: "lake_file",
        label: "source",
        render: (file, row) => h("span", { title: file }, `${basename(file)}:${formatNumber(row.lake_row)}`),
      },
    ],
  });
}
