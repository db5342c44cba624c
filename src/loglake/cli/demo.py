"""`loglake demo`: a synthetic estate's logs, ingested, and what the lake then shows about the attack in it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from loglake.cli.app import app, console
from loglake.cli.demo_posture import posture_half
from loglake.cli.ingest import print_summary, run_with_progress
from loglake.cli.output import print_table
from loglake.demo.assets import write_demo_assets
from loglake.detect.outputs.base import SEVERITY_RANK
from loglake.ingest.pipeline import IngestOptions
from loglake.query import engine

# (what the analyst asks, SQL over the lake); {names} come from the generator's manifest
STORY_QUERIES = [
    ("API calls from the attacker IP", "SELECT count(*) FROM cloudtrail_logs WHERE sourceipaddress = '{attacker_ip}'"),
    (
        "...with the leaked access key",
        "SELECT count(*) FROM cloudtrail_logs WHERE useridentity.accesskeyid = '{leaked_access_key_id}'"
        " AND sourceipaddress = '{attacker_ip}'",
    ),
    (
        "AccessDenied errors from the attacker (reconnaissance)",
        "SELECT count(*) FROM cloudtrail_logs WHERE sourceipaddress = '{attacker_ip}'"
        " AND (errorcode LIKE '%AccessDenied%' OR errorcode LIKE '%UnauthorizedOperation%')",
    ),
    ("CloudTrail StopLogging calls", "SELECT count(*) FROM cloudtrail_logs WHERE eventname = 'StopLogging'"),
    (
        "Security group opened to 0.0.0.0/0",
        "SELECT count(*) FROM cloudtrail_logs WHERE eventname = 'AuthorizeSecurityGroupIngress'"
        " AND requestparameters LIKE '%0.0.0.0/0%'",
    ),
    (
        "S3 GetObject on {sensitive_bucket} from the attacker",
        "SELECT count(*) FROM cloudtrail_logs WHERE eventname = 'GetObject' AND sourceipaddress = '{attacker_ip}'"
        " AND requestparameters LIKE '%{sensitive_bucket}%'",
    ),
    (
        "Accepted SSH flows from the attacker",
        "SELECT count(*) FROM vpc_flow_logs WHERE srcaddr = '{attacker_ip}' AND dstport = 22 AND action = 'ACCEPT'",
    ),
    (
        "Ports probed by the scanner (rejected)",
        "SELECT count(DISTINCT dstport) FROM vpc_flow_logs WHERE srcaddr = '{scanner_ip}' AND action = 'REJECT'",
    ),
    (
        "Web requests from the attacker blocked by WAF",
        "SELECT count(*) FROM waf_logs WHERE httprequest.clientip = '{attacker_ip}' AND action = 'BLOCK'",
    ),
    ("Scanner requests seen at the ALB", "SELECT count(*) FROM alb_access_logs WHERE client_ip = '{scanner_ip}'"),
    (
        "S3 access-log GETs on {sensitive_bucket} from the attacker",
        "SELECT count(*) FROM s3_access_logs WHERE remoteip = '{attacker_ip}' AND operation = 'REST.GET.OBJECT'"
        " AND bucket_name = '{sensitive_bucket}'",
    ),
    ("DNS queries for {bad_domain}", "SELECT count(*) FROM r53_rlogs WHERE query_name LIKE '{bad_domain}%'"),
]


@app.command("demo")
def demo_command(
    days: Annotated[int, typer.Option("--days", min=1, max=30, help="Days of logs to generate.")] = 3,
    out: Annotated[Path, typer.Option("--out", help="Folder for the raw logs and the lake.")] = Path("demo-out"),
    workers: Annotated[int, typer.Option("--workers", "-w", min=1)] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    no_posture: Annotated[bool, typer.Option("--no-posture", help="Skip the posture half (moto_server).")] = False,
) -> None:
    """Generate a realistic estate's raw AWS logs (with an attack inside), ingest them, summarise the lake."""
    from loglake.demo import generate_raw_logs

    raw, lake = out / "raw", out / "lake"
    for folder in (raw, lake):  # a demo starts clean: new logs are generated for a new time window
        shutil.rmtree(folder, ignore_errors=True)
    with console.status(f"generating {days} days of logs for a demo estate..."):
        manifest = generate_raw_logs(raw, days=days, seed=seed, workers=workers)
    facts = manifest.to_dict()
    console.print(
        f"[bold]raw logs[/bold] in {raw} (AWS S3 key layout): "
        + ", ".join(f"{n:,} {source}" for source, n in facts["records"].items())
    )
    # the estate's posture first, as a real lake has its inventory before its logs: each row is written with
    # the asset it touched (context/stamps.py), and alerts name and rank the assets they hit
    write_demo_assets(lake, seed, manifest.start)
    summary = run_with_progress(IngestOptions(sources=[str(raw)], lake=lake, workers=workers))
    print_summary(summary, "table")
    con = engine.connect(lake)
    rows = []
    for question, sql in STORY_QUERIES:
        value = con.execute(sql.format(**facts)).fetchone()[0]
        rows.append([question.format(**facts), f"{value:,}"])
    print_table(
        ["what the lake shows", "count"],
        rows,
        title=f"the attack: key {facts['leaked_access_key_id']} used from {facts['attacker_ip']}",
    )
    _detect(out, lake, manifest)
    console.print(
        f'\nexplore: loglake query --lake {lake} "SELECT eventname, count(*) FROM cloudtrail_logs '
        'GROUP BY ALL ORDER BY 2 DESC LIMIT 10"\n'
        f"alerts:  loglake alerts list --lake {lake}   hunt: loglake hunt ip {facts['attacker_ip']} --lake {lake}",
        highlight=False,
    )
    if not no_posture:
        posture_half(out, seed)


def _detect(out: Path, lake: Path, manifest) -> None:
    """Add the demo's threat-intel feed, run the built-in rules, show the alerts per day and the worst ones."""
    from loglake.cli.detect import run_with_progress
    from loglake.demo.intel import write_intel_feed
    from loglake.detect.intel import add_feed
    from loglake.detect.rulebook import load_rulebook

    added = add_feed(lake, write_intel_feed(out, manifest))
    console.print(f"threat intel: {added.added} indicators from {out / 'intel' / 'feed.csv'}")
    result = run_with_progress(lake, load_rulebook(lake).rules, None, None)
    print_table(*alerts_per_day(result.new), title=f"{len(result.new)} alerts, by day of first sighting")
    worst = sorted(result.new, key=lambda a: (-SEVERITY_RANK[a.severity], a.first_seen))[:15]
    print_table(
        ["severity", "first seen", "title", "principal / ip", "resource"],
        [
            [a.severity, f"{a.first_seen:%m-%d %H:%M}", a.title, a.principal or a.ip or "", a.resource or ""]
            for a in worst
        ],
        title="the most severe alerts",
    )


def alerts_per_day(alerts: list) -> tuple[list[str], list[list[str]]]:
    """Columns and rows: per day, alerts by severity and a bar of the total."""
    days = sorted({a.first_seen.date() for a in alerts})
    severities = [s for s in SEVERITY_RANK if any(a.severity == s for a in alerts)]
    rows = []
    for day in days:
        counts = [sum(1 for a in alerts if a.first_seen.date() == day and a.severity == s) for s in severities]
        rows.append([day.isoformat(), *map(str, counts), "█" * min(60, sum(counts))])
    return ["day", *severities, ""], rows
