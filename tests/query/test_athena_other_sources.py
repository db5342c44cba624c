"""AWS's documented Athena queries for the other sources run here with --dialect athena, on a lake holding
that source's real-shaped samples (tests/fixtures). Rows are asserted where the samples hold matching data;
where AWS's own query is broken, the corrected form runs instead and a comment says what was wrong."""

from __future__ import annotations

import shutil

import pytest

from loglake.query import dialects, engine
from tests.ingest.helpers import run_cli
from tests.query.athena import FIXTURES, example_queries

SAMPLES = FIXTURES.parent
SOURCES = {  # doc file -> (format, fixture samples)
    "cloudfront": ("cloudfront", ["awsdocs/cloudfront-standard.log", "loki/cloudfront.log.gz"]),
    "waf": ("waf", ["awsdocs/waf-examples.jsonl", "loki/waflog.log.gz"]),
    "route53-resolver": ("route53", ["awsdocs/route53-resolver-query-log.jsonl"]),
    "alb": ("alb", ["awsdocs/alb.log", "loki/albaccesslog.log.gz"]),
    "elb-classic": ("elb", ["awsdocs/elb-classic.log"]),
    "nlb": ("nlb", ["awsdocs/nlb-tls.log", "loki/nlbaccesslog.log.gz"]),
    "s3-access-logs": ("s3access", ["awsdocs/s3-server-access.log"]),
}
# AWS's S3 access-log queries carry doc defects (INDEX.md): three read `FROM s3_access_logs_db`, a database,
# not a table (s3access.ATHENA_TABLES maps that name too, so they run as the authors meant), and one has a
# trailing comma in its select list, which sqlglot's Athena reader accepts. Both run unchanged here.
AT_LEAST_ONE_ROW = {("cloudfront", 1), ("waf", 4), ("waf", 11), ("route53-resolver", 0), ("route53-resolver", 1)}


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    built = {}
    for source, (fmt, samples) in SOURCES.items():
        root = tmp_path_factory.mktemp(source)
        for sample in samples:
            shutil.copy(SAMPLES / sample, root / sample.replace("/", "-"))
        result = run_cli("ingest", str(root), "--lake", str(root / "lake"), "--format", fmt)
        assert result.returncode == 0, result.stderr
        built[source] = root / "lake"
    return built


CASES = [(source, i) for source in SOURCES for i in range(len(example_queries(source)))]


@pytest.mark.parametrize(("source", "index"), CASES)
def test_documented_query_runs(lakes, source, index):
    sql = example_queries(source)[index]
    con = engine.connect(lakes[source], dialect="athena")
    rows = con.execute(dialects.to_duckdb(sql, "athena")).fetchall()
    if (source, index) in AT_LEAST_ONE_ROW:
        assert rows, sql
