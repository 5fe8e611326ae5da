"""The Typer app: global options and command registration.

``main`` is the console-script entry point; it runs the app and turns every
:class:`~tagwise.errors.TagwiseError` into one stderr line and an exit code.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from tagwise._version import __version__
from tagwise.cli import output
from tagwise.cli.commands import customer as customer_commands
from tagwise.cli.commands import identity as identity_commands
from tagwise.cli.commands import ingest as ingest_commands
from tagwise.cli.commands import quality as quality_commands
from tagwise.cli.commands import resolve as resolve_commands
from tagwise.cli.commands import run as run_commands
from tagwise.cli.commands import segment as segment_commands
from tagwise.cli.commands import sources as sources_commands
from tagwise.cli.commands import spec as spec_commands
from tagwise.cli.commands import tags as tags_commands
from tagwise.cli.commands import workspace as workspace_commands
from tagwise.cli.options import State
from tagwise.errors import TagwiseError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="tagwise",
    help="Tagwise: customer tag platform (客户标签管理系统).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        output.stdout.print(f"tagwise {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder (default: nearest tagwise.toml)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Global options."""
    del version
    ctx.obj = State(workspace=workspace)


workspace_commands.register(app)
ingest_commands.register(app)
spec_commands.register(app)
run_commands.register(app)
sources_commands.register(app)
tags_commands.register(app)
resolve_commands.register(app)
quality_commands.register(app)
customer_commands.register(app)
segment_commands.register(app)
identity_commands.register(app)


def run(args: list[str]) -> int:
    """Run the CLI with ``args``; returns the exit code (used by ``main`` and tests)."""
    as_json = "--json" in args
    try:
        # without standalone mode, an Exit raised by a command comes back as the return value
        result = app(args=args, prog_name="tagwise", standalone_mode=False)
    except TagwiseError as err:
        output.print_error(err, as_json=as_json)
        return err.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except KeyboardInterrupt:  # Ctrl-C outside an operation that says what it kept
        sys.stderr.write("interrupted: the step in progress was rolled back\n")
        return 130
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except TyperException as exc:
        sys.stderr.write(f"error[usage]: {exc.format_message()} (hint: see `tagwise --help`)\n")
        return exc.exit_code
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    # The ~80,000 objects the imports created (modules, classes, sqlglot and SQLAlchemy
    # tables) live until the process ends: moved out of the collector's generations, they
    # are not traversed by each later collection nor once more at exit (0.1 s a command).
    gc.freeze()
    sys.exit(run(sys.argv[1:]))
