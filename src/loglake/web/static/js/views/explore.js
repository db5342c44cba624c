// Explore: SQL over the lake. Ctrl/Cmd+Enter runs; results are a paged table and, when the column types
// suggest one, a chart; downloads as CSV or Parquet; the server's query history can be clicked to reuse.
import { download, get, post } from "../api.js";
import { chartBox, disposeCharts, drawResult, suggestChart } from "../charts.js";
import { errorBox, h, replace } from "../dom.js";
import { formatNumber, formatTime, plural } from "../format.js";
import { rangeParams } from "../state.js";
import { pagedTable, resultColumns } from "../table.js";

export const title = "Explore";

const STORAGE_KEY = "loglake.explore.sql";
const LIMITS = [100, 1000, 10000];

// A first query for an empty editor: events per hour of the lake's main table.
function example(table) {
  return `SELECT date_trunc('hour', lake_time) AS hour, count(*) AS events\nFROM ${table}\nGROUP BY 1\nORDER BY 1`;
}

// The last result survives navigating away and back.
let last = null;

export async function render({ root, alive }) {
  const editor = h("textarea", {
    id: "sql",
    spellcheck: "false",
    "aria-label": "SQL query",
    placeholder: "SELECT ... FROM cloudtrail_logs WHERE lake_time >= now() - INTERVAL 1 DAY",
    value: localStorage.getItem(STORAGE_KEY) || "",
  });
  const limit = h(
    "select",
    { id: "limit", "aria-label": "Row limit" },
    LIMITS.map((n) => h("option", { value: n, selected: n === 1000 }, `limit ${formatNumber(n)}`)),
  );
  const output = h("div", { class: "result", "aria-live": "polite" });
  const historyList = h("ul", { class: "history", "aria-label": "Query history" });
  const schemaList = h("ul", { class: "schema", "aria-label": "Tables" });
  const run = () => runQuery(editor, limit, output, historyList);
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  editor.addEventListener("input", () => localStorage.setItem(STORAGE_KEY, editor.value));
  root.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "grow" },
        h("h1", {}, "Explore"),
        h("p", { class: "muted" }, "DuckDB SQL over the lake's tables (read-only). Ctrl/Cmd+Enter runs."),
      ),
    ),
    h(
      "div",
      { class: "explore" },
      h(
        "aside",
        {},
        h("section", { class: "card", "aria-label": "Tables" }, h("h2", {}, "Tables"), schemaList),
        h("section", { class: "card", "aria-label": "History" }, h("h2", {}, "History"), historyList),
      ),
      h("div", {}, h("section", { class: "card", "aria-label": "Query" }, editor, toolbar(editor, limit, run)), output),
    ),
  );
  if (last) showResult(output, last);
  await Promise.all([loadTables(schemaList, editor, alive), loadHistory(historyList, editor)]);
}

function toolbar(editor, limit, run) {
  const format = (kind) => () => downloadResult(editor, kind);
  return h(
    "div",
    { class: "toolbar" },
    h("button", { type: "button", class: "primary", id: "run", onclick: run, title: "Ctrl/Cmd+Enter" }, "Run"),
    limit,
    h(
      "button",
      {
        type: "button",
        onclick: () => insertTimeFilter(editor),
        title: "Insert a lake_time predicate for the page's time range",
      },
      "Insert time filter",
    ),
    h("span", { class: "grow" }),
    h("button", { type: "button", id: "download-csv", onclick: format("csv") }, "Download CSV"),
    h("button", { type: "button", id: "download-parquet", onclick: format("parquet") }, "Download Parquet"),
  );
}

async function runQuery(editor, limit, output, historyList) {
  const sql = editor.value.trim();
  if (!sql) return;
  replace(output, h("p", { class: "loading" }, "Running…"));
  disposeCharts();
  try {
    const result = await post("query", { sql, limit: Number(limit.value) });
    last = { sql, result };
    showResult(output, last);
  } catch (error) {
    last = null;
    replace(output, errorBox(error));
  }
  loadHistory(historyList, editor);
}

function showResult(output, { result }) {
  const spec = suggestChart(result.columns, result.types);
  const truncated = result.truncated ? " — truncated at the limit" : "";
  const meta = `${plural(result.rows.length, "row")} in ${formatNumber(result.elapsed_ms)} ms${truncated}`;
  const box = spec ? chartBox(`Chart of the result (${spec.chart})`) : null;
  replace(
    output,
    h("p", { class: "result-meta", id: "result-meta" }, meta),
    box ? h("section", { class: "card", "aria-label": "Result chart" }, box) : null,
    pagedTable({ label: "Query result", columns: resultColumns(result.columns, result.types), rows: result.rows }),
  );
  if (box) drawResult(box, spec, result);
}

async function downloadResult(editor, format) {
  const sql = editor.value.trim();
  if (!sql) return;
  try {
    await download("query/download", { sql, format }, `query.${format}`);
  } catch (error) {
    alert(`Download failed: ${error.message}`);
  }
}

async function loadTables(list, editor, alive) {
  const health = await get("health");
  if (!alive()) return;
  const tables = health.tables.filter((table) => table.rows > 0).sort((a, b) => a.name.localeCompare(b.name));
  if (!editor.value && tables.length) {
    const main = tables.find((table) => table.name === "cloudtrail_logs") || tables[0];
    editor.value = example(main.name);
  }
  replace(
    list,
    tables.map((table) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            title: `Query ${table.name}`,
            onclick: () => useSql(editor, `SELECT *\nFROM ${table.name}\nORDER BY lake_time DESC\nLIMIT 100`),
          },
          table.name,
        ),
        h("span", { class: "muted" }, formatNumber(table.rows)),
      ),
    ),
  );
}

async function loadHistory(list, editor) {
  let entries = [];
  try {
    entries = await get("query/history");
  } catch (error) {
    replace(list, h("li", {}, errorBox(error)));
    return;
  }
  if (!entries.length) {
    replace(list, h("li", { class: "muted" }, "No queries yet."));
    return;
  }
  replace(
    list,
    entries
      .slice(0, 30)
      .map((entry) =>
        h(
          "li",
          {},
          h("button", { type: "button", title: entry.sql, onclick: () => useSql(editor, entry.sql) }, entry.sql),
          h(
            "div",
            { class: "meta" },
            `${formatTime(entry.at)} · ${plural(entry.rows, "row")} · ${formatNumber(entry.elapsed_ms)} ms`,
          ),
        ),
      ),
  );
}

function useSql(editor, sql) {
  editor.value = sql;
  localStorage.setItem(STORAGE_KEY, sql);
  editor.focus();
}

// The page's time range as SQL, inserted at the cursor.
function insertTimeFilter(editor) {
  const { since, until } = rangeParams();
  const parts = [];
  if (since)
    parts.push(
      /^\d+[mhd]$/.test(since)
        ? `lake_time >= now() - INTERVAL ${interval(since)}`
        : `lake_time >= TIMESTAMPTZ '${since}'`,
    );
  if (until) parts.push(`lake_time < TIMESTAMPTZ '${until}'`);
  const text = parts.length ? parts.join(" AND ") : "TRUE";
  const start = editor.selectionStart;
  editor.setRangeText(text, start, editor.selectionEnd, "end");
  localStorage.setItem(STORAGE_KEY, editor.value);
  editor.focus();
}

function interval(age) {
  const units = { m: "MINUTE", h: "HOUR", d: "DAY" };
  return `${parseInt(age, 10)} ${units[age.slice(-1)]}`;
}
