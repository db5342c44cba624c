"""What the CloudTrail actors of one region share: the estate, the event builder, where records go.

Actors (`cloudtrail_machines.Machines`, `cloudtrail_people.People`) generate the background of the trail five
minutes at a time: `bucket(b0, span)` emits every event that starts in [b0, b0 + span). Rates are events per
hour at scale 1.0 at the busiest time of a weekday; `alpha` says how much an activity follows people (0: flat
around the clock, 1: office hours only).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from loglake.demo.cloudtrail_events import Caller, Event, EventBuilder
from loglake.demo.estate import Eni, Estate, LambdaFn
from loglake.demo.rhythm import human_weight

Emit = Callable[[int, Event], None]

EC2_KEY_PERIOD = 6 * 3600  # instance profile credentials are refreshed every few hours
LAMBDA_KEY_PERIOD = 2 * 3600
REGION_SHARE = {"us-east-1": 1.0, "eu-west-1": 0.4}  # the second region is smaller


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson count (Knuth for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def key_offset(name: str, period: int) -> int:
    """A stable phase for a session's key rotation, so sessions do not all refresh at once."""
    return int.from_bytes(name.encode()[-6:], "big") % period


def next_boundary(t: int, period: int, offset: int) -> int:
    """The first time >= t of the form k * period + offset."""
    return -((offset - t) // period) * period + offset


_DAYS: dict[int, str] = {}


def day_str(day: int) -> str:
    """`YYYY/MM/DD` of a day number (days since the epoch), as found in S3 keys and log stream names."""
    s = _DAYS.get(day)
    if s is None:
        s = _DAYS[day] = time.strftime("%Y/%m/%d", time.gmtime(day * 86400))
    return s


class RegionActors:
    """Base of the actors of one region: identities of its instances and Lambdas, and `api()` to emit."""

    def __init__(self, estate: Estate, builder: EventBuilder, region: str, scale: float, emit: Emit) -> None:
        self.e = estate
        self.b = builder
        self.rng = builder.rng
        self.seed = builder.seed
        self.region = region
        self.scale = scale
        self.emit = emit
        self.share = REGION_SHARE.get(region, 0.4)
        self.vpc = estate.vpcs[region]
        self.instances = self.vpc.instances
        self.nat_ip = self.vpc.by_kind("nat")[0].public_ip or ""
        self.lambdas = [f for f in estate.lambdas.values() if f.region == region and f.name != "cloudtrail-guard"]
        self.lambda_names = [f.name for f in self.lambdas] or ["report-generator"]
        # (events per hour at the busiest time, alpha, actor): the Poisson-driven activities, set by a subclass
        self.activities: list[tuple[float, float, Callable[[int], None]]] = []

    def bucket(self, b0: int, span: int) -> None:
        """Run each activity a Poisson number of times, at its rate for this time of day and week."""
        hw = human_weight(b0 + span // 2)
        rng = self.rng
        hours = span / 3600 * self.scale
        for rate, alpha, actor in self.activities:
            for _ in range(poisson(rng, rate * ((1 - alpha) + alpha * hw) * hours)):
                actor(b0 + int(rng.random() * span))

    def api(self, t: int, who: Caller, source: str, name: str, **fields: Any) -> None:
        """Emit one call of this region (see `EventBuilder.call` for the fields)."""
        self.emit(t, self.b.call(t, self.region, who, source, name, **fields))

    def instance(self, eni: Eni, t: int, ua: str, *, private: bool = False) -> Caller:
        """An instance calling with its instance-profile role; seen from its public IP, the NAT's, or (through
        a VPC endpoint) its private IP."""
        assert eni.role and eni.instance_id
        offset = key_offset(eni.instance_id, EC2_KEY_PERIOD)
        ident = self.b.role(eni.role, eni.instance_id, t, period=EC2_KEY_PERIOD, offset=offset, ec2=True)
        return Caller(ident, eni.private_ip if private else (eni.public_ip or self.nat_ip), ua)

    def lambda_fn(self, fn: LambdaFn, t: int, ua: str) -> Caller:
        """A Lambda function calling with its execution role (from a Lambda address, or its VPC ENI)."""
        offset = key_offset(fn.name, LAMBDA_KEY_PERIOD)
        ident = self.b.role(fn.role, fn.name, t, period=LAMBDA_KEY_PERIOD, offset=offset)
        ip = self.vpc.by_kind("lambda")[0].private_ip if fn.in_vpc else self.rng.choice(self.e.lambda_ips)
        return Caller(ident, ip, ua)
