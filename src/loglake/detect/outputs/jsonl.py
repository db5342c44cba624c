"""`jsonl:PATH`: append one JSON object per alert to a file (a SIEM forwarder or `jq` reads it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson

from loglake.detect.alerts import Alert
from loglake.detect.outputs.base import Output, OutputError, alert_record


class JsonlOutput(Output):
    kind = "jsonl"

    def __init__(self, path: str | Path, record: Callable[[Alert], dict] = alert_record) -> None:
        self.path = Path(path)
        self.record = record
        self.name = f"{self.kind}:{self.path}"

    def send(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        # One write of whole lines, so a retry after a failed write does not leave half a record behind.
        data = b"".join(orjson.dumps(self.record(alert)) + b"\n" for alert in alerts)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(data)
        except OSError as error:
            # A missing permission or a directory in the way stays so on a retry; a full disk may not.
            permanent = isinstance(error, PermissionError | IsADirectoryError | NotADirectoryError)
            message = f"{self.name}: cannot write ({error.strerror or error})"
            raise OutputError(message, retryable=not permanent) from error
