"""`loglake iac check`: the posture audit on Terraform (plans, HCL) and CloudFormation/SAM before deploying."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from loglake.cli.app import app, console, console_err
from loglake.cli.output import print_rows
from loglake.cli.posture import (
    FAIL_ON,
    ConfigOption,
    _check_format,
    _exit_findings,
    _fail,
    _policy,
    _table,
    user_errors,
)

iac_app = typer.Typer(
    help="Check infrastructure-as-code against the logging matrix before it is deployed.", no_args_is_help=True
)
app.add_typer(iac_app, name="iac")

IAC_FORMATS = ("table", "json", "sarif")


@iac_app.command("check")
@user_errors
def check_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Terraform folders (.tf), `terraform show -json` plans, CloudFormation/SAM.")
    ],
    *,
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or sarif.")] = "table",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="Exit 2 on a failure at or above: critical, high, medium, low, info, none.")
    ] = "none",
    failed_only: Annotated[bool, typer.Option("--failed", help="Only failing (and undecidable) rows.")] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="Region the code deploys to (default: the provider's, or us-east-1).")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Account id used in ARNs of the fixes (default: ACCOUNT_ID).")
    ] = None,
    log_bucket: Annotated[
        str | None,
        typer.Option("--log-bucket", help="Bucket the fixes deliver logs to (default: a log bucket in the code)."),
    ] = None,
) -> None:
    """Audit code offline: every required logging setting it does not configure, at its file and line, with a fix.

    Exit 2 when a failure is at or above --fail-on; exit 1 when a file cannot be read (the others are still checked).
    """
    from loglake.iac.check import IacPathError, check_paths, dumps, to_json
    from loglake.policy import report as formats
    from loglake.policy.audit import gate

    _check_format(fmt, IAC_FORMATS)
    if fail_on not in FAIL_ON:
        _fail(f"unknown severity {fail_on!r} for --fail-on; use one of: {', '.join(FAIL_ON)}")
    policy = _policy(config)
    try:
        result = check_paths(paths, policy, region=region, account=account, log_bucket=log_bucket)
    except IacPathError as error:
        _fail(str(error))
    if not result.stacks and not result.errors:
        _fail(f"no Terraform, plan or CloudFormation template found in {', '.join(map(str, paths))}")
    rows = [r for r in result.rows if r["status"] != "pass"] if failed_only else result.rows
    for error in result.errors:
        console_err.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
    if fmt == "sarif":
        _print(dumps(_sarif(formats.sarif(rows), result)))
    elif fmt == "json":
        _print(dumps(to_json(result, rows)))
    else:
        _print_table(rows, result)
    if fail_on != "none" and gate(rows, fail_on):
        console_err.print(f"{len(gate(rows, fail_on))} failure(s) at or above {fail_on}", highlight=False)
        _exit_findings()
    if result.errors:
        raise SystemExit(1)


def _print(text: str) -> None:
    typer.echo(text)


def _sarif(document: dict, result) -> dict:
    """The audit's SARIF, plus the files that did not parse and the checks code cannot decide."""
    run = document["runs"][0]
    run["invocations"] = [
        {
            "executionSuccessful": not result.errors,
            "toolExecutionNotifications": [
                {
                    "level": "error",
                    "message": {"text": error.reason},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": Path(error.path).as_posix()},
                                "region": {"startLine": error.line or 1},
                            }
                        }
                    ],
                }
                for error in result.errors
            ],
            "toolConfigurationNotifications": [
                {"level": "note", "descriptor": {"id": check_id}, "message": {"text": f"skipped for code: {reason}"}}
                for check_id, reason in result.skipped.items()
            ],
        }
    ]
    return document


def _print_table(rows: list[dict], result) -> None:
    shown = [
        {
            "where": f"{r['file']}:{r['line']}",
            "resource": r["address"],
            **{k: r[k] for k in ("level", "check_id", "status", "severity", "evidence")},
        }
        for r in rows
    ]
    print_rows(_table(shown, ["where"]), "table")
    fixes = [r for r in rows if r["fix"]]
    for r in fixes:
        console.print(f"[bold]fix[/bold] {r['check_id']} on {r['address']} ({r['file']}:{r['line']})", highlight=False)
        console.print(r["fix"].rstrip(), markup=False, highlight=False, soft_wrap=True)  # copied as it is
    counts = Counter(r["status"] for r in rows)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to check"
    console_err.print(f"{summary} in {len(result.stacks)} stack(s)", highlight=False)
    for check_id, reason in result.skipped.items():
        console_err.print(f"skipped {check_id}: {reason}", highlight=False, markup=False)
