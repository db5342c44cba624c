"""Open a lake: the Iceberg catalog, its tables, and commits that survive concurrent writers."""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import assign_fresh_schema_ids
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from sqlalchemy.exc import OperationalError

NAMESPACE = "loglake"
BATCH_PROPERTY = "loglake.batch"
TABLE_PROPERTIES = {
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": "3",
    "write.target-file-size-bytes": str(512 * 1024 * 1024),
    "format-version": "2",
}
COMMIT_ATTEMPTS = 30


class LakeError(Exception):
    """A problem with the lake the user can fix (wrong path, missing table)."""


@dataclass(frozen=True)
class LakeLocation:
    """Where a lake lives: a folder holding the catalog database, the ledger and the warehouse."""

    root: Path

    @property
    def catalog_db(self) -> Path:
        return self.root / "catalog.db"

    @property
    def state_db(self) -> Path:
        return self.root / "ingest-state.db"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    def exists(self) -> bool:
        return self.catalog_db.exists()


def open_catalog(location: LakeLocation, *, create: bool = False) -> Catalog:
    if not location.exists() and not create:
        raise LakeError(f"no lake at {location.root} (run `loglake ingest` first, or pass --lake DIR)")
    location.warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog(
        "loglake",
        uri=f"sqlite:///{location.catalog_db}",
        warehouse=location.warehouse.resolve().as_uri(),
    )
    if create:
        with contextlib.suppress(OperationalError):  # another process created it at the same moment
            catalog.create_namespace_if_not_exists(NAMESPACE)
    return catalog


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
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            present = committed_batches(table)
            todo = {batch: files for batch, files in files_by_batch.items() if batch not in present}
            if not todo:
                return
            tag = {BATCH_PROPERTY: ",".join(sorted(todo))}
            with table.transaction() as tx, tx.update_snapshot(snapshot_properties=tag).fast_append() as append:
                for files in todo.values():
                    for data_file in files:
                        append.append_data_file(data_file)
            return
        except (CommitFailedException, OperationalError):
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            table.refresh()
