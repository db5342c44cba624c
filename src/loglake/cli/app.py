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
from loglake.lake.catalog import LakeError, check_catalog, lake_location
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
    return resolve_lake(os.environ.get("LOGLAKE_LAKE", "lake"))


def resolve_lake(address: str | Path) -> Path:
    """The local folder of the lake at a folder or s3://bucket/prefix (its settings are kept there)."""
    return lake_location(address).root


LakeOption = Annotated[
    Path,
    typer.Option(
        "--lake",
        parser=resolve_lake,
        metavar="DIR|s3://BUCKET/PREFIX",
        help="The lake: a folder, or s3://bucket/prefix (with `loglake --catalog ...`). Env: LOGLAKE_LAKE.",
        show_default="./lake",
    ),
]


@app.callback()
def lake_settings(
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="The lake's Iceberg catalog: sqlite (default), sql:URL (SQLAlchemy URL, e.g. PostgreSQL), glue or "
            "rest:URL; remembered per lake. Env: LOGLAKE_CATALOG.",
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            help="S3-compatible server holding an s3:// lake (credentials: the AWS chain). Env: AWS_ENDPOINT_URL_S3.",
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="SQL URL (PostgreSQL) of the database where writers on several machines share the ingest ledger, "
            "detection watermarks and locks; default: the sql: catalog's database, else this machine. "
            "Env: LOGLAKE_STATE.",
        ),
    ] = None,
) -> None:
    """A security data lake for AWS logs: ingest, query, detect."""
    # the --lake of the command (parsed after this) reads these; workers inherit them
    if catalog:
        os.environ["LOGLAKE_CATALOG"] = check_catalog(catalog)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint_url
    if state:
        os.environ["LOGLAKE_STATE"] = state


OutputOption = Annotated[
    str, typer.Option("--format", "-f", help="Output: table, json, jsonl or csv.", show_default=True)
]


def check_output_format(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise typer.BadParameter(f"unknown output format {value!r}; use one of: {', '.join(OUTPUT_FORMATS)}")
    return value
