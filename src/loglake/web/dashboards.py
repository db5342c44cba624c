"""Dashboards: YAML files of panels, each one SQL query and how to chart it.

Built-ins live next to this module (dashboards/*.yaml); a lake adds its own in `<lake>/dashboards/*.yaml`
(one with a built-in's id replaces it). A panel's SQL may say `{time_filter}`: it becomes a literal range on
lake_time, so DuckDB reads only the days shown. A file that does not load is still listed, with an error
naming the file and the key, so a typo does not hide the dashboard without a word.
"""

from __future__ import annotations

import functools
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import SqlglotError

from loglake.detect.hunt import Window
from loglake.formats import registry
from loglake.web.jsonout import table_rows
from loglake.web.readonly import WebQueryError, check_select, run_query

BUILT_IN = Path(__file__).parent / "dashboards"
CHARTS = ("line", "bar", "table", "stat")
PANEL_ROWS = 10_000
PANEL_WORKERS = 4
TIME_FILTER = "{time_filter}"


class DashboardError(Exception):
    """A dashboard file that does not describe a dashboard; the message names the file and the key."""


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    chart: str
    sql: str
    x: str | None
    y: tuple[str, ...]
    series: str | None


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    description: str
    panels: tuple[Panel, ...] = ()
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        found = {"id": self.id, "title": self.title, "description": self.description}
        return {**found, "error": self.error} if self.error else found


def load_dashboards(lake: Path) -> dict[str, Dashboard]:
    """Built-in dashboards, then the lake's own (which win on the same id), in file name order."""
    found: dict[str, Dashboard] = {}
    for path in sorted(BUILT_IN.glob("*.yaml")):
        board = _load_unless_unchanged(path, path.name)
        found[board.id] = board
    user = lake / "dashboards"
    for path in sorted([*user.glob("*.yaml"), *user.glob("*.yml")]) if user.is_dir() else []:
        board = _load_unless_unchanged(path, f"{lake.name}/dashboards/{path.name}")
        found[board.id] = board
    return found


def _load_unless_unchanged(path: Path, label: str) -> Dashboard:
    """The file's dashboard, parsed again only when the file changed: every dashboard request lists them all,
    and checking each panel's SQL costs more CPU than a day's panel query on a small table."""
    try:
        stat = path.stat()
    except OSError:
        return load_file(path, label)
    return _load_version(path, label, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _load_version(path: Path, label: str, mtime_ns: int, size: int) -> Dashboard:
    return load_file(path, label)


def load_file(path: Path, label: str) -> Dashboard:
    """A dashboard from a file; a broken one comes back with `error` set (and its file stem as id)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return parse_dashboard(data, label)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        message = f"{label}: not valid YAML{where}: {getattr(error, 'problem', None) or error}"
    except (DashboardError, OSError, UnicodeDecodeError) as error:
        message = str(error) if isinstance(error, DashboardError) else f"{label}: {error}"
    return Dashboard(id=path.stem, title=path.stem, description="", error=message)


def parse_dashboard(data: Any, label: str) -> Dashboard:
    if not isinstance(data, dict):
        raise DashboardError(f"{label}: expected a mapping with id, title, panels")
    panels = data.get("panels")
    if not isinstance(panels, list) or not panels:
        raise DashboardError(f"{label}: panels: expected a list of panels")
    parsed = tuple(_panel(item, f"{label}: panels[{i}]") for i, item in enumerate(panels))
    ids = [p.id for p in parsed]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise DashboardError(f"{label}: panels: id {duplicate!r} is used twice")
    return Dashboard(
        id=_text(data, "id", label),
        title=_text(data, "title", label),
        description=_text(data, "description", label, required=False) or "",
        panels=parsed,
    )


def _panel(item: Any, where: str) -> Panel:
    if not isinstance(item, dict):
        raise DashboardError(f"{where}: expected a mapping with id, title, chart, sql")
    chart = _text(item, "chart", where)
    if chart not in CHARTS:
        raise DashboardError(f"{_key(where, 'chart')}: {chart!r} is not one of {', '.join(CHARTS)}")
    y = item.get("y", [])
    y = [y] if isinstance(y, str) else y
    if not isinstance(y, list) or not all(isinstance(v, str) for v in y):
        raise DashboardError(f"{_key(where, 'y')}: expected a column name or a list of them")
    if chart in ("line", "bar", "stat") and not y:
        raise DashboardError(f"{_key(where, 'y')}: a {chart} panel needs the column(s) to plot")
    sql = _text(item, "sql", where)
    try:
        check_select(sql.replace(TIME_FILTER, "TRUE"))
    except WebQueryError as error:
        raise DashboardError(f"{_key(where, 'sql')}: {error}") from None
    return Panel(
        id=_text(item, "id", where),
        title=_text(item, "title", where),
        chart=chart,
        sql=sql,
        x=_text(item, "x", where, required=chart in ("line", "bar")),
        y=tuple(y),
        series=_text(item, "series", where, required=False),
    )


def _text(data: dict, key: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise DashboardError(f"{_key(where, key)}: expected a non-empty string")
    return str(value)


def _key(where: str, key: str) -> str:
    """`file: id` for a dashboard's key, `file: panels[2].chart` for a panel's."""
    return f"{where}.{key}" if where.endswith("]") else f"{where}: {key}"


def run_dashboard(
    cur: duckdb.DuckDBPyConnection, board: Dashboard, tables: AbstractSet[str], window: Window, timeout: float
) -> dict[str, Any]:
    """The dashboard with every panel's rows; a panel that fails carries its error, the others still run.

    Panels run side by side, each on its own cursor: most scan a day's slice of one table, too little for
    DuckDB to spread one query over all cores, so running them one after another would leave cores idle.
    """
    cursors = [cur.cursor() for _ in board.panels]  # made here: a connection is not shared between threads
    with ThreadPoolExecutor(max_workers=PANEL_WORKERS, thread_name_prefix="panel") as pool:
        panels = pool.map(lambda panel, own: run_panel(own, panel, tables, window, timeout), board.panels, cursors)
        return answer(board, list(panels))


def answer(board: Dashboard, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": board.id,
        "title": board.title,
        "description": board.description,
        "error": board.error,
        "panels": panels,
    }


def run_panel(
    cur: duckdb.DuckDBPyConnection, panel: Panel, tables: AbstractSet[str], window: Window, timeout: float
) -> dict[str, Any]:
    shape = {"id": panel.id, "title": panel.title, "chart": panel.chart, "x": panel.x, "y": list(panel.y)}
    result: dict[str, Any] = {**shape, "series": panel.series, "columns": [], "types": [], "rows": [], "error": None}
    missing = [name for name in tables_read(panel.sql) if _base_table(name) not in tables]
    if missing:
        return {**result, "error": f"no {missing[0]} data"}
    sql = panel.sql.replace(TIME_FILTER, f"({window.predicate()})")
    try:
        rows = run_query(cur, sql, PANEL_ROWS, timeout)
    except WebQueryError as error:
        return {**result, "error": str(error)}
    return {**result, "columns": rows.columns, "types": rows.types, "rows": table_rows(rows.table)}


def tables_read(sql: str) -> list[str]:
    """The tables a query names plainly (not its own CTEs, not table functions or schema-qualified names)."""
    try:
        tree = sqlglot.parse_one(sql.replace(TIME_FILTER, "TRUE"), read="duckdb")
    except SqlglotError:
        return []  # DuckDB will say what is wrong when it runs
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = [
        t.name
        for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and not t.db and t.name not in ctes
    ]
    return list(dict.fromkeys(names))


def _format_views() -> dict[str, str]:
    """Views formats define over their table (alb_logs over alb_access_logs), by view name."""
    return {view: m.TABLE for m in registry.formats().values() for view in getattr(m, "VIEWS", {})}


def _base_table(name: str) -> str:
    return _format_views().get(name, name)
