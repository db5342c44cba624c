"""Named crash points for the crash-safety tests: `LOGLAKE_FAULT=before-ledger:3` kills the process, as
`kill -9` would, the third time the run reaches that point. Unset (always, outside tests) it does nothing."""

from __future__ import annotations

import os

_counts: dict[str, int] = {}


def point(name: str) -> None:
    wanted = os.environ.get("LOGLAKE_FAULT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os._exit(137)
