"""The ingest ledger: which objects are in the lake, and which batches are on their way in.

Exactly once, across crashes and concurrent runs (on one machine, or on many sharing the state database):

1. A run *claims* a batch's objects (`pending_objects`, unique per key) before reading them; another run
   skips objects claimed by a live run.
2. The batch's rows are committed to each table as one Iceberg snapshot tagged with the batch id.
3. The ledger marks the objects ingested and drops the claim, in one transaction.

A run holds a lock named after it while it lives (see locks.py). A run killed between 1 and 3 leaves its
claim behind and its lock free, so the next run takes the batch over and re-runs it; tables that already hold
the batch's snapshot are skipped, so no row is added twice and none is lost. Even a run wrongly judged dead
cannot duplicate rows: both would commit the same batch id, and a commit re-checks the tags of the table it
commits on top of.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Column, Integer, MetaData, Table, Text, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from loglake.lake import state
from loglake.lake.locks import DatabaseLocks, FileLocks

_metadata = MetaData()
# table names as in the first (SQLite-only) ledger, so existing lakes keep theirs
ingested_objects = Table(
    "ingested_objects",
    _metadata,
    Column("key", Text, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("fingerprint", Text),
    Column("batch", Text, nullable=False),
    Column("format", Text),
    Column("tbl", Text),
    Column("records", Integer, nullable=False),
    Column("rejects", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("ingested_at", Text, nullable=False),
)
pending_batches = Table(
    "pending_batches",
    _metadata,
    Column("batch", Text, primary_key=True),
    Column("run", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)
pending_objects = Table(
    "pending_objects", _metadata, Column("key", Text, primary_key=True), Column("batch", Text, nullable=False)
)
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


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
    """The ledger in a state database: a SQLite file (a Path) or a shared database's SQLAlchemy URL."""

    def __init__(self, where: Path | str, locks: FileLocks | DatabaseLocks | None = None):
        url = state.sqlite_url(where) if isinstance(where, Path) else where
        self._engine = state.engine(url)
        state.create_tables(_metadata, self._engine)
        if locks is None:
            local = url.startswith("sqlite")
            locks = FileLocks(Path(url.removeprefix("sqlite:///")).parent / "locks") if local else DatabaseLocks(url)
        self.locks = locks
        self.run = uuid.uuid4().hex
        self.locks.acquire(_run_lock(self.run))

    def close(self) -> None:
        self.locks.release(_run_lock(self.run))
        self.locks.discard(_run_lock(self.run))

    def ingested(self, keys: list[str]) -> dict[str, tuple[int, str | None]]:
        """(size, fingerprint) of the given keys that are already in the lake (an object that could not be read
        is not: the next run tries it again)."""
        found: dict[str, tuple[int, str | None]] = {}
        columns = (ingested_objects.c.key, ingested_objects.c.size, ingested_objects.c.fingerprint)
        with self._engine.connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                read = ingested_objects.c.key.in_(chunk) & (ingested_objects.c.status != "error")
                rows = db.execute(select(*columns).where(read))
                found.update({key: (size, fingerprint) for key, size, fingerprint in rows})
        return found

    def claim(self, batch: str, keys: list[str], spec: dict) -> list[str]:
        """Claim the keys no live run holds for a new batch; returns the keys claimed."""
        if not keys:
            return []
        with self._engine.begin() as db:
            statement = (
                _INSERTS[db.dialect.name](pending_objects)
                .values([{"key": key, "batch": batch} for key in keys])
                .on_conflict_do_nothing()
                .returning(pending_objects.c.key)
            )
            claimed = set(db.execute(statement).scalars())
            ordered = [key for key in keys if key in claimed]
            if ordered:
                spec = {**spec, "keys": ordered}
                db.execute(
                    insert(pending_batches).values(
                        batch=batch, run=self.run, spec=orjson.dumps(spec).decode(), created_at=_now()
                    )
                )
            return ordered

    def complete(self, batches: dict[str, list[IngestedObject]]) -> None:
        """Mark the batches' objects ingested and drop their claims, all in one transaction."""
        now = _now()
        with self._engine.begin() as db:
            for batch, objects in batches.items():
                rows = [_row(o, batch, now) for o in objects if o.status != "unchanged"]
                if rows:
                    db.execute(delete(ingested_objects).where(ingested_objects.c.key.in_([r["key"] for r in rows])))
                    db.execute(insert(ingested_objects), rows)
                db.execute(delete(pending_objects).where(pending_objects.c.batch == batch))
                db.execute(delete(pending_batches).where(pending_batches.c.batch == batch))

    def take_over_abandoned(self) -> list[tuple[str, dict]]:
        """Batches whose run died: this run now owns them (batch id, spec) and must finish them."""
        with self._engine.connect() as db:
            pending = db.execute(select(pending_batches.c.batch, pending_batches.c.run)).all()
        dead = {run for _, run in pending if run != self.run and not self.locks.is_held(_run_lock(run))}
        taken = []
        for batch, run in pending:
            if run not in dead:
                continue
            with self._engine.begin() as db:
                # compare-and-set: of two runs taking over at once, one changes the row
                moved = db.execute(
                    update(pending_batches)
                    .where(pending_batches.c.batch == batch, pending_batches.c.run == run)
                    .values(run=self.run)
                )
                if moved.rowcount == 1:
                    spec = db.execute(select(pending_batches.c.spec).where(pending_batches.c.batch == batch)).scalar()
                    taken.append((batch, orjson.loads(spec)))
        for run in dead:
            self.locks.discard(_run_lock(run))
        return taken

    def objects(self) -> list[dict]:
        with self._engine.connect() as db:
            rows = db.execute(select(ingested_objects).order_by(ingested_objects.c.ingested_at)).mappings()
            return [dict(row) for row in rows]


def last_ingest(url: str) -> tuple[str | None, int]:
    """When the last object was ingested (ISO time) and how many objects the ledger knows."""
    with state.engine(url).connect() as db:
        if not db.dialect.has_table(db, ingested_objects.name):
            return None, 0
        query = select(func.max(ingested_objects.c.ingested_at), func.count())
        last, count = db.execute(query).one()
    return last, count


def oldest_pending(url: str) -> dt.datetime | None:
    """When the oldest batch still on its way in was claimed (None: none is)."""
    with state.engine(url).connect() as db:
        if not db.dialect.has_table(db, pending_batches.name):
            return None
        oldest = db.execute(select(func.min(pending_batches.c.created_at))).scalar()
    return dt.datetime.fromisoformat(oldest) if oldest else None


def _run_lock(run: str) -> str:
    return f"run-{run}"


def _row(o: IngestedObject, batch: str, now: str) -> dict:
    return {
        "key": o.key,
        "size": o.size,
        "fingerprint": o.fingerprint,
        "batch": batch,
        "format": o.format,
        "tbl": o.table,
        "records": o.records,
        "rejects": o.rejects,
        "status": o.status,
        "error": o.error,
        "ingested_at": now,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
