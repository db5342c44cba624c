"""S3 server access logs: the AWS samples, layouts old and new, generated records, mutations, junk."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import registry, s3access
from loglake.formats.base import ObjectInfo
from tests.formats.test_alb import accounted, both_ways, read

SAMPLE = "awsdocs/s3-server-access.log"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LINE = (
    f"{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.OBJECT"
    ' photos/puppy.jpg "GET /amzn-s3-demo-bucket1/photos/puppy.jpg?x-user=johndoe HTTP/1.1" 200 - 113 113 7 6'
    ' "https://example.com/gallery" "aws-cli/2.13.0 Python/3.11.4 Linux/5.10 exe/x86_64.amzn.2" -'
    " s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4"
    " ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.eu-central-1.amazonaws.com TLSv1.3 - - eu-west-1"
)


def parse(data: bytes | str, obj: ObjectInfo | None = None):
    return both_ways(s3access, data, obj)


def rows_of(data: bytes | str) -> list[dict]:
    parsed = parse(data)
    assert parsed.rejects == []
    return parsed.rows.to_pylist()


def test_aws_samples_field_by_field():
    parsed = parse(read(SAMPLE))
    assert (parsed.records, parsed.rejects) == (5, [])  # line 3 ends with a space: still one record
    assert parsed.rows.schema == s3access.SCHEMA
    assert len(s3access.COLUMNS) == 27
    rows = parsed.rows.to_pylist()
    first = rows[0]
    assert {k: first[k] for k, _ in s3access.COLUMNS} == {
        "bucketowner": OWNER,
        "bucket_name": "DOC-EXAMPLE-BUCKET1",
        "requestdatetime": "06/Feb/2019:00:00:38 +0000",  # without the brackets, as Athena's regex captures it
        "remoteip": "192.0.2.3",
        "requester": OWNER,
        "requestid": "3E57427F3EXAMPLE",
        "operation": "REST.GET.VERSIONING",
        "key": None,
        "request_uri": "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1",
        "httpstatus": "200",
        "errorcode": None,
        "bytessent": 113,
        "objectsize": None,
        "totaltime": "7",
        "turnaroundtime": None,
        "referrer": None,
        "useragent": "S3Console/0.4",
        "versionid": None,
        "hostid": "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
        "sigv": "SigV4",
        "ciphersuite": "ECDHE-RSA-AES128-GCM-SHA256",
        "authtype": "AuthHeader",
        "endpoint": "DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com",
        "tlsversion": "TLSV1.2",
        "accesspointarn": "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP",
        "aclrequired": "Yes",
        "sourceregion": None,
    }
    assert first["lake_time"] == dt.datetime(2019, 2, 6, 0, 0, 38, tzinfo=dt.UTC)
    assert (first["lake_account"], first["lake_region"]) == ("123456789012", "us-west-1")
    assert first["lake_ips"] == ["192.0.2.3"]
    assert rows[2]["errorcode"] == "NoSuchBucketPolicy"
    assert (rows[2]["aclrequired"], rows[2]["unmapped"]) == ("Yes", None)
    put = rows[4]
    assert (put["operation"], put["key"], put["bytessent"], put["objectsize"]) == (
        "REST.PUT.OBJECT",
        "s3-dg.pdf",
        None,
        4406583,
    )
    assert (put["totaltime"], put["turnaroundtime"]) == ("41754", "28")
    assert (put["lake_account"], put["lake_region"]) == (None, "us-west-1")  # region from the endpoint
    assert [r["lake_row"] for r in rows] == [1, 2, 3, 4, 5]


def test_newest_layout_spaces_in_quotes_and_anonymous_requester():
    row = rows_of(LINE)[0]
    assert row["sourceregion"] == "eu-west-1"
    assert row["request_uri"] == "GET /amzn-s3-demo-bucket1/photos/puppy.jpg?x-user=johndoe HTTP/1.1"
    assert row["useragent"] == "aws-cli/2.13.0 Python/3.11.4 Linux/5.10 exe/x86_64.amzn.2"
    assert row["referrer"] == "https://example.com/gallery"
    assert row["requester"] is None  # '-': the docs' `requester IS NULL` finds anonymous requests
    assert row["lake_region"] == "eu-central-1"  # the bucket's (endpoint), not the requester's sourceregion


def test_older_layouts_and_appended_fields():
    fields = LINE.split(" ")
    old = " ".join(fields[: fields.index("-", 20) + 1])  # through versionid: the 2017 layout
    lines = [
        old,
        LINE,
        LINE + " future-field",
        LINE.replace("[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:01:30:38 +0130]"),
    ]
    rows = rows_of("\n".join(lines))
    assert [r["hostid"] is None for r in rows] == [True, False, False, False]
    assert [r["unmapped"] for r in rows] == [None, None, '["future-field"]', None]
    assert rows[3]["lake_time"] == rows[0]["lake_time"]  # +0130 is 90 minutes ahead of UTC


def test_many_lines_with_repeated_times():
    """Times are read once per distinct value when they repeat; one impossible time rejects only its line."""
    later = LINE.replace("00:00:38", "00:00:39")
    lines = [LINE, later] * 2500
    lines[4000] = LINE.replace("06/Feb/2019", "30/Feb/2019")
    parsed = parse("\n".join(lines))
    assert parsed.records == 4999
    assert [(r.row, r.reason[:40]) for r in parsed.rejects] == [(4001, "field 'requestdatetime' is not a time li")]
    times = parsed.rows.column("lake_time").to_pylist()
    assert times[:2] == [dt.datetime(2019, 2, 6, 0, 0, s, tzinfo=dt.UTC) for s in (38, 39)]
    assert len(set(times)) == 2


def test_endpoint_and_access_point_regions():
    obj = ObjectInfo("s3://logs/prefix/2024-01-01-00-00-00-ABC", "111122223333", "ap-south-1")
    lines = [
        LINE.replace("amzn-s3-demo-bucket1.s3.eu-central-1.amazonaws.com", "s3.dualstack.us-gov-west-1.amazonaws.com"),
        LINE.replace("amzn-s3-demo-bucket1.s3.eu-central-1.amazonaws.com", "s3.amazonaws.com"),
        LINE.replace("amzn-s3-demo-bucket1.s3.eu-central-1.amazonaws.com", "s3.amazonaws.com").replace(
            "TLSv1.3 - -", "TLSv1.3 arn:aws:s3:sa-east-1:444455556666:accesspoint/ap -"
        ),
        LINE.replace("amzn-s3-demo-bucket1.s3.eu-central-1.amazonaws.com", "b.s3.cn-north-1.amazonaws.com.cn"),
    ]
    rows = parse("\n".join(lines), obj).rows.to_pylist()
    assert [(r["lake_region"], r["lake_account"]) for r in rows] == [
        ("us-gov-west-1", "111122223333"),
        ("ap-south-1", "111122223333"),  # the global endpoint names no region: the key layout's
        ("sa-east-1", "444455556666"),
        ("cn-north-1", "111122223333"),
    ]


def test_good_lines_kept_and_bad_lines_rejected():
    lines = [
        LINE,
        LINE.replace("[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:00:00:38+0000]"),  # no space: other shape
        LINE.replace("06/Feb/2019", "31/Feb/2019"),
        LINE.replace(" 113 113 ", " 113 big "),
        "",
        f"{OWNER} bucket [06/Feb/2019:00:00:38 +0000] short",
        LINE.replace('"aws-cli', "aws-cli"),  # the user agent lost its opening quote: more fields
        LINE,
    ]
    data = "\n".join(lines).encode()
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 8]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons == {
        2: "field 'requestdatetime' is not a time like 06/Feb/2019:00:00:38 +0000: '06/Feb/2019:00:00:38+0000'",
        3: "field 'requestdatetime' is not a time like 06/Feb/2019:00:00:38 +0000: '31/Feb/2019:00:00:38 +0000'",
        4: "field 'objectsize' must be a number or '-', found 'big'",
        6: "expected at least 17 space-separated fields, found 4",
        7: "field 'sigv' is not a signature version: 'exe/x86_64.amzn.2\"'",
    }
    accounted(parsed, data)


def test_sniffed_by_content_only():
    head = read(SAMPLE)[:4096]
    assert [m.NAME for m in registry.formats().values() if m.sniff(head, "logs/2019-02-06-00-00-38-ABC")] == [
        "s3access"
    ]
    assert registry.detect(head, "logs/2019-02-06-00-00-38-ABC").NAME == "s3access"
    assert s3access.KEY_SERVICES == ()
    assert not s3access.sniff(read("awsdocs/alb.log"), "x")
    assert not s3access.sniff(b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326', "x")


# ------------------------------------------------------------------------------------------------ generated

_WORD = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/=+-%"), min_size=1
).filter(lambda s: s != "-")
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\n\r'), min_size=1).filter(
    lambda s: s != "-"
)
_TIME = st.datetimes(dt.datetime(2006, 3, 1), dt.datetime(2035, 1, 1)).map(lambda t: t.replace(microsecond=0))
_ZONE = st.sampled_from([dt.timedelta(0)] * 4 + [dt.timedelta(hours=-7), dt.timedelta(hours=5, minutes=30)])
NAMES = [name for name, _ in s3access.COLUMNS]


@st.composite
def s3_records(draw) -> dict:
    opt = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    record = {
        "bucketowner": opt(st.sampled_from([OWNER, "a" * 64])),
        "bucket_name": draw(st.sampled_from(["amzn-s3-demo-bucket1", "logs.example.com", "b-1"])),
        "time": draw(_TIME).replace(tzinfo=dt.timezone(draw(_ZONE))),
        "remoteip": opt(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)),
        "requester": opt(st.one_of(_WORD, st.just("arn:aws:iam::123456789012:user/alice"))),
        "requestid": draw(_WORD),
        "operation": draw(
            st.sampled_from(["REST.GET.OBJECT", "REST.PUT.OBJECT", "BATCH.DELETE.OBJECT", "S3.EXPIRE.OBJECT"])
        ),
        "key": opt(_WORD),
        "request_uri": opt(_TEXT),
        "httpstatus": opt(st.integers(100, 599).map(str)),
        "errorcode": opt(_WORD),
        "bytessent": opt(st.integers(0, 2**50)),
        "objectsize": opt(st.integers(0, 2**50)),
        "totaltime": opt(st.integers(0, 10**6).map(str)),
        "turnaroundtime": opt(st.integers(0, 10**6).map(str)),
        "referrer": opt(_TEXT),
        "useragent": opt(_TEXT),
    }
    for name in NAMES[len(record) :]:
        record[name] = opt(_WORD)
    record["sigv"] = opt(st.sampled_from(["SigV2", "SigV4", "SigV4A"]))
    record["fields"] = draw(st.integers(17, 27))  # how many the line has: older layouts end earlier
    record["extra"] = draw(st.lists(_WORD, max_size=2)) if record["fields"] == 27 else []
    return record


def s3_line(r: dict) -> str:
    dash = lambda v: "-" if v is None else str(v)  # noqa: E731
    out = []
    for name in NAMES[: r["fields"]]:
        value = r[name] if name != "requestdatetime" else None
        if name == "requestdatetime":
            out.append(r["time"].strftime("[%d/%b/%Y:%H:%M:%S %z]"))
        elif name in ("request_uri", "referrer", "useragent"):
            out.append(f'"{dash(value)}"')
        else:
            out.append(dash(value))
    return " ".join(out + r["extra"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(s3_records(), min_size=1, max_size=6))
def test_generated_records_parse_back_to_their_values(records):
    data = "\n".join(s3_line(r) for r in records) + "\n"
    parsed = parse(data)
    assert parsed.rejects == []
    for i, (r, row) in enumerate(zip(records, parsed.rows.to_pylist(), strict=True)):
        assert row["lake_row"] == i + 1
        assert row["requestdatetime"] == r["time"].strftime("%d/%b/%Y:%H:%M:%S %z")
        assert row["lake_time"] == r["time"]
        for name in NAMES:
            if name != "requestdatetime":
                assert row[name] == (r[name] if NAMES.index(name) < r["fields"] else None), name
        assert row["unmapped"] == (orjson.dumps(r["extra"]).decode() if r["extra"] else None)
        assert row["lake_ips"] == ([r["remoteip"]] if r["remoteip"] else [])


def _mutations():
    base = read(SAMPLE) + (LINE + "\n").encode()
    edit = st.tuples(
        st.integers(0, len(base) - 1),
        st.integers(0, 3),
        st.sampled_from([b'"', b" ", b"\n", b"\r", b"[", b"]", b"-", b"/", b"\xc3", b"\x00", b"7", b""]),
    )
    return base, st.lists(edit, min_size=1, max_size=12)


BASE, EDITS = _mutations()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_random_byte_mutations_never_raise(edits):
    data = bytearray(BASE)
    for where, cut, byte in edits:
        at = min(where, len(data))
        data[at : at + cut] = byte
    data = bytes(data)
    parsed = parse(data)
    if parsed.part is not None:
        parsed.rows  # noqa: B018 (to_arrow must work on whatever was kept)
    accounted(parsed, data.decode("utf-8", errors="backslashreplace").encode())


@pytest.mark.parametrize("name", ["awsdocs/nlb-tls.log", "awsdocs/elb-classic.log", "loki/nlbaccesslog.log.gz"])
def test_other_samples_are_not_s3(name):
    assert not s3access.sniff(read(name)[:4096], name)
