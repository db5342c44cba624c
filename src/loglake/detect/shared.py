"""Subqueries several rules compute the same way, computed once per run and scope instead of once per rule.

The ten web rules start with the same two CTEs (every request of the ALB, CloudFront and ELB logs, with its
URL decoded), five rules with the same list of the lake's own accounts. When such a CTE (the same text, over
the same earlier CTEs) appears in at least two of the rules a run evaluates, its rows are copied once into a
temporary table while the rules' views point at the same rows, and each rule reads that table instead. The
rules' SQL is rewritten by replacing the CTE's body in the text, never by regenerating it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

import duckdb

from loglake.detect.rule import Rule

SHARED = "__shared_{key}"
_CTE_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+(?:(?:NOT\s+)?MATERIALIZED\s+)?\(", re.I)


@dataclass(frozen=True)
class Cte:
    name: str
    body: str  # the SQL between the parentheses, as written
    start: int  # the body's span in the query
    end: int
    uses: tuple[str, ...]  # the earlier CTEs it reads, directly or through others, in order
    key: str  # identifies the body together with the bodies of the CTEs it reads
    definition: str  # a statement computing its rows: WITH <the CTEs it reads> <body>


def ctes(query: str) -> list[Cte]:
    """The top-level CTEs of a query (its leading WITH clause), in order; [] when it has none."""
    found: dict[str, Cte] = {}
    position = _skip_space(query, 0)
    if not re.match(r"WITH\s", query[position:], re.I):
        return []
    position += 4
    while True:
        match = _CTE_NAME.match(query, _skip_space(query, position))
        if match is None:
            return list(found.values())
        start = match.end()
        end = _closing_parenthesis(query, start)
        if end is None:
            return []
        body = query[start:end]
        direct = {name for name in found if re.search(rf"\b{re.escape(name)}\b", body)}
        uses = tuple(n for n in found if n in direct or any(n in found[d].uses for d in direct))
        prefix = "WITH " + ", ".join(f"{n} AS ({found[n].body})" for n in uses) + "\n" if uses else ""
        key = hashlib.sha1((prefix + body).encode()).hexdigest()[:16]
        found[match.group(1)] = Cte(match.group(1), body, start, end, uses, key, prefix + body)
        position = _skip_space(query, end + 1)
        if not query.startswith(",", position):
            return list(found.values())
        position += 1


class SharedCtes:
    """The CTEs at least two of a run's rules share, each computed once while the views stay the same."""

    def __init__(self, rules: list[Rule]):
        counts = Counter(cte.key for rule in rules for cte in {c.key: c for c in ctes(rule.query)}.values())
        self.shared = {key for key, count in counts.items() if count > 1}
        self._made: dict[str, int] = {}  # key -> the views' generation it was computed in

    def query(self, con: duckdb.DuckDBPyConnection, rule: Rule, generation: int) -> str:
        """The rule's query reading the shared CTEs' tables (computed now if the views changed since).

        Only CTEs the rest of the query still reads are computed: once the web rules' decoded requests come
        from a table, the undecoded ones are not needed.
        """
        query = rule.query
        for cte in reversed(ctes(rule.query)):  # later CTEs first: the spans of earlier ones stay valid
            if cte.key not in self.shared or not re.search(rf"\b{re.escape(cte.name)}\b", query[cte.end :]):
                continue
            table = SHARED.format(key=cte.key)
            if self._made.get(cte.key) != generation:
                con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS {cte.definition}')
                self._made[cte.key] = generation
            query = f'{query[: cte.start]}SELECT * FROM "{table}"{query[cte.end :]}'
        return query


def _skip_space(text: str, position: int) -> int:
    """The position after any white space and SQL comments."""
    while position < len(text):
        if text[position].isspace():
            position += 1
        elif text.startswith("--", position):
            newline = text.find("\n", position)
            position = len(text) if newline < 0 else newline + 1
        elif text.startswith("/*", position):
            close = text.find("*/", position + 2)
            position = len(text) if close < 0 else close + 2
        else:
            break
    return position


def _closing_parenthesis(text: str, position: int) -> int | None:
    """The index of the parenthesis closing the one just before `position` (strings and comments skipped)."""
    depth = 1
    while position < len(text):
        char = text[position]
        if char in "'\"":
            close = text.find(char, position + 1)
            while close >= 0 and text.startswith(char * 2, close):  # '' inside a string
                close = text.find(char, close + 2)
            if close < 0:
                return None
            position = close + 1
            continue
        if text.startswith("--", position) or text.startswith("/*", position):
            position = _skip_space(text, position)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return None
