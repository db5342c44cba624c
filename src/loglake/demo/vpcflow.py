"""Amazon VPC Flow Logs in the text format, one file per flow log per 10-minute aggregation window.

A flow record describes one 5-tuple on one network interface in one window, so a connection between two
interfaces of the VPC appears four times (egress and ingress on each side) and a connection through the NAT
gateway also on the NAT's interface (where `pkt-dstaddr` shows the real destination). Internet traffic the
security groups drop appears once, REJECTed, on the target's interface. Interfaces with no traffic in a
window get a NODATA record; now and then a busy one gets SKIPDATA. Unset fields are `-`. In the VPC of the
public web stack, the ALB's client connections come from the web plan (`web.py`): the same clients, ports
and times as in the ALB's access and connection logs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from operator import itemgetter

from loglake.demo.base import Context, LogObject
from loglake.demo.cloudtrail_actors import poisson
from loglake.demo.estate import Eni, Estate
from loglake.demo.rand import day_path, derive, stamp
from loglake.demo.rhythm import human_weight
from loglake.demo.web import render
from loglake.demo.webrecords import WINDOW as PLAN_WINDOW
from loglake.demo.webrecords import AlbReq, WebWindow
from loglake.demo.webstack import REGION as WEB_REGION
from loglake.demo.webstack import build_webstack

WINDOW = 600  # the default (maximum) aggregation interval: 10 minutes
FLOW_VOLUME = 0.92  # calibrates records per day at scale 1.0 (about 250k for both VPCs on a weekday)

# The internal record: the interface's constant fields, then the flow's. Formats pick from it by name.
REC_FIELDS = (
    "account-id",
    "interface-id",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "region",
    "az-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "flow-direction",
    "traffic-path",
)
Rec = tuple[str, ...]
_START = REC_FIELDS.index("start")

_FIELD_VERSION = {
    f: 3 for f in ("vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr")
}
_FIELD_VERSION |= {"region": 4, "az-id": 4, "flow-direction": 5, "traffic-path": 5}

# ports internet scanners try, with weights
_NOISE_PORTS = (
    (22, 25),
    (23, 10),
    (3389, 10),
    (445, 8),
    (8080, 6),
    (5900, 4),
    (1433, 4),
    (3306, 4),
    (6379, 3),
    (9200, 3),
    (2375, 3),
    (25, 3),
    (21, 3),
    (5432, 3),
    (11211, 2),
    (8443, 3),
)


def interface_fields(eni: Eni, account: str) -> Rec:
    return (account, eni.eni_id, eni.vpc_id, eni.subnet.subnet_id, eni.instance_id or "-", eni.region, eni.subnet.az_id)


def record(  # noqa: PLR0917 - the hot path (250k calls a day): positional arguments are measurably faster
    iface: Rec,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    proto: int,
    packets: int,
    nbytes: int,
    start: int,
    end: int,
    action: str,
    flags: int,
    egress: bool,
    path: str = "-",
    pkt_src: str | None = None,
    pkt_dst: str | None = None,
) -> Rec:
    """One OK flow record on the interface whose constant fields are `iface`; `path` is traffic-path (egress)."""
    kind = "IPv6" if ":" in src else "IPv4"
    tcp = str(flags) if proto == 6 else "0"
    direction, path = ("egress", path) if egress else ("ingress", "-")
    return (
        *iface,
        src,
        dst,
        str(sport),
        str(dport),
        str(proto),
        str(packets),
        str(nbytes),
        str(start),
        str(end),
        action,
        "OK",
        tcp,
        kind,
        pkt_src or src,
        pkt_dst or dst,
        direction,
        path,
    )


def status_record(iface: Rec, start: int, end: int, status: str) -> Rec:
    """A NODATA or SKIPDATA record: only the interface, the window and the status are set."""
    return iface + ("-", "-", "-", "-", "-", "-", "-", str(start), str(end), "-", status) + ("-",) * 6


class LineFormat:
    """Turns records into the lines of one flow log format (a header line, then space-separated fields)."""

    def __init__(self, fmt: str) -> None:
        fields = fmt.split()
        if fields[0] != "version":
            raise ValueError("the demo's flow log formats start with the version field")
        self.header = fmt.encode() + b"\n"
        self.pick = itemgetter(*(REC_FIELDS.index(f) for f in fields[1:]))
        # AWS writes the highest version among the format's fields
        self.prefix = f"{max(_FIELD_VERSION.get(f, 2) for f in fields)} "

    def body(self, records: list[Rec]) -> bytes:
        pick, prefix = self.pick, self.prefix
        return self.header + "".join([f"{prefix}{' '.join(pick(r))}\n" for r in records]).encode()


class Traffic:
    """The network activity of one VPC, one window at a time."""

    def __init__(
        self, estate: Estate, region: str, rng: random.Random, scale: float, *, web_plan: bool = False
    ) -> None:
        self.e = estate
        self.web_plan = web_plan  # the ALB's client connections come from the web plan (`alb_flows`)
        self.rng = rng
        self.vpc = vpc = estate.vpcs[region]
        self.scale = scale * FLOW_VOLUME * (1.0 if region == "us-east-1" else 0.45)
        self.iface = {eni.eni_id: interface_fields(eni, estate.account) for eni in vpc.enis}
        self.albs = vpc.by_kind("alb")
        self.webs = vpc.by_kind("web")
        self.apps = vpc.by_kind("app")
        self.workers = vpc.by_kind("worker")
        self.db = vpc.by_kind("db")[0]
        self.nat = vpc.by_kind("nat")[0]
        self.lambda_eni = vpc.by_kind("lambda")[0]
        self.bastions = vpc.by_kind("bastion")
        self.public_webs = vpc.by_kind("legacy-web")
        self.noise_targets = self.albs + self.bastions + self.public_webs
        self.s3_ips = estate.s3_ips[region]
        ports, weights = zip(*_NOISE_PORTS, strict=True)
        # pre-drawn pools: cheaper than choices() or lognormvariate() per flow
        self.noise_ports = rng.choices(ports, weights, k=4096)
        self.normals = [rng.gauss(0.0, 1.0) for _ in range(8192)]
        self.out: list[Rec] = []  # the window being generated
        self.w0 = 0

    # ---- building blocks -----------------------------------------------------------------------------------
    def _span(self, w0: int, long: bool = False) -> tuple[int, int]:
        rng = self.rng
        if long:  # a pooled connection that lasts the whole window
            return w0 + int(rng.random() * 8), w0 + WINDOW - 1 - int(rng.random() * 8)
        st = w0 + int(rng.random() * (WINDOW - 70))
        return st, st + 1 + int(rng.random() * 60)

    def internal(self, a: Eni, b: Eni, dport: int, *, req: int, resp: int, long: bool = False) -> None:
        """A TCP connection from a to b inside the VPC: four records."""
        rng, out, w0 = self.rng, self.out, self.w0
        sport = 32768 + int(rng.random() * 28232)
        st, en = self._span(w0, long)
        pk_ab, pk_ba = 3 + req // 1200, 2 + resp // 1200
        fi, fr = (0, 0) if long else (3, 19)
        ia, ib = self.iface[a.eni_id], self.iface[b.eni_id]
        out.append(record(ia, a.private_ip, b.private_ip, sport, dport, 6, pk_ab, req, st, en, "ACCEPT", fi, True, "1"))
        out.append(record(ia, b.private_ip, a.private_ip, dport, sport, 6, pk_ba, resp, st, en, "ACCEPT", fr, False))
        out.append(record(ib, a.private_ip, b.private_ip, sport, dport, 6, pk_ab, req, st, en, "ACCEPT", fi, False))
        out.append(
            record(ib, b.private_ip, a.private_ip, dport, sport, 6, pk_ba, resp, st, en, "ACCEPT", fr, True, "1")
        )

    def inbound(self, src: str, b: Eni, dport: int, *, accept: bool, req: int = 0, resp: int = 0) -> None:
        """Internet to an interface with a public address: REJECTed (one record) or a full exchange."""
        rng, out, w0 = self.rng, self.out, self.w0
        sport = 1024 + int(rng.random() * 64511)
        st, en = self._span(w0)
        if ":" in src and not b.ipv6:  # an IPv4-only interface: the client came over IPv4
            src = self.e.internet_v4[int(rng.random() * len(self.e.internet_v4))]
        dst = b.ipv6 if ":" in src else b.private_ip  # flow logs show the private IP, not the public one
        ib = self.iface[b.eni_id]
        if not accept:
            syn = 1 + int(rng.random() < 0.3)
            out.append(
                record(
                    ib,
                    src,
                    dst,
                    sport,
                    dport,
                    6,
                    syn,
                    syn * (60 if ":" in src else 40),
                    st,
                    st + int(rng.random() * 3),
                    "REJECT",
                    2,
                    False,
                )
            )
            return
        pk_in, pk_out = 4 + req // 900, 3 + resp // 1300
        out.append(record(ib, src, dst, sport, dport, 6, pk_in, req, st, en, "ACCEPT", 3, False))
        out.append(record(ib, dst, src, dport, sport, 6, pk_out, resp, st, en, "ACCEPT", 19, True, "8"))

    def via_nat(self, a: Eni, ext: str, dport: int, *, req: int, resp: int) -> None:
        """An instance in a private subnet calling an internet API through the NAT gateway: six records."""
        rng, out, w0 = self.rng, self.out, self.w0
        sport = 32768 + int(rng.random() * 28232)
        nport = 1024 + int(rng.random() * 64000)
        st, en = self._span(w0)
        pk_ab, pk_ba = 4 + req // 1200, 3 + resp // 1200
        ia, inat, nat_ip = self.iface[a.eni_id], self.iface[self.nat.eni_id], self.nat.private_ip
        out.append(record(ia, a.private_ip, ext, sport, dport, 6, pk_ab, req, st, en, "ACCEPT", 3, True, "1"))
        out.append(record(ia, ext, a.private_ip, dport, sport, 6, pk_ba, resp, st, en, "ACCEPT", 19, False))
        out.append(
            record(inat, a.private_ip, nat_ip, sport, dport, 6, pk_ab, req, st, en, "ACCEPT", 3, False, pkt_dst=ext)
        )
        out.append(record(inat, nat_ip, ext, nport, dport, 6, pk_ab, req, st, en, "ACCEPT", 3, True, "8"))
        out.append(record(inat, ext, nat_ip, dport, nport, 6, pk_ba, resp, st, en, "ACCEPT", 19, False))
        out.append(
            record(
                inat, nat_ip, a.private_ip, dport, sport, 6, pk_ba, resp, st, en, "ACCEPT", 19, True, "1", pkt_src=ext
            )
        )

    def to_s3(self, a: Eni, *, req: int, resp: int) -> None:
        """S3 through the gateway endpoint: two records on the instance (traffic-path 7)."""
        rng, out, w0 = self.rng, self.out, self.w0
        sport = 32768 + int(rng.random() * 28232)
        s3 = self.s3_ips[int(rng.random() * len(self.s3_ips))]
        st, en = self._span(w0)
        ia = self.iface[a.eni_id]
        out.append(record(ia, a.private_ip, s3, sport, 443, 6, 4 + req // 1200, req, st, en, "ACCEPT", 3, True, "7"))
        out.append(record(ia, s3, a.private_ip, 443, sport, 6, 3 + resp // 1200, resp, st, en, "ACCEPT", 19, False))

    def client_ip(self, v6_share: float) -> str:
        """A customer's address: a few heavy users, a long tail (the pool is sorted, the index skewed)."""
        rng = self.rng
        pool = self.e.internet_v6 if rng.random() < v6_share else self.e.internet_v4
        return pool[int(rng.random() ** 2.5 * len(pool))]

    def size(self, mu: float, sigma: float = 1.0) -> int:
        """A log-normal byte count (most exchanges small, a few huge)."""
        return int(math.exp(mu + sigma * self.normals[int(self.rng.random() * 8192)]))

    # ---- a window --------------------------------------------------------------------------------------------
    def window(self, w0: int) -> list[Rec]:
        rng, s = self.rng, self.scale
        hw = human_weight(w0 + WINDOW // 2)
        out: list[Rec] = []
        self.out, self.w0 = out, w0
        # customers to the load balancer (HTTPS), some over IPv6 (where the ALB logs, its connections instead)
        for _ in range(0 if self.web_plan else poisson(rng, 420 * s * (0.15 + 0.85 * hw))):
            alb = self.albs[int(rng.random() * len(self.albs))]
            self.inbound(self.client_ip(0.12), alb, 443, accept=True, req=self.size(7.2), resp=self.size(9.5, 1.4))
        # the legacy web server still serves some customers directly
        for _ in range(poisson(rng, 25 * s * (0.2 + 0.8 * hw))):
            for web in self.public_webs:
                self.inbound(self.client_ip(0.1), web, 443, accept=True, req=self.size(7), resp=self.size(9.8))
        # load balancer to targets: pooled keep-alive connections
        for alb in self.albs:
            for web in self.webs:
                for _ in range(poisson(rng, s * (1 + 2.5 * hw))):
                    self.internal(alb, web, 8080, req=self.size(11, 1.2), resp=self.size(13, 1.3), long=True)
        for _ in range(poisson(rng, 110 * s * (0.1 + 0.9 * hw))):
            web, app = rng.choice(self.webs), rng.choice(self.apps)
            self.internal(web, app, 8443, req=self.size(7.5), resp=self.size(8.5))
        for app in self.apps + self.workers:
            for _ in range(poisson(rng, s * (2 + 2 * hw))):
                self.internal(app, self.db, 5432, req=self.size(9, 1.5), resp=self.size(11, 1.6), long=True)
        for _ in range(poisson(rng, 55 * s * (0.3 + 0.7 * hw))):
            a = rng.choice(self.apps + self.workers)
            self.via_nat(a, rng.choice(self.e.saas_ips), 443, req=self.size(8), resp=self.size(8.5))
        for _ in range(poisson(rng, 60 * s * (0.4 + 0.6 * hw))):
            self.to_s3(rng.choice(self.apps + self.workers + self.webs), req=self.size(8, 2), resp=self.size(10, 2))
        self._people(hw)
        self._lambda(hw)
        self._noise()
        return out

    def _people(self, hw: float) -> None:
        """Engineers SSH to the bastion from the office, and on to app servers."""
        rng = self.rng
        for bastion in self.bastions:
            for _ in range(poisson(rng, 1.2 * hw)):
                self.inbound(
                    rng.choice(self.e.office_ips), bastion, 22, accept=True, req=self.size(9), resp=self.size(10)
                )
                if rng.random() < 0.6:
                    self.internal(bastion, rng.choice(self.apps), 22, req=self.size(8), resp=self.size(9))

    def _lambda(self, hw: float) -> None:
        """The VPC Lambda wakes up now and then (so its interface often has NODATA)."""
        for _ in range(poisson(self.rng, 0.8 * hw)):
            self.internal(self.lambda_eni, self.rng.choice(self.apps), 8443, req=self.size(7), resp=self.size(7))

    def _noise(self) -> None:
        """The internet knocks on every public address all day: SYNs to admin ports, REJECTed; pings."""
        rng, out, w0 = self.rng, self.out, self.w0
        pool = self.e.internet_v4
        for target in self.noise_targets:
            for _ in range(poisson(rng, 9 * self.scale)):
                port = self.noise_ports[int(rng.random() * 4096)]
                if target.kind == "bastion" and port == 22:
                    port = 2222
                self.inbound(pool[int(rng.random() * len(pool))], target, port, accept=False)
            if target.ipv6 and rng.random() < 0.3:
                src = self.e.internet_v6[int(rng.random() * len(self.e.internet_v6))]
                self.inbound(src, target, 22, accept=False)
            if rng.random() < 0.4:  # ICMP echo, REJECTed: ports are 0 for ICMP
                st = w0 + int(rng.random() * (WINDOW - 5))
                src = pool[int(rng.random() * len(pool))]
                out.append(
                    record(
                        self.iface[target.eni_id],
                        src,
                        target.private_ip,
                        0,
                        0,
                        1,
                        1,
                        84,
                        st,
                        st + 1,
                        "REJECT",
                        0,
                        False,
                    )
                )

    def alb_flows(self, out: list[Rec], requests: list[AlbReq], nodes: tuple[Eni, ...], w0: int) -> None:
        """The ALB's client connections in the window, from the requests the web plan sent it: for each
        (client, port, node) two records on the node's interface with the bytes of its requests."""
        conns: dict[tuple[str, int, int], list[int]] = {}
        for r in requests:
            link = r.link
            key = (link.client, link.port, link.node)
            c = conns.get(key)
            if c is None:
                conns[key] = [r.t, r.done, r.recv, r.sent, 80 if link.kind == "http" else 443]
            else:
                c[0], c[1] = min(c[0], r.t), max(c[1], r.done)
                c[2] += r.recv
                c[3] += r.sent
        last = w0 + WINDOW - 1
        for (client, port, node), (t0, t1, recv, sent, lport) in conns.items():
            eni = nodes[node]
            dst = (eni.ipv6 or eni.private_ip) if ":" in client else eni.private_ip
            iface = self.iface[eni.eni_id]
            st, en = max(w0, t0 // 1_000_000 - 1), min(last, t1 // 1_000_000 + 1)
            pk_in, pk_out = 3 + recv // 1000, 2 + sent // 1400
            out.append(record(iface, client, dst, port, lport, 6, pk_in, recv + 40 * pk_in, st, en, "ACCEPT", 3, False))
            out.append(
                record(iface, dst, client, lport, port, 6, pk_out, sent + 40 * pk_out, st, en, "ACCEPT", 19, True, "8")
            )

    def statuses(self, out: list[Rec], w0: int) -> None:
        """NODATA for the interfaces that saw nothing in the window; rarely SKIPDATA for a busy one."""
        seen = {r[1] for r in out}
        rng = self.rng
        for eni in self.vpc.enis:
            iface = self.iface[eni.eni_id]
            st, en = w0 + int(rng.random() * 20), w0 + WINDOW - 1 - int(rng.random() * 20)
            if eni.eni_id not in seen:
                out.append(status_record(iface, st, en, "NODATA"))
            elif rng.random() < 0.006:
                out.append(status_record(iface, st, en, "SKIPDATA"))


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    """The flow log files of the region's VPC for the window, one per 10 minutes, in delivery order."""
    yield from render(ctx, region, [Writer(ctx, region)])


class Writer:
    """The flow log files of one VPC, fed the web plan's 5-minute windows (`web.render`): every other one
    closes a 10-minute aggregation window. In the web stack's VPC the ALB's connections come from the plan."""

    def __init__(self, ctx: Context, region: str) -> None:
        estate = ctx.estate
        self.region = region
        self.vpc = estate.vpcs[region]
        self.account = estate.account
        self.start = ctx.start
        self.rng = derive(ctx.seed, "vpcflow", region)
        self.web = region == WEB_REGION
        self.traffic = Traffic(estate, region, self.rng, ctx.scale, web_plan=self.web)
        self.nodes = build_webstack(ctx.seed).nodes
        self.fmt = LineFormat(self.vpc.flow_format)
        self.story: dict[int, list[Rec]] = {}
        for rec in ctx.story.vpcflow.get(region, []):
            t = int(rec[_START])
            self.story.setdefault(t - (t - ctx.start) % WINDOW, []).append(rec)
        self.requests: list[AlbReq] = []  # the ALB's requests in the 10-minute window so far

    def feed(self, win: WebWindow) -> Iterator[LogObject]:
        self.requests.extend(win.alb)
        end = win.w0 + PLAN_WINDOW
        if (end - self.start) % WINDOW:
            return  # the first half of a flow log window
        w0 = end - WINDOW
        records = self.traffic.window(w0)
        if self.web:
            self.traffic.alb_flows(records, self.requests, self.nodes, w0)
        self.requests = []
        records.extend(self.story.get(w0, ()))
        self.traffic.statuses(records, w0)
        records.sort(key=_start_key)
        account, region = self.account, self.region
        flow_log, suffix = self.vpc.flow_log_id, f"{self.rng.getrandbits(32):08x}"
        name = f"{account}_vpcflowlogs_{region}_{flow_log}_{stamp(end)}_{suffix}.log.gz"
        key = f"AWSLogs/{account}/vpcflowlogs/{region}/{day_path(end)}/{name}"
        yield LogObject("vpcflow", key, self.fmt.body(records), len(records))

    def close(self) -> Iterator[LogObject]:
        return iter(())


def _start_key(rec: Rec) -> str:
    return rec[_START]  # ten-digit epoch seconds: string order is time order
