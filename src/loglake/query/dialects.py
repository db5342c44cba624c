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
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

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
