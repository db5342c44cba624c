// loglake's page: a hash router over six views sharing one time-range picker. No build step: plain ES modules.
import { get } from "./js/api.js";
import { disposeCharts } from "./js/charts.js";
import { errorBox, h, replace } from "./js/dom.js";
import { currentRoute, href, setTimeRange, timeRange } from "./js/state.js";
import * as alerts from "./js/views/alerts.js";
import * as assets from "./js/views/assets.js";
import * as dashboards from "./js/views/dashboards.js";
import * as explore from "./js/views/explore.js";
import * as hunt from "./js/views/hunt.js";
import * as overview from "./js/views/overview.js";

const VIEWS = { overview, dashboards, explore, alerts, hunt, assets };
const main = document.getElementById("view");
let renders = 0;

async function render() {
  const route = currentRoute();
  const view = VIEWS[route.view];
  const id = ++renders;
  disposeCharts();
  syncHeader(route);
  const root = h("div", { class: `view view-${route.view}` });
  replace(main, root);
  main.setAttribute("aria-busy", "true");
  main.dataset.view = route.view;
  main.dataset.render = String(id); // lets a test (or a script) tell one render from the next
  const context = { root, route, alive: () => id === renders && root.isConnected };
  try {
    if (!view) throw new Error(`No view "${route.view}".`);
    document.title = `${view.title} · loglake`;
    await view.render(context);
  } catch (error) {
    if (context.alive()) root.append(errorBox(error));
    console.error(error);
  } finally {
    if (context.alive()) main.setAttribute("aria-busy", "false");
  }
}

// Nav links keep the time range; the picker shows the URL's range.
function syncHeader(route) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    const name = link.dataset.nav;
    link.href = href(name);
    if (name === route.view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const { range, from, to } = timeRange();
  const form = document.getElementById("range");
  form.preset.value = range;
  form.querySelector(".custom").hidden = range !== "custom";
  form.from.value = toLocalInput(from);
  form.to.value = toLocalInput(to);
}

// datetime-local inputs hold UTC wall time here (the lake's zone); the URL holds ISO with Z.
function toLocalInput(iso) {
  return iso ? iso.replace(/Z$/, "").slice(0, 19) : "";
}

function fromLocalInput(value) {
  if (!value) return "";
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`;
}

function setupRangePicker() {
  const form = document.getElementById("range");
  form.preset.addEventListener("change", () => {
    if (form.preset.value === "custom") {
      form.querySelector(".custom").hidden = false;
      form.from.focus();
      return;
    }
    setTimeRange(form.preset.value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setTimeRange("custom", fromLocalInput(form.from.value), fromLocalInput(form.to.value));
  });
}

// A page opened with ?token=... has its cookie set by the server already: drop the token from the address bar.
function forgetToken() {
  const url = new URL(location.href);
  if (!url.searchParams.has("token")) return;
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

async function showLake() {
  try {
    const health = await get("health");
    const element = document.getElementById("lake-name");
    element.textContent = `${health.lake} · v${health.version}`;
    element.title = `Lake ${health.lake}, loglake ${health.version}`;
  } catch {
    // the views report API errors themselves
  }
}

forgetToken();
setupRangePicker();
window.addEventListener("hashchange", render);
render();
showLake();
