"""The posture half of `loglake demo`: AnyCompany's account built in a local moto_server, then inventory,
discover, classify, audit, remediate (dry run, and Terraform) and cost against it, written to <out>/posture/.

    inventory.json   the snapshot, with what discovery found       classify.json  per resource, with evidence
    audit.json       one row per (resource, check)                 audit.sarif    the same failures as SARIF
    remediate.txt    the boto3 calls a fix would make (none made)  terraform/     the same changes as HCL
    cost.json        $/month per resource and per strategy, today and as required

The built-in policy is used (not ./policy.yaml: the demo's account is the demo's), and nothing goes to the demo
lake: the lake's `assets` come from the log demo's estate.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loglake.classify.classifier import Classification, classify_inventory
from loglake.classify.discover import Limits, discover
from loglake.demo.estate import ACCOUNT, HOME_REGION, build_estate
from loglake.demo.moto import moto_account, moto_server
from loglake.demo.posture_estate import PostureEstate, build_posture_estate
from loglake.inventory.aws import Aws
from loglake.inventory.collect import run_inventory
from loglake.inventory.snapshot import S3_BUCKET, Inventory, save_inventory
from loglake.policy import cost, report
from loglake.policy.audit import audit
from loglake.policy.config import Policy, load_policy
from loglake.policy.fixes.actions import Action
from loglake.policy.fixes.plan import RemediationOptions, build_plan
from loglake.policy.fixes.terraform import write_terraform


@dataclass
class PostureDemo:
    folder: Path
    endpoint: str
    estate: PostureEstate
    inventory: Inventory
    classes: dict[str, Classification]
    audit_rows: list[dict[str, Any]]
    actions: list[Action]
    notes: list[str]
    cost_rows: list[dict[str, Any]]
    cost_totals: list[dict[str, Any]]
    prices: dict[str, Any]
    seconds: float

    @property
    def conflicts(self) -> list[Classification]:
        return [c for c in self.classes.values() if c.conflicts]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.audit_rows if r["status"] == "fail"]


def run_posture_demo(out: Path, *, seed: int = 7, endpoint: str | None = None) -> PostureDemo:
    """Build the account in a moto_server (ours, started and stopped here, unless `endpoint` names one) and run
    every posture step against it; the files go to <out>/posture/."""
    started = time.monotonic()
    with ExitStack() as stack:
        if endpoint is None:
            endpoint = stack.enter_context(moto_server())
        leaked_key = build_estate(seed).users["ci-deploy"].access_key_id or ""
        policy = load_policy(None)
        with moto_account(endpoint, ACCOUNT, HOME_REGION) as account:
            estate = build_posture_estate(account, leaked_key, seed)
            snapshot = run_inventory(regions=list(estate.regions), endpoint_url=endpoint)
            _discover(snapshot, policy, endpoint)
    return _assess(out / "posture", endpoint, estate, snapshot, policy, started)


def _discover(snapshot: Inventory, policy: Policy, endpoint: str) -> None:
    aws = Aws(None, HOME_REGION, endpoint)
    found = discover(
        lambda region: aws.client("s3", region), snapshot.by_type(S3_BUCKET), Limits.from_policy(policy.discovery)
    )
    snapshot.discovery.update(found)


def _assess(  # noqa: PLR0917 - the steps' inputs
    folder: Path, endpoint: str, estate: PostureEstate, snapshot: Inventory, policy: Policy, started: float
) -> PostureDemo:
    """The offline steps, on the snapshot: classify, audit, remediate (plan only), cost; files written."""
    shutil.rmtree(folder, ignore_errors=True)  # no Terraform file of an earlier run stays behind
    folder.mkdir(parents=True)
    save_inventory(snapshot, folder / "inventory.json")
    classes = classify_inventory(snapshot, policy)
    rows = audit(snapshot, policy, classes)
    actions, notes = build_plan(snapshot, rows, policy, RemediationOptions())
    write_terraform(actions, folder / "terraform")
    prices = cost.load_prices()
    cost_rows = cost.estimate(snapshot, policy, prices)
    demo = PostureDemo(
        folder=folder,
        endpoint=endpoint,
        estate=estate,
        inventory=snapshot,
        classes=classes,
        audit_rows=rows,
        actions=actions,
        notes=notes,
        cost_rows=cost_rows,
        cost_totals=cost.totals(cost_rows),
        prices=prices,
        seconds=0.0,
    )
    _write(demo)
    demo.seconds = time.monotonic() - started
    return demo


def _write(demo: PostureDemo) -> None:
    folder = demo.folder
    _json(folder / "classify.json", [c.to_json() for c in demo.classes.values()])
    _json(folder / "audit.json", demo.audit_rows)
    _json(folder / "audit.sarif", report.sarif(demo.audit_rows))
    _json(
        folder / "cost.json", {"rows": demo.cost_rows, "totals": demo.cost_totals, "prices_date": demo.prices["date"]}
    )
    lines = [f"# {a.purpose}\n{a.render()}" for a in demo.actions]
    lines += [f"# not fixed: {note}" for note in demo.notes]
    lines.append(f"# dry run: {len(demo.actions)} call(s), none made")
    (folder / "remediate.txt").write_text("\n".join(lines) + "\n")


def _json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
