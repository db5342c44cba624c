"""Partition pruning for SQL over the lake: a table read under a lake_time (or lake_date) bound reads only the
data files of the days the bound allows, found in the file index (file_index.py), not in the manifests.

`iceberg_scan` plans a query by decoding every manifest entry of the table and checking it against the
filter, so a one-day query grew with the lake's age. Here the query's text is analysed first (sqlglot): for
each lake table named in a FROM or JOIN whose SELECT has a WHERE conjunct such as `lake_time >= X` (X a
constant expression), that one reference is replaced by a read of the days' files. The rest of the SQL text
is left exactly as written; a query without such a bound runs as before. Planning costs a parse of the SQL
and a lookup in the index's few row groups of those days, however old the lake.

Pruning a reference only drops rows its WHERE rejects anyway: the conjunct is ANDed at the SELECT's top level,
and a row whose lake_time is outside the range (or NULL) fails it, whether it came through an inner or an
outer join.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from loglake.query.file_index import day_number

TIME_COLUMNS = {"lake_time": "TIMESTAMPTZ", "lake_date": "DATE"}
LITERAL_NODES = (exp.Literal, exp.Cast, exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var, exp.Add, exp.Sub)
LITERAL_NODES += (exp.Neg, exp.Paren)
LITERAL_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ}
CLOCK_NODES = (exp.CurrentTimestamp, exp.CurrentDate)  # evaluated a moment before the query: a day's margin
LOWER = (exp.GT, exp.GTE)
UPPER = (exp.LT, exp.LTE)
MIRRORED = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


@dataclass
class DayRange:
    low: int | None = None  # first day number (days since 1970-01-01) a row may have; None: unbounded
    high: int | None = None  # last day number

    def narrow(self, low: int | None, high: int | None) -> None:
        if low is not None:
            self.low = low if self.low is None else max(self.low, low)
        if high is not None:
            self.high = high if self.high is None else min(self.high, high)

    @property
    def bounded(self) -> bool:
        return self.low is not None or self.high is not None


@dataclass(frozen=True)
class Reference:
    """One lake table named in a FROM or JOIN, with the text span of its name and the days its WHERE allows."""

    table: str
    start: int  # first character of the (schema-qualified) name
    end: int  # one past its last character
    alias: str | None
    days: DayRange


@dataclass
class LakeConnection:
    """What `engine.connect` knows about a connection it made: the lake folder, each prunable table's index."""

    root: Path
    indexes: dict[str, Path] = field(default_factory=dict)


_CONNECTIONS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, LakeConnection] = weakref.WeakKeyDictionary()


def remember(con: duckdb.DuckDBPyConnection, lake: LakeConnection) -> None:
    _CONNECTIONS[con] = lake


def lake_of(con: duckdb.DuckDBPyConnection) -> LakeConnection | None:
    """None for a connection (or cursor) `engine.connect` did not make."""
    return _CONNECTIONS.get(con)


def prune(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The SQL with every time-bounded reference to a lake table replaced by a read of that range's files."""
    lake = lake_of(con)
    if lake is None or not lake.indexes or not any(column in sql for column in TIME_COLUMNS):
        return sql
    references = [r for r in find_references(con, sql, set(lake.indexes)) if r.days.bounded]
    for ref in sorted(references, key=lambda r: r.start, reverse=True):
        files = day_files(lake.indexes[ref.table], ref.days)
        if files is None:
            continue
        read = f"({files_sql(ref.table, files)})"
        sql = sql[: ref.start] + (read if ref.alias else f'{read} AS "{ref.table}"') + sql[ref.end :]
    return sql


def find_references(con: duckdb.DuckDBPyConnection, sql: str, tables: set[str]) -> list[Reference]:
    """Every FROM/JOIN reference to one of `tables`, with the day range its SELECT's WHERE allows."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except SqlglotError:
        return []
    if len(statements) != 1 or statements[0] is None:
        return []
    tree = statements[0]
    shadowed = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    if any(column.args.get("db") for column in tree.find_all(exp.Column)):
        return []  # main.t.col: a renamed reference would break it
    found = []
    for select in tree.find_all(exp.Select):
        sources = _sources(select)
        for source in sources:
            if isinstance(source, exp.Table) and _is_lake_table(source, tables, shadowed):
                span = _span(source)
                if span is not None:
                    days = _days(con, select, source, single=len(sources) == 1)
                    found.append(Reference(source.name, *span, source.alias or None, days))
    return found


def _sources(select: exp.Select) -> list[exp.Expression]:
    sources = []
    if select.args.get("from_") is not None:
        sources.append(select.args["from_"].this)
    sources.extend(join.this for join in select.args.get("joins") or [])
    return sources


def _is_lake_table(table: exp.Table, tables: set[str], shadowed: set[str]) -> bool:
    if table.catalog or table.db not in ("", "main") or table.name not in tables:
        return False
    return bool(table.db) or table.name not in shadowed


def _span(table: exp.Table) -> tuple[int, int] | None:
    first = table.args["db"] if table.args.get("db") else table.this
    start, end = first.meta.get("start"), table.this.meta.get("end")
    return None if start is None or end is None else (start, end + 1)


def _days(con: duckdb.DuckDBPyConnection, select: exp.Select, table: exp.Table, *, single: bool) -> DayRange:
    days = DayRange()
    where = select.args.get("where")
    if where is None:
        return days
    qualifier = table.alias_or_name
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        for column, kind, value in _comparisons(conjunct):
            if column.name in TIME_COLUMNS and (column.table == qualifier or (not column.table and single)):
                days.narrow(*_bound(con, column.name, kind, value))
    return days


def _comparisons(node: exp.Expression) -> list[tuple[exp.Column, type, exp.Expression]]:
    """(column, comparison, constant) of `col OP constant`, `constant OP col` and `col BETWEEN a AND b`."""
    if isinstance(node, exp.Paren):
        return _comparisons(node.this)
    if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
        return [(node.this, exp.GTE, node.args["low"]), (node.this, exp.LTE, node.args["high"])]
    kind = type(node)
    if kind not in MIRRORED:
        return []
    left, right = node.this, node.expression
    if isinstance(left, exp.Column) and _constant(right):
        return [(left, kind, right)]
    if isinstance(right, exp.Column) and _constant(left):
        return [(right, MIRRORED[kind], left)]
    return []


def _constant(node: exp.Expression) -> bool:
    """Literals, casts, intervals, + and -, and the clock: shapes sqlglot reads as DuckDB does, so evaluating
    its rendering of them gives DuckDB's value. A cast of a cast is refused: sqlglot nests `TIMESTAMP 'x'::DATE`
    the other way round."""
    for n in node.walk():
        if not (isinstance(n, LITERAL_NODES) or _clock(n)):
            return False
        if isinstance(n, exp.Cast) and isinstance(n.this, exp.Cast):
            return False
    return True


def _clock(node: exp.Expression) -> bool:
    """current_timestamp, current_date, today(), now()."""
    plain_now = isinstance(node, exp.Anonymous) and node.name.lower() == "now" and not node.expressions
    return isinstance(node, CLOCK_NODES) or plain_now


def _bound(con: duckdb.DuckDBPyConnection, column: str, kind: type, value: exp.Expression) -> tuple:
    """(low day, high day) a comparison allows; (None, None) when the value cannot be evaluated."""
    evaluated = _literal(value, column) or _evaluate(con, value, column)
    if evaluated is None:
        return None, None
    if column == "lake_time":
        last = evaluated - dt.timedelta(microseconds=1) if kind is exp.LT else evaluated
        low, high = _day(evaluated), _day(last)
    else:
        low = high = day_number(evaluated)
    margin = 1 if any(_clock(n) for n in value.walk()) else 0  # the clock moves on before the query runs
    low, high = low - margin, high + margin
    if kind in LOWER:
        return low, None
    if kind in UPPER:
        return None, high
    return low, high  # EQ


def _literal(value: exp.Expression, column: str) -> dt.datetime | dt.date | None:
    """A string literal, or one cast to DATE, TIMESTAMP or TIMESTAMPTZ, read as DuckDB reads it (in UTC, the
    connection's zone) without asking it; None for anything else, and for text whose reading could differ
    (a date with a time, a TIMESTAMP with an offset): DuckDB evaluates those."""
    cast = None
    if isinstance(value, exp.Cast) and value.to.this in LITERAL_TYPES:
        value, cast = value.this, value.to.this
    if not (isinstance(value, exp.Literal) and value.is_string):
        return None
    try:
        if column == "lake_date" or cast == exp.DataType.Type.DATE:
            day = dt.date.fromisoformat(value.this)
            return day if column == "lake_date" else dt.datetime.combine(day, dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(value.this)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return None if cast == exp.DataType.Type.TIMESTAMP else moment


def _evaluate(con: duckdb.DuckDBPyConnection, value: exp.Expression, column: str) -> dt.datetime | dt.date | None:
    try:
        evaluated = con.execute(f"SELECT CAST(({value.sql('duckdb')}) AS {TIME_COLUMNS[column]})").fetchone()[0]
    except duckdb.Error:
        return None
    # NULL matches no row (left to DuckDB); infinity comes back as text
    return None if evaluated is None or isinstance(evaluated, str) else evaluated


def _day(moment: dt.datetime) -> int:
    return day_number(moment.astimezone(dt.UTC).date())


def day_files(index: Path, days: DayRange) -> list[str] | None:
    """The data files of those days (local files as paths); None if the index file is gone (a reader opened
    long ago): the reference then stays on the whole table. The index is sorted by day in small row groups,
    so only the row groups of those days are read."""
    bounds = [("day", ">=", days.low)] if days.low is not None else []
    bounds += [("day", "<=", days.high)] if days.high is not None else []
    try:
        listed = pq.read_table(index, columns=["path"], filters=bounds)
    except (OSError, pa.ArrowException):
        return None
    return [path.removeprefix("file://") for path in listed.column("path").to_pylist()]


def days_relation(
    con: duckdb.DuckDBPyConnection, table: str, ranges: list[tuple[dt.datetime, dt.datetime]]
) -> str | None:
    """A read of only the files of the days the time ranges touch, as a parenthesised relation; None when the
    table has no file index (read it whole). The ranges' own filter still applies on top."""
    lake = lake_of(con)
    index = lake.indexes.get(table) if lake else None
    if index is None or not ranges:
        return None
    days = DayRange(min(_day(lo) for lo, _ in ranges), max(_day(hi - dt.timedelta(microseconds=1)) for _, hi in ranges))
    files = day_files(index, days)
    return None if files is None else f"({files_sql(table, files)})"


def files_sql(table: str, files: list[str]) -> str:
    """The files' rows with all of the table's columns, in order (a day written before a column was added
    lacks it): the empty shape of the table, then the files by name."""
    shape = f'SELECT * FROM "{shape_name(table)}"'
    if not files:
        return shape
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"{shape} UNION ALL BY NAME SELECT * FROM read_parquet([{listed}], union_by_name = true)"


def shape_name(table: str) -> str:
    """The empty relation with the table's columns, in order, that a pruned view starts from."""
    return f"__shape_{table}"
