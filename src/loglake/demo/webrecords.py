"""The records of the web plan (`web.py`) that the web stack's log sources render, and how ids and times are
written out: requests to the ALB, CloudFront and API Gateway, ALB connections, and the story's probes.
Times are epoch microseconds; ids are numbers until a source writes them (`cf_id_str`, `trace_str`, ...).
"""

from __future__ import annotations

import base64
import time
from typing import NamedTuple

from loglake.demo.webcatalog import Agent
from loglake.demo.webstack import CF_ORIGIN_IPS
from loglake.demo.webwaf import Verdict

WINDOW = 300  # seconds: ALB and WAF delivery interval; other sources aggregate several windows
US = 1_000_000


class Probe(NamedTuple):
    """A hostile request planned by the story, with the verdict the web ACL gives it."""

    t: int  # µs
    client: str
    port: int
    via_cf: bool  # through the CloudFront distribution (else straight to the ALB)
    method: str
    host: str
    path: str
    query: str
    agent: Agent
    scheme: str  # https or http
    verdict: Verdict
    status: int  # the target's answer if allowed


class Link(NamedTuple):
    """A client's connection to an ALB node."""

    client: str
    port: int
    node: int  # index of the ALB node (its interface) that accepted it
    tid: int  # conn_trace_id (`tid_str`)
    kind: str  # h2, https, http (the access log's type)
    proto: str  # HTTP/2.0, HTTP/1.1


class Http(NamedTuple):
    """What the client asked for."""

    method: str
    host: str
    path: str  # as sent (percent-encoded)
    query: str
    agent: Agent
    referer: str


class AlbReq(NamedTuple):
    t: int  # request_creation_time, µs
    done: int  # time: response sent, µs
    link: Link
    http: Http
    status: int  # elb_status_code
    target: int  # index into WebStack.targets; -1: not dispatched
    tstatus: str  # target_status_code or -
    tpt: int  # target processing time, µs; -1 if not dispatched
    recv: int
    sent: int
    trace: int  # 96 bits of the X-Amzn-Trace-Id root (`trace_str`), WAF's requestId
    verdict: Verdict
    ctype: str
    redirect: str
    cf_id: int  # CloudFront request id (`cf_id_str`) when CloudFront forwarded it, else 0
    viewer: str  # the viewer's address (X-Forwarded-For) when CloudFront forwarded it
    country: str  # country of the address WAF sees


class CfReq(NamedTuple):
    done: int  # µs
    edge: str
    sc_bytes: int
    client: str
    method: str
    path: str
    status: int
    referer: str
    agent: Agent
    query: str
    result: str  # Hit, Miss, RefreshHit, Error
    req_id: int  # `cf_id_str`
    cs_bytes: int
    taken: int  # µs
    port: int
    ttfb: int  # µs
    ctype: str
    clen: int
    proto: str


class ApiReq(NamedTuple):
    t: int  # µs
    client: str
    method: str
    resource: str
    path: str
    status: int
    length: int
    request_id: int  # `api_request_id`
    extended_id: int  # `api_extended_id`
    agent: Agent
    latency: int  # ms
    integration: int  # ms


class Conn(NamedTuple):
    """A client connection to an ALB node (one line of the connection log)."""

    t: int  # µs
    client: str
    port: int
    node: int
    tid: int
    listener: int
    handshake: int  # µs; -1 on the plain HTTP listener
    tls: tuple[str, str]  # (protocol, cipher), ("-", "-") on the plain HTTP listener


TLS13 = ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
TLS12 = ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
NO_TLS = ("-", "-")


def tls_of(link: Link) -> tuple[str, str]:
    """The TLS a connection negotiated: browsers TLS 1.3, CloudFront's origin fetches and older clients 1.2."""
    if link.kind == "http":
        return NO_TLS
    if link.proto == "HTTP/2.0" and link.client not in CF_ORIGIN_IPS:
        return TLS13
    return TLS12


class IsoMicro:
    """`2024-03-06T14:00:01.123456Z` for epoch microseconds, caching the per-minute prefix."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def __call__(self, t_us: int) -> str:
        sec, us = divmod(t_us, US)
        minute, s = divmod(sec, 60)
        prefix = self._minutes.get(minute)
        if prefix is None:
            if len(self._minutes) > 4096:
                self._minutes.clear()
            prefix = self._minutes[minute] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        return f"{prefix}{s:02d}.{us:06d}Z"


class WebWindow:
    """Five minutes of the plan: what each source of the web stack logs for that window."""

    __slots__ = ("alb", "api", "cf", "conns", "w0")

    def __init__(self, w0: int) -> None:
        self.w0 = w0
        self.cf: list[CfReq] = []
        self.alb: list[AlbReq] = []
        self.api: list[ApiReq] = []
        self.conns: list[Conn] = []


# Ids are planned as numbers and written out only by the sources that log them.
def cf_id_str(n: int) -> str:
    """An `x-edge-request-id` / `x-amz-cf-id`: 40 bytes, URL-safe base64 (56 characters ending in `==`)."""
    return base64.urlsafe_b64encode(n.to_bytes(40, "big")).decode()


def trace_str(t_us: int, n: int) -> str:
    """The root of an `X-Amzn-Trace-Id`: `1-<request epoch, 8 hex>-<24 hex>`."""
    return f"1-{t_us // US:08x}-{n:024x}"


def tid_str(n: int) -> str:
    return f"TID_{n:032x}"


def api_request_id(n: int) -> str:
    """`$context.requestId`: a version-4 UUID."""
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def api_extended_id(n: int) -> str:
    """`$context.extendedRequestId`: 11 bytes, base64 (`UJ2cZFpSoAMEv1w=`)."""
    return base64.b64encode(n.to_bytes(11, "big")).decode()
