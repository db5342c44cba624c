"""The JSON API of `loglake serve` (the page in static/ is its only built-in client).

Contract (all JSON unless noted; times ISO-8601 UTC, e.g. "2024-03-07T10:00:00Z"; days "2024-03-07").
Where time applies, `since` and `until` are optional query params: an ISO date/time (UTC unless an offset
is given) or an age such as 30m, 24h, 7d. They filter on lake_time (since inclusive, until exclusive), as
literals, so DuckDB reads only the days in range. Errors: HTTP 4xx/5xx with {"error": "one-line message"}.

Auth: clients on loopback (127.0.0.1, ::1) whose Host header is localhost, 127.0.0.1 or [::1] need nothing
(another Host from loopback is DNS rebinding: token needed). Any other client needs the token of
`<lake>/web/token`: header `Authorization: Bearer <token>`, or a page load `GET /?token=<token>` (any non-/api
GET), which answers 303 to the same URL without the token and sets an HttpOnly SameSite=Strict cookie
`loglake_token` that later calls carry. Missing/wrong token: 401 {"error"}. A POST whose Origin header names
another host than Host: 403 {"error"}.

GET  /                      the page (static/index.html); GET /static/<path> its files
GET  /api/health            {"lake": str, "tables": [{"name": str, "rows": int}], "version": str}
GET  /api/overview?since&until
     {"events_per_day": [{"day": "YYYY-MM-DD", "table": str, "events": int}],
      "alerts_per_day": [{"day": "YYYY-MM-DD", "severity": str, "alerts": int}],   (by alert first_seen)
      "top_accounts": [{"account": str, "events": int}],                          (10, over all log tables)
      "top_regions": [{"region": str, "events": int}],                            (10)
      "ingestion": {"last_ingest": str|null, "objects": int,
                    "rejects_by_reason": [{"table": str, "reason": str, "rejects": int}]}}
     ("table" of a reject is its format's table when known, else the format name or "unknown")
GET  /api/dashboards        [{"id": str, "title": str, "description": str}]   (+ "error": str for a bad user file)
GET  /api/dashboards/{id}?since&until
     {"id", "title", "description", "error": str|null,
      "panels": [{"id", "title", "chart": "line"|"bar"|"table"|"stat", "x": col|null, "y": [col...],
                  "series": col|null, "columns": [str...], "types": [str...] (DuckDB type names),
                  "rows": [[value...]...], "error": str|null}]}
     Line/bar panels: x is the category/time column, y the value columns; with "series", rows are long-form
     (one row per x and series value; pivot client-side). A "stat" panel has one row; show its first y column.
     A panel whose table is absent (or was never written) gets error "no <table> data" and no rows; a panel
     whose SQL fails gets DuckDB's message; the other panels still run.
     Unknown id: 404. Built-in: cloudtrail, network, web, s3, waf, dns. Users add <lake>/dashboards/*.yaml:
       id: str, title: str, description: str, panels: [{id, title, chart, sql, x, y (str or list), series}]
       where sql may contain {time_filter}, replaced by a lake_time range predicate ("TRUE" when unbounded).
     A bad user file is listed with "error" naming the file and key; GET of it returns 200 with that error and
     no panels.
POST bodies are JSON (Content-Type: application/json).
POST /api/query             body {"sql": str, "limit": int = 1000 (1..10000)}
     {"columns": [str], "types": [str], "rows": [[value...]], "truncated": bool, "elapsed_ms": float}
     One SELECT/WITH statement only (read-only connection); bad SQL, a refusal or the timeout: 400 {"error"}.
GET  /api/query/history     [{"sql": str, "at": str, "rows": int, "elapsed_ms": float}]   newest first, last 100
POST /api/query/download    body {"sql": str, "format": "csv"|"parquet"} -> the file (attachment
     query.csv / query.parquet), at most 1,000,000 rows (header X-Loglake-Truncated: true|false); same checks
     and errors as /api/query. CSV cells of nested values (structs, lists) hold JSON text.
GET  /api/alerts?status&severity&rule&since&until
     [{alert_id, rule_id, title, severity, first_seen, last_seen, count, hits, principal, ip, resource,
       account, dedup_key, refs: [{lake_table, lake_file, lake_row, event_id}], tags, attack, description,
       status, note, created_at, updated_at}]  most severe first, then newest (last_seen) first.
     status/severity/rule filter exactly (comma-separated lists allowed); since/until overlap the alert's
     first_seen..last_seen.
GET  /api/alerts/{alert_id} {"alert": {...as above}, "events": [{"lake_table", "lake_file", "lake_row",
                             "event_id", "row": {column: value} | null}]}     404 unknown id
POST /api/alerts/{alert_id}/status   body {"status": "open"|"acknowledged"|"closed", "note": str = ""}
     -> the updated alert (as above); 404 unknown id; 400 bad status.
GET  /api/hunt?kind=ip|principal|key&value=...&since&until&limit=1000 (1..10000)
     {"rows": [{lake_time, lake_table, principal, ip, resource, account, action, lake_file, lake_row}],
      "truncated": bool}        400 for a value that is not an IP / access key id, or a bad kind.
GET  /api/assets            {"available": bool, "rows": [{...}]}   current rows of the `assets` table if any
GET  /openapi.json          FastAPI's schema of this API. (No /docs or /redoc: FastAPI's pages load their
                            scripts from a CDN, so they would be blank offline and break the page's policy.)

Every answer carries a Content-Security-Policy (CONTENT_SECURITY_POLICY): scripts, styles, images and
fetches from this server only, no inline scripts, no framing.

Values in "rows": JSON-native; timestamps ISO strings, structs objects, lists arrays, bytes text.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from loglake import __version__
from loglake.cli.times import parse_when
from loglake.detect import hunt
from loglake.detect.alerts import STATUSES
from loglake.detect.store import set_status
from loglake.lake.catalog import LakeError, LakeLocation
from loglake.web import alerts, auth, dashboards, overview
from loglake.web.history import QueryHistory
from loglake.web.jsonout import JSON, table_rows
from loglake.web.readonly import DEFAULT_TIMEOUT, ReadOnlyLake, WebQueryError, catalog_state, deadline, run_select

STATIC = Path(__file__).parent / "static"
# The page is same-origin files only: no inline script, no eval, no other host to load from or send to. Style
# attributes (not <style> elements) are allowed: ECharts writes its tooltips as HTML with style="..." in it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
QUERY_LIMIT = 1000
MAX_QUERY_LIMIT = 10_000
DOWNLOAD_LIMIT = 1_000_000
log = logging.getLogger("loglake.web")


class ApiError(Exception):
    """An answer other than 200, with a one-line message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Server:
    """What every request needs: the lake, its token, the read-only connection and the query history."""

    lake: Path
    token: str
    timeout: float
    readonly: ReadOnlyLake
    history: QueryHistory
    static: Path


class QueryBody(BaseModel):
    sql: str
    limit: int = Field(QUERY_LIMIT, ge=1, le=MAX_QUERY_LIMIT)


class DownloadBody(BaseModel):
    sql: str
    format: str = "csv"


class StatusBody(BaseModel):
    status: str
    note: str = ""


Since = Annotated[str | None, Query(description="From this time: ISO date/time (UTC unless given) or an age: 24h, 7d.")]
Until = Annotated[str | None, Query(description="Before this time (same forms as since).")]


def create_app(
    lake: Path, *, token: str | None = None, query_timeout: float = DEFAULT_TIMEOUT, static: Path = STATIC
) -> FastAPI:
    """The API over one lake. Without `token`, the lake's token file is read (and made if missing)."""
    require_lake(lake)
    server = Server(
        lake=lake,
        token=token or auth.ensure_token(lake)[0],
        timeout=query_timeout,
        readonly=ReadOnlyLake(lake, query_timeout),
        history=QueryHistory(lake / "web" / "history.jsonl"),
        static=static,
    )
    # FastAPI's /docs and /redoc pages load their scripts from a CDN: blank offline and against the policy
    app = FastAPI(title="loglake", version=__version__, default_response_class=JSON, docs_url=None, redoc_url=None)
    _middleware(app, server)
    _error_handlers(app)
    _page_routes(app, server)
    _lake_routes(app, server)
    _query_routes(app, server)
    _alert_routes(app, server)
    return app


def require_lake(lake: Path) -> None:
    """Fail at start, with the fix, rather than at the first request (and make no folders in a wrong path)."""
    if not LakeLocation(lake).exists():
        raise LakeError(f"no lake at {lake} (run `loglake ingest` first, or pass --lake DIR)")


# -- plumbing --------------------------------------------------------------------------------------------------------


def _middleware(app: FastAPI, server: Server) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next):
        refused = auth.check(request, server.token)
        response = refused or await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")  # no clickjacking the alert status buttons
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str) -> JSON:
        return JSON({"error": message}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSON:
        return error(exc.status, str(exc))

    @app.exception_handler(WebQueryError)
    async def query_error(request: Request, exc: WebQueryError) -> JSON:
        return error(400, str(exc))

    @app.exception_handler(hunt.HuntError)
    async def hunt_error(request: Request, exc: hunt.HuntError) -> JSON:
        return error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSON:
        first = exc.errors()[0] if exc.errors() else {}
        location = tuple(first.get("loc", ()))
        if location == ("body",):  # not a JSON object at all (or sent as text/plain, as a cross-site form would)
            return error(400, "body: send a JSON object, with Content-Type: application/json")
        where = ".".join(str(part) for part in location if part not in ("body", "query", "path"))
        return error(400, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(LakeError)
    async def lake_error(request: Request, exc: LakeError) -> JSON:
        return error(500, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSON:
        # the traceback goes to the server's log, never to the client
        log.exception("error serving %s %s", request.method, request.url.path)
        return error(500, f"internal error ({type(exc).__name__}); the server log has the details")


def _window(since: str | None, until: str | None) -> hunt.Window:
    start, end = _when(since, "since"), _when(until, "until")
    if start and end and start >= end:
        raise ApiError(400, f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    return hunt.Window(start, end)


def _when(text: str | None, name: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return parse_when(text, option=name)
    except typer.BadParameter as bad:
        raise ApiError(400, f"{name}: {bad.message}") from None


def _values(text: str | None) -> list[str]:
    """A filter's values: `high,critical` -> ["high", "critical"]."""
    return [v.strip() for v in (text or "").split(",") if v.strip()]


# -- routes ----------------------------------------------------------------------------------------------------------


def _page_routes(app: FastAPI, server: Server) -> None:
    app.mount("/static", StaticFiles(directory=server.static, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        index = server.static / "index.html"
        if not index.is_file():
            return HTMLResponse(
                "<p>loglake: the page is not built; its schema is at <a href='/openapi.json'>/openapi.json</a>.</p>"
            )
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def _lake_routes(app: FastAPI, server: Server) -> None:
    @app.get("/api/health")
    def health() -> JSON:
        lake = server.readonly.reader()
        names = sorted(catalog_state(server.readonly.location))
        with deadline(lake.cur, server.timeout):
            rows = {n: lake.cur.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in lake.tables}
        tables = [{"name": n, "rows": rows.get(n, 0)} for n in names]
        return JSON({"lake": str(server.lake.resolve()), "tables": tables, "version": __version__})

    @app.get("/api/overview")
    def lake_overview(since: Since = None, until: Until = None) -> JSON:
        window = _window(since, until)
        lake = server.readonly.reader()
        with deadline(lake.cur, server.timeout):
            return JSON(overview.overview(lake.cur, server.lake, lake.tables, window))

    @app.get("/api/dashboards")
    def dashboard_list() -> JSON:
        return JSON([board.summary() for board in dashboards.load_dashboards(server.lake).values()])

    @app.get("/api/dashboards/{dashboard_id}")
    def dashboard(dashboard_id: str, since: Since = None, until: Until = None) -> JSON:
        window = _window(since, until)
        board = dashboards.load_dashboards(server.lake).get(dashboard_id)
        if board is None:
            raise ApiError(404, f"no dashboard {dashboard_id!r}")
        if board.error:  # a file that did not load: nothing to run
            return JSON(dashboards.answer(board, []))
        lake = server.readonly.reader()
        return JSON(dashboards.run_dashboard(lake.cur, board, lake.tables, window, server.timeout))

    @app.get("/api/hunt")
    def hunt_timeline(
        kind: str,
        value: str,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Query(ge=1, le=MAX_QUERY_LIMIT)] = hunt.DEFAULT_LIMIT,
    ) -> JSON:
        timelines = {"ip": hunt.ip_timeline, "principal": hunt.principal_timeline, "key": hunt.key_timeline}
        if kind not in timelines:
            raise ApiError(400, f"kind: {kind!r} is not one of {', '.join(timelines)}")
        window = _window(since, until)
        cur = server.readonly.reader().cur
        with deadline(cur, server.timeout):
            found = timelines[kind](cur, value, window, limit)
        return JSON({"rows": found.rows.to_pylist(), "truncated": found.truncated})

    @app.get("/api/assets")
    def assets() -> JSON:
        lake = server.readonly.reader()
        if "assets" not in lake.tables:
            return JSON({"available": False, "rows": []})
        with deadline(lake.cur, server.timeout):
            rows = lake.cur.execute(
                f"SELECT * FROM assets WHERE valid_to IS NULL LIMIT {MAX_QUERY_LIMIT}"
            ).to_arrow_table()
        return JSON({"available": True, "rows": rows.to_pylist()})


def _query_routes(app: FastAPI, server: Server) -> None:
    @app.post("/api/query")
    def query(body: QueryBody) -> JSON:
        result = run_select(server.readonly.reader().cur, body.sql, body.limit, server.timeout)
        server.history.add(body.sql, result.table.num_rows, result.elapsed_ms)
        return JSON(
            {
                "columns": result.columns,
                "types": result.types,
                "rows": table_rows(result.table),
                "truncated": result.truncated,
                "elapsed_ms": result.elapsed_ms,
            }
        )

    @app.get("/api/query/history")
    def history() -> JSON:
        return JSON(server.history.entries())

    @app.post("/api/query/download")
    def download(body: DownloadBody) -> Response:
        if body.format not in ("csv", "parquet"):
            raise ApiError(400, f"format: {body.format!r} is not one of csv, parquet")
        result = run_select(server.readonly.reader().cur, body.sql, DOWNLOAD_LIMIT, server.timeout)
        content, media = _file(result.table, body.format)
        headers = {
            "Content-Disposition": f'attachment; filename="query.{body.format}"',
            "X-Loglake-Truncated": str(result.truncated).lower(),
        }
        return Response(content, media_type=media, headers=headers)


def _file(table: pa.Table, fmt: str) -> tuple[bytes, str]:
    out = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, out, compression="zstd")
        return out.getvalue(), "application/vnd.apache.parquet"
    pacsv.write_csv(_flat(table), out)
    return out.getvalue(), "text/csv; charset=utf-8"


def _flat(table: pa.Table) -> pa.Table:
    """CSV has no nested values: structs, lists and maps become JSON text in their cell."""
    columns = [_json_text(column) if pa.types.is_nested(column.type) else column for column in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _json_text(column: pa.ChunkedArray) -> pa.Array:
    texts = [None if v is None else orjson.dumps(v, default=str).decode() for v in column.to_pylist()]
    return pa.array(texts, pa.string())


def _alert_routes(app: FastAPI, server: Server) -> None:
    @app.get("/api/alerts")
    def alert_list(
        status: str | None = None,
        severity: str | None = None,
        rule: str | None = None,
        since: Since = None,
        until: Until = None,
    ) -> JSON:
        window = _window(since, until)
        filters = {"status": _values(status), "severity": _values(severity), "rule_id": _values(rule)}
        lake = server.readonly.reader()
        with deadline(lake.cur, server.timeout):
            return JSON(alerts.list_alerts(lake.cur, lake.tables, filters, window))

    @app.get("/api/alerts/{alert_id}")
    def alert_detail(alert_id: str) -> JSON:
        lake = server.readonly.reader()
        with deadline(lake.cur, server.timeout):
            found = alerts.get_alert(lake.cur, lake.tables, alert_id)
            if found is None:
                raise ApiError(404, f"no alert {alert_id!r}")
            return JSON({"alert": found, "events": alerts.alert_events(lake.cur, lake.tables, found)})

    @app.post("/api/alerts/{alert_id}/status")
    def alert_status(alert_id: str, body: Annotated[StatusBody, Body()]) -> JSON:
        if body.status not in STATUSES:
            raise ApiError(400, f"status: {body.status!r} is not one of {', '.join(STATUSES)}")
        lake = server.readonly.reader()
        if alerts.get_alert(lake.cur, lake.tables, alert_id) is None:
            raise ApiError(404, f"no alert {alert_id!r}")  # before set_status, which would create the tables
        try:
            changed = set_status(server.lake, alert_id, body.status, body.note)
        except LookupError:
            raise ApiError(404, f"no alert {alert_id!r}") from None
        return JSON(changed.to_dict())
