"""Open a lake: the Iceberg catalog, its tables, and commits that survive concurrent writers."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError
import orjson
import pyarrow as pa
from pyarrow.fs import AwsStandardS3RetryStrategy
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import assign_fresh_schema_ids
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

NAMESPACE = "loglake"
BATCH_PROPERTY = "loglake.batch"
TABLE_PROPERTIES = {
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": "3",
    "write.target-file-size-bytes": str(512 * 1024 * 1024),
    "format-version": "2",
}
COMMIT_ATTEMPTS = 30
T = TypeVar("T")


class LakeError(Exception):
    """A problem with the lake the user can fix (wrong path, missing table)."""


CATALOG_KINDS = "sqlite, sql:URL (a SQLAlchemy URL), glue or rest:URL"


@dataclass(frozen=True)
class LakeSettings:
    """What a lake is beyond its local folder: where its data lives, which catalog tracks its tables."""

    warehouse: str | None = None  # None: the local folder's warehouse/; else s3://bucket/prefix/warehouse
    catalog: str = "sqlite"  # sqlite | sql:URL | glue | rest:URL
    endpoint_url: str | None = None  # an S3-compatible server for the warehouse (None: AWS itself)
    state: str | None = None  # SQL URL of a state database writers share (default: see lake/state.py)


@dataclass(frozen=True)
class LakeLocation:
    """Where a lake lives. `root` is a local folder: the whole lake by default (catalog.db, ingest-state.db,
    warehouse/, locks/), or, for a lake whose data is on S3 (see `lake_location`), this machine's state of it
    plus `lake.json`, which names the warehouse URI, the catalog and the S3 endpoint.

    Every caller passes the root folder around; the settings are read from it, so a path is all code needs.
    """

    root: Path

    @cached_property
    def settings(self) -> LakeSettings:
        path = self.root / SETTINGS_FILE
        if not path.exists():
            return LakeSettings()
        return LakeSettings(**orjson.loads(path.read_bytes()))

    @property
    def catalog_db(self) -> Path:
        return self.root / "catalog.db"

    @property
    def state_db(self) -> Path:
        return self.root / "ingest-state.db"

    @property
    def warehouse(self) -> Path:
        """The local warehouse folder (a lake on S3 has none: see `warehouse_uri`)."""
        return self.root / "warehouse"

    @property
    def warehouse_uri(self) -> str:
        return self.settings.warehouse or self.warehouse.resolve().as_uri()

    @property
    def on_s3(self) -> bool:
        return self.warehouse_uri.startswith("s3://")

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url

    @property
    def address(self) -> str:
        """What the user names the lake by: its folder, or its s3://bucket/prefix."""
        return self.warehouse_uri.removesuffix("/warehouse") if self.on_s3 else str(self.root)

    def exists(self) -> bool:
        if self.settings.catalog == "sqlite":
            return self.catalog_db.exists()
        return (self.root / SETTINGS_FILE).exists()


SETTINGS_FILE = "lake.json"


def lake_location(
    address: str | Path, *, catalog: str | None = None, endpoint_url: str | None = None, state: str | None = None
) -> LakeLocation:
    """The lake at a folder or at s3://bucket/prefix, with its catalog and S3 endpoint.

    A lake on S3 gets a local folder under the state home (LOGLAKE_STATE_DIR, default ~/.local/state/loglake)
    for what stays on this machine. Settings given here (or by LOGLAKE_CATALOG, AWS_ENDPOINT_URL_S3,
    LOGLAKE_STATE) are remembered in that folder's lake.json, so later commands need only the address.
    """
    text = str(address)
    catalog = catalog or os.environ.get("LOGLAKE_CATALOG") or None
    state = state or os.environ.get("LOGLAKE_STATE") or None
    if text.startswith("s3://"):
        bucket, _, prefix = text.removeprefix("s3://").strip("/").partition("/")
        if not bucket:
            raise LakeError(f"not an S3 lake: {text} (expected s3://bucket/prefix)")
        root = state_home() / "s3" / bucket / prefix
        warehouse = f"s3://{bucket}/{prefix}/warehouse" if prefix else f"s3://{bucket}/warehouse"
        endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    else:
        root, warehouse = Path(text).expanduser(), None
    location = LakeLocation(root)
    wanted = LakeSettings(
        warehouse=warehouse,
        catalog=check_catalog(catalog) if catalog else location.settings.catalog,
        endpoint_url=endpoint_url or location.settings.endpoint_url,
        state=state or location.settings.state,
    )
    if wanted != location.settings:
        root.mkdir(parents=True, exist_ok=True)
        (root / SETTINGS_FILE).write_bytes(orjson.dumps(asdict(wanted), option=orjson.OPT_INDENT_2))
        location = LakeLocation(root)
    return location


def state_home() -> Path:
    if os.environ.get("LOGLAKE_STATE_DIR"):
        return Path(os.environ["LOGLAKE_STATE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "loglake"


def check_catalog(spec: str) -> str:
    kind, _, url = spec.partition(":")
    if (kind in ("sqlite", "glue") and not url) or (kind in ("sql", "rest") and url):
        return spec
    raise LakeError(f"unknown catalog {spec!r}: use {CATALOG_KINDS}")


def open_catalog(location: LakeLocation, *, create: bool = False) -> Catalog:
    if not location.exists() and not create:
        raise LakeError(f"no lake at {location.address} (run `loglake ingest` first, or pass --lake DIR|s3://...)")
    if not location.on_s3:
        location.warehouse.mkdir(parents=True, exist_ok=True)
    elif create:
        check_bucket(location)
    catalog = _catalog(location)
    if create:
        # another writer created it at the same moment (SQLite says locked or unique; others say exists)
        with contextlib.suppress(OperationalError, IntegrityError, NamespaceAlreadyExistsError):
            catalog.create_namespace_if_not_exists(NAMESPACE)
    return catalog


def check_bucket(location: LakeLocation) -> None:
    """A lake on S3 needs its bucket: say so in one line before any table is written."""
    bucket = location.warehouse_uri.removeprefix("s3://").partition("/")[0]
    try:
        boto3.session.Session().client("s3", endpoint_url=location.endpoint_url).head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as error:
        raise LakeError(
            f"cannot use s3://{bucket} for the lake ({error}): create the bucket, or check --endpoint-url and the "
            "AWS credentials"
        ) from None


def _sql_catalog(url: str, properties: dict[str, str]) -> SqlCatalog:
    """A SqlCatalog, whose first use creates its tables: writers starting a new lake at once race to create
    them, and the losers (told "already exists") find them there on the next try."""
    for attempt in range(4):
        try:
            return SqlCatalog("loglake", uri=url, **properties)
        except (OperationalError, IntegrityError, ProgrammingError):
            time.sleep(0.1 * (attempt + 1))
    return SqlCatalog("loglake", uri=url, **properties)


def _catalog(location: LakeLocation) -> Catalog:
    """The pyiceberg catalog the settings name; S3 credentials come from the standard AWS chain (none stored)."""
    kind, _, url = location.settings.catalog.partition(":")
    properties = {"warehouse": location.warehouse_uri, **s3_properties(location)}
    if kind in ("sqlite", "sql"):
        return _sql_catalog(f"sqlite:///{location.catalog_db}" if kind == "sqlite" else url, properties)
    if kind == "glue":
        from pyiceberg.catalog.glue import GlueCatalog

        return GlueCatalog("loglake", **properties)
    from pyiceberg.catalog.rest import RestCatalog

    return RestCatalog("loglake", uri=url, **properties)


class PatientS3Retries(AwsStandardS3RetryStrategy):
    """Ten attempts, not three: many writers at once draw throttling and 5xx replies, which S3 asks clients
    to retry (with backoff) rather than fail a commit over."""

    def __init__(self) -> None:
        super().__init__(max_attempts=10)


def s3_properties(location: LakeLocation) -> dict[str, str]:
    """pyiceberg FileIO settings for a warehouse on S3: endpoint and region only (keys: the AWS chain)."""
    if not location.on_s3:
        return {}
    properties = {
        "s3.region": boto3.session.Session().region_name or "us-east-1",
        "s3.retry-strategy-impl": f"{__name__}.{PatientS3Retries.__name__}",
    }
    if location.endpoint_url:
        properties["s3.endpoint"] = location.endpoint_url
    return properties


def ensure_table(catalog: Catalog, name: str, schema: pa.Schema, *, partitioned: bool = True) -> Table:
    """Create the table (log tables partitioned by day of lake_time), or load it and add any columns it lacks.

    Small tables loglake keeps about the logs (alerts, intel) are not partitioned: `partitioned=False`.
    """
    identifier = f"{NAMESPACE}.{name}"
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        try:
            return _create_table(catalog, identifier, schema, partitioned)
        except TableAlreadyExistsError:
            table = catalog.load_table(identifier)
    missing = [f for f in schema if f.name not in table.schema().column_names]
    if missing:
        with table.update_schema() as update:
            update.union_by_name(pa.schema(missing))
    return table


def _create_table(catalog: Catalog, identifier: str, schema: pa.Schema, partitioned: bool) -> Table:
    # Fresh ids first: create_table assigns them again, identically, so lake_time's id is the one it keeps.
    iceberg_schema = assign_fresh_schema_ids(Catalog._convert_schema_if_needed(schema))
    if not partitioned:
        return catalog.create_table(identifier, schema=iceberg_schema, properties=TABLE_PROPERTIES)
    lake_time = iceberg_schema.find_field("lake_time").field_id
    spec = PartitionSpec(PartitionField(source_id=lake_time, field_id=1000, transform=DayTransform(), name="lake_day"))
    return catalog.create_table(identifier, schema=iceberg_schema, partition_spec=spec, properties=TABLE_PROPERTIES)


def table_names(catalog: Catalog) -> list[str]:
    return sorted(ident[-1] for ident in catalog.list_tables(NAMESPACE))


def load_table(catalog: Catalog, name: str) -> Table:
    try:
        return catalog.load_table(f"{NAMESPACE}.{name}")
    except NoSuchTableError:
        known = ", ".join(table_names(catalog)) or "none yet"
        raise LakeError(f"no table {name!r} in the lake (tables: {known})") from None


def committed_batches(table: Table) -> set[str]:
    """The ingest batches whose rows this table already holds (recorded in each snapshot's summary)."""
    found: set[str] = set()
    for snapshot in table.metadata.snapshots:
        if snapshot.summary is not None and BATCH_PROPERTY in snapshot.summary.additional_properties:
            found.update(snapshot.summary.additional_properties[BATCH_PROPERTY].split(","))
    return found


def commit_data_files(table: Table, files_by_batch: dict[str, list[DataFile]]) -> None:
    """Append already-written data files of several batches as one snapshot tagged with their ids.

    One snapshot for many batches keeps commits (and metadata growth) few. Writers race on the catalog row:
    a lost race raises CommitFailedException (or SQLite's lock error), after which the table is reloaded and
    the files are appended on top of the winner's snapshot. Batches already present (a retry after an
    ambiguous failure, or a take-over of a dead run's batch) are not appended twice.
    """

    def append_missing() -> None:
        present = committed_batches(table)
        todo = {batch: files for batch, files in files_by_batch.items() if batch not in present}
        if not todo:
            return
        tag = {BATCH_PROPERTY: ",".join(sorted(todo))}
        with table.transaction() as tx, tx.update_snapshot(snapshot_properties=tag).fast_append() as append:
            for files in todo.values():
                for data_file in files:
                    append.append_data_file(data_file)

    retry_commit(table, append_missing)


def retry_commit(table: Table, plan_and_commit: Callable[[], T]) -> T:
    """One commit, planned again from the reloaded table when it loses a race (a concurrent commit, SQLite's
    lock), up to COMMIT_ATTEMPTS times; the last failure is raised."""
    for attempt in range(COMMIT_ATTEMPTS - 1):
        try:
            return plan_and_commit()
        except (CommitFailedException, OperationalError):
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            table.refresh()
    return plan_and_commit()
