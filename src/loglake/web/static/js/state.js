// The page's state lives in the URL hash: "#/view/arg?range=7d&other=params", so every view can be linked to,
// reloaded and shared. The time range (range=24h|7d|30d|all|custom with from/to) is kept across views.

export const DEFAULT_RANGE = "7d";
export const PRESETS = ["24h", "7d", "30d", "all", "custom"];
const RANGE_KEYS = ["range", "from", "to"];

export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = splitOnce(raw, "?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || "overview", args: parts.slice(1), params: new URLSearchParams(query) };
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

// The time range as {range, from, to}; from/to are ISO UTC strings, only for "custom".
export function timeRange() {
  const params = currentRoute().params;
  const range = PRESETS.includes(params.get("range")) ? params.get("range") : DEFAULT_RANGE;
  return { range, from: params.get("from") || "", to: params.get("to") || "" };
}

// {since, until} for the API: ages for presets, ISO times for a custom range, nothing for "all".
export function rangeParams() {
  const { range, from, to } = timeRange();
  if (range === "all") return {};
  if (range === "custom") {
    const params = {};
    if (from) params.since = from;
    if (to) params.until = to;
    return params;
  }
  return { since: range };
}

// "in the last 7 days", "over all time", "from ... to ...": to end a sentence about the range.
export function describeRange() {
  const { range, from, to } = timeRange();
  const names = {
    "24h": "in the last 24 hours",
    "7d": "in the last 7 days",
    "30d": "in the last 30 days",
    all: "over all time",
  };
  if (range !== "custom") return names[range];
  return `from ${from ? from.replace("T", " ") : "the start"} to ${to ? to.replace("T", " ") : "now"}`;
}

// A hash link to a view, carrying the current time range.
export function href(view, args = [], params = {}) {
  const query = new URLSearchParams();
  const current = currentRoute().params;
  for (const key of RANGE_KEYS) {
    if (current.get(key)) query.set(key, current.get(key));
  }
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
    else query.delete(key);
  }
  const path = [view, ...args].map(encodeURIComponent).join("/");
  const text = query.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

export function navigate(view, args = [], params = {}, { replace = false } = {}) {
  const target = href(view, args, params);
  if (replace) history.replaceState(null, "", target);
  else location.hash = target;
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

// Change some params of the current route (e.g. filters), keeping the rest.
export function updateParams(changes, options = {}) {
  const route = currentRoute();
  const params = Object.fromEntries(route.params.entries());
  navigate(route.view, route.args, { ...params, ...changes }, options);
}

export function setTimeRange(range, from = "", to = "") {
  const custom = range === "custom";
  updateParams({ range, from: custom ? from : "", to: custom ? to : "" });
}
