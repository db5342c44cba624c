"""`loglake detect`, `loglake rules ...` and `loglake alerts ...`: run rules, manage them, act on alerts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console, default_lake
from loglake.cli.output import print_rows
from loglake.cli.times import parse_range
from loglake.detect import ruletest
from loglake.detect.alerts import STATUSES
from loglake.detect.outputs import parse_output
from loglake.detect.outputs.base import SEVERITY_RANK, deliver
from loglake.detect.outputs.ocsf import to_ocsf
from loglake.detect.rule import SEVERITIES, Rule
from loglake.detect.rulebook import add_rules, load_rulebook
from loglake.detect.run import DetectResult, detect
from loglake.detect.store import AlertStore, locked, set_status

rules_app = typer.Typer(help="The detection rules: list, test, add (loglake YAML or Sigma).", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts in the lake: list, show, set a status, export.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")

OutputsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--output",
        "-o",
        help="Where new alerts go (repeatable): console, jsonl:FILE, ocsf:FILE, webhook:URL, slack:URL, sns:TOPIC_ARN.",
    ),
]


@app.command("detect")
def detect_command(
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    since: Annotated[
        str | None, typer.Option("--since", help="Backtest from this time (ISO, or an age: 24h, 7d).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Backtest up to this time.")] = None,
    rule_ids: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")] = None,
    outputs: OutputsOption = None,
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="Exit 2 when a new alert has this severity or higher.")
    ] = None,
    fmt: OutputOption = "table",
) -> None:
    """Run the rules over what arrived since their last run (or backtest with --since/--until); update alerts."""
    check_output_format(fmt)
    if fail_on is not None and fail_on not in SEVERITIES:
        raise typer.BadParameter(f"use one of {', '.join(SEVERITIES)}", param_hint="--fail-on")
    lake = lake or default_lake()
    start, end = parse_range(since, until)
    sinks = [_output(spec) for spec in outputs or []]
    rules = selected_rules(lake, rule_ids)
    result = run_with_progress(lake, rules, start, end)
    report_run(result, fmt)
    if sinks and result.new:
        for delivery in deliver(sinks, result.new):
            if not delivery.ok:
                console.print(
                    f"[red]output {delivery.name} failed after {delivery.attempts} attempts:[/red] {delivery.error}"
                )
    if result.errors:
        raise typer.Exit(1)
    if fail_on and any(SEVERITY_RANK[a.severity] >= SEVERITY_RANK[fail_on] for a in result.new):
        raise typer.Exit(2)


def _output(spec: str):
    try:
        return parse_output(spec)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--output") from None


def selected_rules(lake: Path, rule_ids: list[str] | None) -> list[Rule]:
    book = load_rulebook(lake)
    if rule_ids:
        return [book.get(rule_id) for rule_id in rule_ids]
    return [rule for rule in book.rules if rule.enabled]


def run_with_progress(
    lake: Path, rules: list[Rule], start, end, run: Callable[..., DetectResult] = detect
) -> DetectResult:
    """`run` (detect, or Spark's) over the rules with a progress bar."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("detect", total=len(rules))
        return run(lake, rules, since=start, until=end, on_rule=lambda rule: progress.advance(task))


def report_run(result: DetectResult, fmt: str) -> None:
    if fmt != "table":
        rows = [r.__dict__ for r in result.runs]
        print_rows(pa.Table.from_pylist(rows) if rows else pa.table({}), fmt)
        return
    evaluated = sum(1 for r in result.runs if r.status == "evaluated")
    console.print(
        f"{len(result.runs)} rules: {evaluated} evaluated, "
        f"{sum(1 for r in result.runs if r.status == 'nothing new')} with nothing new, "
        f"{sum(1 for r in result.runs if r.status == 'no data')} without their tables; "
        f"[bold]{len(result.new)} new alerts[/bold], {len(result.updated)} updated"
    )
    for run in result.errors:
        console.print(f"[red]error[/red] {run.error}", highlight=False)
    if result.new:
        print_rows(_alert_rows([a.to_dict() for a in result.new]), "table", title="new alerts")


def _alert_rows(records: list[dict]) -> pa.Table:
    columns = ("severity", "title", "first_seen", "last_seen", "count", "principal", "ip", "resource", "alert_id")
    ordered = sorted(records, key=lambda r: (-SEVERITY_RANK[r["severity"]], r["first_seen"]))
    return pa.Table.from_pylist([{c: r[c] for c in columns} for r in ordered])


@rules_app.command("list")
def rules_list(
    lake: LakeOption = None,  # type: ignore[assignment]
    unsupported: Annotated[bool, typer.Option("--unsupported", help="Rule files loglake cannot run, and why.")] = False,
    fmt: OutputOption = "table",
) -> None:
    """Every rule: built-in and the lake's own."""
    check_output_format(fmt)
    book = load_rulebook(lake or default_lake())
    if unsupported:
        rows = [{"file": str(path), "reason": reason} for path, reason in book.unsupported]
        print_rows(pa.Table.from_pylist(rows) if rows else pa.table({"file": [], "reason": []}), fmt)
        return
    rows = [
        {
            "id": r.id,
            "severity": r.severity,
            "title": r.title,
            "tables": ",".join(r.tables),
            "source": r.source,
            "attack": ",".join(r.attack),
            "enabled": r.enabled,
        }
        for r in book.rules
    ]
    print_rows(pa.Table.from_pylist(rows), fmt)


@rules_app.command("test")
def rules_test(
    targets: Annotated[list[str] | None, typer.Argument(help="Rule ids or rule files (default: every rule).")] = None,
    lake: LakeOption = None,  # type: ignore[assignment]
) -> None:
    """Run the rules' inline tests (their events go through the real parsers); exit 1 if any fails."""
    book = load_rulebook(lake or default_lake())
    rules = [_rule_or_file(book, target) for target in targets] if targets else book.rules
    failed = tested = 0
    for rule in (r for group in rules for r in group):
        for outcome in ruletest.run_tests(rule):
            tested += 1
            if not outcome.passed:
                failed += 1
                reason = outcome.error or f"expected {outcome.expected} alerts, got {outcome.alerts}"
                console.print(f"[red]FAIL[/red] {rule.id}: {outcome.name}: {reason}", highlight=False)
    console.print(f"{tested - failed} of {tested} rule tests passed")
    if failed:
        raise typer.Exit(1)


def _rule_or_file(book, target: str) -> list[Rule]:
    path = Path(target)
    if path.exists():
        return load_rulebook(None, builtin=False, extra=path).rules
    return [book.get(target)]


@rules_app.command("add")
def rules_add(
    source: Annotated[Path, typer.Argument(help="A rule file or a folder of them (loglake YAML or Sigma).")],
    lake: LakeOption = None,  # type: ignore[assignment]
) -> None:
    """Add rules to the lake (checked first); Sigma rules loglake cannot run are kept and listed as unsupported."""
    loaded, unsupported = add_rules(lake or default_lake(), source)
    console.print(f"added {len(loaded)} rules" + (f"; {len(unsupported)} unsupported:" if unsupported else ""))
    for path, reason in unsupported:
        console.print(f"  {path.name}: {reason}", highlight=False)


@alerts_app.command("list")
def alerts_list(
    lake: LakeOption = None,  # type: ignore[assignment]
    status: Annotated[str | None, typer.Option("--status", help="open, acknowledged or closed.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="This severity or higher.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")] = None,
    fmt: OutputOption = "table",
) -> None:
    """The alerts in the lake, most severe first."""
    check_output_format(fmt)
    records = _filtered(lake or default_lake(), status, severity, rule)
    if fmt == "table":
        print_rows(_alert_rows(records) if records else pa.table({}), fmt)
    else:
        print_rows(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "hit_keys"} for r in records]), fmt)


def _filtered(lake: Path, status: str | None, severity: str | None, rule: str | None) -> list[dict]:
    if severity is not None and severity not in SEVERITIES:
        raise typer.BadParameter(f"use one of {', '.join(SEVERITIES)}", param_hint="--severity")
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--status")
    alerts = AlertStore(lake).alerts
    if status:
        alerts = alerts.filter(pc.equal(alerts["status"], status))
    if rule:
        alerts = alerts.filter(pc.equal(alerts["rule_id"], rule))
    records = alerts.to_pylist()
    if severity:
        records = [r for r in records if SEVERITY_RANK[r["severity"]] >= SEVERITY_RANK[severity]]
    return records


@alerts_app.command("show")
def alerts_show(alert_id: Annotated[str, typer.Argument()], lake: LakeOption = None) -> None:  # type: ignore[assignment]
    """One alert, whole, with the references to its raw events (lake_file, lake_row, event id)."""
    records = [r for r in AlertStore(lake or default_lake()).alerts.to_pylist() if r["alert_id"] == alert_id]
    if not records:
        raise typer.BadParameter(f"no alert {alert_id!r}; `loglake alerts list` shows their ids")
    record = {k: v for k, v in records[0].items() if k != "hit_keys"}
    console.file.write(orjson.dumps(record, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


@alerts_app.command("status")
def alerts_status(
    alert_id: Annotated[str, typer.Argument()],
    status: Annotated[str, typer.Argument(help="open, acknowledged or closed.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the alert).")] = "",
    lake: LakeOption = None,  # type: ignore[assignment]
) -> None:
    """Set an alert's status; later repeats update the alert but keep the status."""
    try:
        alert = set_status(lake or default_lake(), alert_id, status, note)
    except (ValueError, LookupError) as error:
        raise typer.BadParameter(str(error)) from None
    console.print(f"{alert.alert_id}: {alert.status}")


@alerts_app.command("export")
def alerts_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON lines).")],
    lake: LakeOption = None,  # type: ignore[assignment]
    as_ocsf: Annotated[bool, typer.Option("--ocsf", help="OCSF Detection Finding objects.")] = False,
    status: Annotated[str | None, typer.Option("--status")] = None,
    severity: Annotated[str | None, typer.Option("--severity")] = None,
) -> None:
    """Write the alerts as JSON lines, or as OCSF Detection Findings (for a SIEM or Security Lake)."""
    from loglake.detect.alerts import Alert

    lake = lake or default_lake()
    with locked(lake):
        records = _filtered(lake, status, severity, None)
    with out.open("wb") as handle:
        for record in records:
            data = to_ocsf(Alert(**record)) if as_ocsf else {k: v for k, v in record.items() if k != "hit_keys"}
            handle.write(orjson.dumps(data, default=str) + b"\n")
    console.print(f"{len(records)} alerts written to {out}")
