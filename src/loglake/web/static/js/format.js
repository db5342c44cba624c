// Formatting of values and classification of DuckDB column types.

const NUMBER = /^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|REAL|(DECIMAL|NUMERIC)(\(\d+,\s*\d+\))?)$/i;
const TIME = /^(TIMESTAMP( WITH TIME ZONE|_S|_MS|_NS)?|TIMESTAMPTZ|DATETIME)$/i;
const DATE = /^DATE$/i;
const TEXT = /^(VARCHAR(\(\d+\))?|TEXT|STRING|CHAR(\(\d+\))?|BPCHAR|UUID|ENUM\(.*\))$/i;

// "time" | "date" | "number" | "string" | "other" for a DuckDB type name.
export function typeKind(type) {
  const name = String(type || "").trim();
  if (NUMBER.test(name)) return "number";
  if (TIME.test(name)) return "time";
  if (DATE.test(name)) return "date";
  if (TEXT.test(name)) return "string";
  return "other";
}

export function isTemporal(type) {
  const kind = typeKind(type);
  return kind === "time" || kind === "date";
}

const integer = new Intl.NumberFormat("en-US");
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

export function formatNumber(value) {
  if (value === null || value === undefined || value === "") return "";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  return Number.isInteger(number) ? integer.format(number) : decimal.format(number);
}

// ISO time -> "2024-03-07 10:00:00" in UTC (the lake's time zone); other text unchanged.
export function formatTime(value) {
  if (!value) return "";
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) return String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const iso = new Date(millis).toISOString();
  return iso.slice(0, 19).replace("T", " ");
}

export function formatCell(value, type) {
  if (value === null || value === undefined) return "";
  const kind = typeKind(type);
  if (kind === "number") return formatNumber(value);
  if (kind === "time") return formatTime(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function basename(path) {
  return String(path || "")
    .split("/")
    .pop();
}

// "1 row", "2 rows".
export function plural(count, word) {
  return `${formatNumber(count)} ${word}${count === 1 ? "" : "s"}`;
}
