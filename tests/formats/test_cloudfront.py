"""CloudFront standard logs: the samples, header-driven field order, URL decoding, bad lines, generated records."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import cloudfront, cloudtrail, registry, vpcflow
from loglake.formats.base import ObjectInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {  # file -> (records, rejects)
    "awsdocs/cloudfront-standard.log": (6, 0),  # its 3rd record ends with a stray tab (a doc artefact): read
    "loki/cloudfront.log.gz": (2, 0),
}
HEADER = b"#Version: 1.0\n#Fields: " + " ".join(cloudfront.DEFAULT_FORMAT).encode() + b"\n"
LINE = (
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\t"
    "curl/7.55.1\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net"
    "\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html"
    "\t78\t-\t-"
)


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parse(data: bytes, uri: str = "mem://x"):
    return cloudfront.parse(data, ObjectInfo(uri))


def line(**changes: str) -> str:
    """LINE with some fields replaced, by their column names."""
    values = LINE.split("\t")
    columns = [column for _, column, _, _ in cloudfront.FIELDS]
    for name, value in changes.items():
        values[columns.index(name)] = value
    return "\t".join(values)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses(name):
    data = read(name)
    parsed = parse(data)
    assert (parsed.records, len(parsed.rejects)) == SAMPLES[name]
    assert parsed.rows.schema == cloudfront.SCHEMA


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_are_sniffed_as_cloudfront_only(name):
    head = read(name)[:65536]
    assert cloudfront.sniff(head, name)
    assert not cloudtrail.sniff(head, name)
    assert not vpcflow.sniff(head, name)
    assert registry.detect(head, name) is cloudfront


def test_other_content_is_not_sniffed_as_cloudfront():
    assert not cloudfront.sniff(read("awsdocs/vpcflow-v2-default-format.log"), "x.log")
    assert not cloudfront.sniff(read("awsdocs/cloudtrail-log-file-examples.json"), "x.json")
    assert not cloudfront.sniff(b"#Software: Microsoft Internet Information Services\n#Fields: date time s-ip\n", "x")
    assert cloudfront.sniff(LINE.encode() + b"\n", "x")  # no header: the first fields say it


def test_documented_field_values():
    rows = parse(read("awsdocs/cloudfront-standard.log")).rows.to_pylist()
    first = rows[0]
    assert first["date"] == dt.date(2019, 12, 4)
    assert (first["time"], first["location"], first["bytes"], first["request_ip"]) == (
        "21:02:31",
        "LAX1",
        392,
        "192.0.2.100",
    )
    assert (first["method"], first["host"], first["uri"], first["status"]) == (
        "GET",
        "d111111abcdef8.cloudfront.net",
        "/index.html",
        200,
    )
    assert first["referrer"] is None and first["query_string"] is None and first["cookie"] is None
    assert first["user_agent"] == (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/78.0.3904.108 Safari/537.36"
    )
    assert first["request_id"] == "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ=="
    assert (first["request_protocol"], first["request_bytes"], first["ssl_protocol"]) == ("https", 23, "TLSv1.2")
    assert first["time_taken"] == pytest.approx(0.001)
    assert (first["response_result_type"], first["http_version"], first["c_port"]) == ("Hit", "HTTP/2.0", 11040)
    assert (first["fle_status"], first["fle_encrypted_fields"], first["sc_range_start"]) == (None, None, None)
    assert (first["sc_content_type"], first["sc_content_len"], first["x_edge_detailed_result_type"]) == (
        "text/html",
        78,
        "Hit",
    )
    assert first["lake_time"].isoformat() == "2019-12-04T21:02:31+00:00"
    assert first["lake_ips"] == ["192.0.2.100"]
    assert first["origin_fbl"] is None and first["unmapped"] is None
    assert [r["lake_row"] for r in rows] == [3, 4, 5, 6, 7, 8]  # physical lines: two header lines first
    error = rows[3]
    assert (error["location"], error["status"], error["referrer"], error["host_header"]) == (
        "SEA19-C1",
        502,
        "http://www.example.com/",
        "www.example.com",
    )
    assert (error["result_type"], error["x_edge_detailed_result_type"]) == ("Error", "OriginDnsError")
    assert rows[5]["user_agent"] == "curl/7.55.1"


def test_forwarded_addresses_are_kept_as_logged_and_hunted():
    rows = parse(read("loki/cloudfront.log.gz")).rows.to_pylist()
    assert rows[0]["xforwarded_for"] == "10.3.200.121,\\x2010.56.14.213"
    assert rows[0]["lake_ips"] == ["13.231.15.129", "10.3.200.121", "10.56.14.213"]
    assert rows[0]["referrer"] == "https://myapp.staging.domain.com/"
    assert rows[1]["sc_content_type"] == "binary/octet-stream"


def test_repeated_headers_start_segments_with_their_own_order():
    other = (
        b"#Version: 1.0\n#Fields: c-ip date time sc-status future-field\n10.0.0.9\t2024-05-01\t10:00:00\t404\thello\n"
    )
    data = HEADER + LINE.encode() + b"\n" + other + HEADER + LINE.encode() + b"\n"
    rows = parse(data).rows.to_pylist()
    assert [(r["request_ip"], r["status"], r["lake_row"]) for r in rows] == [
        ("192.0.2.100", 200, 3),
        ("10.0.0.9", 404, 6),
        ("192.0.2.100", 200, 9),
    ]
    assert rows[1]["unmapped"] == '{"future-field":"hello"}'
    assert rows[1]["lake_time"].isoformat() == "2024-05-01T10:00:00+00:00"
    assert rows[1]["method"] is None


def test_newer_fields_are_columns_and_headerless_lines_use_the_documented_order():
    extended = LINE + "\t0.250\t0.300\t16509\tUS\t/api/*"
    data = f"{LINE}\n{extended}\n".encode()
    parsed = parse(data)
    assert parsed.records == 1  # a headerless file: the first line decides 33 fields; the 38-field line is odd
    assert parsed.rejects[0].row == 2
    row = parse(f"{extended}\n".encode()).rows.to_pylist()[0]
    assert (row["origin_fbl"], row["asn"], row["c_country"], row["cache_behavior_path_pattern"]) == (
        pytest.approx(0.25),
        16509,
        "US",
        "/api/*",
    )
    header = HEADER.rstrip(b"\n") + b" origin-fbl origin-lbl asn c-country cache-behavior-path-pattern\n"
    row = parse(header + extended.encode()).rows.to_pylist()[0]
    assert (row["origin_lbl"], row["c_country"], row["lake_row"]) == (pytest.approx(0.3), "US", 3)


@pytest.mark.parametrize(
    ("logged", "value"),
    [
        ("Mozilla/5.0%20(X11)", "Mozilla/5.0 (X11)"),
        ("q=a%2520b", "q=a%20b"),  # the viewer sent %20: CloudFront encoded its '%'; decoded once only
        ("%%41", "%A"),
        ("100%", "100%"),
        ("50%-off%2", "50%-off%2"),
        ("caf%C3%A9", "café"),
        ("%FF%FE", "%FF%FE"),  # not UTF-8 once decoded: kept as logged
        ("%e2%82%ac", "€"),
    ],
)
def test_url_decoding_of_free_text_fields(logged, value):
    row = parse(HEADER + line(query_string=logged, user_agent=logged).encode()).rows.to_pylist()[0]
    assert row["query_string"] == value


def test_escapes_never_span_two_values():
    values = pa.array(["ab%2", "0cd", None, "%41", "%4"])
    assert cloudfront.url_decode(values).to_pylist() == ["ab%2", "0cd", None, "A", "%4"]
    sliced = pa.array(["x", "%41%42", "%43"])[1:]
    assert cloudfront.url_decode(sliced).to_pylist() == ["AB", "C"]


def test_fields_cloudfront_does_not_decode_are_kept_as_logged():
    row = parse(HEADER + line(request_id="abc%20def").encode()).rows.to_pylist()[0]
    assert row["request_id"] == "abc%20def"


def test_good_lines_are_kept_and_junk_lines_rejected_with_their_line_numbers():
    junk = {
        4: "just some text",
        6: line(status="abc"),
        7: line(date="2019-13-45"),
        9: line(time="25:00:00"),
        10: line(c_port="99999999999"),
        12: "#not a directive",
        13: line(time_taken="fast"),
        15: "\t".join(LINE.split("\t")[:-1]),
    }
    lines = []
    for number in range(3, 17):
        if number in junk:
            lines.append(junk[number])
        elif number in (5, 14):
            lines.append("")
        else:
            lines.append(line(bytes=str(number)))
    data = HEADER + ("\n".join(lines) + "\n").encode() + b"\xff\xfe" + LINE.encode()[2:] + b"\n"
    parsed = parse(data)
    rows = parsed.rows.to_pylist()
    assert [r["lake_row"] for r in rows] == [3, 8, 11, 16]
    assert [r["bytes"] for r in rows] == [3, 8, 11, 16]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert sorted(reasons) == [4, 6, 7, 9, 10, 12, 13, 15, 17]
    assert reasons[4] == "expected 33 tab-separated fields, found 1"
    assert reasons[6] == "field 'sc-status' must be a number or '-', found 'abc'"
    assert reasons[7].startswith("field 'date' must be a date")
    assert reasons[9].startswith("field 'time' must be a time")
    assert reasons[10].startswith("field 'c-port' must be a number")
    assert reasons[12].startswith("a '#' line")
    assert reasons[13].startswith("field 'time-taken' must be a decimal number")
    assert reasons[15] == "expected 33 tab-separated fields, found 32"
    assert reasons[17].startswith("field 'date' must be")
    assert [r.raw for r in parsed.rejects if r.row == 6] == [line(status="abc")]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"date": "2019-02-29"}, "field 'date' must be a date"),
        ({"date": "0000-01-01"}, "field 'date' must be a date"),
        ({"time": "23:59:60"}, "field 'time' must be a time"),
        ({"status": "2000000000000"}, "field 'sc-status' must be a number"),
        ({"bytes": "12 34"}, "field 'sc-bytes' must be a number"),
    ],
)
def test_values_that_are_not_of_their_type(change, reason):
    parsed = parse(HEADER + (LINE + "\n" + line(**change) + "\n").encode())
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [3]
    assert [(r.row, r.reason.startswith(reason)) for r in parsed.rejects] == [(4, True)]


def test_rows_read_the_slow_way_equal_rows_read_the_fast_way():
    good = [line(bytes=str(n), user_agent=f"agent%20{n}", query_string=f"a=%25{n}") for n in range(5)]
    fast = parse(HEADER + ("\n".join(good) + "\n").encode()).rows.drop_columns(["lake_ingested_at"])
    slow = parse(HEADER + ("\n".join([*good, line(status="x")]) + "\n").encode())
    assert slow.rows.drop_columns(["lake_ingested_at"]).to_pylist() == fast.to_pylist()
    mixed = parse(HEADER + ("\n".join([*good, line(status="x")]) + "\n").encode() + b"caf\xc3\xa9\tx\n")
    assert mixed.rows.drop_columns(["lake_ingested_at"]).to_pylist() == fast.to_pylist()


def test_a_bare_carriage_return_rejects_only_its_line():
    data = HEADER + (LINE + "\r\n" + line(user_agent="a\rb") + "\r\n" + LINE + "\r\n").encode()
    parsed = parse(data)
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [3, 5]
    assert [(r.row, r.reason) for r in parsed.rejects] == [(4, "a carriage return inside the line")]


def test_crlf_files_and_blank_lines():
    data = HEADER.replace(b"\n", b"\r\n") + (LINE + "\r\n\r\n   \r\n" + LINE + "\r\n").encode()
    parsed = parse(data)
    assert parsed.rejects == []
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [3, 6]


def test_w3c_view_gives_the_live_aws_column_names():
    parsed = parse(read("awsdocs/cloudfront-standard.log"), "s3://b/cf/E2ABCDEF123456.2019-12-04-21.a1b2c3d4.gz")
    con = duckdb.connect()
    con.register(cloudfront.TABLE, parsed.rows)
    for view, sql in cloudfront.VIEWS.items():
        con.execute(f'CREATE VIEW "{view}" AS {sql}')
    cursor = con.execute(
        "SELECT c_ip, cs_method, cs_uri_stem, sc_status, cs_referrer, x_edge_location, sc_bytes, cs_protocol_version,"
        " lake_row FROM cloudfront_standard_logs WHERE x_edge_detailed_result_type = 'OriginDnsError' ORDER BY lake_row"
    )
    assert cursor.fetchone() == (
        "192.0.2.200",
        "GET",
        "/favicon.ico",
        502,
        "http://www.example.com/",
        "SEA19-C1",
        900,
        "HTTP/1.1",
        6,
    )
    names = [d[0] for d in con.execute("SELECT * FROM cloudfront_standard_logs LIMIT 0").description]
    assert names[:10] == [
        "date",
        "time",
        "x_edge_location",
        "sc_bytes",
        "c_ip",
        "cs_method",
        "cs_host",
        "cs_uri_stem",
        "sc_status",
        "cs_referrer",
    ]
    partitions = ", ".join(f"{sql} AS {name}" for name, sql in cloudfront.ATHENA_COLUMNS.items())
    assert con.execute(f"SELECT {partitions} FROM {cloudfront.TABLE} LIMIT 1").fetchone() == (
        "E2ABCDEF123456",
        2019,
        12,
        4,
        21,
    )


# --- generated records written out as CloudFront writes them -------------------------------------------------

_ENCODED = set(b"<>\"#%{}|\\^~[]`' ")


def cloudfront_encode(value: str) -> str:
    """What CloudFront writes for a value: bytes 0-32, 127+ and the documented characters as %XX."""
    return "".join(f"%{b:02X}" if b <= 32 or b >= 127 or b in _ENCODED else chr(b) for b in value.encode())


TOKEN = st.from_regex(r"\A[A-Za-z0-9._:/=+]{1,24}\Z")
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(lambda v: v != "-")
FLOAT = st.integers(0, 10**6).map(lambda v: v / 1000)
KINDS = {  # column -> values it may hold (None is written '-')
    "date": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    "time": st.times().map(lambda t: t.replace(microsecond=0)),
    "location": st.from_regex(r"\A[A-Z]{3}[0-9]{1,2}(-C[0-9])?\Z"),
    "bytes": st.integers(0, 2**50),
    "request_ip": st.ip_addresses().map(str),
    "method": st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    "status": st.integers(0, 999),
    "time_taken": FLOAT,
    "time_to_first_byte": FLOAT,
    "origin_fbl": FLOAT,
    "fle_encrypted_fields": st.integers(0, 2**31 - 1),
    "c_port": st.integers(0, 65535),
    "asn": st.integers(0, 2**32 - 1),
    "sc_range_end": st.integers(-(2**62), 2**62),
    "xforwarded_for": st.lists(st.ip_addresses().map(str), min_size=1, max_size=3).map(", ".join),
}
FREE_TEXT = {"uri", "referrer", "user_agent", "query_string", "cookie", "sc_content_type"}
COLUMNS = {column: (field, kind) for field, column, _, kind in cloudfront.FIELDS}


def strategy(column: str):
    if column in KINDS:
        return KINDS[column]
    if column in FREE_TEXT:
        return TEXT
    kind = COLUMNS[column][1]
    if kind == pa.int64():
        return st.integers(0, 2**62)
    if kind == pa.int32():
        return st.integers(0, 2**31 - 1)
    if kind == pa.float32():
        return FLOAT
    return TOKEN.filter(lambda v: v != "-")


def written(column: str, value) -> str:
    if value is None:
        return "-"
    if column == "xforwarded_for":
        return value.replace(" ", "\\x20")
    if column in FREE_TEXT:
        return cloudfront_encode(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value)


def expected(column: str, value):
    if value is None:
        return None
    if column == "xforwarded_for":  # not decoded: kept as logged
        return written(column, value)
    if column == "time":
        return value.strftime("%H:%M:%S")
    if COLUMNS[column][1] == pa.float32():
        return float(np.float32(value))
    return value


@st.composite
def log_files(draw):
    columns = draw(st.permutations([c for _, c, _, _ in cloudfront.FIELDS]))
    columns = columns[: draw(st.integers(10, len(columns)))]
    records = draw(
        st.lists(st.fixed_dictionaries({c: st.one_of(st.none(), strategy(c)) for c in columns}), min_size=1, max_size=8)
    )
    header = "#Version: 1.0\n#Fields: " + " ".join(COLUMNS[c][0] for c in columns) + "\n"
    body = "".join("\t".join(written(c, r[c]) for c in columns) + "\n" for r in records)
    return (header + body).encode(), columns, records


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_files())
def test_generated_records_parse_back_to_their_values(generated):
    data, columns, records = generated
    parsed = parse(data)
    assert parsed.rejects == []
    rows = parsed.rows.to_pylist()
    assert len(rows) == len(records)
    for row, record, number in zip(rows, records, range(3, 3 + len(records)), strict=True):
        assert row["lake_row"] == number
        for column in columns:
            assert row[column] == expected(column, record[column]), column
        if record.get("date") is not None:
            clock = record.get("time") or dt.time()
            assert row["lake_time"] == dt.datetime.combine(record["date"], clock, dt.UTC)
        ips = [record.get("request_ip"), *(record.get("xforwarded_for") or "").split(", ")]
        wanted = list(dict.fromkeys(str(ipaddress.ip_address(ip)) for ip in ips if ip))
        assert row["lake_ips"] == wanted


REAL_LINES = [
    *read("awsdocs/cloudfront-standard.log").split(b"\n")[2:7],
    *read("loki/cloudfront.log.gz").split(b"\n")[2:],
]
DIRECTIVES = (b"#Version:", b"#Fields:", b"#Software:", b"#Date:", b"#Start-Date:", b"#End-Date:", b"#Remark:")


@st.composite
def mutated_files(draw):
    body = bytearray(b"\n".join(draw(st.lists(st.sampled_from(REAL_LINES), min_size=1, max_size=6))) + b"\n")
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body) - 1))
        byte = draw(st.one_of(st.integers(0, 255), st.sampled_from(list(b"\t\n\r%-#:. 0123456789"))))
        operation = draw(st.sampled_from(["replace", "insert", "delete"]))
        if operation == "replace":
            body[at] = byte
        elif operation == "insert":
            body.insert(at, byte)
        else:
            del body[at]
    return HEADER + bytes(body)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_mutated_lines_never_raise_and_each_lands_as_a_row_or_a_reject(data):
    parsed = parse(data)
    rows = [] if parsed.part is None else parsed.rows.column("lake_row").to_pylist()
    rejected = [r.row for r in parsed.rejects]
    lines = data.split(b"\n")
    data_lines = [i for i, text in enumerate(lines, 1) if i > 2 and text.strip() and not text.startswith(DIRECTIVES)]
    assert sorted(rows + rejected) == data_lines
    assert all(r.reason for r in parsed.rejects)
