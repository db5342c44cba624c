"""`loglake coverage`: a configured log source is missing or stale when its logs stop arriving."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import resource
from tests.context.estate import REGION, bucket, instance, snapshot, write_flow_lines
from tests.ingest.helpers import ACCOUNT
from tests.posture.conftest import run_cli

OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
RESTRICTED = {"Classification": "restricted"}
LOGGING_ON = {"logging": {"target_bucket": "central-access-logs", "target_prefix": ""}}


def access_line(bucket_name: str, at: dt.datetime) -> str:
    """One server access log record for `bucket_name` at `at`, as S3 writes it."""
    return (
        f"{OWNER} {bucket_name} [{at:%d/%b/%Y:%H:%M:%S} +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.OBJECT"
        f' photos/puppy.jpg "GET /{bucket_name}/photos/puppy.jpg HTTP/1.1" 200 - 113 113 7 6 "-"'
        ' "aws-cli/2.13.0 Python/3.11.4 Linux/5.10 exe/x86_64.amzn.2" -'
        " s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4"
        f" ECDHE-RSA-AES128-GCM-SHA256 AuthHeader {bucket_name}.s3.eu-west-1.amazonaws.com TLSv1.3 - - eu-west-1"
    )


def write_access_log(raw: Path, lines: list[str], delivered: dt.datetime) -> None:
    folder = raw / "central-access-logs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{delivered:%Y-%m-%d-%H-%M-%S}-0A1B2C3D4E5F6071").write_text("\n".join(lines) + "\n")


def _bucket_with_logging(name: str) -> dict:
    res = bucket(name, RESTRICTED)
    res["config"] = dict(LOGGING_ON)
    return res


def test_coverage_marks_sources_ok_stale_missing_and_off(capsys, tmp_path, lake):
    live, stopped = _bucket_with_logging("prod-live"), _bucket_with_logging("prod-stopped")
    silent = _bucket_with_logging("prod-silent")
    snapshot(
        lake,
        NOW - dt.timedelta(days=5),
        [live, stopped, silent, bucket("prod-off", RESTRICTED), instance("i-0aaa", "10.0.1.23", "eni-0aaa", {})],
    )
    raw = tmp_path / "raw"
    # prod-stopped's logs stopped three days ago although its setting is still on; prod-live's keep coming
    write_access_log(raw, [access_line("prod-stopped", NOW - dt.timedelta(days=3))], NOW - dt.timedelta(days=3))
    write_access_log(raw, [access_line("prod-live", NOW - dt.timedelta(hours=1))], NOW - dt.timedelta(minutes=50))
    write_flow_lines(raw, "a", [(NOW - dt.timedelta(hours=2), "eni-0aaa", "198.51.100.7", "10.0.1.23", "ACCEPT")])
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=1))

    code, out, err = run_cli(capsys, "coverage", "--lake", str(lake), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    access = {r["asset"]: r["status"] for r in rows if r["check_id"] == "s3.server_access_logging"}
    assert access == {"prod-live": "ok", "prod-stopped": "stale", "prod-silent": "missing", "prod-off": "off"}
    stopped_row = next(r for r in rows if r["asset"] == "prod-stopped" and r["check_id"] == "s3.server_access_logging")
    assert stopped_row["last_seen"].startswith((NOW - dt.timedelta(days=3)).date().isoformat())
    assert stopped_row["source"] == "s3_access_logs"

    # a wider window: three days old is no longer stale
    code, out, _ = run_cli(capsys, "coverage", "--lake", str(lake), "--format", "json", "--stale-hours", "100")
    assert {r["asset"]: r["status"] for r in json.loads(out) if r["check_id"] == "s3.server_access_logging"}[
        "prod-stopped"
    ] == "ok"
    code, out, _ = run_cli(capsys, "coverage", "--lake", str(lake), "--format", "csv")
    assert code == 0 and "prod-silent,AWS::S3::Bucket,restricted,full,s3.server_access_logging" in out


def _vpc(vpc_id: str) -> dict:
    flow_log = {"id": f"fl-{vpc_id}", "traffic_type": "REJECT", "status": "ACTIVE", "destination_type": "s3"}
    return resource(
        arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc_id}", type=t.VPC, service="ec2", name=vpc_id, region=REGION,
        account=ACCOUNT, vpc_id=vpc_id,
        config={"vpc_id": vpc_id, "internet_gateway": False, "subnets": [], "flow_logs": [flow_log]},
    )  # fmt: skip


def test_a_vpc_s_flows_are_those_of_the_assets_in_it(capsys, tmp_path, lake):
    quiet = instance("i-0b", "10.1.1.9", "eni-0b", {})
    quiet["vpc_id"] = "vpc-0b"
    snapshot(
        lake,
        NOW - dt.timedelta(days=1),
        [_vpc("vpc-0a"), _vpc("vpc-0b"), instance("i-0a", "10.0.1.9", "eni-0a", {}), quiet],
    )
    # default-format (v2) flows carry no vpc-id: the interface's instance says which VPC recorded them
    write_flow_lines(
        tmp_path / "raw", "v", [(NOW - dt.timedelta(hours=1), "eni-0a", "198.51.100.7", "10.0.1.9", "REJECT")]
    )
    ingest(IngestOptions(sources=[str(tmp_path / "raw")], lake=lake, workers=1))
    code, out, err = run_cli(capsys, "coverage", "--lake", str(lake), "--format", "json")
    assert code == 0, err
    flows = {r["asset"]: r["status"] for r in json.loads(out) if r["check_id"] == "vpc.flow_logs.reject"}
    assert flows == {"vpc-0a": "ok", "vpc-0b": "missing"}


def test_coverage_without_assets_names_the_fix(capsys, tmp_path, lake):
    write_flow_lines(tmp_path / "raw", "a", [(NOW, "eni-0aaa", "198.51.100.7", "10.0.1.23", "ACCEPT")])
    ingest(IngestOptions(sources=[str(tmp_path / "raw")], lake=lake, workers=1))
    code, _, err = run_cli(capsys, "coverage", "--lake", str(lake))
    assert code == 1 and "loglake inventory --lake" in err
