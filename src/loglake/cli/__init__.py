"""The `loglake` command: one module per command group, all registered on one Typer app."""

from __future__ import annotations

import sys

import typer

from loglake.cli import (  # noqa: F401 - importing registers the commands
    athena,
    context,
    demo,
    detect,
    hunt,
    iac,
    ingest,
    intel,
    maintain,
    posture,
    query,
    rules_export,
    serve,
    spark,
)
from loglake.cli.app import USER_ERRORS, app, console_err

try:  # typer >= 0.20 ships its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one line naming the fix and exit 1; never a traceback."""
    command = typer.main.get_command(app)
    args = argv if argv is not None else sys.argv[1:]
    try:
        # without standalone mode, click returns the code of a typer.Exit instead of raising it
        code = command.main(args=args, prog_name="loglake", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        console_err.print("aborted")
        return 1
    except click_exceptions.NoArgsIsHelpError:
        command.main(args=["--help"], prog_name="loglake", standalone_mode=False)
        return 0
    except click_exceptions.ClickException as error:
        console_err.print(f"error: {error.format_message()}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except USER_ERRORS as error:
        console_err.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console_err.print("interrupted")
        return 130
    return code if isinstance(code, int) else 0
