"""Partition pruning for SQL over the lake: a table read under a lake_time (or lake_date) bound reads only the
data files of the days the bound allows, found in the file index (file_index.py), not in the manifests.

`iceberg_scan` plans a query by decoding every manifest entry of the table and checking it against the
filter, so a one-day query grew with the lake's age. Here the query's text is analysed first (sqlglot): for
each lake table named in a FROM or JOIN whose SELECT has a WHERE conjunct such as `lake_time >= X` (X a
constant expression, evaluated by DuckDB), that one reference is pointed at a view over the days' files. The
rest of the SQL text is left exactly as written; a query without such a bound runs as before.

Pruning a reference only drops rows its WHERE rejects anyway: the conjunct is ANDed at the SELECT's top level,
and a row whose lake_time is outside the range (or NULL) fails it, whether it came through an inner or an
outer join.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from loglake.query.file_index import day_number

STATE_TABLE = "__lake_index"  # per connection: table name -> its snapshot's index file
TIME_COLUMNS = {"lake_time": "TIMESTAMPTZ", "lake_date": "DATE"}
LITERAL_NODES = (exp.Literal, exp.Cast, exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var, exp.Add, exp.Sub)
LITERAL_NODES += (exp.Neg, exp.Paren)
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


def remember_index(con: duckdb.DuckDBPyConnection, indexes: dict[str, str]) -> None:
    """Record in the connection which tables can be pruned, and each one's index file."""
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{STATE_TABLE}" (table_name VARCHAR, index_path VARCHAR)')
    if indexes:
        con.executemany(f'INSERT INTO "{STATE_TABLE}" VALUES (?, ?)', list(indexes.items()))


def indexes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        return dict(con.execute(f'SELECT table_name, index_path FROM temp."{STATE_TABLE}"').fetchall())
    except duckdb.CatalogException:
        return {}  # a connection not made by engine.connect, or an Athena-dialect one


def prune(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The SQL with every time-bounded reference to a lake table pointed at that range's files only."""
    known = indexes(con)
    if not known:
        return sql
    references = [r for r in find_references(con, sql, set(known)) if r.days.bounded]
    for ref in sorted(references, key=lambda r: r.start, reverse=True):
        view = _pruned_view(con, ref.table, known[ref.table], ref.days)
        if view is None:
            continue
        replacement = f'"{view}"' if ref.alias else f'"{view}" AS "{ref.table}"'
        sql = sql[: ref.start] + replacement + sql[ref.end :]
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
    try:
        evaluated = con.execute(f"SELECT CAST(({value.sql('duckdb')}) AS {TIME_COLUMNS[column]})").fetchone()[0]
    except duckdb.Error:
        return None, None
    if evaluated is None or isinstance(evaluated, str):
        return None, None  # NULL matches nothing, but leave that to DuckDB; infinity comes back as text
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


def _day(moment: dt.datetime) -> int:
    return day_number(moment.astimezone(dt.UTC).date())


def _pruned_view(con: duckdb.DuckDBPyConnection, table: str, index_path: str, days: DayRange) -> str | None:
    """A temporary view over the table's files of those days, with all of the table's columns; None if the
    index file is gone (a reader opened long ago): the reference then stays on the whole table."""
    low = days.low if days.low is not None else -(2**31)
    high = days.high if days.high is not None else 2**31 - 1
    try:
        files = [
            row[0].removeprefix("file://")
            for row in con.execute(
                "SELECT path FROM read_parquet(?) WHERE day BETWEEN ? AND ? ORDER BY day, path",
                [index_path, low, high],
            ).fetchall()
        ]
    except duckdb.IOException:
        return None
    name = f"__pruned_{table}_{'x' if days.low is None else days.low}_{'x' if days.high is None else days.high}"
    shape = f'SELECT * FROM "{shape_name(table)}"'
    if files:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        shape += f" UNION ALL BY NAME SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {shape}')
    return name


def shape_name(table: str) -> str:
    """The empty relation with the table's columns, in order, that a pruned view starts from."""
    return f"__shape_{table}"
