"""``tagwise ingest`` and ``tagwise quarantine``."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.commands.resolve import print_resolution
from tagwise.cli.options import JsonOption, LimitOption, workspace_of
from tagwise.results import IngestResult

__all__ = ["print_ingest", "register"]


def ingest(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to load (default: all declared).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load sources; report read / loaded / rejected rows per source.

    Rejected rows go to the quarantine with file, line, column and reason
    (`tagwise quarantine`). Exits non-zero only when a source cannot be read at all.
    """
    with workspace_of(ctx) as ws, output.progress(not as_json) as step:
        report = ws.ingest(sources or None, progress=step)
    if as_json:
        output.emit_result(report)
    else:
        print_ingest(report)
        for failed in report.errors:
            output.print_problem(failed)
    if report.errors:
        raise typer.Exit(code=report.errors[0].exit_code)


def print_ingest(report: IngestResult) -> None:
    """The human-readable ingest summary."""
    rows = [(r.name, r.read, r.loaded, r.rejected, _top_reason(r.reasons)) for r in report.sources]
    if not rows:
        return  # every source failed: the errors follow on stderr
    output.table(
        None,
        ["source", "read", "loaded", "rejected", "top reason"],
        rows,
        numeric=["read", "loaded", "rejected"],
    )
    rejected = sum(r.rejected for r in report.sources)
    if rejected:
        output.stdout.print(
            f"{rejected:,} rejected rows kept in the quarantine: `tagwise quarantine` lists them"
        )
    warned = sum(sum(r.warnings.values()) for r in report.sources)
    if warned:
        output.stdout.print(
            f"{warned:,} values that do not parse were loaded as null (their rows kept) and "
            "recorded as warnings: `tagwise quarantine` lists them"
        )
    if report.identity is not None:
        print_resolution(report.identity)


def _top_reason(reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    reason, count = next(iter(reasons.items()))
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return f"{reason} ×{count:,}{more}"


def quarantine(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Argument(help="Only this source.")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """Rows rejected by the last ingest of each source, with file, line, column and reason,
    and the values kept as null (reason `kept as null: …`, their rows loaded)."""
    with workspace_of(ctx) as ws:
        if source is not None:
            ws.sources().ordered([source])
        rejected = ws.quarantine(source, limit=limit)
    if as_json:
        output.emit_result(rejected)
        return
    output.table(
        None,
        ["source", "file:line", "column", "raw value", "reason"],
        [(r.source, f"{r.file}:{r.line}", r.column, r.raw_value, r.reason) for r in rejected.rows],
        shrink=["reason", "raw value"],
        drop=["source", "column", "raw value"],  # the file tells the source
    )


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command("ingest")(ingest)
    app.command("quarantine")(quarantine)
