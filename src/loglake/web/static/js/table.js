// Tables: a paged data table (client-side pages) and a key/value table for one record.
import { h, replace } from "./dom.js";
import { formatCell, formatNumber, plural, typeKind } from "./format.js";

export const PAGE_SIZE = 50;

// columns: [{name, label?, type?, render?(value, row) -> Node|string, className?}]; rows: arrays or objects.
export function pagedTable({ columns, rows, label, pageSize = PAGE_SIZE, onRowClick = null, empty = "No rows." }) {
  const wrap = h("div", { class: "paged" });
  let page = 0;
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const show = () => {
    const start = page * pageSize;
    const slice = rows.slice(start, start + pageSize);
    replace(wrap, tableElement(columns, slice, label, onRowClick), pager(start, slice.length));
  };
  const pager = (start, count) => {
    if (!rows.length) return h("p", { class: "empty" }, empty);
    if (pages === 1) return h("div", { class: "pager" }, plural(rows.length, "row"));
    const go = (delta) => {
      page = Math.min(pages - 1, Math.max(0, page + delta));
      show();
    };
    return h(
      "nav",
      { class: "pager", "aria-label": `${label} pages` },
      h(
        "button",
        { type: "button", onclick: () => go(-1), disabled: page === 0, "aria-label": "Previous page" },
        "‹ Prev",
      ),
      h("span", {}, `Rows ${formatNumber(start + 1)}–${formatNumber(start + count)} of ${formatNumber(rows.length)}`),
      h(
        "button",
        { type: "button", onclick: () => go(1), disabled: page >= pages - 1, "aria-label": "Next page" },
        "Next ›",
      ),
      h("span", { class: "muted" }, `page ${page + 1} of ${pages}`),
    );
  };
  show();
  return wrap;
}

function tableElement(columns, rows, label, onRowClick) {
  const numeric = columns.map((column) => typeKind(column.type) === "number");
  const head = h(
    "tr",
    {},
    columns.map((column, index) =>
      h("th", { scope: "col", class: numeric[index] ? "num" : null }, column.label || column.name),
    ),
  );
  const body = rows.map((row, rowIndex) =>
    h(
      "tr",
      onRowClick ? { class: "clickable", onclick: (event) => clicked(event, onRowClick, row) } : {},
      columns.map((column, index) => cell(column, row, index, rowIndex, numeric[index])),
    ),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "data", "aria-label": label }, h("thead", {}, head), h("tbody", {}, body)),
  );
}

function clicked(event, handler, row) {
  if (event.target.closest("a, button")) return; // a link inside the row does its own thing
  handler(row);
}

function cell(column, row, index, rowIndex, numeric) {
  const value = Array.isArray(row) ? row[index] : row[column.name];
  const content = column.render ? column.render(value, row, rowIndex) : formatCell(value, column.type);
  const title = typeof content === "string" && content.length > 40 ? content : null;
  const className = [numeric ? "num" : "", column.className || ""].join(" ").trim() || null;
  return h("td", { class: className, title }, content);
}

// Result columns as the API gives them (names and DuckDB types) -> column specs.
export function resultColumns(names, types = []) {
  return names.map((name, index) => ({ name, type: types[index] }));
}

// One record as key/value rows; nested objects flattened to dotted keys, empty values left out unless asked.
export function keyValueTable(record, { label, showEmpty = false } = {}) {
  const pairs = flatten(record || {}).filter(([, value]) => showEmpty || !isEmpty(value));
  const body = pairs.map(([key, value]) => h("tr", {}, h("th", { scope: "row" }, key), h("td", {}, display(value))));
  return h("table", { class: "kv", "aria-label": label }, h("tbody", {}, body));
}

function flatten(value, prefix = "", out = []) {
  const plain = value && typeof value === "object" && !Array.isArray(value);
  if (!plain || (prefix && !Object.keys(value).length)) {
    out.push([prefix, value]);
    return out;
  }
  for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, out);
  return out;
}

function isEmpty(value) {
  if (value === null || value === undefined || value === "" || value === "-") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

function display(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value, null, 1).replace(/\n\s*/g, " ");
  return String(value);
}
