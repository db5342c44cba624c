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


def _wildcard_at(path: exp.JSONPath) -> int | None:
    """The position of the path's one `[*]` (None without one; a DialectError for more than one)."""
    found = [i for i, part in enumerate(path.expressions) if part.find(exp.JSONPathWildcard)]
    if len(found) > 1:
        raise DialectError("a JSON path with more than one wildcard ([*]) has no Spark form")
    return found[0] if found else None


def _path_text(parts: list[exp.Expression]) -> exp.Literal:
    text = "$"
    for part in parts:
        if isinstance(part, exp.JSONPathKey):
            text += f".{part.this}"
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            text += f"[{part.this}]"
        else:
            raise DialectError(f"JSON path part {part.sql()!r} has no Spark form")
    return exp.Literal.string(text)


def _variant_get(value: exp.Expression, parts: list[exp.Expression], as_type: str | None = None) -> exp.Expression:
    args = [value, _path_text(parts)] + ([exp.Literal.string(as_type)] if as_type else [])
    return exp.Anonymous(this="try_variant_get", expressions=args)


def _spark_json_value(node: exp.Expression) -> exp.Expression:
    """DuckDB's `json_extract(x, path)` is the JSON text of the value (a string keeps its quotes, which rules
    match on); Spark's get_json_object unquotes strings, so the value is read as a VARIANT and written back.
    With one `[*]` in the path, json_extract and json_extract_string give a list (the items that have the rest
    of the path, [] when the array is missing, NULL for a NULL document), as Spark's transform over the array."""
    if not isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
        return node
    path = node.expression
    if not isinstance(path, exp.JSONPath):
        return node
    at = _wildcard_at(path)
    scalar = isinstance(node, exp.JSONExtractScalar)
    if at is None and scalar:
        return node  # get_json_object is json_extract_string
    document = exp.Anonymous(this="try_parse_json", expressions=[node.this.transform(_spark_json_value)])
    if at is None:
        return exp.Anonymous(this="to_json", expressions=[_variant_get(document, path.expressions[1:])])
    items = _variant_get(document, path.expressions[1:at], "array<variant>")
    item = exp.to_identifier("__item")
    rest = path.expressions[at + 1 :]
    if scalar:
        value = _variant_get(item.copy(), rest, "string")
    else:
        value = exp.Anonymous(this="to_json", expressions=[_variant_get(item.copy(), rest) if rest else item.copy()])
    values = exp.Transform(this=items, expression=exp.Lambda(this=value, expressions=[item.copy()]))
    present = exp.Lambda(this=exp.Not(this=exp.Is(this=item.copy(), expression=exp.Null())), expressions=[item])
    listed = exp.Coalesce(this=exp.ArrayFilter(this=values, expression=present), expressions=[exp.Array()])
    return exp.If(this=exp.Is(this=node.this.copy(), expression=exp.Null()), true=exp.Null(), false=listed)


_LIST_NODES = (exp.Array, exp.ArrayFilter, exp.Transform, exp.ArrayConcat, exp.Flatten, exp.Split)


def _is_list(node: exp.Expression) -> bool:
    """Whether the expression is a list by its form alone (a column's type is not known here)."""
    if isinstance(node, _LIST_NODES):
        return True
    if isinstance(node, exp.Coalesce):
        return any(_is_list(arg) for arg in [node.this, *node.expressions])
    if isinstance(node, exp.If):
        return _is_list(node.args["true"]) or _is_list(node.args.get("false") or exp.Null())
    return isinstance(node, exp.Case) and any(
        _is_list(arm) for arm in [*node.args["ifs"], node.args.get("default")] if arm
    )


def _spark_list_length(node: exp.Expression) -> exp.Expression:
    """DuckDB's `len(list)` is Spark's `size(list)` (Spark's `length` takes strings only)."""
    if isinstance(node, exp.Length) and _is_list(node.this):
        return exp.ArraySize(this=node.this)
    return node


def _spark_list_bool_or(node: exp.Expression) -> exp.Expression:
    """`list_bool_or(list_transform(xs, lambda x: p))` is Spark's `exists(xs, x -> p)`, NULL for [] as in DuckDB."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_bool_or" and len(node.expressions) == 1:
        inner = node.expressions[0]
        if isinstance(inner, exp.Transform):  # a nested one is not visited again: transformed here
            items, test = inner.this.transform(_spark_list_bool_or), inner.expression.transform(_spark_list_bool_or)
            empty = exp.EQ(this=exp.ArraySize(this=items.copy()), expression=exp.Literal.number(0))
            return exp.If(this=empty, true=exp.Null(), false=exp.Anonymous(this="exists", expressions=[items, test]))
    return node


def _spark_json_array_length(node: exp.Expression) -> exp.Expression:
    """DuckDB's `json_array_length(x, path)` measures the array at `path` (0 for another value, NULL when there is
    none); Spark's takes the array's text."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_array_length" and len(node.expressions) == 2:
        value, path = node.expressions
        found = _variant_at(value, path)
        length = exp.Anonymous(
            this="json_array_length", expressions=[exp.Anonymous(this="to_json", expressions=[found])]
        )
        not_array = exp.Coalesce(this=length, expressions=[exp.Literal.number(0)])
        return exp.If(this=exp.Is(this=found.copy(), expression=exp.Null()), true=exp.Null(), false=not_array)
    return node


def _spark_list_slice(node: exp.Expression) -> exp.Expression:
    """DuckDB's `xs[a:b]` / `xs[a:]` (1-based, b included) is Spark's `slice(xs, a, length)`. Rules slice lists
    this way, not strings (they take `substr`), so a slice is read as a list's."""
    if not (
        isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice)
    ):
        return node
    bounds = node.expressions[0]
    start, end = bounds.this, bounds.expression
    if start is None:
        start = exp.Literal.number(1)
    items = node.this.transform(_spark_list_slice)
    last = end if end is not None else exp.ArraySize(this=items.copy())
    length = exp.Add(this=exp.Sub(this=last.copy(), expression=start.copy()), expression=exp.Literal.number(1))
    count = exp.Greatest(this=exp.Paren(this=length), expressions=[exp.Literal.number(0)])
    return exp.Anonymous(this="slice", expressions=[items, start.copy(), count])


def _spark_list_index(node: exp.Expression) -> exp.Expression:
    """DuckDB's `xs[n]` is NULL past the end; Spark's raises (ANSI mode): `try_element_at`, 1-based as DuckDB is
    (sqlglot keeps the index 0-based in the tree)."""
    index = node.expressions[0] if isinstance(node, exp.Bracket) and len(node.expressions) == 1 else None
    if isinstance(index, exp.Literal) and not index.is_string and index.this.isdigit():
        position = exp.Literal.number(int(index.this) + 1)
        return exp.Anonymous(this="try_element_at", expressions=[node.this.transform(_spark_list_index), position])
    return node


def _spark_list_concat(node: exp.Expression) -> exp.Expression:
    """DuckDB's `list_concat` reads a NULL list as []; Spark's `concat` of arrays is NULL if one is."""
    if not isinstance(node, exp.ArrayConcat):
        return node
    parts = [node.this, *node.expressions]
    lists = [p if isinstance(p, exp.Array) else exp.Coalesce(this=p, expressions=[exp.Array()]) for p in parts]
    return exp.ArrayConcat(this=lists[0], expressions=lists[1:])


# Spark's VARIANT type names (schema_of_variant's first word) as DuckDB's json_type names them
_JSON_TYPE_NAMES = {"ARRAY": "ARRAY", "OBJECT": "OBJECT", "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN",
                    "BIGINT": "BIGINT", "DECIMAL": "DOUBLE", "DOUBLE": "DOUBLE", "VOID": "NULL"}  # fmt: skip


def _spark_json_type(node: exp.Expression) -> exp.Expression:
    """DuckDB's `json_type(x, path)` from the type Spark gives the value read as a VARIANT, in DuckDB's names
    (DuckDB calls a non-negative integer UBIGINT)."""
    if isinstance(node, exp.JSONType) and node.expression is not None:
        document, path = node.this, node.expression
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "json_type" and len(node.expressions) == 2:
        document, path = node.expressions
    else:
        return node
    spark_type = exp.Anonymous(
        this="regexp_extract",
        expressions=[
            exp.Anonymous(this="schema_of_variant", expressions=[_variant_at(document, path)]),
            exp.Literal.string("^[A-Z]+"),
            exp.Literal.number(0),
        ],
    )
    names = exp.Anonymous(
        this="map", expressions=[exp.Literal.string(t) for pair in _JSON_TYPE_NAMES.items() for t in pair]
    )
    named = exp.Coalesce(this=exp.Bracket(this=names, expressions=[spark_type.copy()]), expressions=[spark_type.copy()])
    as_bigint = [_variant_at(document, path), exp.Literal.string("$"), exp.Literal.string("bigint")]
    number = exp.Anonymous(this="try_variant_get", expressions=as_bigint)
    integer = exp.EQ(this=spark_type, expression=exp.Literal.string("BIGINT"))
    unsigned = exp.And(this=integer, expression=exp.GTE(this=number, expression=exp.Literal.number(0)))
    return exp.If(this=unsigned, true=exp.Literal.string("UBIGINT"), false=named)


def _variant_at(document: exp.Expression, path: exp.Expression) -> exp.Expression:
    """The value at a literal JSON path of a JSON text, as a Spark VARIANT (NULL when absent or not JSON)."""
    if not (isinstance(path, exp.Literal) and path.is_string):
        raise DialectError("a JSON function with a computed path has no Spark form")
    parsed = exp.Anonymous(this="try_parse_json", expressions=[document.copy()])
    return exp.Anonymous(this="try_variant_get", expressions=[parsed, path.copy()])


FIXES: dict[str, list[Callable[[exp.Expression], exp.Expression]]] = {
    "athena": [_parse_datetime, _format_datetime, _to_iso8601],
    "trino": [_parse_datetime, _format_datetime, _to_iso8601],
    "spark": [],
}
# loglake's (DuckDB) and Athena's SQL to Spark
SPARK_FIXES = [_try_url_decode, _unmaterialized, _spark_format_datetime, _spark_to_iso8601]
# DuckDB's list and JSON functions, whose meaning (NULLs, [] for a missing array, quoted JSON values) Spark's
# functions of the same shape do not keep; only for DuckDB SQL, Athena's functions mean other things
DUCKDB_SPARK_FIXES = [
    _spark_json_value,
    _spark_list_length,
    _spark_list_bool_or,
    _spark_json_array_length,
    _spark_json_type,
    _spark_list_concat,
    _spark_list_slice,
    _spark_list_index,
]


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
    """The Spark SQL form of SQL written for `dialect` (loglake's own queries and rules are DuckDB SQL, and take
    the one DuckDB translation, `from_duckdb`, with its checks).

    `rename` maps qualified table names (`lake.cloudtrail_logs`) to the names Spark knows them by.
    """
    renamed = (lambda node: _renamed(node, rename)) if rename else None
    if dialect == "duckdb":
        return from_duckdb(sql, "spark", rewrite=renamed)
    statements = parse(sql, dialect)
    if renamed:
        statements = [s.transform(renamed) for s in statements]
    for fix in SPARK_FIXES:
        statements = [s.transform(fix) for s in statements]
    try:
        return ";\n".join(s.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE) for s in statements)
    except UnsupportedError as error:
        raise DialectError(f"cannot be written as Spark SQL: {str(error).splitlines()[0]}") from None


def _renamed(node: exp.Expression, names: dict[str, str]) -> exp.Expression:
    """A table by its qualified name (`lake.x`), or an unqualified one by its name, renamed; its alias kept
    (the plain name is the alias a renamed unqualified table had, so column references to it still resolve)."""
    if not isinstance(node, exp.Table) or node.catalog:
        return node
    key = f"{node.db}.{node.name}" if node.db else node.name
    if key not in names:
        return node
    alias = node.args.get("alias") or (None if node.db else exp.TableAlias(this=exp.to_identifier(node.name)))
    return exp.Table(this=exp.to_identifier(names[key]), alias=alias)


def _first_error(error: ParseError) -> str:
    details = error.errors[0] if error.errors else {}
    if details:
        return f"{details.get('description')} (line {details.get('line')}, column {details.get('col')})"
    return str(error).splitlines()[0]


# DuckDB functions sqlglot does not know, that the other engine has under the same name and meaning
# Spark functions the Spark fixes above write (they are no longer DuckDB's)
_SPARK_WRITTEN = {
    "try_url_decode",
    "date_format",
    "try_parse_json",
    "try_variant_get",
    "to_json",
    "schema_of_variant",
    "regexp_extract",
    "map",
    "exists",
    "slice",
    "try_element_at",
}
_SAME_NAME = {
    "url_decode": {"athena", "trino", "spark"},
    "url_encode": {"athena", "trino", "spark"},
    "json_array_length": {"athena", "trino", "spark"},
    "bin": {"spark"},  # a number in base 2, as text
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


def _regexp_full_match(node: exp.Expression) -> exp.Expression:
    """DuckDB's `regexp_full_match(x, p)` (the whole text matches) as a partial match of the anchored pattern, which
    Trino and Spark have (`regexp_like`)."""
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        anchored = exp.Literal.string(f"^(?:{node.expression.this})$")
        return exp.RegexpLike(this=node.this, expression=anchored)
    return node


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
    if dialect == "spark":
        for fix in SPARK_FIXES + DUCKDB_SPARK_FIXES:
            statements = [s.transform(fix) for s in statements]
    for statement in statements:
        for call in statement.find_all(exp.Anonymous):
            name = call.name.lower()
            if dialect not in _SAME_NAME.get(name, set()) and not (dialect == "spark" and name in _SPARK_WRITTEN):
                raise DialectError(f"DuckDB's {call.name}() has no known {dialect} equivalent")
        if dialect != "spark" and statement.find(exp.Qualify):
            raise DialectError(f"QUALIFY does not exist in {dialect}")
        if dialect != "spark" and any(star.args.get("except_") for star in statement.find_all(exp.Star)):
            raise DialectError(f"SELECT * EXCLUDE (...) does not exist in {dialect}")
        if dialect != "spark" and any(star.args.get("replace") for star in statement.find_all(exp.Star)):
            raise DialectError(f"SELECT * REPLACE (...) does not exist in {dialect}")
    statements = [
        s.transform(_expand_group_by_all).transform(_lake_date_arithmetic).transform(_regexp_full_match)
        for s in statements
    ]
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
