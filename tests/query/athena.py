"""The AWS Athena documentation's example queries, as copied in tests/fixtures/athena."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "athena"


def example_queries(source: str) -> list[str]:
    text = (FIXTURES / f"{source}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("-- "))
    return [q.strip() for q in body.split("\n;\n") if q.strip()]
