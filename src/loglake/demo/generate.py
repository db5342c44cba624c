"""Write the demo estate's raw logs under a folder, in the key layout and compression AWS delivers them.

`generate_raw_logs(out)` is what `loglake demo`, tests and benchmarks call. Each (source, region) is an
independent job with its own random stream, so jobs can run in parallel processes and the bytes stay the
same: the same seed, days, end and scale always give byte-identical files (gzip with mtime 0).
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loglake.demo import cloudtrail, vpcflow
from loglake.demo.base import Context, LogObject
from loglake.demo.estate import build_estate
from loglake.demo.story import plan_story

# source name -> iter_objects(ctx, region); a new log source (ALB, CloudFront, ...) adds a line here
SOURCES: dict[str, Callable[[Context, str], Iterator[LogObject]]] = {
    "cloudtrail": cloudtrail.iter_objects,
    "vpcflow": vpcflow.iter_objects,
}
ALIGN = 600  # the window is aligned to the flow logs' 10-minute aggregation interval
GZIP_LEVEL = 6


@dataclass
class DemoManifest:
    """What was written, and the facts of the story a test or the demo summary can check against the lake."""

    out: str
    account: str
    regions: list[str]
    start: dt.datetime
    end: dt.datetime
    seed: int
    scale: float
    files: dict[str, int]  # per source (cloudtrail, cloudtrail_digest, vpcflow): objects written
    records: dict[str, int]  # per source: CloudTrail events, flow records (digests: log files listed)
    bytes: dict[str, int]  # per source: compressed bytes written
    attacker_ip: str
    leaked_access_key_id: str
    compromised_user: str
    trail_name: str
    opened_security_group_id: str
    sensitive_bucket: str
    scanner_ip: str
    attack_start: dt.datetime
    facts: dict[str, Any] = field(default_factory=dict)  # more story facts (targets, counts, logging gap)
    timeline: list[tuple[dt.datetime, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings."""
        return _jsonable(asdict(self))


def generate_raw_logs(
    out: Path,
    *,
    days: int = 3,
    seed: int = 7,
    end: dt.datetime | None = None,
    scale: float = 1.0,
    workers: int = 1,
) -> DemoManifest:
    """Write `days` days of CloudTrail and VPC flow logs ending at `end` under `out/AWSLogs/...`.

    `end` defaults to now rounded down to the hour (the only use of the clock); a given `end` is taken as UTC
    if naive and rounded down to 10 minutes. `scale` multiplies volumes (1.0: ~40k CloudTrail events and
    ~250k flow records a weekday). `workers` > 1 runs the (source, region) jobs in processes.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    end_s = _end_seconds(end)
    start_s = end_s - days * 86400
    estate = build_estate(seed)
    story = plan_story(estate, seed, start_s, end_s)
    out = Path(out)
    jobs = [(out, seed, start_s, end_s, scale, source, region) for source in SOURCES for region in estate.regions]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_run_job, jobs))
    else:
        results = [_run_job(job) for job in jobs]
    files: dict[str, int] = {}
    records: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for result in results:
        for source, (n_files, n_records, n_bytes) in result.items():
            files[source] = files.get(source, 0) + n_files
            records[source] = records.get(source, 0) + n_records
            sizes[source] = sizes.get(source, 0) + n_bytes
    f = story.facts
    return DemoManifest(
        out=str(out),
        account=estate.account,
        regions=list(estate.regions),
        start=_dt(start_s),
        end=_dt(end_s),
        seed=seed,
        scale=scale,
        files=files,
        records=records,
        bytes=sizes,
        attacker_ip=f["attacker_ip"],
        leaked_access_key_id=f["leaked_access_key_id"],
        compromised_user=f["compromised_user"],
        trail_name=f["trail_name"],
        opened_security_group_id=f["opened_security_group_id"],
        sensitive_bucket=f["sensitive_bucket"],
        scanner_ip=f["scanner_ip"],
        attack_start=_dt(f["attack_start"]),
        facts={k: [_dt(x) for x in v] if k == "logging_gap" else v for k, v in f.items() if k not in _TOP_FACTS},
        timeline=sorted((_dt(t), what) for t, what in story.timeline),
    )


_TOP_FACTS = {
    "attacker_ip",
    "leaked_access_key_id",
    "compromised_user",
    "trail_name",
    "opened_security_group_id",
    "sensitive_bucket",
    "scanner_ip",
    "attack_start",
}


def _run_job(job: tuple[Path, int, int, int, float, str, str]) -> dict[str, tuple[int, int, int]]:
    """Generate and write one (source, region); returns {source: (files, records, bytes)}.

    Rebuilds the estate and story from the seed (cheap) so it needs nothing pickled but numbers.
    """
    out, seed, start, end, scale, source, region = job
    estate = build_estate(seed)
    ctx = Context(estate, seed, start, end, scale, plan_story(estate, seed, start, end))
    stats: dict[str, list[int]] = {}
    made: set[Path] = set()
    for obj in SOURCES[source](ctx, region):
        path = out / obj.key
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        data = gzip.compress(obj.body, compresslevel=GZIP_LEVEL, mtime=0)
        path.write_bytes(data)
        s = stats.setdefault(obj.source, [0, 0, 0])
        s[0] += 1
        s[1] += obj.records
        s[2] += len(data)
    return {k: (v[0], v[1], v[2]) for k, v in stats.items()}


def _end_seconds(end: dt.datetime | None) -> int:
    if end is None:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        return now - now % 3600
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    t = int(end.timestamp())
    return t - t % ALIGN


def _dt(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
