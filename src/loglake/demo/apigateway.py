"""API Gateway access logs of the REST API behind api.anycompany.example, as they reach S3 from CloudWatch Logs:
a subscription filter on the stage's access log group sends them to a Firehose delivery stream, which
writes them to S3 as it received them, every 5 minutes:

    firehose/cwl-apigw/YYYY/MM/DD/HH/cwl-apigw-to-s3-1-YYYY-MM-DD-HH-MM-SS-<uuid>

CloudWatch Logs sends each batch gzip-compressed, so an object is gzip members back to back; each holds a
`{"messageType":"DATA_MESSAGE","owner":...,"logGroup":...,"logStream":...,"subscriptionFilters":[...],
"logEvents":[{"id","timestamp","message"}]}` whose messages are the access log lines: the stage's JSON
format of `$context` variables. The first object also has the CONTROL_MESSAGE CloudWatch Logs sends when
the subscription is created.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator

import orjson

from loglake.demo.base import Context, LogObject
from loglake.demo.rand import derive, uuid4
from loglake.demo.web import render
from loglake.demo.webrecords import US, ApiReq, WebWindow, api_extended_id, api_request_id
from loglake.demo.webstack import API_HOST, API_STAGE, build_webstack

PREFIX = "firehose/cwl-apigw/"
DELIVERY_STREAM = "cwl-apigw-to-s3"
SUBSCRIPTION_FILTER = "apigw-access-to-firehose"
STREAMS = 4  # API Gateway writes a stage's access logs to a few log streams
BATCH = 200  # log events per DATA_MESSAGE
CONTROL = "CWL CONTROL MESSAGE: Checking health of destination Firehose."


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    yield from render(ctx, region, [Writer(ctx)])


class Writer:
    def __init__(self, ctx: Context) -> None:
        self.stack = stack = build_webstack(ctx.seed)
        self.rng = derive(ctx.seed, "apigateway", "names")
        self.streams = [hashlib.md5(f"{ctx.seed}:{stack.api_id}:{i}".encode()).hexdigest() for i in range(STREAMS)]
        self.control_sent = False
        self.events = 0

    def feed(self, win: WebWindow) -> Iterator[LogObject]:
        if not win.api:
            return
        by_stream: dict[int, list[ApiReq]] = {}
        for r in win.api:
            by_stream.setdefault(r.request_id % STREAMS, []).append(r)
        first_ms = win.api[0].t // 1000
        members = []
        if not self.control_sent:
            self.control_sent = True
            members.append(_member(_control(first_ms)))
        for i in sorted(by_stream):
            records = by_stream[i]
            for j in range(0, len(records), BATCH):
                members.append(_member(self.data_message(self.streams[i], records[j : j + BATCH])))
        t = first_ms // 1000 + 1
        day = time.strftime("%Y/%m/%d/%H", time.gmtime(t))
        name = f"{DELIVERY_STREAM}-1-{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime(t))}-{uuid4(self.rng)}"
        yield LogObject("apigateway", f"{PREFIX}{day}/{name}", b"".join(members), len(win.api), gzip=False)

    def close(self) -> Iterator[LogObject]:
        return iter(())

    def data_message(self, stream: str, records: list[ApiReq]) -> bytes:
        events = []
        for r in records:
            self.events += 1
            ms = r.t // 1000
            events.append({"id": f"{ms}{self.events:043d}", "timestamp": ms, "message": self.message(r)})
        return orjson.dumps(
            {
                "messageType": "DATA_MESSAGE",
                "owner": self.stack.account,
                "logGroup": self.stack.api_log_group,
                "logStream": stream,
                "subscriptionFilters": [SUBSCRIPTION_FILTER],
                "logEvents": events,
            }
        )

    def message(self, r: ApiReq) -> str:
        """The stage's access log format: AWS's JSON example, then a few more `$context` variables."""
        sec = r.t // US
        path = r.path.partition("?")[0]
        return orjson.dumps(
            {
                "requestId": api_request_id(r.request_id),
                "extendedRequestId": api_extended_id(r.extended_id),
                "ip": r.client,
                "caller": "-",
                "user": "-",
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(sec)),
                "httpMethod": r.method,
                "resourcePath": r.resource,
                "status": str(r.status),
                "protocol": "HTTP/2.0" if r.agent.h2 else "HTTP/1.1",
                "responseLength": str(r.length),
                "requestTimeEpoch": str(r.t // 1000),
                "path": path,
                "userAgent": r.agent.ua,
                "domainName": API_HOST,
                "apiId": self.stack.api_id,
                "stage": API_STAGE,
                "responseLatency": str(r.latency),
                "integrationLatency": str(r.integration) if r.integration >= 0 else "-",
            }
        ).decode()


def _control(ms: int) -> bytes:
    return orjson.dumps(
        {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": ms, "message": CONTROL}],
        }
    )


def _member(data: bytes) -> bytes:
    """One batch as CloudWatch Logs hands it to Firehose: gzip, level 6."""
    return gzip.compress(data, compresslevel=6, mtime=0)
