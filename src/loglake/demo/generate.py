"""Write the demo estate's raw logs under a folder, in the key layout and compression AWS delivers them.

`generate_raw_logs(out)` is what `loglake demo`, tests and benchmarks call. Each (source, region) is an
independent job with its own random streams, so jobs can run in parallel processes and the bytes stay the
same: the same seed, days, end and scale always give byte-identical files (gzip with mtime 0). The sources
drawn from the plan of web requests (ALB, WAF, CloudFront, API Gateway and the VPC flow logs, which show the
ALB's connections) run a few to a job, so the plan is drawn twice rather than five times.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loglake.demo import alb, apigateway, cloudfront, cloudtrail, resolver, s3access, vpcflow, waf, web
from loglake.demo.base import Context, LogObject
from loglake.demo.estate import build_estate
from loglake.demo.story import plan_story
from loglake.demo.webstack import CLOUDFRONT_PREFIX, build_webstack

# source name -> iter_objects(ctx, region); a new log source adds a line here
SOURCES: dict[str, Callable[[Context, str], Iterator[LogObject]]] = {
    "cloudtrail": cloudtrail.iter_objects,
    "vpcflow": vpcflow.iter_objects,
    "alb": alb.iter_objects,  # access logs and connection logs
    "cloudfront": cloudfront.iter_objects,
    "waf": waf.iter_objects,
    "apigateway": apigateway.iter_objects,  # through CloudWatch Logs and Firehose
    "s3access": s3access.iter_objects,
    "resolver": resolver.iter_objects,
}
# sources written from the web plan (`web.render` draws it once a job): source -> writer(ctx, region)
WEB_WRITERS: dict[str, Callable[[Context, str], web.Writer]] = {
    "alb": lambda ctx, _: alb.Writer(ctx),
    "waf": lambda ctx, _: waf.Writer(ctx),
    "cloudfront": lambda ctx, _: cloudfront.Writer(ctx),
    "apigateway": lambda ctx, _: apigateway.Writer(ctx),
    "vpcflow": vpcflow.Writer,  # its ALB connections, in the web stack's VPC
}
WEB_JOBS = {
    "web:alb+waf": ("alb", "waf"),
    "web:cloudfront+apigateway+vpcflow": ("cloudfront", "apigateway", "vpcflow"),
}
# rough CPU seconds of a job (us-east-1, scale 1), to start the longest first and keep both workers busy
_COST = {"web:alb+waf": 8.0, "web:cloudfront+apigateway+vpcflow": 7.0, "cloudtrail": 2.7, "resolver": 0.8}
_REGION_COST = {"us-east-1": 1.0}  # the other region is smaller (and has no web stack)
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
    files: dict[str, int]  # per source (cloudtrail, cloudtrail_digest, vpcflow, alb, ...): objects written
    records: dict[str, int]  # per source: events, lines, flow records, log events (digests: log files listed)
    bytes: dict[str, int]  # per source: bytes written (compressed as delivered)
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
    # the public web stack and the rest of the story (added with the ALB, CloudFront, WAF, ... sources)
    alb_name: str = ""
    cloudfront_distribution_id: str = ""
    web_acl_name: str = ""
    waf_blocked_requests: int = 0  # BLOCK records in the WAF logs
    bad_domain: str = ""  # the known-bad domain in the Route 53 Resolver query logs
    resolver_query_instance_id: str = ""  # the instance that queried it

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
    """Write `days` days of the estate's logs ending at `end` under `out` (`AWSLogs/...` and the other prefixes).

    `end` defaults to now rounded down to the hour (the only use of the clock); a given `end` is taken as UTC
    if naive and rounded down to 10 minutes. `scale` multiplies volumes (1.0 on a weekday: ~50k CloudTrail
    events, ~190k flow records, ~100k ALB requests, ~115k CloudFront requests, ~60k WAF records, ~20k API
    Gateway calls, ~20k S3 access records, ~80k DNS queries). `workers` > 1 runs the jobs in processes.
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
    names = [s for s in SOURCES if s not in WEB_WRITERS] + list(WEB_JOBS)
    jobs = [(out, seed, start_s, end_s, scale, name, region) for name in names for region in estate.regions]
    jobs.sort(key=lambda job: -_COST.get(job[5], 0.5) * _REGION_COST.get(job[6], 0.3))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_run_job, jobs))
    else:
        results = [_run_job(job) for job in jobs]
    files: dict[str, int] = {}
    records: dict[str, int] = {}
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for result, tallies in results:
        for source, (n_files, n_records, n_bytes) in result.items():
            files[source] = files.get(source, 0) + n_files
            records[source] = records.get(source, 0) + n_records
            sizes[source] = sizes.get(source, 0) + n_bytes
        for name, n in tallies.items():
            counts[name] = counts.get(name, 0) + n
    files, records, sizes = (_ordered(d) for d in (files, records, sizes))
    f = story.facts
    stack = build_webstack(seed)
    web_facts = {
        "alb_id": stack.alb_id,
        "alb_dns": stack.alb_dns,
        "cloudfront_domain": stack.distribution_domain,
        "cloudfront_log_prefix": CLOUDFRONT_PREFIX,
        "web_acl_arn": stack.web_acl_arn,
        "api_id": stack.api_id,
        "api_log_group": stack.api_log_group,
        "s3_access_log_prefix": s3access.target_prefix(),
    }
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
        facts=web_facts | {k: [_dt(x) for x in v] if k in _TIMES else v for k, v in f.items() if k not in _TOP_FACTS},
        timeline=sorted((_dt(t), what) for t, what in story.timeline),
        alb_name=stack.alb_name,
        cloudfront_distribution_id=stack.distribution_id,
        web_acl_name=stack.web_acl_name,
        waf_blocked_requests=counts.get("waf_blocked", 0),
        bad_domain=f["bad_domain"],
        resolver_query_instance_id=f["resolver_query_instance_id"],
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
    "bad_domain",
    "resolver_query_instance_id",
}
_TIMES = {"logging_gap", "web_probe_window", "web_scan_window"}  # facts holding (start, end) epoch seconds
# manifest order of the sources (then any other, alphabetically)
_ORDER = (
    "cloudtrail",
    "cloudtrail_digest",
    "vpcflow",
    "alb",
    "alb_connection",
    "cloudfront",
    "waf",
    "apigateway",
    "s3access",
    "resolver",
)


def _ordered(d: dict[str, int]) -> dict[str, int]:
    return {k: d[k] for k in sorted(d, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), k))}


Stats = dict[str, tuple[int, int, int]]


def _run_job(job: tuple[Path, int, int, int, float, str, str]) -> tuple[Stats, dict[str, int]]:
    """Generate and write one (source, region); returns ({source: (files, records, bytes)}, {tally: n}).

    Rebuilds the estate and story from the seed (cheap) so it needs nothing pickled but numbers.
    """
    out, seed, start, end, scale, name, region = job
    estate = build_estate(seed)
    ctx = Context(estate, seed, start, end, scale, plan_story(estate, seed, start, end))
    if name in WEB_JOBS:
        objects = web.render(ctx, region, [WEB_WRITERS[source](ctx, region) for source in WEB_JOBS[name]])
    else:
        objects = SOURCES[name](ctx, region)
    stats: dict[str, list[int]] = {}
    tallies: dict[str, int] = {}
    made: set[Path] = set()
    for obj in objects:
        path = out / obj.key
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        data = gzip.compress(obj.body, compresslevel=GZIP_LEVEL, mtime=0) if obj.gzip else obj.body
        path.write_bytes(data)
        s = stats.setdefault(obj.source, [0, 0, 0])
        s[0] += 1
        s[1] += obj.records
        s[2] += len(data)
        for tally, n in obj.counts:
            tallies[tally] = tallies.get(tally, 0) + n
    return {k: (v[0], v[1], v[2]) for k, v in stats.items()}, tallies


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
