"""CloudTrail columns: the fast path (strict decode, columns built in bulk) loses and changes nothing.

Every real-shaped sample, the demo estate's files and the edge cases are read three ways and must give equal
tables (values, types, `unmapped`): the fast path as ingest runs it, the lenient path (orjson, field by field,
unknown keys kept in `unmapped`), and a row-by-row reference built from the decoded events without the
column builder. Nested JSON columns (`requestparameters` ...) hold the object's own text on the fast path
(compacted when pretty-printed) and orjson's rendering on the lenient path: those two compare as parsed JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pytest

from loglake.demo import cloudtrail as demo_cloudtrail
from loglake.demo.base import Context
from loglake.demo.estate import build_estate
from loglake.demo.story import plan_story
from loglake.formats import cloudtrail
from loglake.formats.base import ObjectInfo, Part
from loglake.formats.jsonshape import Json, ListOf, MapOf, Shape, Struct
from tests.formats.test_cloudtrail import EVENT, SAMPLES, read

OBJECT = ObjectInfo(
    "s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/f.json.gz",
    "111122223333",
    "us-east-1",
    dt.date(2024, 5, 1),
    dt.datetime(2024, 5, 2, tzinfo=dt.UTC),
)
EVENT_SCHEMA = pa.schema([pa.field(f.column, f.shape.arrow_type) for f in cloudtrail.EVENT.fields])
JSON_COLUMNS = [f.column for f in cloudtrail.EVENT.fields if isinstance(f.shape, Json)]


def fast(data: bytes, obj: ObjectInfo = OBJECT) -> Part:
    parsed = cloudtrail.parse(data, obj)
    assert parsed.part is not None
    return parsed.part


def lenient(data: bytes, obj: ObjectInfo = OBJECT) -> Part:
    """The lenient path alone: every record converted field by field, what the schema lacks kept as JSON."""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:  # JSON lines: each line on its own, numbered by its line
        out: tuple[list[Any], list[str | None], list[int], list[Any]] = ([], [], [], [])
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.strip():
                cloudtrail._add_lenient(orjson.loads(line), number, out)
    else:
        out = cloudtrail._lenient_document(data)
    events, unmapped, rows, _ = out
    return Part(obj, len(events), (events, unmapped, rows))


def cell(shape: Shape, value: Any) -> Any:
    """One decoded value as its Arrow column holds it, worked out for this value alone."""
    if isinstance(shape, Struct):
        return None if value is None else {f.column: cell(f.shape, getattr(value, f.key)) for f in shape.fields}
    if isinstance(shape, ListOf):
        return None if value is None else [cell(shape.item, item) for item in value]
    if isinstance(shape, MapOf):
        return (
            None
            if value is None
            else [(k, v if isinstance(v, str) else orjson.dumps(v).decode()) for k, v in value.items()]
        )
    if isinstance(shape, Json):
        raw = bytes(value)
        if raw in (b"", b"null"):
            return None
        return (msgspec.json.format(raw, indent=-1) if b"\n" in raw else raw).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if value is None or isinstance(value, str) else str(value)


def parsed_json(texts: pa.ChunkedArray) -> list[Any]:
    return [None if text is None else orjson.loads(text) for text in texts.to_pylist()]


def reference(parts: list[Part]) -> pa.Table:
    """The event columns and `unmapped`, row by row."""
    rows = []
    for part in parts:
        events, unmapped, _ = part.data
        for event, rest in zip(events, unmapped, strict=True):
            row = {f.column: cell(f.shape, getattr(event, f.key)) for f in cloudtrail.EVENT.fields}
            rows.append({**row, cloudtrail.UNMAPPED: rest})
    return pa.Table.from_pylist(rows, EVENT_SCHEMA.append(pa.field(cloudtrail.UNMAPPED, pa.string())))


def assert_same_tables(fast_parts: list[Part], lenient_parts: list[Part]) -> pa.Table:
    table = cloudtrail.to_arrow(fast_parts)
    assert table.schema == cloudtrail.SCHEMA
    other = cloudtrail.to_arrow(lenient_parts)
    assert table.drop_columns(JSON_COLUMNS).equals(other.drop_columns(JSON_COLUMNS))
    for column in JSON_COLUMNS:
        assert parsed_json(table.column(column)) == parsed_json(other.column(column)), column
    assert table.select([*EVENT_SCHEMA.names, cloudtrail.UNMAPPED]).equals(reference(fast_parts))
    return table


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_reads_the_same_by_every_path(name):
    data = read(name)
    table = assert_same_tables([fast(data)], [lenient(data)])
    assert table.num_rows == SAMPLES[name]


def test_the_demo_estates_files_read_the_same_by_every_path():
    start = int(dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp())
    end = start + 6 * 3600
    estate = build_estate(7)
    ctx = Context(estate, 7, start, end, 0.3, plan_story(estate, 7, start, end))
    fast_parts, lenient_parts, digests = [], [], 0
    for obj in demo_cloudtrail.iter_objects(ctx, "us-east-1"):
        info = ObjectInfo(obj.key, OBJECT.account, OBJECT.region, OBJECT.day, OBJECT.ingested_at)
        if cloudtrail.parse(obj.body, info).skipped:
            digests += 1
            continue
        fast_parts.append(fast(obj.body, info))
        lenient_parts.append(lenient(obj.body, info))
    table = assert_same_tables(fast_parts, lenient_parts)  # one batch of many files, as ingest builds it
    assert table.num_rows > 1000  # more rows than one chunk of the column builder
    assert digests > 0


def event(**changes: Any) -> dict[str, Any]:
    return {**EVENT, **changes}


EDGE_CASES = {
    "unknown top-level key": orjson.dumps({"Records": [event(brandNewField={"a": [1, 2]}), EVENT]}),
    "unknown nested key": orjson.dumps(
        {"Records": [event(userIdentity={**EVENT["userIdentity"], "inScopeOf": {"issuerType": "AWS::Lambda"}})]}
    ),
    "object where a string belongs": orjson.dumps({"Records": [event(eventName={"not": "a string"}), EVENT]}),
    "numbers and booleans where strings belong": orjson.dumps(
        {"Records": [event(apiVersion=3, eventVersion=1.5, sessionCredentialFromConsole=True), EVENT]}
    ),
    "nulls everywhere": orjson.dumps(
        {
            "Records": [
                event(userIdentity=None, requestParameters=None, resources=None, eventName=None),
                event(resources=[None, {"ARN": "arn:aws:s3:::b", "accountId": None, "type": "AWS::S3::Bucket"}]),
                event(userIdentity={"type": "Root", "sessionContext": None}),
                EVENT,
            ]
        }
    ),
    "keys in another case": orjson.dumps([event(eventname="Lower", EventSource="upper.amazonaws.com")]),
    "nested JSON of every kind": orjson.dumps(
        {
            "Records": [
                event(
                    requestParameters={"bucketName": "b", "x": [1, {"y": None}]},
                    responseElements="a string",
                    additionalEventData=42,
                    serviceEventDetails=[],
                    insightDetails={},
                ),
                EVENT,
            ]
        }
    ),
    "web identity attributes": orjson.dumps(
        [
            event(
                userIdentity={
                    "type": "WebIdentityUser",
                    "sessionContext": {
                        "webIdFederationData": {
                            "federatedProvider": "cognito-identity.amazonaws.com",
                            "attributes": {"aud": "x", "amr": ["a", "b"], "n": 1},
                        }
                    },
                }
            )
        ]
    ),
    "pretty-printed": orjson.dumps(
        {"Records": [event(requestParameters={"a": {"b": [1, 2]}}), EVENT]}, option=orjson.OPT_INDENT_2
    ),
    "JSON lines": orjson.dumps(EVENT) + b"\n" + orjson.dumps(event(eventName="Second")) + b"\n",
    "JSON lines with an unknown key": orjson.dumps(EVENT) + b"\n" + orjson.dumps(event(extra=1)) + b"\n",
    "array": orjson.dumps([EVENT, event(eventName="Second")]),
    "single event": orjson.dumps(event(resources=[])),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_read_the_same_by_every_path(case):
    data = EDGE_CASES[case]
    table = assert_same_tables([fast(data)], [lenient(data)])
    assert table.num_rows >= 1


def test_edge_cases_in_one_batch_match_row_by_row():
    parts = [fast(EDGE_CASES[case]) for case in sorted(EDGE_CASES)]
    assert_same_tables(parts, [lenient(EDGE_CASES[case]) for case in sorted(EDGE_CASES)])


def test_what_the_schema_lacks_is_in_unmapped_on_the_fast_path_too():
    rows = cloudtrail.to_arrow([fast(EDGE_CASES["unknown nested key"])]).to_pylist()
    assert orjson.loads(rows[0]["unmapped"]) == {"userIdentity": {"inScopeOf": {"issuerType": "AWS::Lambda"}}}
    rows = cloudtrail.to_arrow([fast(EDGE_CASES["numbers and booleans where strings belong"])]).to_pylist()
    assert (rows[0]["apiversion"], rows[0]["eventversion"], rows[0]["sessioncredentialfromconsole"]) == (
        "3",
        "1.5",
        "true",
    )


def test_digest_files_are_skipped_by_the_fast_path():
    digest = orjson.dumps(
        {"digestStartTime": "2024-05-01T10:00:00Z", "digestPublicKeyFingerprint": "a", "logFiles": []}
    )
    assert cloudtrail.parse(digest, OBJECT).skipped == "CloudTrail digest file"


def test_nested_json_reads_the_same_whatever_shares_its_batch():
    compact, pretty = fast(EDGE_CASES["nested JSON of every kind"]), fast(EDGE_CASES["pretty-printed"])
    alone = cloudtrail.to_arrow([compact]).column("requestparameters").to_pylist()
    together = cloudtrail.to_arrow([compact, pretty]).column("requestparameters").to_pylist()
    assert together[: len(alone)] == alone == ['{"bucketName":"b","x":[1,{"y":null}]}', None]
    assert together[len(alone)] == '{"a":{"b":[1,2]}}'  # pretty-printed input stored as delivered files have it


def test_source_addresses_read_the_same_whatever_shares_their_batch():
    single = fast(orjson.dumps([event(sourceIPAddress=" 198.51.100.7 "), event(sourceIPAddress="s3.amazonaws.com")]))
    pair = fast(orjson.dumps([event(sourceIPAddress="198.51.100.8, 10.0.0.8")]))
    alone = cloudtrail.to_arrow([single]).column("lake_ips").to_pylist()
    together = cloudtrail.to_arrow([single, pair]).column("lake_ips").to_pylist()
    assert alone == together[:2] == [["198.51.100.7"], []]
    assert together[2] == ["198.51.100.8", "10.0.0.8"]
