"""`console`: the alerts as a rich table, most severe first."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.table import Table
from rich.text import Text

from loglake.detect.alerts import Alert
from loglake.detect.outputs.base import Output, by_severity, utc

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


class ConsoleOutput(Output):
    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()

    def send(self, alerts: list[Alert]) -> None:
        if not alerts:
            self.console.print("no alerts")
            return
        self.console.print(alert_table(alerts))


def alert_table(alerts: list[Alert]) -> Table:
    table = Table(title=f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}")
    for column in ("severity", "title", "rule", "first seen", "last seen", "count", "principal", "ip", "resource"):
        table.add_column(column, justify="right" if column == "count" else "left", overflow="fold")
    for alert in by_severity(alerts):
        table.add_row(
            Text(alert.severity, style=SEVERITY_STYLE.get(alert.severity, "")),
            alert.title,
            alert.rule_id,
            _time(alert.first_seen),
            _time(alert.last_seen),
            str(alert.count),
            alert.principal or "",
            alert.ip or "",
            alert.resource or "",
        )
    return table


def _time(value: dt.datetime) -> str:
    return utc(value).strftime("%Y-%m-%d %H:%M:%S")
