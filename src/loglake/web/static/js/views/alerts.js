// Alerts: a filterable list, and one alert with the raw events behind it and its status (open / acknowledged /
// closed with a note), saved on the server.
import { get, post } from "../api.js";
import { SEVERITIES, severityBadge } from "../charts.js";
import { assetLabel, card, errorBox, field, h, replace, richText, select } from "../dom.js";
import { basename, formatNumber, formatTime, plural } from "../format.js";
import { currentRoute, describeRange, href, updateParams } from "../state.js";
import { keyValueTable, pagedTable } from "../table.js";

export const title = "Alerts";

const STATUSES = ["open", "acknowledged", "closed"];

export async function render(context) {
  return context.route.args.length ? renderAlert(context, context.route.args[0]) : renderList(context);
}

// -- the list --------------------------------------------------------------------------------------------------

async function renderList({ root, route, alive }) {
  const alerts = await get("alerts");
  if (!alive()) return;
  const filters = {
    status: route.params.get("status") || "",
    severity: route.params.get("severity") || "",
    rule: route.params.get("rule") || "",
    q: route.params.get("q") || "",
  };
  const shown = alerts.filter((alert) => matches(alert, filters));
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Alerts"),
        h("p", { class: "muted" }, `Alerts active ${describeRange()}, most severe first.`),
      ),
      counts(alerts),
    ),
    filterBar(alerts, filters),
    pagedTable({
      label: "Alerts",
      columns: listColumns(),
      rows: shown,
      onRowClick: (alert) => (location.hash = href("alerts", [alert.alert_id])),
      empty: alerts.length ? "No alert matches these filters." : "No alerts in this range.",
    }),
  );
}

function matches(alert, { status, severity, rule, q }) {
  if (status && alert.status !== status) return false;
  if (severity && alert.severity !== severity) return false;
  if (rule && alert.rule_id !== rule) return false;
  if (!q) return true;
  const text = [
    alert.title,
    alert.rule_id,
    alert.principal,
    alert.ip,
    alert.resource,
    alert.asset_name,
    alert.asset_sensitivity,
    alert.account,
    alert.note,
    ...(alert.attack || []),
  ]
    .join(" ")
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

function counts(alerts) {
  return h(
    "div",
    { class: "counts", "aria-label": "Alerts by status" },
    STATUSES.map((status) =>
      h(
        "span",
        {},
        h("span", { class: `status status-${status}` }, status),
        " ",
        formatNumber(alerts.filter((a) => a.status === status).length),
      ),
    ),
  );
}

function filterBar(alerts, filters) {
  const rules = [...new Set(alerts.map((alert) => alert.rule_id))].sort();
  const set = (key) => (value) => updateParams({ [key]: value }, { replace: true });
  const search = h("input", {
    type: "search",
    id: "alert-search",
    value: filters.q,
    placeholder: "title, principal, IP, resource…",
  });
  const searchFor = () => search.value.trim() !== filters.q && set("q")(search.value.trim());
  search.addEventListener("change", searchFor);
  const submit = (event) => {
    event.preventDefault();
    searchFor();
  };
  return h(
    "form",
    { class: "filters", "aria-label": "Alert filters", onsubmit: submit },
    field("Status", select("alert-status", [["", "any"], ...STATUSES], filters.status, set("status"))),
    field("Severity", select("alert-severity", [["", "any"], ...SEVERITIES], filters.severity, set("severity"))),
    field("Rule", select("alert-rule", [["", "any"], ...rules], filters.rule, set("rule"))),
    field("Search", search),
  );
}

function listColumns() {
  return [
    { name: "severity", render: (value) => severityBadge(value) },
    { name: "status", render: (value) => statusBadge(value) },
    {
      name: "title",
      className: "clip-l",
      render: (value, alert) => h("a", { href: href("alerts", [alert.alert_id]), title: value }, value),
    },
    { name: "entity", label: "principal · ip · resource", className: "clip-m", render: (_, alert) => entity(alert) },
    { name: "asset_name", label: "asset", render: (_, alert) => alertAsset(alert) },
    { name: "count", type: "BIGINT" },
    { name: "first_seen", label: "first seen", type: "TIMESTAMP" },
    { name: "last_seen", label: "last seen", type: "TIMESTAMP" },
    { name: "rule_id", label: "rule", className: "mono clip-s" },
  ];
}

function entity(alert) {
  return [alert.principal, alert.ip, alert.resource].filter(Boolean).join(" · ");
}

function alertAsset(alert) {
  return assetLabel(alert.asset_name, alert.asset_sensitivity, alert.asset_reachability);
}

function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

// -- one alert -------------------------------------------------------------------------------------------------

async function renderAlert({ root, alive }, id) {
  const detail = await get(`alerts/${encodeURIComponent(id)}`);
  if (!alive()) return;
  const { alert, events } = detail;
  root.append(
    h("p", {}, h("a", { href: href("alerts") }, "← All alerts")),
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow alert-head" },
        severityBadge(alert.severity),
        h("h1", {}, alert.title),
        statusBadge(alert.status),
      ),
    ),
    h(
      "div",
      { class: "grid" },
      card("Details", facts(alert), { span: 8 }),
      card("Status", statusForm(alert, root), { span: 4 }),
      card("Raw events", eventList(events), { span: 12, note: `${plural(events.length, "event")} behind this alert` }),
    ),
  );
}

function facts(alert) {
  const rows = [
    ["Rule", h("code", {}, alert.rule_id)],
    ["First seen", `${formatTime(alert.first_seen)} UTC`],
    ["Last seen", `${formatTime(alert.last_seen)} UTC`],
    ["Count", `${formatNumber(alert.count)} events, ${plural(alert.hits, "hit")}`],
    ["Principal", huntLink(alert.principal, "principal")],
    ["IP", huntLink(alert.ip, "ip")],
    ["Resource", alert.resource],
    ["Asset", alertAsset(alert)],
    ["Account", alert.account],
    ["ATT&CK", (alert.attack || []).map((technique) => h("span", { class: "tag" }, technique))],
    ["Tags", (alert.tags || []).map((tag) => h("span", { class: "tag" }, tag))],
    ["Note", alert.note],
    ["Updated", alert.updated_at ? `${formatTime(alert.updated_at)} UTC` : ""],
  ];
  return h(
    "div",
    {},
    h("p", { class: "description" }, richText(alert.description)),
    h(
      "dl",
      { class: "facts" },
      rows
        .filter(([, value]) => value && (!Array.isArray(value) || value.length))
        .map(([key, value]) => [h("dt", {}, key), h("dd", {}, value)]),
    ),
  );
}

function huntLink(value, kind) {
  if (!value) return null;
  return h(
    "span",
    {},
    h("code", {}, value),
    " ",
    h("a", { href: href("hunt", [], { q: value, kind }), title: `Hunt for ${value}` }, "hunt →"),
  );
}

function statusForm(alert, root) {
  const status = select("status-select", STATUSES, alert.status, () => {});
  const note = h("textarea", {
    id: "status-note",
    value: alert.note || "",
    placeholder: "Why: triage notes, ticket, false positive…",
  });
  const message = h("div", { "aria-live": "polite" });
  const save = async (event) => {
    event.preventDefault();
    try {
      await post(`alerts/${encodeURIComponent(alert.alert_id)}/status`, { status: status.value, note: note.value });
      await refresh(root, alert.alert_id);
    } catch (error) {
      replace(message, errorBox(error));
    }
  };
  return h(
    "form",
    { class: "status-form", "aria-label": "Change status", onsubmit: save },
    field("Status", status),
    field("Note", note),
    h("div", {}, h("button", { type: "submit", class: "primary", id: "status-save" }, "Save status")),
    message,
  );
}

// Re-fetch the alert from the server after a change, so what is shown is what was stored.
async function refresh(root, id) {
  const route = currentRoute();
  if (route.view !== "alerts" || route.args[0] !== id) return;
  const fresh = h("div", { class: root.className });
  await renderAlert({ root: fresh, alive: () => root.isConnected }, id);
  root.replaceWith(fresh);
  fresh.querySelector(".status-form").append(h("p", { class: "saved", role: "status" }, "Saved."));
}

function eventList(events) {
  if (!events.length) return h("p", { class: "empty" }, "No events recorded for this alert.");
  const showEmpty = h("input", { type: "checkbox", id: "show-empty" });
  const list = h("div", {});
  const draw = () =>
    replace(
      list,
      events.map((event, index) => eventCard(event, index, showEmpty.checked)),
    );
  showEmpty.addEventListener("change", draw);
  draw();
  return h("div", {}, h("label", { class: "toolbar" }, showEmpty, "Show empty fields"), list);
}

function eventCard(event, index, showEmpty) {
  const where = `${event.lake_table} · ${basename(event.lake_file)} · row ${event.lake_row}`;
  const body = event.row
    ? keyValueTable(event.row, { label: `Event ${index + 1}`, showEmpty })
    : h("p", { class: "empty" }, "This row is no longer in the lake.");
  return h(
    "details",
    { class: "event", open: index < 3 },
    h(
      "summary",
      { title: event.lake_file },
      where,
      event.event_id ? h("span", { class: "muted" }, ` · ${event.event_id}`) : null,
    ),
    h("div", {}, body),
  );
}
