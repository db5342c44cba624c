"""The query history of the page: the last 100 queries that ran, in `<lake>/web/history.jsonl`."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import orjson

from loglake.lake.atomic import write_bytes_atomically

KEEP = 100


class QueryHistory:
    def __init__(self, path: Path, keep: int = KEEP):
        self.path = path
        self.keep = keep
        self._lock = threading.Lock()

    def add(self, sql: str, rows: int, elapsed_ms: float) -> None:
        at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")  # as every other time the API gives
        entry = {"sql": sql, "at": at, "rows": rows, "elapsed_ms": elapsed_ms}
        with self._lock:
            entries = [*self._read(), entry][-self.keep :]
            write_bytes_atomically(self.path, b"".join(orjson.dumps(e) + b"\n" for e in entries))

    def entries(self) -> list[dict]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._read()))

    def _read(self) -> list[dict]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_bytes().splitlines():
            try:
                entries.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # a line someone edited by hand: skip it, keep the rest
        return entries
