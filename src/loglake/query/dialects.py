"""SQL written for other engines, run on the lake: Athena/Trino (and Spark) to DuckDB with sqlglot.

sqlglot does most of the work. What it leaves wrong for the queries AWS documents is fixed here, one small
named transformation each (as pySigma pipelines do), so each fix can be read and tested on its own:

- `parse_datetime(x, <Joda pattern>)` stays a Joda pattern inside DuckDB's `strptime`: translated to strftime;
- `format_datetime(ts, <Joda pattern>)` is passed through unknown: becomes `strftime` with a translated pattern;
- `to_iso8601(ts)` is passed through unknown: becomes `strftime` with the ISO 8601 form Trino prints.

Table names and Athena's partition columns (`date`, `day`, `year`, ...) are not rewritten: the engine gives
an Athena-mode connection a schema of views that have them (see `engine.connect(..., dialect="athena")`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, SchemaError, UnsupportedError
from sqlglot.optimizer.qualify import qualify

DIALECTS = ("duckdb", "athena", "trino", "spark")

# Joda-Time pattern letters (Athena's parse_datetime/format_datetime) -> strftime, longest first
_JODA = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("hh", "%I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSSSSS", "%f"),
    ("SSS", "%g"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("ZZ", "%z"),
    ("Z", "%z"),
    ("a", "%p"),
    ("M", "%-m"),
    ("d", "%-d"),
    ("H", "%-H"),
    ("h", "%-I"),
    ("m", "%-M"),
    ("s", "%-S"),
]
# a quoted literal may run to the end of the pattern unclosed, as in AWS's own `...SSSSSS''Z'` examples
_JODA_TOKEN = re.compile(r"''|'(?:[^']|'')*(?:'|$)|" + "|".join(re.escape(j) for j, _ in _JODA) + "|.", re.S)


class DialectError(ValueError):
    """The SQL does not parse in the dialect it was said to be written in."""


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern as a strftime format: `yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'` -> `%Y-%m-%dT%H:%M:%S.%fZ`."""
    table = dict(_JODA)
    out = []
    for token in _JODA_TOKEN.findall(pattern):
        if token.startswith("'"):
            literal = token[1:-1] if token.endswith("'") and len(token) > 1 else token[1:]
            out.append("'" if token == "''" else literal.replace("''", "'").replace("%", "%%"))
        else:
            out.append(table.get(token, token.replace("%", "%%")))
    return "".join(out)


def _parse_datetime(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ParseDatetime) and isinstance(node.args.get("format"), exp.Literal):
        pattern = joda_to_strftime(node.args["format"].this)
        return exp.StrToTime(this=node.this, format=exp.Literal.string(pattern))
    return node


def _format_datetime(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime" and len(node.expressions) == 2:
        value, pattern = node.expressions
        if isinstance(pattern, exp.Literal):
            return exp.Anonymous(
                this="strftime", expressions=[value, exp.Literal.string(joda_to_strftime(pattern.this))]
            )
    return node


def _to_iso8601(node: exp.Expression) -> exp.Expression:
    """Trino's `to_iso8601(ts)` (unknown to DuckDB): the same text for UTC timestamps, `...T10:00:00.000Z`."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_iso8601" and len(node.expressions) == 1:
        value = exp.Cast(this=node.expressions[0], to=exp.DataType.build("TIMESTAMPTZ"))
        return exp.Anonymous(this="strftime", expressions=[value, exp.Literal.string("%Y-%m-%dT%H:%M:%S.%gZ")])
    return node


def _try_url_decode(node: exp.Expression) -> exp.Expression:
    """DuckDB's `try(url_decode(x))` (NULL for bad escapes) is Spark's `try_url_decode(x)`."""
    inner = node.this if isinstance(node, exp.Try) else None
    if isinstance(inner, exp.Anonymous) and inner.name.lower() == "url_decode" and len(inner.expressions) == 1:
        return exp.Anonymous(this="try_url_decode", expressions=inner.expressions)
    return node


def _spark_format_datetime(node: exp.Expression) -> exp.Expression:
    """Trino's `format_datetime(ts, <Joda pattern>)` is Spark's `date_format`: Spark's patterns are Joda's letters."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime" and len(node.expressions) == 2:
        return exp.Anonymous(this="date_format", expressions=node.expressions)
    return node


def _spark_to_iso8601(node: exp.Expression) -> exp.Expression:
    """Trino's `to_iso8601(ts)`: the same text from Spark's `date_format` (timestamps are UTC in loglake's session)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_iso8601" and len(node.expressions) == 1:
        pattern = exp.Literal.string("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
        return exp.Anonymous(this="date_format", expressions=[node.expressions[0], pattern])
    return node


def _unmaterialized(node: exp.Expression) -> exp.Expression:
    """`WITH x AS [NOT] MATERIALIZED (...)` is a DuckDB planner hint Spark has no syntax for; the rows are the same."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


FIXES: dict[str, list[Callable[[exp.Expression], exp.Expression]]] = {
    "athena": [_parse_datetime, _format_datetime, _to_iso8601],
    "trino": [_parse_datetime, _format_datetime, _to_iso8601],
    "spark": [],
}
# loglake's (DuckDB) and Athena's SQL to Spark
SPARK_FIXES = [_try_url_decode, _unmaterialized, _spark_format_datetime, _spark_to_iso8601]


def to_duckdb(sql: str, dialect: str) -> str:
    """The DuckDB form of SQL written for `dialect` (statements joined by `;`)."""
    if dialect == "duckdb":
        return sql
    statements = parse(sql, dialect)
    for fix in FIXES[dialect]:
        statements = [s.transform(fix) for s in statements]
    return ";\n".join(s.sql(dialect="duckdb", pretty=True) for s in statements)


def parse(sql: str, dialect: str) -> list[exp.Expression]:
    """The statements of SQL written for `dialect` (a DialectError names what does not parse)."""
    if dialect not in DIALECTS:
        raise DialectError(f"unknown dialect {dialect!r}; use one of: {', '.join(DIALECTS)}")
    try:
        return [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as error:
        raise DialectError(f"not valid {dialect} SQL: {_first_error(error)}") from None


def to_spark(sql: str, dialect: str = "duckdb", rename: dict[str, str] | None = None) -> str:
    """The Spark SQL form of SQL written for `dialect` (loglake's own queries and rules are DuckDB SQL).

    `rename` maps qualified table names (`lake.cloudtrail_logs`) to the names Spark knows them by.
    """
    statements = parse(sql, dialect)
    if rename:
        statements = [s.transform(lambda node: _renamed(node, rename)) for s in statements]
    for fix in SPARK_FIXES:
        statements = [s.transform(fix) for s in statements]
    try:
        return ";\n".join(s.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE) for s in statements)
    except UnsupportedError as error:
        raise DialectError(f"cannot be written as Spark SQL: {str(error).splitlines()[0]}") from None


def _renamed(node: exp.Expression, names: dict[str, str]) -> exp.Expression:
    if isinstance(node, exp.Table) and node.db and f"{node.db}.{node.name}" in names:
        return exp.Table(this=exp.to_identifier(names[f"{node.db}.{node.name}"]), alias=node.args.get("alias"))
    return node


def _first_error(error: ParseError) -> str:
    details = error.errors[0] if error.errors else {}
    if details:
        return f"{details.get('description')} (line {details.get('line')}, column {details.get('col')})"
    return str(error).splitlines()[0]


# DuckDB functions sqlglot does not know, that the other engine has under the same name and meaning
_SAME_NAME = {
    "url_decode": {"athena", "trino", "spark"},
    "url_encode": {"athena", "trino", "spark"},
    "json_array_length": {"athena", "trino", "spark"},
}


def _expand_group_by_all(node: exp.Expression) -> exp.Expression:
    """DuckDB's `GROUP BY ALL` (every projection that is not an aggregate) as the list of those expressions:
    Trino reads `GROUP BY ALL` as a set quantifier, not as this."""
    group = node.args.get("group") if isinstance(node, exp.Select) else None
    if group is None or not group.args.get("all"):
        return node
    if any(isinstance(e, exp.Star) or (e.find(exp.Star) and not e.find(exp.AggFunc)) for e in node.expressions):
        raise DialectError("GROUP BY ALL over SELECT *: name the grouped columns")
    keys = [e.unalias().copy() for e in node.expressions if not e.find(exp.AggFunc, exp.Window)]
    node.set("group", exp.Group(expressions=keys))
    return node


def _expand_star_excludes(statement: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression:
    """Columns spelled out where a star excludes some (only then: the rest of the SQL stays as written)."""
    if not any(star.args.get("except_") for star in statement.find_all(exp.Star)):
        return statement
    try:
        return qualify(
            statement,
            schema=schema,
            dialect="duckdb",
            quote_identifiers=False,
            validate_qualify_columns=False,
            identify=False,
        )
    except (OptimizeError, SchemaError, KeyError) as error:
        raise DialectError(f"SELECT * EXCLUDE over columns that cannot be resolved: {error}") from None


def _lake_date_arithmetic(node: exp.Expression) -> exp.Expression:
    """`lake_date - 7` (DuckDB adds days to a date) as a date function: Trino has no date-integer operator.
    lake_date is a DATE in every lake table, so the rewrite needs no type inference."""
    if not isinstance(node, exp.Add | exp.Sub):
        return node
    date, days = node.left, node.right
    if isinstance(date, exp.Literal) and isinstance(node, exp.Add):
        date, days = days, date
    if not (isinstance(date, exp.Column) and date.name == "lake_date" and isinstance(days, exp.Literal)):
        return node
    if days.is_string or not days.this.isdigit():
        return node
    amount = int(days.this) * (-1 if isinstance(node, exp.Sub) else 1)
    return exp.DateAdd(this=date.copy(), expression=exp.Literal.number(amount), unit=exp.Var(this="DAY"))


def from_duckdb(
    sql: str,
    dialect: str,
    *,
    rewrite: Callable[[exp.Expression], exp.Expression] | None = None,
    schema: dict[str, dict[str, str]] | None = None,
) -> str:
    """SQL written for DuckDB (loglake's own queries and rules) in `dialect`; a DialectError names the construct
    that has no equivalent there, instead of returning SQL the engine would reject or read differently.

    `rewrite` is applied to every node of the DuckDB statements first; with `schema` (table -> column -> type),
    `SELECT * EXCLUDE (...)`, which Trino lacks, is spelled out as the remaining columns."""
    if dialect not in DIALECTS:
        raise DialectError(f"unknown dialect {dialect!r}; use one of: {', '.join(DIALECTS)}")
    if dialect == "duckdb":
        return sql
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as error:
        raise DialectError(f"not valid DuckDB SQL: {_first_error(error)}") from None
    if rewrite is not None:
        statements = [s.transform(rewrite) for s in statements]
    if schema is not None and dialect != "spark":
        statements = [_expand_star_excludes(s, schema) for s in statements]
    for statement in statements:
        for call in statement.find_all(exp.Anonymous):
            if dialect not in _SAME_NAME.get(call.name.lower(), set()):
                raise DialectError(f"DuckDB's {call.name}() has no known {dialect} equivalent")
        if dialect != "spark" and statement.find(exp.Qualify):
            raise DialectError(f"QUALIFY does not exist in {dialect}")
        if dialect != "spark" and any(star.args.get("except_") for star in statement.find_all(exp.Star)):
            raise DialectError(f"SELECT * EXCLUDE (...) does not exist in {dialect}")
        if dialect != "spark" and any(star.args.get("replace") for star in statement.find_all(exp.Star)):
            raise DialectError(f"SELECT * REPLACE (...) does not exist in {dialect}")
    statements = [s.transform(_expand_group_by_all).transform(_lake_date_arithmetic) for s in statements]
    try:
        out = [s.sql(dialect=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE) for s in statements]
    except UnsupportedError as error:
        reason = str(error).splitlines()[0]
        if "JSONPathWildcard" in reason:
            reason = "a JSON path with a wildcard ([*]) has no form there"
        raise DialectError(f"cannot be written for {dialect}: {reason}") from None
    text = ";\n".join(out)
    if "DATE_BIN" in text.upper():  # sqlglot's time_bucket; neither Trino nor Spark has it
        raise DialectError(f"time_bucket has no {dialect} equivalent")
    try:
        sqlglot.parse(text, read=dialect)
    except ParseError as error:
        raise DialectError(f"the {dialect} form does not parse: {_first_error(error)}") from None
    return text
