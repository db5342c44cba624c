"""Where a lake keeps its own bookkeeping (the ingest ledger, detection watermarks, locks): a SQL database.

A local lake keeps SQLite files in its folder (`ingest-state.db`, `detect-state.db`) and locks with `flock`:
every writer is on this machine. A lake with a shared catalog database (`--catalog sql:URL`) keeps them in
that database, and a Glue or REST lake in the one `--state URL` names, so writers on many machines (Lambdas)
see one ledger; locks there are the database's own (PostgreSQL advisory locks, released when a writer's
connection dies). Without `--state`, a Glue or REST lake keeps its state on this machine: one machine writes.
"""

from __future__ import annotations

import hashlib
import time
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from loglake.lake.catalog import LakeError, LakeLocation

SHARED_DIALECTS = ("postgresql",)


def ingest_state_url(location: LakeLocation) -> str:
    return shared_state_url(location) or sqlite_url(location.state_db)


def detect_state_url(location: LakeLocation) -> str:
    return shared_state_url(location) or sqlite_url(location.root / "detect-state.db")


def shared_state_url(location: LakeLocation) -> str | None:
    """The database writers on several machines share, or None when the state is this machine's files."""
    kind, _, url = location.settings.catalog.partition(":")
    url = location.settings.state or (url if kind == "sql" else None)
    if url is None or url.startswith("sqlite"):
        return None
    if url.partition(":")[0].partition("+")[0] not in SHARED_DIALECTS:
        raise LakeError(f"the lake's state database must be PostgreSQL or SQLite, not {url.partition(':')[0]}")
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@cache
def engine(url: str) -> Engine:
    """One engine per database and process. SQLite: WAL, a long busy wait, and write transactions that take
    the write lock when they begin (BEGIN IMMEDIATE), so two writers queue instead of failing mid-transaction."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    sqlite = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(sqlite, "connect")
    def _setup(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below issues BEGIN itself
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=60000")

    @event.listens_for(sqlite, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return sqlite


def create_tables(metadata: MetaData, database: Engine) -> None:
    """Create the tables that do not exist yet. Writers starting at once race to create them; PostgreSQL lets one
    win and tells the others of a duplicate, after which the tables exist and the next try passes."""
    for attempt in range(5):
        try:
            metadata.create_all(database)
            return
        except (IntegrityError, ProgrammingError, OperationalError):
            if attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))


def lock_key(name: str) -> int:
    """A name as a PostgreSQL advisory lock key (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.blake2b(f"loglake:{name}".encode(), digest_size=8).digest(), "big", signed=True)
