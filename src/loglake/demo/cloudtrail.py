"""AWS CloudTrail log files and digest files, delivered as a multi-region trail delivers them.

Per region, one `{"Records":[...]}` file about every 5 minutes (none when nothing happened), named
`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz` for its delivery time, and every hour a
digest file listing the SHA-256 of the log files delivered in that hour and chaining to the previous digest
(`<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz`). The digests are
shaped like AWS's but not signed with a real key.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from loglake.demo.base import Context, LogObject
from loglake.demo.cloudtrail_events import Event, EventBuilder
from loglake.demo.cloudtrail_machines import Machines
from loglake.demo.cloudtrail_people import People
from loglake.demo.rand import IsoClock, alnum, day_path, derive, stamp

DELIVERY = 300  # seconds between deliveries per region
DIGEST_EVERY = 3600
PUBLIC_KEY_FINGERPRINT = "4ae1e5b9c3f6a0d2e7b8c9d0a1b2c3d4"


@dataclass
class _Delivered:
    key: str
    sha256: str
    oldest: str
    newest: str


class _Pending:
    """Events waiting for their delivery, ordered by time; background events are dropped in a logging gap."""

    def __init__(self, gap: tuple[int, int] | None) -> None:
        self.heap: list[tuple[int, int, Event]] = []
        self.seq = itertools.count()
        self.gap = gap

    def emit(self, t: int, event: Event) -> None:
        if self.gap and self.gap[0] < t < self.gap[1]:
            return  # the trail was stopped: AWS did not record it
        heapq.heappush(self.heap, (t, next(self.seq), event))

    def emit_always(self, t: int, event: Event) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), event))

    def pop_before(self, t: int) -> list[Event]:
        out = []
        heap = self.heap
        while heap and heap[0][0] < t:
            out.append(heapq.heappop(heap)[2])
        return out


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    """The CloudTrail log files and digest files of one region for the window, in delivery order."""
    estate = ctx.estate
    rng = derive(ctx.seed, "cloudtrail", region)
    builder = EventBuilder(estate, ctx.seed, rng)
    pending = _Pending(ctx.story.cloudtrail_gap)
    actors = [cls(estate, builder, region, ctx.scale, pending.emit) for cls in (Machines, People)]
    for t, event in ctx.story.cloudtrail.get(region, []):
        pending.emit_always(t, event)
    digests = _Digests(ctx, region)
    account = estate.account
    for b0 in range(ctx.start, ctx.end, DELIVERY):
        for actor in actors:
            actor.bucket(b0, DELIVERY)
        delivered_at = b0 + DELIVERY
        events = pending.pop_before(min(delivered_at, ctx.end))
        if events:
            name = f"{account}_CloudTrail_{region}_{stamp(delivered_at)}_{alnum(rng, 16)}.json.gz"
            key = f"AWSLogs/{account}/CloudTrail/{region}/{day_path(delivered_at)}/{name}"
            body = orjson.dumps({"Records": events})
            digests.add(
                _Delivered(key, hashlib.sha256(body).hexdigest(), events[0]["eventTime"], events[-1]["eventTime"])
            )
            yield LogObject("cloudtrail", key, body, len(events))
        if delivered_at % DIGEST_EVERY == 0 or delivered_at >= ctx.end:
            yield digests.close(delivered_at)


class _Digests:
    """The hourly digest chain of one region."""

    def __init__(self, ctx: Context, region: str) -> None:
        e = ctx.estate
        self.account = e.account
        self.region = region
        self.trail = e.trail_name
        self.home = e.home_region
        self.bucket = e.cloudtrail_bucket
        self.start = ctx.start
        self.offset = 17 + sum(map(ord, region)) % 40  # digests land a few seconds after the hour
        self.iso = IsoClock()
        self.files: list[_Delivered] = []
        self.previous: tuple[str, str, str] | None = None  # key, sha256, signature

    def add(self, delivered: _Delivered) -> None:
        self.files.append(delivered)

    def close(self, t: int) -> LogObject:
        end = t + self.offset
        when = stamp(end, "%Y%m%dT%H%M%SZ")
        name = f"{self.account}_CloudTrail-Digest_{self.region}_{self.trail}_{self.home}_{when}.json.gz"
        key = f"AWSLogs/{self.account}/CloudTrail-Digest/{self.region}/{day_path(end)}/{name}"
        start = self.start if self.previous is None else end - DIGEST_EVERY
        files = self.files
        prev = self.previous
        digest: dict[str, Any] = {
            "awsAccountId": self.account,
            "digestStartTime": self.iso(max(start, self.start)),
            "digestEndTime": self.iso(end),
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": PUBLIC_KEY_FINGERPRINT,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max((f.newest for f in files), default=None),
            "oldestEventTime": min((f.oldest for f in files), default=None),
            "previousDigestS3Bucket": self.bucket if prev else None,
            "previousDigestS3Object": prev[0] if prev else None,
            "previousDigestHashValue": prev[1] if prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev[2] if prev else None,
            "logFiles": [
                {
                    "s3Bucket": self.bucket,
                    "s3Object": f.key,
                    "hashValue": f.sha256,
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": f.newest,
                    "oldestEventTime": f.oldest,
                }
                for f in files
            ],
        }
        body = orjson.dumps(digest)
        # not a real RSA signature: 256 bytes of hex derived from the content, the size of an RSA-2048 one
        signature = "".join(hashlib.sha512(bytes([i]) + body).hexdigest() for i in range(4))
        self.previous = (key, hashlib.sha256(body).hexdigest(), signature)
        self.files = []
        return LogObject("cloudtrail_digest", key, body, len(files))
