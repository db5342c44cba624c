"""AWS WAF (v2) web ACL logs: one JSON object per line, as delivered to S3, CloudWatch Logs or Firehose.

Columns and nested types are those of the live AWS Athena `waf_logs` DDL (23 columns: `timestamp` bigint epoch
milliseconds, the `httprequest` struct with its `headers` array, the rule-group, rate-based and non-terminating
rule lists, `labels`, the CAPTCHA/challenge responses, JA3/JA4 fingerprints, oversize fields, body sizes), then
`unmapped`: every key the DDL does not name (`customerConfig`, `rateBasedRuleName`, `limitValue`, ...) as JSON;
such a key whose value is null is dropped (Athena reads null and absent alike).
Keys match without regard to case, as with Athena's OpenX JSON SerDe; `excludedrules` and `oversizefields` are
`string` columns there, so their arrays are kept as JSON text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats.base import ObjectInfo, Parsed, Part, first_byte, gc_paused, ip_lists_by_row
from loglake.formats.jsonshape import (
    Field,
    Int,
    ListOf,
    Str,
    Struct,
    Text,
    read_json_lines,
    records_table,
    treat_null_as_absent,
)
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "waf"
TABLE = "waf_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "httprequest.clientip",
    "resource": "webaclid",
    "account": "lake_account",
    "event_id": "httprequest.requestid",
}
# Names the AWS Athena docs use: their table names, and partition columns as lake expressions
ATHENA_TABLES = ("waf_logs_partition_projection", "waf_logs_manual_partition")
ATHENA_COLUMNS = {
    "region": "lake_region",
    "date": "strftime(lake_date, '%Y/%m/%d')",
    "log_time": "strftime(lake_time, '%Y/%m/%d/%H/%M')",
}
KEY_SERVICES = ("waflogs",)  # AWSLogs/<account>/WAFLogs/<region>/<web-acl>/YYYY/MM/DD/HH/mm/
SNIFF_ORDER = 50  # before the general JSON formats: a WAF record is recognised by its own keys

S = Str()
INT = Int(pa.int32())


def _match_details(name: str) -> ListOf:
    return ListOf(
        Struct(
            name,
            [
                Field("conditiontype", "conditionType", S),
                Field("sensitivitylevel", "sensitivityLevel", S),
                Field("location", "location", S),
                Field("matcheddata", "matchedData", ListOf(S)),
            ],
            extras=("matchedFieldName",),
        )
    )


def _token_response(name: str, *, reason: bool) -> Struct:
    fields = [Field("responsecode", "responseCode", S), Field("solvetimestamp", "solveTimestamp", S)]
    return Struct(name, [*fields, Field("failurereason", "failureReason", S)] if reason else fields)


def _name_values(name: str) -> ListOf:
    return ListOf(Struct(name, [Field("name", "name", S), Field("value", "value", S)]))


RULE_GROUP = Struct(
    "WafRuleGroup",
    [
        Field("rulegroupid", "ruleGroupId", S),
        Field(
            "terminatingrule",
            "terminatingRule",
            Struct(
                "WafGroupTerminatingRule",
                [
                    Field("ruleid", "ruleId", S),
                    Field("action", "action", S),
                    Field("rulematchdetails", "ruleMatchDetails", _match_details("WafGroupTerminatingMatch")),
                ],
                extras=("overriddenAction",),
            ),
        ),
        Field(
            "nonterminatingmatchingrules",
            "nonTerminatingMatchingRules",
            ListOf(
                Struct(
                    "WafGroupNonTerminatingRule",
                    [
                        Field("ruleid", "ruleId", S),
                        Field("action", "action", S),
                        Field("overriddenaction", "overriddenAction", S),
                        Field("rulematchdetails", "ruleMatchDetails", _match_details("WafGroupNonTerminatingMatch")),
                        Field(
                            "challengeresponse", "challengeResponse", _token_response("WafGroupChallenge", reason=False)
                        ),
                        Field("captcharesponse", "captchaResponse", _token_response("WafGroupCaptcha", reason=False)),
                    ],
                )
            ),
        ),
        Field("excludedrules", "excludedRules", Text()),
    ],
    extras=("customerConfig",),
)
HTTP_REQUEST = Struct(
    "WafHttpRequest",
    [
        Field("clientip", "clientIp", S),
        Field("country", "country", S),
        Field("headers", "headers", _name_values("WafHeader")),
        Field("uri", "uri", S),
        Field("args", "args", S),
        Field("httpversion", "httpVersion", S),
        Field("httpmethod", "httpMethod", S),
        Field("requestid", "requestId", S),
        Field("fragment", "fragment", S),
        Field("scheme", "scheme", S),
        Field("host", "host", S),
    ],
)
# Keys the WAF docs or real logs show that the Athena DDL has no column for are declared as `extras`: decoded on
# the fast path and kept in `unmapped`. A key outside the DDL whose value is null (`"customerConfig": null` in
# every rule group) is dropped: Athena's SerDe reads null and absent alike, so it holds nothing to keep.
RECORD = Struct(
    "WafLogRecord",
    [
        Field("timestamp", "timestamp", Int(pa.int64())),
        Field("formatversion", "formatVersion", INT),
        Field("webaclid", "webaclId", S),
        Field("terminatingruleid", "terminatingRuleId", S),
        Field("terminatingruletype", "terminatingRuleType", S),
        Field("action", "action", S),
        Field("terminatingrulematchdetails", "terminatingRuleMatchDetails", _match_details("WafTerminatingMatch")),
        Field("httpsourcename", "httpSourceName", S),
        Field("httpsourceid", "httpSourceId", S),
        Field("rulegrouplist", "ruleGroupList", ListOf(RULE_GROUP)),
        Field(
            "ratebasedrulelist",
            "rateBasedRuleList",
            ListOf(
                Struct(
                    "WafRateBasedRule",
                    [
                        Field("ratebasedruleid", "rateBasedRuleId", S),
                        Field("limitkey", "limitKey", S),
                        Field("maxrateallowed", "maxRateAllowed", INT),
                    ],
                    extras=("rateBasedRuleName", "limitValue", "evaluationWindowSec", "customValues"),
                )
            ),
        ),
        Field(
            "nonterminatingmatchingrules",
            "nonTerminatingMatchingRules",
            ListOf(
                Struct(
                    "WafNonTerminatingRule",
                    [
                        Field("ruleid", "ruleId", S),
                        Field("action", "action", S),
                        Field("rulematchdetails", "ruleMatchDetails", _match_details("WafNonTerminatingMatch")),
                        Field(
                            "challengeresponse", "challengeResponse", _token_response("WafRuleChallenge", reason=False)
                        ),
                        Field("captcharesponse", "captchaResponse", _token_response("WafRuleCaptcha", reason=False)),
                    ],
                )
            ),
        ),
        Field("requestheadersinserted", "requestHeadersInserted", _name_values("WafInsertedHeader")),
        Field("responsecodesent", "responseCodeSent", S),
        Field("httprequest", "httpRequest", HTTP_REQUEST),
        Field("labels", "labels", ListOf(Struct("WafLabel", [Field("name", "name", S)]))),
        Field("captcharesponse", "captchaResponse", _token_response("WafCaptchaResponse", reason=True)),
        Field("challengeresponse", "challengeResponse", _token_response("WafChallengeResponse", reason=True)),
        Field("ja3fingerprint", "ja3Fingerprint", S),
        Field("ja4fingerprint", "ja4Fingerprint", S),
        Field("oversizefields", "oversizeFields", Text()),
        Field("requestbodysize", "requestBodySize", INT),
        Field("requestbodysizeinspectedbywaf", "requestBodySizeInspectedByWAF", INT),
    ],
)
treat_null_as_absent(RECORD)
UNMAPPED = "unmapped"
SCHEMA = with_lake_schema(
    [*(pa.field(f.column, f.shape.arrow_type) for f in RECORD.fields), pa.field(UNMAPPED, pa.string())]
)

_SNIFF_KEYS = (b'"webaclId"', b'"httpRequest"', b'"terminatingRuleId"')
_WEB_ACL_ARN = r"^arn:aws[a-z-]*:wafv2:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: a larger `timestamp` is not a time


def sniff(head: bytes, key: str) -> bool:
    """A JSON line whose keys are those of a WAF record (CloudTrail events about WAF spell them `webACLId`)."""
    if first_byte(head) != b"{":
        return False
    line = head.lstrip().split(b"\n", 1)[0]
    return all(k in line for k in _SNIFF_KEYS) and b'"eventVersion"' not in line


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    with gc_paused():
        read = read_json_lines(RECORD, data)
    part = Part(obj, len(read.records), (read.records, read.unmapped, read.rows)) if read.records else None
    return Parsed(TABLE, part, read.rejects, to_arrow=to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    """One table for many objects' records: the per-call cost of building columns is paid once per batch."""
    data, rows = records_table(RECORD, parts, UNMAPPED)
    arn = pc.extract_regex(data.column("webaclid").combine_chunks(), _WEB_ACL_ARN)
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=_record_time(data.column("timestamp").combine_chunks()),
        account=pc.struct_field(arn, "account"),
        region=pc.struct_field(arn, "region"),
        ips=_request_ips(data.column("httprequest").combine_chunks()),
        rows=rows,
    )


def _record_time(millis: pa.Array) -> pa.Array:
    """`timestamp` (epoch milliseconds) as a UTC time; NULL when absent or beyond any real date."""
    valid = pc.and_(pc.greater_equal(millis, 0), pc.less_equal(millis, _MAX_MS))
    millis = pc.if_else(valid, millis, pa.scalar(None, pa.int64()))
    return pc.multiply(millis, 1000).cast(pa.timestamp("us")).cast(TIMESTAMP)


def _request_ips(request: pa.StructArray) -> pa.ListArray:
    """The client address, then the addresses of any X-Forwarded-For header (a comma-separated list)."""
    n = len(request)
    headers = pc.struct_field(request, "headers")
    flat = pc.list_flatten(headers)
    owners = pc.list_parent_indices(headers)
    names = pc.utf8_lower(pc.struct_field(flat, "name"))
    forwarded = pc.fill_null(pc.equal(names, "x-forwarded-for"), False)
    values = pc.struct_field(flat, "value").filter(forwarded)
    parts = pc.split_pattern(values, ",")
    rows = pa.concat_arrays(
        [
            pa.array(np.arange(n, dtype=np.int64)),
            owners.filter(forwarded).cast(pa.int64()).take(pc.list_parent_indices(parts)),
        ]
    )
    addresses = pa.concat_arrays([pc.struct_field(request, "clientip"), pc.list_flatten(parts)])
    return ip_lists_by_row(n, rows, addresses)
