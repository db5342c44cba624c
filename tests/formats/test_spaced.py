"""The space-separated tokenizer: one regex call per line follows the reader's rules, and the native fast path
(pyarrow's CSV reader over a whole object) gives what splitting every line in Python gives, on every sample of
the spaced formats and on the demo generator's lines with hand-made edge cases mixed in."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loglake.demo import generate_raw_logs
from loglake.formats import alb, cloudfront, registry, s3access, spaced
from loglake.ingest.decompress import decompress
from tests.formats.test_alb import FAMILY, LINE, accounted, both_ways, read


def reference_tokens(line: str, quoted: bool, bracketed: int | None) -> list[str]:
    """The rules, one character at a time: single spaces separate fields; a field starting with '"' runs to the
    next '"' anywhere on the line (then on to the next space); the field at `bracketed` starting with '[' runs to
    the first ']' followed by a space or the end; an unclosed quote or bracket is an ordinary character."""
    out, pos = [], 0
    while True:
        closing = line.find('"', pos + 1) if quoted and line.startswith('"', pos) else -1
        bracket = -1
        if len(out) == bracketed and line.startswith("[", pos):
            bracket = next(
                (i for i in range(pos + 1, len(line)) if line[i] == "]" and line[i + 1 : i + 2] in ("", " ")), -1
            )
        if closing >= 0:
            space = line.find(" ", closing)
            space = len(line) if space < 0 else space
            out.append(line[pos + 1 : closing] + line[closing + 1 : space])
        elif bracket >= 0:
            out.append(line[pos + 1 : bracket])
            space = bracket + 1
        else:
            space = line.find(" ", pos)
            space = len(line) if space < 0 else space
            out.append(line[pos:space])
        if space >= len(line):
            return out
        pos = space + 1
        if pos == len(line):
            return [*out, ""]


_LINES = st.text(st.sampled_from(["a", "b", " ", " ", '"', "[", "]", "-", ":", "é"]), max_size=24)


@settings(max_examples=400, deadline=None)
@given(_LINES, st.booleans(), st.sampled_from([None, 0, 1, 2]), st.sampled_from([None, 0, 3]))
def test_tokens_follow_the_rules(line, quoted, bracketed, limit):
    expected = reference_tokens(line, quoted, bracketed)
    expected = expected if limit is None else expected[: limit + 1]
    assert spaced.tokens(line, quoted=quoted, bracketed=bracketed, limit=limit) == expected


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_every_spaced_sample_reads_the_same_both_ways(name):
    """The samples of ALB, Classic ELB, NLB and S3 access logs, each repeated into an object large enough for the
    reader, with a truncated copy of its first line at the end."""
    module = registry.formats()[FAMILY[name]]
    lines = [line for line in read(name).split(b"\n") if line.strip()]
    data = b"\n".join(lines * (1 + 200 // len(lines))) + b"\n" + lines[0][: len(lines[0]) // 2]
    parsed = both_ways(module, data)
    assert parsed.records >= 200
    accounted(parsed, data)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, bytes]:
    """The demo generator's ALB, S3 access and CloudFront objects, each format's lines as one object."""
    raw = tmp_path_factory.mktemp("demo")
    generate_raw_logs(raw, days=1, scale=0.005, workers=1, end=dt.datetime(2026, 11, 3))
    found: dict[str, list[bytes]] = {}
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        data, _ = decompress(path.read_bytes(), str(path))
        module = registry.detect(data[:65536], str(path))
        if module in (alb, s3access, cloudfront):
            found.setdefault(module.NAME, []).append(data)
    return {name: b"".join(objects) for name, objects in found.items()}


S3_LINE = (
    "79a5 awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.VERSIONING -"
    ' "GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" -'
    " s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4"
    " ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -"
)
EDGE_LINES = {
    "alb": [
        LINE.replace('"curl/7.46.0"', '"Mozilla/5.0 (X11; Linux) \\"quoted\\" agent"'),  # spaces, escaped quotes
        LINE.replace("192.168.131.39:2817", "[2001:db8::1]:443").replace(" - 0.000", " [2001:db8::2]:80 0.000"),
        LINE.replace('"GET http://www.example.com:80/ HTTP/1.1"', '"- - - "').replace(" 200 200 ", " 400 - "),
        LINE.replace(" 0.000 0.001 0.000", " -1 -1 -1"),
        LINE[: len(LINE) // 2],  # truncated
        LINE + ' "new trailing field" 10.0.0.1',
    ],
    "s3access": [
        S3_LINE.replace("192.0.2.3", "2001:db8::1").replace('"S3Console/0.4"', '"Mozilla/5.0 (X11; Linux x86_64)"'),
        S3_LINE.replace('"S3Console/0.4"', '"S3Console/0.4 \\"x\\" y"'),  # an escaped quote: shifts the fields
        S3_LINE.replace(' - "GET', ' - - "GET').replace(" 200 - 113", " 200 - - -"),
        S3_LINE[:90],  # truncated
    ],
}


@pytest.mark.parametrize("name", ["alb", "s3access"])
def test_demo_lines_with_edge_cases_read_the_same_both_ways(demo, name):
    module = registry.formats()[name]
    lines = demo[name].rstrip(b"\n").split(b"\n")
    edges = [line.encode() for line in EDGE_LINES[name]]
    mixed = [line for i, good in enumerate(lines) for line in ([good, edges[i % len(edges)]] if i % 7 == 0 else [good])]
    data = b"\n".join(mixed) + b"\n"
    parsed = both_ways(module, data)
    assert parsed.records >= len(lines)  # every demo line is a row (and the edge lines that are well-formed)
    assert parsed.rejects  # the truncated ones are not
    accounted(parsed, data)
    ips = parsed.rows.column("client_ip" if name == "alb" else "remoteip").to_pylist()
    assert "2001:db8::1" in ips


def test_demo_cloudfront_reads_the_same_line_by_line(demo, monkeypatch):
    data = demo["cloudfront"]
    fast = cloudfront.parse(data, spaced.ObjectInfo("mem://cf"))
    monkeypatch.setattr(
        cloudfront, "_parse_segment", lambda data, segment, ascii_only: cloudfront._parse_lines(data, segment)
    )
    slow = cloudfront.parse(data, spaced.ObjectInfo("mem://cf"))
    assert fast.records == slow.records > 0
    assert fast.rejects == slow.rejects
    assert fast.part.data.to_pylist() == slow.part.data.to_pylist()
