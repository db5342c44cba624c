"""The page in a real browser: headless Debian Chromium (Playwright) against `loglake serve` over a real lake.

Each view loads with the lake's data (the assets from a real `loglake inventory` against moto_server), charts
draw marks (SVG paths: the page uses ECharts' SVG renderer), a query typed into Explore returns rows, an alert's
status change survives a reload, and a hunt for the demo attacker's IP finds rows in several tables. The page
must make no request off 127.0.0.1, raise no error, and do nothing its Content-Security-Policy blocks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.servers import free_port  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ATTACKER_IP = "203.0.113.66"
ALL = "range=all"  # the demo lake's events are from 2024: show every day, not the default last 7 days

# Drawn marks of an ECharts SVG chart: bars (filled rectangles in a series colour) and lines (stroked in one),
# not the grey axes, grid lines, or the legend's rounded icons.
COUNT_MARKS = """(element) => {
  const greys = new Set(["none", "transparent", "#fff", "#ffffff", "#000", "#eceff3", "#54555a", "#6e7079", "#b7b9be"]);
  let marks = 0;
  for (const path of element.querySelectorAll("svg path")) {
    const fill = (path.getAttribute("fill") || "none").toLowerCase();
    const stroke = (path.getAttribute("stroke") || "none").toLowerCase();
    const box = path.getBBox();
    if (box.width <= 0 && box.height <= 0) continue;
    const bar = fill.startsWith("#") && !greys.has(fill) && !(path.getAttribute("d") || "").includes("A");
    const line = fill === "none" && stroke.startsWith("#") && !greys.has(stroke);
    if (bar || line) marks += 1;
  }
  return marks;
}"""


# -- fixtures --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_lake(web_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shared web lake: the server writes its token and query history, a test changes a status."""
    copy = tmp_path_factory.mktemp("browser") / "lake"
    shutil.copytree(web_lake, copy, ignore=shutil.ignore_patterns("web", "locks", "dashboards"))
    return copy


@pytest.fixture(scope="module")
def server(browser_lake: Path):
    """`loglake serve` on a free loopback port over a copy of the session's lake; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "loglake", "serve", "--lake", str(browser_lake), "--port", str(port)]
    log = browser_lake.parent / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(base, process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_health(base: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"loglake serve exited with {process.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"loglake serve did not answer on {base} within {timeout} s")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def csp_violations() -> list[str]:
    """What Chromium's console reported as blocked by the page's Content-Security-Policy (see `page`)."""
    return []


@pytest.fixture
def page(browser: Browser, server: str, csp_violations: list[str]):
    """A fresh page; fails the test if it reached beyond the server, raised a JavaScript error, or did something
    its Content-Security-Policy blocked (an inline style or script the policy forbids: a view that half works)."""
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 900}, accept_downloads=True)
    outside: list[str] = []
    errors: list[str] = []

    def csp_message(message) -> None:
        if "Content Security Policy" in message.text:
            csp_violations.append(message.text)

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", csp_message)
    page.set_default_timeout(20000)
    yield page
    context.close()
    assert not outside, f"the page requested off-server URLs: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
    assert not csp_violations, f"Content-Security-Policy violations: {csp_violations}"


def open_view(page: Page, route: str) -> None:
    """Load the page at a route (a full load: going to another hash of the same page would not reload it)."""
    page.goto("about:blank")
    page.goto(f"/#/{route}")
    expect(page.locator("main")).to_have_attribute("aria-busy", "false")


def rerender(page: Page, action) -> None:
    """Do something that changes the route, and wait until the page has drawn the new view."""
    main = page.locator("main")
    before = main.get_attribute("data-render")
    action()
    expect(main).not_to_have_attribute("data-render", before)
    expect(main).to_have_attribute("aria-busy", "false")


def marks(page: Page, chart_label: str) -> int:
    chart = page.locator(f'.chart[aria-label="{chart_label}"]')
    expect(chart.locator("svg")).to_be_visible()
    return chart.evaluate(COUNT_MARKS)


def api(page: Page, path: str):
    response = page.request.get(path)
    assert response.ok, response.text()
    return response.json()


# -- views -----------------------------------------------------------------------------------------------------------


def test_overview_shows_events_alerts_and_ingestion(page: Page):
    open_view(page, f"overview?{ALL}")
    events = page.get_by_role("region", name="Events", exact=True).locator(".value")
    assert int(events.inner_text().replace(",", "")) > 0
    tables = {row["table"] for row in api(page, "/api/overview")["events_per_day"]}
    assert len(tables) >= 5
    assert marks(page, "Events per day by table") >= len(tables)  # a bar per table and day
    assert marks(page, "Alerts per day by severity") >= 1
    assert marks(page, "Top accounts by events") >= 1
    assert marks(page, "Top regions by events") >= 1
    expect(page.get_by_role("region", name="Ingestion health")).to_contain_text("Objects read")


def test_every_view_works_under_the_content_security_policy(page: Page, csp_violations: list[str]):
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy
    open_view(page, f"overview?{ALL}")
    assert marks(page, "Events per day by table") > 0
    chart = page.locator('.chart[aria-label="Events per day by table"]')
    chart.hover()  # ECharts writes its tooltip as HTML with style attributes
    expect(chart.locator("div", has_text="cloudtrail_logs").last).to_be_visible()
    for board in ("cloudtrail", "network", "web", "s3", "waf", "dns"):
        open_view(page, f"dashboards/{board}?{ALL}")
        assert page.locator("section.panel .chart").first.evaluate(COUNT_MARKS) > 0, board
    open_view(page, f"explore?{ALL}")
    page.fill("#sql", "SELECT eventname, count(*) AS calls FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC LIMIT 3")
    page.click("#run")
    assert marks(page, "Chart of the result (bar)") == 3
    for view in ("alerts", "hunt", "assets"):
        open_view(page, f"{view}?{ALL}")
    assert not csp_violations
    # the policy is enforced (and its violations seen by this test): an injected inline script does not run
    ran = page.evaluate(
        """() => {
          window.injected = false;
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.append(script);
          return window.injected;
        }"""
    )
    assert ran is False
    page.wait_for_timeout(200)  # the console message arrives after the evaluate returns
    assert any("script-src" in text for text in csp_violations), csp_violations
    csp_violations.clear()


def test_time_range_is_in_the_url_and_every_api_call(page: Page):
    with page.expect_request(lambda request: "/api/overview?since=7d" in request.url):
        open_view(page, "overview")
    expect(page.locator("#range-preset")).to_have_value("7d")

    with page.expect_request(lambda request: "/api/overview?since=24h" in request.url):
        rerender(page, lambda: page.select_option("#range-preset", "24h"))
    assert "range=24h" in page.url

    page.select_option("#range-preset", "custom")
    page.fill("#range-from", "2024-03-06T00:00:00")
    page.fill("#range-to", "2024-03-07T00:00:00")
    custom = "/api/overview?since=2024-03-06T00%3A00%3A00Z&until=2024-03-07T00%3A00%3A00Z"
    with page.expect_request(lambda request: custom in request.url):
        rerender(page, page.get_by_role("button", name="Apply").click)
    assert "range=custom" in page.url

    with page.expect_request(lambda request: "/api/alerts?since=2024-03-06T00%3A00%3A00Z" in request.url):
        rerender(page, page.get_by_role("link", name="Alerts", exact=True).click)  # the range follows to other views
    assert "#/alerts?" in page.url and "range=custom" in page.url
    expect(page.locator("#range-preset")).to_have_value("custom")


def test_dashboards_list_and_a_dashboard_draws_its_panels(page: Page):
    open_view(page, f"dashboards?{ALL}")
    for built_in in ("cloudtrail", "network", "web", "s3", "waf", "dns"):
        expect(page.locator(f'.dash-list a[href^="#/dashboards/{built_in}?"]')).to_have_count(1)
    rerender(page, page.locator(".dash-list").get_by_role("link", name="CloudTrail").click)
    panels = api(page, "/api/dashboards/cloudtrail")["panels"]  # no since/until: all time, as the page shows
    expect(page.locator("section.panel")).to_have_count(len(panels))
    for spec in panels:
        panel = page.locator(f'section.panel[data-panel="{spec["id"]}"]')
        if spec["error"] or not spec["rows"]:
            continue
        if spec["chart"] in ("line", "bar"):
            assert panel.locator(".chart").evaluate(COUNT_MARKS) > 0, spec["id"]
        elif spec["chart"] == "stat":
            assert panel.locator(".stat .value").inner_text().replace(",", "").isdigit(), spec["id"]
        else:
            assert panel.locator("table.data tbody tr").count() == min(10, len(spec["rows"])), spec["id"]
    assert any(spec["chart"] in ("line", "bar") and spec["rows"] for spec in panels)


def test_explore_runs_a_query_charts_it_and_downloads_it(page: Page):
    open_view(page, f"explore?{ALL}")
    expect(page.get_by_role("region", name="Tables").locator("li").first).to_be_visible()
    sql = "SELECT eventname, count(*) AS calls FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
    page.fill("#sql", sql)
    page.press("#sql", "Control+Enter")
    expect(page.locator("#result-meta")).to_contain_text("5 rows")
    table = page.get_by_role("table", name="Query result")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table.locator("thead th")).to_have_text(["eventname", "calls"])
    assert marks(page, "Chart of the result (bar)") == 5  # text + number -> one bar per row

    history = page.get_by_role("list", name="Query history")
    expect(history.get_by_role("button", name=sql)).to_be_visible()

    with page.expect_download() as download:
        page.click("#download-csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].replace('"', "") == "eventname,calls"
    assert len(lines) == 6

    page.fill("#sql", "SELECT no_such_column FROM cloudtrail_logs")
    page.click("#run")
    expect(page.locator(".result .error")).to_contain_text("no_such_column")

    history.get_by_role("button", name=sql).click()  # the history puts a past query back in the editor
    expect(page.locator("#sql")).to_have_value(sql)


def test_explore_picks_a_chart_from_the_column_types(page: Page):
    open_view(page, "explore")
    picked = page.evaluate(
        """async () => {
          const { suggestChart } = await import("./static/js/charts.js");
          const cases = [
            [["hour", "calls"], ["TIMESTAMP WITH TIME ZONE", "BIGINT"]],
            [["day", "table", "events"], ["DATE", "VARCHAR", "BIGINT"]],
            [["eventname", "calls", "errors"], ["VARCHAR", "BIGINT", "DOUBLE"]],
            [["eventname", "arn"], ["VARCHAR", "VARCHAR"]],
            [["port", "flows"], ["INTEGER", "BIGINT"]],
          ];
          return cases.map(([columns, types]) => suggestChart(columns, types));
        }"""
    )
    assert picked == [
        {"chart": "line", "x": "hour", "y": ["calls"], "series": None},
        {"chart": "line", "x": "day", "y": ["events"], "series": "table"},
        {"chart": "bar", "x": "eventname", "y": ["calls", "errors"], "series": None},
        None,  # no numbers: a table only
        None,  # a number first: a table only
    ]


def test_alert_status_change_survives_a_reload(page: Page):
    open_view(page, f"alerts?{ALL}")
    rows = page.get_by_role("table", name="Alerts").locator("tbody tr")
    assert rows.count() > 0
    expect(page.get_by_role("table", name="Alerts").locator(".asset", has_text="legacy-web-1").first).to_contain_text(
        "internal · internet"
    )
    rerender(page, lambda: page.select_option("#alert-severity", "high"))
    expect(rows.first.locator(".sev")).to_have_text("high")

    rerender(page, rows.first.locator("a").click)
    expect(page.locator("#status-save")).to_be_visible()
    alert_id = page.url.split("#/alerts/")[1].split("?")[0]
    events = page.locator("details.event")
    assert events.count() >= 1
    expect(events.first.locator("table.kv")).to_contain_text("lake_time")
    try:
        page.select_option("#status-select", "acknowledged")
        page.fill("#status-note", "triaged in the browser test")
        page.click("#status-save")
        expect(page.get_by_role("status")).to_have_text("Saved.")
        page.reload()
        expect(page.locator("main")).to_have_attribute("aria-busy", "false")
        expect(page.locator("#status-select")).to_have_value("acknowledged")
        expect(page.locator("#status-note")).to_have_value("triaged in the browser test")
        assert api(page, f"/api/alerts/{alert_id}")["alert"]["status"] == "acknowledged"

        open_view(page, f"alerts?{ALL}&status=acknowledged")
        listed = page.get_by_role("table", name="Alerts").locator("tbody tr")
        expect(listed).to_have_count(1)
        expect(listed.first.locator(".status")).to_have_text("acknowledged")
    finally:  # leave the shared lake as it was
        page.request.post(f"/api/alerts/{alert_id}/status", data={"status": "open", "note": ""})


def test_alert_text_search_filters_the_list(page: Page):
    open_view(page, f"alerts?{ALL}")
    rows = page.get_by_role("table", name="Alerts").locator("tbody tr")
    total = rows.count()
    page.fill("#alert-search", ATTACKER_IP)
    rerender(page, lambda: page.press("#alert-search", "Enter"))
    assert "q=203.0.113.66" in page.url
    expect(page.locator("#alert-search")).to_have_value(ATTACKER_IP)
    matching = rows.count()
    assert 0 < matching <= total
    for text in rows.all_inner_texts():
        assert ATTACKER_IP in text


def test_hunt_for_the_attacker_ip_spans_tables(page: Page):
    open_view(page, f"hunt?{ALL}")
    page.fill("#hunt-value", ATTACKER_IP)
    expect(page.locator("#hunt-kind")).to_have_text("ip")
    rerender(page, lambda: page.click("#hunt-go"))
    expect(page.locator("#hunt-summary")).to_contain_text(f"for ip {ATTACKER_IP}")
    timeline = page.get_by_role("table", name="Hunt timeline")
    assert timeline.locator("tbody tr").count() > 0
    tables = set(timeline.locator("tbody tr td:nth-child(2)").all_inner_texts())
    assert len(tables) >= 3, tables
    assert marks(page, "Events per table over time") >= 3
    # rows name the asset they touched (a column of the timeline, classification next to the name)
    expect(timeline.locator("thead")).to_contain_text("asset")


def test_hunt_detects_the_kind_of_what_is_typed(page: Page):
    open_view(page, "hunt")
    kinds = page.evaluate(
        """async () => {
          const { detectKind } = await import("./static/js/views/hunt.js");
          return ["203.0.113.66", "2001:db8::1", "AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A",
                  "arn:aws:iam::111122223333:user/alice", "alice"].map(detectKind);
        }"""
    )
    assert kinds == ["ip", "ip", "key", "key", "principal", "principal"]


def test_assets_view_shows_the_inventory_or_how_to_get_it(page: Page):
    open_view(page, "assets")
    available = api(page, "/api/assets")["available"]
    if available:
        assert page.get_by_role("table", name="Assets").locator("tbody tr").count() > 0
    else:
        expect(page.locator("#assets-missing")).to_contain_text("loglake inventory --lake")


def test_assets_view_lists_the_inventory(page: Page, browser_lake: Path, moto_server: str, tmp_path: Path):
    # a real inventory: `loglake inventory --lake` against moto_server writes the assets table the view reads
    from tests.posture.conftest import bucket, new_account

    account = new_account(moto_server)
    name = bucket(account, account.name("web-assets"), tags={"Classification": "confidential"})
    out = tmp_path / "inventory.json"
    command = [sys.executable, "-m", "loglake", "inventory", "--endpoint-url", moto_server, "--services", "s3"]
    environment = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"} | account.env()
    done = subprocess.run(
        [*command, "--out", str(out), "--lake", str(browser_lake)],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    open_view(page, "assets")
    table = page.get_by_role("table", name="Assets")
    row = table.locator("tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("confidential")
