"""``tagwise run``: compute features and tags as of a date."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, LimitOption, parse_date, workspace_of
from tagwise.engine.pipeline import check_as_of
from tagwise.results import RunResult

__all__ = ["print_run", "register", "split_codes"]


def split_codes(values: list[str] | None) -> list[str] | None:
    """Tag codes from repeated options and comma-separated lists (``--tags a,b --tags c``)."""
    if not values:
        return None
    codes = [code.strip() for value in values for code in value.split(",")]
    return [code for code in codes if code] or None


def run(  # noqa: PLR0917 (Typer: one parameter per option)
    ctx: typer.Context,
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tags",
            help="Only these tags (and what they use): repeat the option or separate codes "
            "with commas (--tags a,b).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Compute as of this date, YYYY-MM-DD (default: today); from 1900-01-01 to "
            "a year after today.",
        ),
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only tags whose refresh interval has passed.")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine", help="Compute engine (default: [engine] name, see docs/engines.md)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compute features and tags, diff them against the current values, record the history."""
    when = parse_date(as_of)
    if when is not None:
        check_as_of(when)  # before the workspace opens
    with workspace_of(ctx) as ws, output.progress(not as_json) as step:
        report = ws.run(tags=split_codes(tags), as_of=when, due=due, engine=engine, progress=step)
    if as_json:
        output.emit_result(report)
    else:
        print_run(report)


def runs(
    ctx: typer.Context,
    limit: LimitOption = 20,
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
        shrink=["error"],
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
