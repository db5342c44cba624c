"""What an ingest run did, per table: objects, records, rejects, bytes in and out, and speed."""

from __future__ import annotations

from dataclasses import dataclass, field

from loglake.ingest.worker import BatchResult


@dataclass
class TableStats:
    objects: int = 0
    records: int = 0
    rejects: int = 0
    input_bytes: int = 0
    lake_bytes: int = 0


@dataclass
class Summary:
    tables: dict[str, TableStats] = field(default_factory=dict)
    already_ingested: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> objects (digest files, ...)
    empty: int = 0
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # objects that could not be read: not in the lake, retried
    seconds: float = 0.0

    def count_already_ingested(self, n: int) -> None:
        self.already_ingested += n

    def add(self, result: BatchResult) -> None:
        for obj in result.objects:
            if obj.status == "unchanged":
                self.already_ingested += 1
                continue
            if obj.status == "skipped":
                self.skipped[obj.error or "skipped"] = self.skipped.get(obj.error or "skipped", 0) + 1
                continue
            if obj.status == "error":
                self.failed.append(obj.key)
            if obj.status == "empty":
                self.empty += 1
            stats = self.tables.setdefault(obj.table or "(unrecognised)", TableStats())
            stats.objects += 1
            stats.records += obj.records
            stats.rejects += obj.rejects
            stats.input_bytes += obj.size
        for name, size in result.lake_bytes.items():
            if name == "rejects":
                continue  # reject rows are reported under the table whose objects they came from
            self.tables.setdefault(name, TableStats()).lake_bytes += size
        self.errors.extend(result.errors)

    @property
    def records(self) -> int:
        return sum(t.records for t in self.tables.values())

    def events_per_second(self, records: int) -> float:
        return records / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "tables": {
                name: {**vars(stats), "events_per_second": round(self.events_per_second(stats.records))}
                for name, stats in sorted(self.tables.items())
            },
            "records": self.records,
            "rejects": sum(t.rejects for t in self.tables.values()),
            "already_ingested": self.already_ingested,
            "skipped": self.skipped,
            "empty_objects": self.empty,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second(self.records)),
        }
