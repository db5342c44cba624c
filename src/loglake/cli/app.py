"""The Typer app, the shared options, and which exceptions are the user's to fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loglake.detect.hunt import HuntError
from loglake.detect.intel import IntelError
from loglake.detect.rule import RuleError
from loglake.formats.registry import UnknownFormatError
from loglake.ingest.sources import SourceError
from loglake.lake.catalog import LakeError
from loglake.query.dialects import DialectError
from loglake.query.engine import QueryError

app = typer.Typer(
    name="loglake",
    help="A security data lake for AWS logs: ingest, query, detect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
console_err = Console(stderr=True)

USER_ERRORS = (
    RuleError,
    HuntError,
    IntelError,
    LakeError,
    SourceError,
    UnknownFormatError,
    QueryError,
    DialectError,
    FileNotFoundError,
    PermissionError,
)

OUTPUT_FORMATS = ("table", "json", "jsonl", "csv")


def default_lake() -> Path:
    return Path(os.environ.get("LOGLAKE_LAKE", "lake"))


LakeOption = Annotated[
    Path,
    typer.Option("--lake", help="Lake folder (catalog, ledger, warehouse). Env: LOGLAKE_LAKE.", show_default="./lake"),
]
OutputOption = Annotated[
    str, typer.Option("--format", "-f", help="Output: table, json, jsonl or csv.", show_default=True)
]


def check_output_format(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise typer.BadParameter(f"unknown output format {value!r}; use one of: {', '.join(OUTPUT_FORMATS)}")
    return value
