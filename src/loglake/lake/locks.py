"""One writer at a time per small lake table family (alerts, assets), across processes: a file lock in `locks/`.

Those tables are read whole, changed and written back, so two writers without a lock would lose one's update.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(lake: Path, name: str) -> Iterator[None]:
    """Hold `LAKE/locks/NAME.lock` exclusively for the block (blocks until the other writer is done)."""
    locks = lake / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
