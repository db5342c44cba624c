"""Named locks across processes, and across machines when the lake's state database is shared.

Two uses: one writer at a time per small lake table family (alerts, assets: read whole, changed, written back,
so two writers without a lock would lose one's update), and a run's liveness for the ingest ledger (a run
holds its own lock while it lives; a claim whose run's lock is free belongs to a dead run).

A local lake locks files in `locks/` with `flock`; a shared state database locks with PostgreSQL advisory
locks. Both are released by the system when their holder dies (process exit; connection closed), so a killed
writer never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, text

from loglake.lake import state
from loglake.lake.catalog import LakeLocation


class Locks(Protocol):
    def acquire(self, name: str) -> None: ...  # blocks until the lock is ours
    def release(self, name: str) -> None: ...
    def is_held(self, name: str) -> bool: ...  # by a live holder other than this object
    def discard(self, name: str) -> None: ...  # a lock nobody takes again (a finished run's)


class FileLocks:
    """`flock` on `FOLDER/NAME.lock`: one machine."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._held: dict[str, IO[str]] = {}

    def acquire(self, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = (self.folder / f"{name}.lock").open("w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self._held[name] = handle

    def release(self, name: str) -> None:
        handle = self._held.pop(name)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def is_held(self, name: str) -> bool:
        path = self.folder / f"{name}.lock"
        if not path.exists():
            return False
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def discard(self, name: str) -> None:
        """Remove a lock file nobody will take again (a finished run's)."""
        (self.folder / f"{name}.lock").unlink(missing_ok=True)


class DatabaseLocks:
    """PostgreSQL session advisory locks: every machine that reaches the database; a lock is held by its own
    connection, which the server closes (releasing the lock) when the holder dies."""

    def __init__(self, url: str):
        self._engine = state.engine(url)
        self._held: dict[str, Connection] = {}

    def acquire(self, name: str) -> None:
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": state.lock_key(name)})
        self._held[name] = connection

    def release(self, name: str) -> None:
        connection = self._held.pop(name)
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": state.lock_key(name)})
        connection.close()

    def is_held(self, name: str) -> bool:
        key = {"key": state.lock_key(name)}
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                return False
        return True

    def discard(self, name: str) -> None:
        """Nothing to remove: an advisory lock exists only while held."""


def lake_locks(location: LakeLocation) -> FileLocks | DatabaseLocks:
    url = state.shared_state_url(location)
    return DatabaseLocks(url) if url else FileLocks(location.root / "locks")


@contextmanager
def holding(locks: Locks, name: str) -> Iterator[None]:
    """Hold lock NAME exclusively for the block (blocks until the other holder is done)."""
    locks.acquire(name)
    try:
        yield
    finally:
        locks.release(name)


def locked(lake: Path, name: str) -> AbstractContextManager[None]:
    """Hold the lake's lock NAME exclusively for the block."""
    return holding(lake_locks(LakeLocation(lake)), name)


def commit_lock(table: str) -> str:
    """The lock a writer holds while committing to `table`. Catalogs commit optimistically and a lost race is
    retried, but a catalog that ignores the version it is given (moto's Glue) would let the last writer win:
    committing in turn makes the outcome independent of that. Commits are short, so turns cost little."""
    return f"commit-{table}"
