"""The day/night and weekday/weekend rhythm of a company's activity (all times UTC).

People and the pipelines they trigger work 08:00-19:00 on weekdays; machines (agents, schedulers, scanners on
the internet) do not sleep. Each activity mixes the two with its own `alpha` (0 = flat, 1 = fully human).
"""

from __future__ import annotations

# weight of each UTC hour (0..23) on a weekday: a quiet night, shoulders, office hours 08-18 at ~1.0
_WEEKDAY = (
    0.07,
    0.06,
    0.06,
    0.06,
    0.06,
    0.08,
    0.15,
    0.45,
    1.0,
    1.0,
    1.0,
    1.0,
    0.95,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    1.0,
    0.6,
    0.35,
    0.25,
    0.15,
    0.1,
)
_WEEKEND_FACTOR = 0.22


def human_weight(t: float) -> float:
    """How busy people are at epoch second `t`: 1.0 on a weekday afternoon, ~0.06 at night, less at weekends."""
    days, rem = divmod(int(t), 86400)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    w = _WEEKDAY[rem // 3600]
    return w * _WEEKEND_FACTOR if weekday >= 5 else w


def mixed(t: float, alpha: float) -> float:
    """An activity level between flat (alpha 0) and fully following people (alpha 1)."""
    return (1.0 - alpha) + alpha * human_weight(t)


def is_weekday(t: float) -> bool:
    return (int(t) // 86400 + 3) % 7 < 5
