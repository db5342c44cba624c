// Assets: the posture inventory (`loglake inventory --lake`), when the lake has one.
import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { pagedTable } from "../table.js";

export const title = "Assets";

export async function render({ root, alive }) {
  const data = await get("assets");
  if (!alive()) return;
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Assets"),
        h("p", { class: "muted" }, "What the estate holds, how sensitive and exposed it is, and what it logs."),
      ),
    ),
  );
  if (!data.available || !data.rows.length) {
    root.append(
      h(
        "p",
        { class: "notice", id: "assets-missing" },
        "No asset inventory in this lake yet. Posture data appears after ",
        h("code", {}, "loglake inventory --lake <lake>"),
        " (then ",
        h("code", {}, "loglake classify"),
        " and ",
        h("code", {}, "loglake audit"),
        ").",
      ),
    );
    return;
  }
  const columns = columnsOf(data.rows);
  const search = h("input", {
    type: "search",
    id: "asset-search",
    placeholder: "filter…",
    "aria-label": "Filter assets",
  });
  const table = h("div", {});
  const draw = () => replace(table, pagedTable({ label: "Assets", columns, rows: filtered(data.rows, search.value) }));
  search.addEventListener("input", draw);
  root.append(h("div", { class: "toolbar" }, search), table);
  draw();
}

function columnsOf(rows) {
  const names = [];
  for (const row of rows.slice(0, 200)) {
    for (const name of Object.keys(row)) if (!names.includes(name)) names.push(name);
  }
  return names.map((name) => ({ name, type: typeof rows[0][name] === "number" ? "BIGINT" : "VARCHAR" }));
}

function filtered(rows, text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return rows;
  return rows.filter((row) => {
    const line = JSON.stringify(Object.values(row)).toLowerCase();
    return words.every((word) => line.includes(word));
  });
}
