"""`loglake cost --lake`: a day of the demo's logs ingested by the real pipeline; the sources the lake holds are
costed from its bytes (per resource that logs them today), the others from the stated defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loglake.demo import DemoManifest
from loglake.ingest.pipeline import IngestOptions, ensure_tables, ingest
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory, resource, save_inventory
from loglake.policy import cost
from loglake.policy.checks.vpc import FULL_FORMAT
from loglake.policy.config import load_policy
from loglake.query import engine
from tests.posture.conftest import run_cli

ACCOUNT = "111122223333"
GIB = 1024**3


def _resource(kind: str, name: str, arn: str, config: dict) -> dict:
    service = {t.ELBV2: "elb", t.CLB: "elb", t.VPC: "vpc", t.S3_BUCKET: "s3", t.RDS_INSTANCE: "rds"}[kind]
    return resource(arn=arn, type=kind, service=service, name=name, region="us-east-1", account=ACCOUNT, config=config)


def _flow_log(traffic: str) -> list[dict]:
    return [{"id": f"fl-{traffic.lower()}", "status": "ACTIVE", "traffic_type": traffic, "log_format": FULL_FORMAT}]


@pytest.fixture(scope="module")
def lake(demo: tuple[Path, DemoManifest], tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, _ = demo
    lake = tmp_path_factory.mktemp("cost-lake") / "lake"
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=2))
    return lake


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """The demo's ALB and VPCs logging today, a Classic ELB (no such table in the lake), a database logging nothing."""
    resources = [
        _resource(
            t.ELBV2,
            "prod-ext-web",
            f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/prod-ext-web/1",
            {
                "lb_type": "application",
                "scheme": "internet-facing",
                "access_logs": {"enabled": True, "bucket": "logs"},
                "connection_logs": {"enabled": True, "bucket": "logs"},
            },
        ),
        _resource(
            t.CLB,
            "prod-ext-legacy",
            f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/prod-ext-legacy",
            {"lb_type": "classic", "scheme": "internet-facing", "access_logs": {"enabled": True, "bucket": "logs"}},
        ),
        _resource(
            t.VPC,
            "prod-ext-core",
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-1",
            {"vpc_id": "vpc-1", "flow_logs": _flow_log("ALL")},
        ),
        _resource(
            t.VPC,
            "prod-int-eu-core",
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-2",
            {"vpc_id": "vpc-2", "flow_logs": _flow_log("REJECT")},
        ),
        _resource(
            t.RDS_INSTANCE,
            "payments-db",
            f"arn:aws:rds:us-east-1:{ACCOUNT}:db:payments-db",
            {"engine": "postgres", "publicly_accessible": False, "log_exports": []},
        ),
    ]
    path = tmp_path / "inventory.json"
    save_inventory(Inventory(account=ACCOUNT, regions=["us-east-1"], resources=resources), path)
    return path


def _measured_gb_month(lake: Path, table: str) -> float:
    """What the lake holds of a table, in raw GB a month, measured here from its Parquet files and event times."""
    stored = sum(f.stat().st_size for f in lake.rglob("*.parquet") if f"/{table}/" in f.as_posix())
    low, high = engine.connect(lake).execute(f"SELECT min(lake_time), max(lake_time) FROM {table}").fetchone()
    days = max(1.0, (high - low).total_seconds() / 86400)
    return stored / cost.load_prices()["assumptions"]["parquet_ratio"] / GIB * 30 / days


def _rows(capsys, inventory: Path, *lake: str) -> dict[tuple[str, str], dict]:
    code, out, err = run_cli(capsys, "cost", "-i", str(inventory), "--format", "json", *lake)
    assert code == 0, err
    return {(r["name"], r["check_id"]): r for r in json.loads(out)}


def test_volumes_come_from_the_lake_where_it_holds_the_source(capsys, lake, inventory):
    with_lake = _rows(capsys, inventory, "--lake", str(lake))
    alb = with_lake[("prod-ext-web", "elb.access_logs")]
    assert alb["volume_from"] == "lake:alb_access_logs"
    # the ALB is the only load balancer whose logs land in alb_access_logs: it gets all of them
    assert alb["gb_today"] == pytest.approx(_measured_gb_month(lake, "alb_access_logs"), rel=0.01, abs=0.001)
    assert with_lake[("prod-ext-web", "alb.connection_logs")]["volume_from"] == "lake:alb_connection_logs"

    # two VPCs log flows today: each is half of the lake's flows; the REJECT-only one just the rejected share
    flows = _measured_gb_month(lake, "vpc_flow_logs")
    all_traffic = with_lake[("prod-ext-core", "vpc.flow_logs.all")]
    assert all_traffic["volume_from"] == "lake:vpc_flow_logs"
    assert all_traffic["gb_today"] == pytest.approx(flows / 2, rel=0.01, abs=0.001)
    total, rejected = (
        engine.connect(lake)
        .execute("SELECT count(*), count(*) FILTER (WHERE action = 'REJECT') FROM vpc_flow_logs")
        .fetchone()
    )
    assert 0 < rejected < total
    rejects = with_lake[("prod-int-eu-core", "vpc.flow_logs.reject")]
    assert rejects["gb_today"] == pytest.approx(flows / 2 * rejected / total, rel=0.01, abs=0.001)

    # no Classic ELB logs and no RDS logs in the lake: the stated defaults
    prices = cost.load_prices()["volumes_gb_month"]
    clb = with_lake[("prod-ext-legacy", "elb.access_logs")]
    assert (clb["volume_from"], clb["gb_today"]) == ("default", prices["elb.access_logs"])
    rds = with_lake[("payments-db", "rds.log_exports")]
    # untagged, unnamed by the grammar: internal/internal, the standard level, which asks for error logs
    assert (rds["volume_from"], rds["on_today"]) == ("default", False)
    assert rds["gb_required"] == prices["rds.log_exports:errors"]


def test_the_estimate_follows_the_lake(capsys, lake, inventory):
    defaults = _rows(capsys, inventory)
    with_lake = _rows(capsys, inventory, "--lake", str(lake))
    assert {r["volume_from"] for r in defaults.values()} == {"default"}
    for key in (("prod-ext-web", "elb.access_logs"), ("prod-ext-core", "vpc.flow_logs.all")):
        assert with_lake[key]["gb_today"] != defaults[key]["gb_today"]
        assert with_lake[key]["cloudwatch_today"] != defaults[key]["cloudwatch_today"]
    key = ("payments-db", "rds.log_exports")
    assert with_lake[key]["cloudwatch_required"] == defaults[key]["cloudwatch_required"]
    code, out, _ = run_cli(capsys, "cost", "-i", str(inventory), "--format", "json", "--totals", "--lake", str(lake))
    assert code == 0
    lake_totals = {r["strategy"]: r for r in json.loads(out)}
    code, out, _ = run_cli(capsys, "cost", "-i", str(inventory), "--format", "json", "--totals")
    assert code == 0
    default_totals = {r["strategy"]: r for r in json.loads(out)}
    for strategy in cost.STRATEGIES:
        assert lake_totals[strategy]["today"] != default_totals[strategy]["today"]


def test_empty_tables_leave_the_defaults(tmp_path):
    ensure_tables(tmp_path / "lake")  # every log table, no rows
    assert cost.lake_volumes(tmp_path / "lake", Inventory(account=ACCOUNT), load_policy()) == {}
