"""The ingest ledger: which objects are in the lake, and which batches are on their way in.

Exactly once, across crashes and concurrent runs:

1. A run *claims* a batch's objects (`pending_objects`, unique per key) before reading them; another run
   skips objects claimed by a live run.
2. The batch's rows are committed to each table as one Iceberg snapshot tagged with the batch id.
3. The ledger marks the objects ingested and drops the claim, in one SQLite transaction.

A run killed between 1 and 3 leaves its claim behind. Its lock file is then free (the kernel releases
`flock` locks of a dead process), so the next run takes the batch over and re-runs it; tables that already
hold the batch's snapshot are skipped, so no row is added twice and none is lost.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingested_objects (
    key TEXT PRIMARY KEY, size INTEGER NOT NULL, fingerprint TEXT, batch TEXT NOT NULL, format TEXT,
    tbl TEXT, records INTEGER NOT NULL, rejects INTEGER NOT NULL, status TEXT NOT NULL, error TEXT,
    ingested_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_batches (
    batch TEXT PRIMARY KEY, run TEXT NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_objects (
    key TEXT PRIMARY KEY, batch TEXT NOT NULL);
"""


@dataclass(frozen=True)
class IngestedObject:
    key: str
    size: int
    fingerprint: str | None
    batch: str
    format: str | None
    table: str | None
    records: int
    rejects: int
    status: str  # ingested | empty | skipped (by design, e.g. a digest) | error | unchanged (already in)
    error: str | None = None


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        self.locks = path.parent / "locks"
        self.locks.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.executescript(_SCHEMA)
        self.run = uuid.uuid4().hex
        self._lock_file = (self.locks / f"{self.run}.lock").open("w")
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)

    def close(self) -> None:
        self._db.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()
        (self.locks / f"{self.run}.lock").unlink(missing_ok=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def ingested(self, keys: list[str]) -> dict[str, tuple[int, str | None]]:
        """(size, fingerprint) of the given keys that are already in the lake (an object that could not be read
        is not: the next run tries it again)."""
        found: dict[str, tuple[int, str | None]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, size, fingerprint FROM ingested_objects WHERE key IN ({marks}) AND status != 'error'",
                chunk,
            )
            found.update({key: (size, fingerprint) for key, size, fingerprint in rows})
        return found

    def claim(self, batch: str, keys: list[str], spec: dict) -> list[str]:
        """Claim the keys no live run holds for a new batch; returns the keys claimed."""
        with self._transaction() as db:
            claimed = []
            for key in keys:
                if db.execute("INSERT OR IGNORE INTO pending_objects VALUES (?, ?)", (key, batch)).rowcount:
                    claimed.append(key)
            if claimed:
                spec = {**spec, "keys": claimed}
                db.execute(
                    "INSERT INTO pending_batches VALUES (?, ?, ?, ?)",
                    (batch, self.run, orjson.dumps(spec).decode(), _now()),
                )
            return claimed

    def complete(self, batches: dict[str, list[IngestedObject]]) -> None:
        """Mark the batches' objects ingested and drop their claims, all in one transaction."""
        now = _now()
        with self._transaction() as db:
            for batch, objects in batches.items():
                db.executemany(
                    "INSERT OR REPLACE INTO ingested_objects VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            o.key,
                            o.size,
                            o.fingerprint,
                            batch,
                            o.format,
                            o.table,
                            o.records,
                            o.rejects,
                            o.status,
                            o.error,
                            now,
                        )
                        for o in objects
                        if o.status != "unchanged"
                    ],
                )
                db.execute("DELETE FROM pending_objects WHERE batch = ?", (batch,))
                db.execute("DELETE FROM pending_batches WHERE batch = ?", (batch,))

    def take_over_abandoned(self) -> list[tuple[str, dict]]:
        """Batches whose run died: this run now owns them (batch id, spec) and must finish them."""
        taken = []
        with self._transaction() as db:
            for batch, run, spec in db.execute("SELECT batch, run, spec FROM pending_batches").fetchall():
                if run != self.run and not self._is_alive(run):
                    db.execute("UPDATE pending_batches SET run = ? WHERE batch = ?", (self.run, batch))
                    taken.append((batch, orjson.loads(spec)))
        return taken

    def _is_alive(self, run: str) -> bool:
        path = self.locks / f"{run}.lock"
        if not path.exists():
            return False
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        path.unlink(missing_ok=True)
        return False

    def objects(self) -> list[dict]:
        cursor = self._db.execute("SELECT * FROM ingested_objects ORDER BY ingested_at")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
