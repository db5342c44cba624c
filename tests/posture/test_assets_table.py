"""`loglake inventory --lake`: the posture lands in the lake's `assets` table, with history across snapshots."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from loglake.lake import catalog as lake_catalog
from loglake.policy.assets import merge_history
from loglake.web.api import create_app
from tests.posture.conftest import bucket, instance, run_cli, vpc
from tests.web.test_api import client_for


def _assets(lake: Path) -> list[dict]:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    return lake_catalog.load_table(catalog, "assets").scan().to_arrow().to_pylist()


def _inventory(capsys, account, tmp_path: Path, lake: Path, name: str) -> None:
    code, _, err = run_cli(
        capsys,
        "inventory",
        "--endpoint-url",
        account.endpoint,
        "--services",
        "s3,vpc",
        "--out",
        str(tmp_path / name),
        "--lake",
        str(lake),
    )
    assert code == 0, err
    assert f"assets in {lake}: " in " ".join(err.split())  # rich wraps long paths


def test_inventory_twice_keeps_history(capsys, account, tmp_path):
    kept = bucket(account, account.name("kept"), tags={"Classification": "public"})
    retagged = bucket(account, account.name("retagged"))
    gone = bucket(account, account.name("gone"))
    vpc_id, subnets = vpc(account, "main")
    instance_id = instance(account, subnets[0], vpc_id, open_to_world=False)
    lake = tmp_path / "lake"

    _inventory(capsys, account, tmp_path, lake, "first.json")
    first = {r["name"]: r for r in _assets(lake)}
    web = next(r for r in first.values() if r["resource_type"] == "AWS::EC2::Instance")
    assert all(r["valid_to"] is None for r in first.values())
    # the identifiers a flow log or access log would carry for the instance: its id, ENI and both IPs
    ec2 = account.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert ec2["PublicIpAddress"] and ec2["PrivateIpAddress"]
    expected = {instance_id, ec2["PublicIpAddress"], ec2["PrivateIpAddress"]}
    expected.add(ec2["NetworkInterfaces"][0]["NetworkInterfaceId"])
    assert expected <= set(web["identifiers"])
    # classification, matrix level and failing checks as `audit` computes them
    row = first[retagged]
    assert row["sensitivity"] and row["reachability"] and row["level"]
    assert row["failing_checks"] and set(row["failing_checks"]) == set(json.loads(row["evidence"])["failing"])
    assert retagged in row["identifiers"]
    assert dict(first[kept]["tags"]) == {"Classification": "public"}

    s3 = account.client("s3")
    s3.put_bucket_tagging(Bucket=retagged, Tagging={"TagSet": [{"Key": "Classification", "Value": "pci"}]})
    s3.delete_bucket(Bucket=gone)
    group = ec2["NetworkInterfaces"][0]["Groups"][0]["GroupId"]
    account.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    _inventory(capsys, account, tmp_path, lake, "second.json")
    rows = _assets(lake)
    second_at = max(r["valid_from"] for r in rows)
    assert second_at > first[kept]["valid_from"]

    def versions(name: str) -> list[dict]:
        return sorted((r for r in rows if r["name"] == name), key=lambda r: r["valid_from"])

    # unchanged: the same single row, still current, confirmed by the second snapshot
    [same] = versions(kept)
    assert same["valid_from"] == first[kept]["valid_from"] and same["valid_to"] is None
    assert same["snapshot_at"] == second_at
    # re-tagged: the old version closed at the second snapshot, the new one current with the new sensitivity
    old, new = versions(retagged)
    assert old["valid_to"] == second_at == new["valid_from"] and new["valid_to"] is None
    assert old["sensitivity"] != new["sensitivity"] == "restricted"
    # deleted: closed, no current row
    [closed] = versions(gone)
    assert closed["valid_to"] == second_at
    # opened to the world: a new version of the instance
    before, after = versions(web["name"])
    assert before["valid_to"] == second_at and after["valid_to"] is None
    assert after["evidence"] != before["evidence"] or after["reachability"] != before["reachability"]

    # the web page's Assets view shows the current rows only
    shown = client_for(create_app(lake)).get("/api/assets").json()
    assert shown["available"]
    names = [r["name"] for r in shown["rows"]]
    assert sorted(names) == sorted(r["name"] for r in rows if r["valid_to"] is None)
    assert gone not in names and names.count(retagged) == 1


def _row(arn: str, tag: str, at: dt.datetime) -> dict:
    return {"resource_arn": arn, "tags": [("k", tag)], "snapshot_at": at, "valid_from": at, "valid_to": None}


def test_same_snapshot_again_replaces_rather_than_closing_a_zero_length_version():
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows, changes = merge_history([_row("a", "x", at)], [_row("a", "y", at)], at)
    assert rows == [_row("a", "y", at)] and changes.changed == 1


def test_an_older_snapshot_is_refused():
    at = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(lake_catalog.LakeError, match="older than the lake's assets"):
        merge_history([_row("a", "x", at)], [], at - dt.timedelta(days=1))


def test_audit_records_assets_too(capsys, tmp_path):
    from loglake.inventory import snapshot as t
    from loglake.inventory.snapshot import Inventory, resource, save_inventory

    lb = resource(
        arn="arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/prod-api/1",
        type=t.ELBV2,
        service="elb",
        name="prod-api",
        region="us-east-1",
        account="111122223333",
        config={"scheme": "internet-facing", "lb_type": "application", "dns_name": "prod-api.elb.amazonaws.com"},
    )
    path = tmp_path / "inventory.json"
    save_inventory(Inventory(account="111122223333", regions=["us-east-1"], resources=[lb]), path)
    code, _, err = run_cli(capsys, "audit", "-i", str(path), "--lake", str(tmp_path / "lake"))
    assert code == 0, err
    [row] = _assets(tmp_path / "lake")
    assert row["reachability"] == "internet" and "prod-api.elb.amazonaws.com" in row["identifiers"]


def test_load_balancer_interfaces_are_indexed_with_their_owner(capsys, account, tmp_path):
    """Flow logs name a load balancer node by its interface and address: the inventory ties them to the ALB."""
    from tests.posture.conftest import load_balancer

    vpc_id, subnets = vpc(account, "edge")
    arn = load_balancer(account, "prod-ext-api", subnets, scheme="internet-facing")
    ec2 = account.client("ec2")
    node = ec2.create_network_interface(SubnetId=subnets[0], Description=f"ELB {arn.split(':loadbalancer/')[1]}")
    node = node["NetworkInterface"]
    ec2.create_network_interface(SubnetId=subnets[1], Description="an interface nobody claims")
    lake = tmp_path / "lake"
    code, _, err = run_cli(
        capsys, "inventory", "--endpoint-url", account.endpoint, "--services", "vpc,elb",
        "--out", str(tmp_path / "inv.json"), "--lake", str(lake),
    )  # fmt: skip
    assert code == 0, err
    rows = {r["resource_arn"]: r for r in _assets(lake)}
    assert {node["NetworkInterfaceId"], node["PrivateIpAddress"]} <= set(rows[arn]["identifiers"])
    vpc_row = next(r for r in rows.values() if r["resource_type"] == "AWS::EC2::VPC" and r["vpc_id"] == vpc_id)
    assert node["NetworkInterfaceId"] not in vpc_row["identifiers"]  # moved to its owner, not kept on the VPC


def test_interface_owners_come_from_descriptions():
    from loglake.inventory.interfaces import owned_interface

    def owner(description: str) -> str | None:
        found = owned_interface(
            {"NetworkInterfaceId": "eni-1", "PrivateIpAddress": "10.0.0.9", "Description": description}
        )
        return found["owner"] if found else None

    assert owner("AWS Lambda VPC ENI-invoice-webhook-0f5d3c2a-1b2c-4d5e-8f90-123456789abc") == "lambda:invoice-webhook"
    assert owner("ELB app/prod-api/50dc6c495c0c9188") == "lb:app/prod-api/50dc6c495c0c9188"
    assert owner("ELB legacy-classic") == "lb:legacy-classic"
    assert owner("RDSNetworkInterface") is None  # does not say which database
