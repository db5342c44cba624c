"""`loglake inventory | classify | discover | audit | remediate | cost`: the posture half (steps 1-3 of the practice).

inventory (boto3, JSON snapshot) -> classify (tags, names, discovered data, measured exposure) -> the 3x3 matrix ->
audit (required vs actual logging) -> remediate (boto3 dry run / apply, Terraform) and cost.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pyarrow as pa
import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loglake.cli.app import app, console_err
from loglake.cli.output import print_rows
from loglake.inventory.aws import describe_error, fatal_for_run
from loglake.inventory.snapshot import Inventory, InventoryError, default_inventory_path, load_inventory, save_inventory
from loglake.policy.config import Policy, PolicyError, default_policy_path, load_policy

try:  # the same click that loglake.cli.main catches
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

F = TypeVar("F", bound=Callable[..., Any])

POSTURE_ERRORS = (InventoryError, PolicyError)
TABLE_FORMATS = ("table", "json", "jsonl", "csv")
AUDIT_FORMATS = (*TABLE_FORMATS, "sarif", "asff", "ocsf")
FAIL_ON = ("critical", "high", "medium", "low", "info", "none")

InventoryOption = Annotated[
    Path | None,
    typer.Option(
        "--inventory", "-i", help="Inventory snapshot to read. Env: LOGLAKE_INVENTORY.", show_default="./inventory.json"
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="policy.yaml (merged over the built-in defaults). Env: LOGLAKE_POLICY.",
        show_default="./policy.yaml if present",
    ),
]
ProfileOption = Annotated[
    str | None, typer.Option("--profile", help="AWS profile (standard credential chain otherwise).")
]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="Send every AWS call here (e.g. a moto_server); default: AWS.")
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="Output: table, json, jsonl or csv.")]
AssetsLakeOption = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        # No LOGLAKE_LAKE fallback: writing to a lake is opted into per run (audit is often a read-only CI gate).
        help="Also record each resource's posture in this lake's `assets` table (history kept).",
    ),
]


def user_errors(function: F) -> F:
    """A posture error (bad policy.yaml, missing snapshot, AWS unreachable) is one line and exit 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except POSTURE_ERRORS as error:
            _fail(str(error))
        except (ClientError, BotoCoreError) as error:
            fatal = fatal_for_run(error)
            _fail(str(fatal) if fatal else f"AWS refused: {describe_error(error)}")

    return wrapper  # type: ignore[return-value]


def _fail(message: str) -> None:
    """One line on stderr and exit 1 (a ClickException: `loglake.cli.main` prints it as `error: ...`)."""
    raise click_exceptions.ClickException(message)


def _exit_findings() -> None:
    """Exit 2: findings at or above the gate. SystemExit, since `main` runs click with standalone_mode=False, where a
    typer.Exit code is returned to it rather than raised (and main does not pass it on)."""
    raise SystemExit(2)


def _check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        _fail(f"unknown output format {value!r}; use one of: {', '.join(allowed)}")
    return value


def _policy(config: Path | None) -> Policy:
    return load_policy(config if config is not None else default_policy_path())


def _inventory(path: Path | None) -> tuple[Inventory, Path]:
    chosen = path or default_inventory_path()
    return load_inventory(chosen), chosen


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
        disable=not console_err.is_terminal,
    )


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _regions(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [r.strip() for r in value.split(",") if r.strip()]


# -- inventory ------------------------------------------------------------------------------------------------------


@app.command("inventory")
@user_errors
def inventory_command(
    *,
    profile: ProfileOption = None,
    regions: Annotated[str | None, typer.Option("--regions", help="Comma-separated regions, or 'all'.")] = None,
    endpoint_url: EndpointOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Snapshot file to write.", show_default="./inventory.json")
    ] = None,
    services: Annotated[
        str | None, typer.Option("--services", help="Only these collectors (comma-separated), e.g. s3,vpc.")
    ] = None,
    fmt: FormatOption = "table",
    lake: AssetsLakeOption = None,
    config: ConfigOption = None,
) -> None:
    """Snapshot the account's resources, tags and logging settings (JSON) for the later steps to read offline."""
    from loglake.inventory.collect import run_inventory

    _check_format(fmt, TABLE_FORMATS)
    policy = _policy(config) if lake is not None else None  # a bad policy.yaml fails before minutes of AWS calls
    target = out or default_inventory_path()
    with _progress() as progress:
        task = progress.add_task("inventory", total=None, current="")
        snapshot = run_inventory(
            profile=profile,
            regions=_regions(regions),
            endpoint_url=endpoint_url,
            services=_regions(services),
            progress=lambda label: progress.update(task, advance=1, current=label),
            on_plan=lambda total: progress.update(task, total=total),
        )
    save_inventory(snapshot, target)
    counts = Counter(r["type"] for r in snapshot.resources)
    rows = [{"resource_type": k, "count": v, "errors": ""} for k, v in sorted(counts.items())]
    rows += [
        {"resource_type": f"{e['service']} ({e['region']})", "count": 0, "errors": e["error"]} for e in snapshot.errors
    ]
    print_rows(pa.Table.from_pylist(rows or [{"resource_type": "", "count": 0, "errors": ""}]), fmt)
    partial = sum(1 for r in snapshot.resources if r["errors"])
    console_err.print(
        f"wrote {len(snapshot.resources)} resources of account {snapshot.account} "
        f"({', '.join(snapshot.regions)}) to {target}"
        + (f"; {len(snapshot.errors)} collector(s) failed" if snapshot.errors else "")
        + (f"; {partial} resource(s) partly read" if partial else ""),
        highlight=False,
    )
    if lake is not None and policy is not None:
        _record_assets(lake, snapshot, policy)


def _record_assets(lake: Path, snapshot: Inventory, policy: Policy) -> None:
    from loglake.lake.catalog import LakeError
    from loglake.policy.assets import write_assets

    try:
        with console_err.status("recording the assets (and the log rows they restamp)..."):
            changes = write_assets(lake, snapshot, policy)
    except LakeError as error:
        _fail(str(error))
    console_err.print(
        f"assets in {lake}: {changes.added} new, {changes.changed} changed, {changes.closed} gone, "
        f"{changes.unchanged} unchanged"
        + (
            f"; {changes.rows_restamped:,} log rows in {changes.files_rewritten} files re-stamped with their asset"
            if changes.files_rewritten
            else ""
        ),
        highlight=False,
    )


# -- classify -------------------------------------------------------------------------------------------------------


@app.command("classify")
@user_errors
def classify_command(
    *,
    inventory: InventoryOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Sensitivity and reachability per resource with the evidence, the matrix level, and label conflicts."""
    from loglake.classify.classifier import classify_inventory

    _check_format(fmt, TABLE_FORMATS)
    snapshot, _ = _inventory(inventory)
    policy = _policy(config)
    rows = []
    for result in classify_inventory(snapshot, policy).values():
        rows.append(
            {
                "resource_arn": result.arn,
                "resource_type": result.type,
                "name": result.name,
                "sensitivity": result.sensitivity,
                "reachability": result.reachability,
                "level": policy.level(result.sensitivity, result.reachability),
                "environment": result.environment or "",
                "evidence": "; ".join(result.sensitivity_evidence + result.reachability_evidence),
                "conflict": "; ".join(result.conflicts),
            }
        )
    if fmt == "table":
        rows = [
            {
                "type": _short(r["resource_type"]),
                **{k: r[k] for k in ("name", "sensitivity", "reachability", "level")},
                "conflict": r["conflict"],
            }
            for r in rows
        ]
    print_rows(_table(rows, ["name"]), fmt)


def _short(resource_type: str) -> str:
    return (
        resource_type.removeprefix("AWS::")
        .replace("ElasticLoadBalancingV2::LoadBalancer", "ELBv2")
        .replace("ElasticLoadBalancing::LoadBalancer", "CLB")
    )


def _table(rows: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    if not rows:
        return pa.Table.from_pylist([], schema=pa.schema([(c, pa.string()) for c in columns]))
    return pa.Table.from_pylist(rows)


# -- discover -------------------------------------------------------------------------------------------------------


@app.command("discover")
@user_errors
def discover_command(
    *,
    inventory: InventoryOption = None,
    config: ConfigOption = None,
    bucket: Annotated[list[str] | None, typer.Option("--bucket", "-b", help="Only this bucket (repeatable).")] = None,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", min=1, help="Bytes read per bucket at most (policy: discovery).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the snapshot here instead of in place.")
    ] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Sample S3 objects within a byte budget for card numbers, keys, IBANs, SSNs, e-mails; kept in the snapshot."""
    from loglake.classify.discover import Limits, discover
    from loglake.inventory.aws import Aws
    from loglake.inventory.snapshot import S3_BUCKET

    _check_format(fmt, TABLE_FORMATS)
    snapshot, path = _inventory(inventory)
    limits = Limits.from_policy(_policy(config).discovery)
    if max_bytes:
        limits.max_bytes_per_bucket = max_bytes
        limits.max_bytes_per_object = min(limits.max_bytes_per_object, max_bytes)
    buckets = snapshot.by_type(S3_BUCKET)
    if bucket:
        unknown = sorted(set(bucket) - {b["name"] for b in buckets})
        if unknown:
            _fail(f"bucket {unknown[0]!r} is not in {path}; run `loglake inventory` again or check the name")
        buckets = [b for b in buckets if b["name"] in bucket]
    clients: dict[str, Any] = {}

    def client_for(region: str):
        if region not in clients:
            clients[region] = Aws(profile or snapshot.profile, region, endpoint_url or snapshot.endpoint_url).client(
                "s3"
            )
        return clients[region]

    with _progress() as progress:
        task = progress.add_task("discover", total=len(buckets), current="")
        found = discover(client_for, buckets, limits, lambda name: progress.update(task, advance=1, current=name))
    snapshot.discovery.update(found)
    save_inventory(snapshot, out or path)
    rows = [
        {
            "bucket": r["bucket"],
            "sensitivity": r["sensitivity"] or "",
            "objects_sampled": r["objects_sampled"],
            "bytes_read": r["bytes_read"],
            "findings": ", ".join(f"{f['type']}={f['count']}" for f in r["findings"]),
            "summary": r["summary"] or "",
            "errors": "; ".join(r["errors"]),
        }
        for r in found.values()
    ]
    print_rows(_table(rows, ["bucket"]), fmt)


# -- audit ----------------------------------------------------------------------------------------------------------


@app.command("audit")
@user_errors
def audit_command(
    *,
    inventory: InventoryOption = None,
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv, sarif, asff or ocsf.")] = "table",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="Exit 2 on a failure at or above: critical, high, medium, low, info, none.")
    ] = "none",
    failed_only: Annotated[bool, typer.Option("--failed", help="Only failing rows.")] = False,
    lake: AssetsLakeOption = None,
) -> None:
    """One row per (resource, check): what the matrix requires against what is set; exit 2 past --fail-on."""
    from loglake.policy import report
    from loglake.policy.audit import COLUMNS, audit, gate

    _check_format(fmt, AUDIT_FORMATS)
    if fail_on not in FAIL_ON:
        _fail(f"unknown severity {fail_on!r} for --fail-on; use one of: {', '.join(FAIL_ON)}")
    snapshot, _ = _inventory(inventory)
    policy = _policy(config)
    rows = audit(snapshot, policy)
    if lake is not None:
        _record_assets(lake, snapshot, policy)
    if failed_only:
        rows = [r for r in rows if r["status"] != "pass"]
    if fmt == "sarif":
        _emit_json(report.sarif(rows))
    elif fmt == "asff":
        _emit_json(report.asff(rows, snapshot))
    elif fmt == "ocsf":
        _emit_json(report.ocsf(rows, snapshot))
    elif fmt == "table":
        shown = [
            {
                "type": _short(r["resource_type"]),
                **{k: r[k] for k in ("name", "level", "check_id", "status", "severity", "evidence")},
            }
            for r in rows
        ]
        print_rows(_table(shown, ["name"]), fmt)
        counts = Counter(r["status"] for r in rows)
        console_err.print(
            ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to audit", highlight=False
        )
    else:
        print_rows(_table(rows, list(COLUMNS)), fmt)
    if fail_on != "none":
        failing = gate(rows, fail_on)
        if failing:
            console_err.print(f"{len(failing)} failure(s) at or above {fail_on}", highlight=False)
            _exit_findings()


# -- remediate ------------------------------------------------------------------------------------------------------


@app.command("remediate")
@user_errors
def remediate_command(
    *,
    inventory: InventoryOption = None,
    config: ConfigOption = None,
    apply: Annotated[bool, typer.Option("--apply", help="Make the calls, then inventory and audit again.")] = False,
    terraform: Annotated[
        Path | None, typer.Option("--terraform", help="Also write the same changes as Terraform into this folder.")
    ] = None,
    log_bucket: Annotated[
        str | None,
        typer.Option("--log-bucket", help="Deliver logs here (default: loglake-logs-ACCOUNT-REGION, created)."),
    ] = None,
    kms_key: Annotated[
        str | None, typer.Option("--kms-key", help="KMS key ARN for CloudTrail (default: one is created).")
    ] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Print the boto3 calls that fix each failing check; --apply makes them, --terraform DIR writes HCL."""
    from loglake.policy.audit import audit
    from loglake.policy.fixes.plan import RemediationOptions, build_plan
    from loglake.policy.fixes.terraform import write_terraform

    snapshot, path = _inventory(inventory)
    policy = _policy(config)
    rows = audit(snapshot, policy)
    actions, notes = build_plan(snapshot, rows, policy, RemediationOptions(log_bucket=log_bucket, kms_key=kms_key))
    out = sys.stdout
    if terraform is not None:
        for written in write_terraform(actions, terraform):
            console_err.print(f"wrote {written}", highlight=False)
    if not actions:
        out.write("nothing to fix: every required check passes (or has no automatic fix)\n")
    if not apply:
        for action in actions:
            fixes = ", ".join(f"{c} on {a.rsplit(':', 1)[-1]}" for c, a in action.fixes[:3])
            out.write(f"# {action.purpose}" + (f"  [fixes {fixes}]" if fixes else "") + "\n")
            if action.note:
                out.write(f"#   note: {action.note}\n")
            out.write(action.render() + "\n")
        for note in notes:
            out.write(f"# not fixed: {note}\n")
        if actions:
            out.write(f"# dry run: {len(actions)} call(s); run again with --apply to make them\n")
        return
    _apply(snapshot, path, policy, actions, notes, profile, endpoint_url)


def _apply(snapshot, path, policy, actions, notes, profile, endpoint_url) -> None:  # noqa: PLR0917
    from loglake.inventory.collect import run_inventory
    from loglake.policy.audit import audit
    from loglake.policy.fixes.apply import apply_plan

    profile = profile or snapshot.profile
    endpoint_url = endpoint_url or snapshot.endpoint_url
    with _progress() as progress:
        task = progress.add_task("remediate", total=len(actions), current="")
        outcomes = apply_plan(actions, profile, endpoint_url, lambda p: progress.update(task, advance=1, current=p))
    print_rows(
        _table(
            [
                {
                    "call": f"{o.action.service}.{o.action.operation}",
                    "purpose": o.action.purpose,
                    "result": o.status,
                    "detail": o.detail,
                }
                for o in outcomes
            ],
            ["call"],
        ),
        "table",
    )
    claimed = {fix for o in outcomes if o.status != "error" for fix in o.action.fixes}
    failed_calls = {fix for o in outcomes if o.status == "error" for fix in o.action.fixes}
    fresh = run_inventory(profile=profile, regions=snapshot.regions, endpoint_url=endpoint_url)
    fresh.discovery = snapshot.discovery
    save_inventory(fresh, path)
    after = {(r["check_id"], r["resource_arn"]): r for r in audit(fresh, policy)}
    verified = []
    for check_id, arn in sorted(claimed | failed_calls):
        row = after.get((check_id, arn))
        status = row["status"] if row else "not required now"
        verified.append(
            {
                "check_id": check_id,
                "resource": arn,
                "now": status,
                "call": "error" if (check_id, arn) in failed_calls else "ok",
            }
        )
    print_rows(_table(verified, ["check_id"]), "table")
    for note in notes:
        console_err.print(f"not fixed: {note}", highlight=False, markup=False)
    bad = [v for v in verified if v["now"] == "fail"]
    console_err.print(
        f"{len(verified) - len(bad)} of {len(verified)} claimed fixes pass on re-audit; snapshot updated at {path}",
        highlight=False,
    )
    if bad:
        _exit_findings()


# -- cost -----------------------------------------------------------------------------------------------------------


@app.command("cost")
@user_errors
def cost_command(
    *,
    inventory: InventoryOption = None,
    config: ConfigOption = None,
    lake: Annotated[
        Path | None, typer.Option("--lake", help="Measure volumes from this lake where it holds the source.")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="A prices JSON overriding the dated built-in one.")
    ] = None,
    fmt: FormatOption = "table",
    totals_only: Annotated[
        bool, typer.Option("--totals", help="Only the totals per strategy (json/csv print the rows without it).")
    ] = False,
) -> None:
    """Monthly cost of today's and the required logging: CloudWatch Logs vs S3 gzip/Parquet + Athena."""
    from loglake.policy import cost

    _check_format(fmt, TABLE_FORMATS)
    snapshot, _ = _inventory(inventory)
    policy = _policy(config)
    price_list = cost.load_prices(prices)
    volumes = None
    if lake is not None:
        from loglake.lake.catalog import LakeError

        try:
            volumes = cost.lake_volumes(lake, snapshot, policy)
        except LakeError as error:
            _fail(str(error))
    rows = cost.estimate(snapshot, policy, price_list, volumes)
    if not totals_only:
        shown = rows
        if fmt == "table":
            shown = [
                {
                    "name": r["name"],
                    "check_id": r["check_id"],
                    "on": "yes" if r["on_today"] else "no",
                    "req": "yes" if r["required"] else "no",
                    "GB/mo": r["gb_required"] or r["gb_today"],
                    **{s: f"{r[f'{s}_today']:.2f} -> {r[f'{s}_required']:.2f}" for s in cost.STRATEGIES},
                }
                for r in rows
            ]
        print_rows(_table(shown, ["name"]), fmt, title=None)
        if fmt != "table":  # one document for programs: the rows (each with its strategies), or --totals alone
            return
    print_rows(
        _table(cost.totals(rows), ["strategy"]),
        fmt,
        title=f"$/month ({price_list['currency']}, prices of {price_list['date']}, {price_list['region']})"
        if fmt == "table"
        else None,
    )
