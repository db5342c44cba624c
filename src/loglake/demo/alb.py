"""Application Load Balancer access logs and connection logs of the internet-facing ALB `prod-ext-web`.

Each of the ALB's nodes (one per AZ, an interface in the VPC flow logs) writes a file every 5 minutes:

    AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/
        <account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_<node ip>_<random>.log.gz
        conn_log.<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end>_<node ip>_<random>.log.gz

Access log lines carry today's 30 fields, space-separated, some quoted, ending with `classification`,
`classification_reason` and `conn_trace_id` (which joins a request to its connection-log line). A request
WAF blocked is answered 403 without a target (`"waf"` in actions_executed); CloudFront's origin fetches come
from CloudFront's addresses with TLS 1.2 and HTTP/1.1, browsers of the portal over HTTP/2.
"""

from __future__ import annotations

from collections.abc import Iterator

from loglake.demo.base import Context, LogObject
from loglake.demo.rand import ALNUM, day_path, derive, stamp
from loglake.demo.web import render
from loglake.demo.webrecords import WINDOW, AlbReq, Conn, IsoMicro, WebWindow, tid_str, tls_of, trace_str
from loglake.demo.webstack import APP_HOST, ORIGIN_HOST, TARGET_PORT, build_webstack

_LOWER = ALNUM[:26] + ALNUM[52:]  # a-z0-9: the random part of ELB log file names
_PRIORITY = {APP_HOST: "1", ORIGIN_HOST: "2"}  # the HTTPS listener's host-header rules; else the default (0)


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    yield from render(ctx, region, [Writer(ctx)])


class Writer:
    def __init__(self, ctx: Context) -> None:
        self.stack = stack = build_webstack(ctx.seed)
        self.rng = derive(ctx.seed, "alb", "names")
        self.iso = IsoMicro()
        self.account = stack.account
        self.elb = stack.alb_resource
        self.node_ips = [n.public_ip or n.private_ip for n in stack.nodes]
        self.targets = [f"{t.private_ip}:{TARGET_PORT}" for t in stack.targets]
        self.prefix = f"{stack.account}_elasticloadbalancing_{stack.region}_app.{stack.alb_name}.{stack.alb_id}"
        self.folder = f"AWSLogs/{stack.account}/elasticloadbalancing/{stack.region}"
        self.cert = f'"{stack.cert_arn}"'

    def feed(self, win: WebWindow) -> Iterator[LogObject]:
        end = win.w0 + WINDOW
        folder = f"{self.folder}/{day_path(end)}"
        for node, ip in enumerate(self.node_ips):
            requests = [r for r in win.alb if r.link.node == node]
            conns = [c for c in win.conns if c.node == node]
            base = f"{self.prefix}_{stamp(end)}_{ip}"
            if requests:
                body = "".join([self.line(r) for r in requests]).encode()
                yield LogObject("alb", f"{folder}/{base}_{self.random()}.log.gz", body, len(requests))
            if conns:
                body = "".join([self.conn_line(c) for c in conns]).encode()
                yield LogObject("alb_connection", f"{folder}/conn_log.{base}_{self.random()}.log.gz", body, len(conns))

    def random(self) -> str:
        return "".join(self.rng.choices(_LOWER, k=8))

    def close(self) -> Iterator[LogObject]:
        return iter(())

    def line(self, r: AlbReq) -> str:
        link, http = r.link, r.http
        iso = self.iso
        tls_proto, cipher = tls_of(link)
        scheme, port = ("http", 80) if link.kind == "http" else ("https", 443)
        url = f"{scheme}://{http.host}:{port}{http.path}" + (f"?{http.query}" if http.query else "")
        ua = http.agent.ua
        if r.target >= 0:
            target = self.targets[r.target]
            times = f"{0.001 if r.tpt % 3 == 0 else 0.0:.3f} {r.tpt / 1e6:.3f} 0.000"
            actions, tg, prio = "waf,forward", self.stack.target_group_arn, _PRIORITY.get(http.host, "0")
            tail = f'"{target}" "{r.tstatus}"'
        else:
            target, times, tail = "-", "-1 -1 -1", '"-" "-"'
            if r.redirect:
                actions, tg, prio = "waf,redirect", "-", "0"
            else:
                actions, tg, prio = "waf", "-", "-"
        if link.kind == "http":
            sni, cert = "-", '"-"'
        else:
            sni = http.host if http.host[0].isalpha() and not http.host.endswith(".elb.amazonaws.com") else "-"
            cert = self.cert
        return (
            f"{link.kind} {iso(r.done)} {self.elb} {link.client}:{link.port} {target} {times} {r.status} "
            f'{r.tstatus} {r.recv} {r.sent} "{http.method} {url} {link.proto}" "{ua}" {cipher} {tls_proto} {tg} '
            f'"Root={trace_str(r.t, r.trace)}" "{sni}" {cert} {prio} {iso(r.t)} "{actions}" '
            f'"{r.redirect or "-"}" "-" {tail} "-" "-" {tid_str(link.tid)}\n'
        )

    def conn_line(self, c: Conn) -> str:
        if c.listener == 80:
            return f'{self.iso(c.t)} {c.client} {c.port} 80 - - - "-" - - - {tid_str(c.tid)}\n'
        proto, cipher = c.tls
        return (
            f'{self.iso(c.t)} {c.client} {c.port} 443 {proto} {cipher} {c.handshake / 1e6:.3f} "-" - - Success '
            f"{tid_str(c.tid)}\n"
        )
