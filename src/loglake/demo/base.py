"""Types shared by the demo's log sources: what they are given (`Context`) and what they produce (`LogObject`).

A source module (cloudtrail, vpcflow, alb, cloudfront, ...) exposes `iter_objects(ctx, region)` that yields
`LogObject`s in delivery order; `generate.py` compresses (or not, as AWS delivers them) and writes them in
the AWS key layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loglake.demo.estate import Estate


@dataclass(frozen=True)
class LogObject:
    """One object as AWS would deliver it: its key under the bucket root and its uncompressed body."""

    source: str  # cloudtrail, cloudtrail_digest, vpcflow, ...
    key: str  # AWSLogs/<account>/<service>/<region>/YYYY/MM/DD/<name>
    body: bytes
    records: int
    gzip: bool = True  # False: `body` is written as is (plain S3 access logs, Firehose objects of gzip members)
    counts: tuple[tuple[str, int], ...] = ()  # extra tallies for the manifest, e.g. (("waf_blocked", 3),)


@dataclass
class StoryPlan:
    """The attack, precomputed so each source can merge its part into its background stream.

    `cloudtrail[region]` holds (epoch second, event) pairs; `vpcflow[region]` holds flow record tuples in
    the layout of `vpcflow.Rec`; `cloudtrail_gap` is the (start, end) while the trail was stopped, when
    background events are not logged. `web` holds the hostile HTTP requests to the public web stack
    (`web.Probe`, time-ordered) and `dns[region]` the story's DNS queries (`resolver.Query`).
    """

    cloudtrail: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    vpcflow: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    web: list[Any] = field(default_factory=list)
    dns: dict[str, list[Any]] = field(default_factory=dict)
    cloudtrail_gap: tuple[int, int] | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    timeline: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Context:
    """Everything a source needs to generate its logs for the window [start, end) (epoch seconds)."""

    estate: Estate
    seed: int
    start: int
    end: int
    scale: float
    story: StoryPlan
