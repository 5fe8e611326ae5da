"""``tagwise run``: compute features and tags as of a date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.commands.ingest import JsonOption
from tagwise.cli.state import workspace_of
from tagwise.errors import ConfigError
from tagwise.results import RunResult

__all__ = ["parse_date", "print_run", "register"]


def parse_date(text: str | None) -> date | None:
    """A ``--as-of`` value (YYYY-MM-DD).

    Raises:
        ConfigError: not a date.
    """
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ConfigError(f"--as-of `{text}` is not a date", hint="write it as 2026-11-01") from exc


def run(  # noqa: PLR0917 (Typer: one parameter per option)
    ctx: typer.Context,
    tags: Annotated[
        list[str] | None, typer.Option("--tags", help="Only these tags (and what they use).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of this date (default: today).")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only tags whose refresh interval has passed.")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="Compute on duckdb or postgres (default: [engine] name)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compute features and tags, diff them against the current values, record the history."""
    when = parse_date(as_of)
    with workspace_of(ctx) as ws, output.progress(not as_json) as step:
        report = ws.run(tags=tags, as_of=when, due=due, engine=engine, progress=step)
    if as_json:
        output.emit_result(report)
    else:
        print_run(report)


def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Runs to show at most.", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Recent runs: status, as-of date, counts, stage timings and errors."""
    with workspace_of(ctx) as ws:
        listing = ws.runs(limit=limit)
    if as_json:
        output.emit_result(listing)
        return
    output.table(
        None,
        ["run", "status", "as of", "tags", "values", "changes", "seconds", "error"],
        [
            (
                r.run_id,
                r.status,
                r.as_of,
                r.tags,
                r.tag_values,
                r.changes,
                round(sum(r.timings.values()), 2),
                r.error,
            )
            for r in listing.runs
        ],
        numeric=["run", "tags", "values", "changes", "seconds"],
    )


def print_run(report: RunResult) -> None:
    """The human-readable run summary."""
    if report.run_id is None:
        output.stdout.print("nothing to compute: no tag is due (no run recorded)")
        return
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items())
    output.stdout.print(
        f"run {report.run_id} as of {report.as_of}: {len(report.tags)} tags, "
        f"{report.customers:,} customers, {report.tag_values:,} values, "
        f"{report.changes:,} changes ({stages})"
    )
    if report.retired:
        output.stdout.print(f"retired deprecated tags: {', '.join(report.retired)}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("run")(run)
    app.command("runs")(runs)
