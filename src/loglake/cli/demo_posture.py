"""The posture half of `loglake demo`, as people read it: what discovery found, the labels that lie, the failing
checks by severity, what remediate would call, and what the required logging costs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from loglake.cli.app import console
from loglake.cli.output import print_table
from loglake.cli.posture import _short
from loglake.policy.checks import SEVERITIES

if TYPE_CHECKING:
    from loglake.demo.posture import PostureDemo

BAR_WIDTH = 40


def posture_half(out: Path, seed: int) -> None:
    """Run the posture demo against a moto_server of its own and print the summaries; without moto, one line."""
    from loglake.demo.moto import MotoUnavailableError
    from loglake.demo.posture import run_posture_demo

    try:
        with console.status("posture: building AnyCompany's account in a local moto_server, then inventory..."):
            demo = run_posture_demo(out, seed=seed)
    except MotoUnavailableError as error:
        console.print(f"posture half skipped: {error}", highlight=False, markup=False)
        return
    print_posture(demo)


def print_posture(demo: PostureDemo) -> None:
    inventory = demo.inventory
    console.print(
        f"\n[bold]posture[/bold]: {len(inventory.resources)} resources of account {inventory.account} "
        f"({', '.join(inventory.regions)}) in a local moto_server, inventoried and audited in {demo.seconds:.0f} s",
        highlight=False,
    )
    _discovery(demo)
    _conflicts(demo)
    _findings(demo)
    _remediation(demo)
    _cost(demo)
    console.print(
        f"files: {demo.folder}/ (inventory.json, classify.json, audit.json, audit.sarif, remediate.txt, terraform/, "
        f"cost.json)\nexplore: loglake audit --inventory {demo.folder / 'inventory.json'} --failed",
        highlight=False,
    )


def _discovery(demo: PostureDemo) -> None:
    rows = [
        [found["bucket"], found["sensitivity"], f"{found['bytes_read']:,}", found["summary"]]
        for found in demo.inventory.discovery.values()
        if found.get("sensitivity")
    ]
    print_table(["bucket", "now", "bytes read", "discover found"], rows, title="data discovery (sampled objects)")


def _conflicts(demo: PostureDemo) -> None:
    rows = [[c.name, _short(c.type), "; ".join(c.conflicts)] for c in demo.conflicts]
    print_table(["resource", "type", "label vs reality"], rows, title=f"{len(rows)} classification conflicts")


def _findings(demo: PostureDemo) -> None:
    failures = demo.failures
    by_severity = Counter(r["severity"] for r in failures)
    top = max(by_severity.values(), default=1)
    rows = [
        [severity, str(by_severity[severity]), "█" * max(1, round(BAR_WIDTH * by_severity[severity] / top))]
        for severity in SEVERITIES
        if by_severity[severity]
    ]
    print_table(
        ["severity", "failing", ""], rows, title=f"{len(failures)} of {len(demo.audit_rows)} checks fail, by severity"
    )
    by_check = Counter(r["check_id"] for r in failures)
    names: dict[str, list[str]] = {}
    for row in failures:
        names.setdefault(row["check_id"], []).append(row["name"])
    print_table(
        ["check", "failing", "on"],
        [
            [check, str(n), ", ".join(names[check][:3]) + (" ..." if n > 3 else "")]
            for check, n in by_check.most_common()
        ],
        title="failing checks",
    )


def _remediation(demo: PostureDemo) -> None:
    calls = Counter(f"{a.service}.{a.operation}" for a in demo.actions)
    fixed = {fix for a in demo.actions for fix in a.fixes}
    print_table(
        ["call", "times"],
        [[call, str(n)] for call, n in calls.most_common()],
        title=f"remediate (dry run, nothing changed): {len(demo.actions)} calls would fix {len(fixed)} failing checks",
    )
    if demo.notes:
        console.print(f"{len(demo.notes)} failures have no automatic fix (listed in remediate.txt)", highlight=False)


def _cost(demo: PostureDemo) -> None:
    prices = demo.prices
    print_table(
        ["strategy", "today $/month", "required $/month", "difference"],
        [
            [t["strategy"], f"{t['today']:,.2f}", f"{t['required']:,.2f}", f"{t['difference']:+,.2f}"]
            for t in demo.cost_totals
        ],
        title=f"cost of the required logging ({prices['currency']}, prices of {prices['date']}, {prices['region']})",
    )
