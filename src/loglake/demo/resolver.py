"""Route 53 Resolver query logs of each region's VPC, delivered to S3 every 5 minutes:

    AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/
        <account>_vpcdnsquerylogs_<vpc-id>_<YYYYMMDDTHHMMZ>_<hash>.log.gz

One JSON object per line and query, in AWS's key order. Instances look up the AWS endpoints their agents
and SDKs call, their buckets, the database, each other (a private hosted zone) and the SaaS APIs they reach
through the NAT gateway, an A and usually an AAAA query at a time from the same port; now and then a
search-domain expansion gets NXDOMAIN. The story's compromised server queries a known-bad domain: the
VPC's DNS Firewall rule group matches it against a managed threat list and, in ALERT mode, lets it resolve
(the log line carries the firewall_* fields).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from typing import NamedTuple

import orjson

from loglake.demo.base import Context, LogObject
from loglake.demo.cloudtrail_actors import poisson
from loglake.demo.estate import Eni, Estate
from loglake.demo.rand import day_path, derive, hex_id, stamp
from loglake.demo.rhythm import mixed

WINDOW = 300
VERSION = "1.100000"
RATE = 190.0  # lookups per instance per hour at the busiest time (scale 1.0)
ALPHA = 0.4  # how much lookups follow office hours
REGION_SHARE = {"us-east-1": 1.0, "eu-west-1": 0.5}
PRIVATE_ZONE = "anycompany.internal"


class Query(NamedTuple):
    """One DNS query from an instance and the Resolver's answer."""

    t_ms: int
    eni: Eni
    name: str  # fully qualified, with the trailing dot
    qtype: str
    rcode: str
    answers: tuple[tuple[str, str], ...]  # (Rdata, Type)
    srcport: int
    firewall: bool = False  # matched the DNS Firewall rule (action ALERT)


def firewall_ids(seed: int) -> tuple[str, str]:
    """(rule group id, domain list id) of the DNS Firewall rule that alerts on the managed malware list."""
    rng = derive(seed, "dns-firewall")
    return hex_id(rng, "rslvr-frg-", 16), hex_id(rng, "rslvr-fdl-", 16)


class _Names:
    """What the instances of one VPC look up: (name, answers) choices per instance kind, with weights."""

    def __init__(self, estate: Estate, region: str) -> None:
        e, vpc = estate, estate.vpcs[region]
        aws = [f"198.51.100.{64 + i + (0 if region == 'us-east-1' else 3)}" for i in range(3)]
        s3 = e.s3_ips[region]
        db = vpc.by_kind("db")[0]
        apps = [x.private_ip for x in vpc.by_kind("app")]
        cluster = hashlib.md5(f"{vpc.vpc_id}:rds".encode()).hexdigest()[:12]

        def ep(service: str) -> tuple[str, tuple[str, ...]]:
            return f"{service}.{region}.amazonaws.com.", tuple(aws[: 1 + len(service) % 3])

        common = [
            (ep("ssm"), 5.0),
            (ep("ec2messages"), 4.0),
            (ep("ssmmessages"), 3.0),
            (ep("logs"), 4.0),
            (ep("monitoring"), 2.0),
            (ep("sts"), 1.0),
            ((f"al2023-repos-{region}-de612dc2.s3.dualstack.{region}.amazonaws.com.", s3[:2]), 0.3),
        ]
        buckets = [b.name for b in e.buckets.values() if b.region == region]
        backend = [((f"{b}.s3.{region}.amazonaws.com.", s3[i % len(s3) :][:2]), 2.0) for i, b in enumerate(buckets)] + [
            (ep("secretsmanager"), 2.0),
            (ep("kms"), 2.0),
            (ep("dynamodb"), 2.0),
            ((f"{db.name}.cluster-{cluster}.{region}.rds.amazonaws.com.", (db.private_ip,)), 3.0),
            (("api.payments-partner.example.", e.saas_ips[:4]), 2.0),
            (("hooks.chat-partner.example.", e.saas_ips[10:12]), 0.5),
        ]
        web = [
            ((f"app.{PRIVATE_ZONE}.", tuple(apps)), 5.0),
            ((f"anycompany-app-assets.s3.{region}.amazonaws.com.", s3[:2]), 2.0),
        ]
        self.by_kind = {
            "app": common + backend,
            "worker": common + backend,
            "web": common + web,
            "legacy-web": common + web[1:],
            "bastion": [*common, ((f"app.{PRIVATE_ZONE}.", tuple(apps)), 2.0)],
        }
        self.weights = {k: [w for _, w in v] for k, v in self.by_kind.items()}
        self.search = "ec2.internal." if region == "us-east-1" else f"{region}.compute.internal."


class Lookups:
    """The background queries of one VPC, five minutes at a time."""

    def __init__(self, estate: Estate, region: str, rng: random.Random, scale: float) -> None:
        self.rng = rng
        self.instances = estate.vpcs[region].instances
        self.names = _Names(estate, region)
        self.rate = RATE * scale * REGION_SHARE.get(region, 0.5) * WINDOW / 3600

    def window(self, w0: int) -> list[Query]:
        rng, names = self.rng, self.names
        out: list[Query] = []
        level = mixed(w0 + WINDOW // 2, ALPHA)
        for eni in self.instances:
            choices, weights = names.by_kind.get(eni.kind, names.by_kind["web"]), names.weights.get(eni.kind)
            weights = weights or names.weights["web"]
            for _ in range(poisson(rng, self.rate * level)):
                t = w0 * 1000 + int(rng.random() * WINDOW * 1000)
                port = 1024 + int(rng.random() * 64000)
                (name, ips), _w = rng.choices(choices, weights)[0]
                if rng.random() < 0.04:  # the resolver's search list tried first
                    out.append(Query(t, eni, name + names.search, "A", "NXDOMAIN", (), port))
                    t += 1
                answers = tuple((ip, "A") for ip in ips)
                out.append(Query(t, eni, name, "A", "NOERROR", answers, port))
                if rng.random() < 0.6:
                    out.append(Query(t, eni, name, "AAAA", "NOERROR", (), port))
        return out


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    """The query log files of the region's VPC, one per 5 minutes, in delivery order."""
    estate = ctx.estate
    vpc = estate.vpcs[region]
    rng = derive(ctx.seed, "resolver", region)
    lookups = Lookups(estate, region, rng, ctx.scale)
    story: dict[int, list[Query]] = {}
    for q in ctx.story.dns.get(region, []):
        w = q.t_ms // 1000
        story.setdefault(w - (w - ctx.start) % WINDOW, []).append(q)
    render = _Render(estate.account, region, vpc.vpc_id, ctx.seed)
    for w0 in range(ctx.start, ctx.end, WINDOW):
        queries = lookups.window(w0)
        queries.extend(story.get(w0, ()))
        if not queries:
            continue
        queries.sort(key=_time)
        delivered = w0 + WINDOW
        digest = f"{rng.getrandbits(32):08x}"
        name = f"{estate.account}_vpcdnsquerylogs_{vpc.vpc_id}_{stamp(delivered)}_{digest}.log.gz"
        key = f"AWSLogs/{estate.account}/vpcdnsquerylogs/{vpc.vpc_id}/{day_path(delivered)}/{name}"
        yield LogObject("resolver", key, b"".join(render.line(q) for q in queries), len(queries))


class _Render:
    def __init__(self, account: str, region: str, vpc_id: str, seed: int) -> None:
        self.head = (
            f'{{"version":"{VERSION}","account_id":"{account}","region":"{region}","vpc_id":"{vpc_id}",'
            '"query_timestamp":"'
        ).encode()
        group, domains = firewall_ids(seed)
        self.firewall = (
            f',"firewall_rule_action":"ALERT","firewall_rule_group_id":"{group}","firewall_domain_list_id":"{domains}"'
        ).encode()
        self._seconds: dict[int, bytes] = {}

    def line(self, q: Query) -> bytes:
        sec = q.t_ms // 1000
        ts = self._seconds.get(sec)
        if ts is None:
            if len(self._seconds) > 4096:
                self._seconds.clear()
            ts = self._seconds[sec] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec)).encode()
        body = orjson.dumps(
            {
                "query_name": q.name,
                "query_type": q.qtype,
                "query_class": "IN",
                "rcode": q.rcode,
                "answers": [{"Rdata": rdata, "Type": rtype, "Class": "IN"} for rdata, rtype in q.answers],
                "srcaddr": q.eni.private_ip,
                "srcport": str(q.srcport),
                "transport": "UDP",
                "srcids": {"instance": q.eni.instance_id},
            }
        )
        tail = self.firewall + b"}\n" if q.firewall else b"}\n"
        return b"".join((self.head, ts, b'",', body[1:-1], tail))


def _time(q: Query) -> int:
    return q.t_ms
