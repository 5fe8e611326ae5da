"""``tagwise resolve``: identity resolution on its own (``ingest`` also runs it)."""

from __future__ import annotations

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of
from tagwise.results import ResolveResult

__all__ = ["print_resolution", "register"]


def resolve(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Resolve the customer master's records into customers (identity graph, matching,
    golden records). `tagwise ingest` does this after loading; rerunning on unchanged data
    changes nothing."""
    with workspace_of(ctx) as ws, output.progress(not as_json) as step:
        report = ws.resolve(progress=step)
    if as_json:
        output.emit_result(report)
    else:
        print_resolution(report)


def print_resolution(report: ResolveResult) -> None:
    """The human-readable summary of one resolution."""
    events = ", ".join(f"{n:,} {k}" for k, n in report.events.items()) or "no changes"
    output.stdout.print(
        f"identity: {report.records:,} records → {report.customers:,} customers "
        f"({report.merged_customers:,} with several records, "
        f"{report.merged_records:,} records); {report.capped:,} identifiers capped; "
        f"{report.matches:,} probabilistic merges{_matching(report)}; "
        f"{report.review:,} pairs to review; "
        f"{events} ({report.seconds:.1f} s)"
    )


def _matching(report: ResolveResult) -> str:
    where = report.matching
    return {"off": " (matching off)", "reused": " (pairs reused: records unchanged)"}.get(
        where, f" (splink on {where})"
    )


def register(app: typer.Typer) -> None:
    """Add ``resolve`` to the app."""
    app.command("resolve")(resolve)
