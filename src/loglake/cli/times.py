"""Times on the command line: ISO dates and times (UTC unless an offset is given) or relative ones (24h, 7d)."""

from __future__ import annotations

import datetime as dt
import re

import typer

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: dt.datetime | None = None, option: str = "--since") -> dt.datetime:
    """`2026-11-01`, `2026-11-01T10:00`, `2026-11-01T10:00:00+01:00`, or `30m` / `24h` / `7d` ago."""
    now = now or dt.datetime.now(dt.UTC)
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        return now - dt.timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time; use an ISO date/time (2026-11-01, 2026-11-01T10:00Z) or an age (30m, 24h, 7d)",
            param_hint=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_range(
    since: str | None, until: str | None, *, now: dt.datetime | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Both ends of a time range (either may be open); an empty range is the user's mistake."""
    start = parse_when(since, now=now, option="--since") if since else None
    end = parse_when(until, now=now, option="--until") if until else None
    if start and end and start >= end:
        raise typer.BadParameter(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    return start, end
