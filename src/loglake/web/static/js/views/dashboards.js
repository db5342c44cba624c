// Dashboards: the list, then one dashboard's panels in a grid, each drawn as its `chart` says.
import { get } from "../api.js";
import { chartBox, drawResult } from "../charts.js";
import { errorBox, h } from "../dom.js";
import { formatCell } from "../format.js";
import { describeRange, href } from "../state.js";
import { pagedTable, resultColumns } from "../table.js";

export const title = "Dashboards";

export async function render(context) {
  return context.route.args.length ? renderDashboard(context, context.route.args[0]) : renderList(context);
}

async function renderList({ root, alive }) {
  const list = await get("dashboards");
  if (!alive()) return;
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Dashboards"),
        h("p", { class: "muted" }, "Built-in views of each log source, plus the lake's own dashboards/*.yaml."),
      ),
    ),
  );
  const items = list.map((item) =>
    h(
      "a",
      { class: "card", href: href("dashboards", [item.id]) },
      h("h2", {}, item.title),
      h("p", { class: "muted" }, item.description || ""),
      item.error ? h("div", { class: "error" }, item.error) : null,
    ),
  );
  root.append(items.length ? h("div", { class: "dash-list" }, items) : h("p", { class: "empty" }, "No dashboards."));
}

async function renderDashboard({ root, alive }, id) {
  const [list, dashboard] = await Promise.all([get("dashboards"), get(`dashboards/${encodeURIComponent(id)}`)]);
  if (!alive()) return;
  const picker = h(
    "select",
    {
      id: "dashboard-pick",
      "aria-label": "Dashboard",
      onchange: (event) => (location.hash = href("dashboards", [event.target.value])),
    },
    list.map((item) => h("option", { value: item.id, selected: item.id === id }, item.title)),
  );
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, dashboard.title),
        h("p", { class: "muted" }, `${dashboard.description || ""} (${describeRange()})`),
      ),
      h("a", { href: href("dashboards") }, "All dashboards"),
      picker,
    ),
  );
  if (dashboard.error) root.append(errorBox(dashboard.error));
  const grid = h("div", { class: "grid" });
  root.append(grid);
  const draws = dashboard.panels.map((panel) => addPanel(grid, panel));
  for (const drawPanel of draws) drawPanel();
}

const SPANS = { stat: 3, table: 6, line: 6, bar: 6 };

// Adds the panel's card; returns a function that draws its chart once the card is in the page.
function addPanel(grid, panel) {
  const body = h("div", { class: "panel-body" });
  const span = SPANS[panel.chart] || 6;
  grid.append(
    h(
      "section",
      { class: `card span-${span} panel panel-${panel.chart}`, "aria-label": panel.title, "data-panel": panel.id },
      h("h2", {}, panel.title),
      body,
    ),
  );
  if (panel.error) {
    body.append(h("p", { class: "empty" }, panel.error));
    return () => {};
  }
  if (!panel.rows.length) {
    body.append(h("p", { class: "empty" }, "No data in this range."));
    return () => {};
  }
  if (panel.chart === "stat") {
    body.append(statValue(panel));
    return () => {};
  }
  if (panel.chart === "table") {
    body.append(
      pagedTable({
        label: panel.title,
        columns: resultColumns(panel.columns, panel.types),
        rows: panel.rows,
        pageSize: 10,
      }),
    );
    return () => {};
  }
  const box = chartBox(panel.title);
  body.append(box);
  return () => drawResult(box, panel, panel) || box.replaceWith(h("p", { class: "empty" }, "Nothing to chart."));
}

function statValue(panel) {
  const column = panel.y && panel.y.length ? panel.y[0] : panel.columns[0];
  const index = Math.max(0, panel.columns.indexOf(column));
  const value = panel.rows[0][index];
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "value" }, formatCell(value, panel.types[index]) || "0"),
    h("div", { class: "label" }, column),
  );
}
