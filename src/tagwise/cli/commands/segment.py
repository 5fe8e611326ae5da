"""``tagwise segment count EXPR``: how many customers a segment expression selects."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, parse_date, workspace_of
from tagwise.results import SegmentCount

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    help="Segments (人群圈选): customers selected by an expression over tags, attributes "
    "and features.",
    no_args_is_help=True,
)


@segment_app.command("count")
def segment_count(  # noqa: PLR0917 (Typer: one parameter per option)
    ctx: typer.Context,
    expr: Annotated[
        str,
        typer.Argument(
            help="The expression, e.g. \"rfm_segment = '重要价值' and city_tier in ('一线', "
            "'新一线')\"."
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Evaluate on the tag values customers held on this date."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Break the members down by this tag.")
    ] = None,
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Show this many members' customer ids.")
    ] = 10,
    as_json: JsonOption = False,
) -> None:
    """Count the customers for whom EXPR is true: share, a sample, a breakdown."""
    with workspace_of(ctx) as ws:
        result = ws.segment_count(expr, as_of=parse_date(as_of), by=by, sample=sample)
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if as_json:
        output.emit_result(result)
        return
    _print_count(result)


def _print_count(result: SegmentCount) -> None:
    when = f" as on {result.as_of}" if result.as_of else ""
    output.stdout.print(
        f"{result.count:,} of {result.total:,} customers ({result.share:.2%}){when}"
    )
    if result.sample:
        output.stdout.print("sample: " + ", ".join(result.sample))
    if result.breakdown is not None:
        output.table(
            f"by {result.by}",
            [result.by or "value", "customers", "share"],
            [
                (row.value if row.value is not None else "(none)", row.count, f"{row.share:.2%}")
                for row in result.breakdown
            ],
            numeric=["customers", "share"],
        )


def register(app: typer.Typer) -> None:
    """Add ``segment …`` to the app."""
    app.add_typer(segment_app, name="segment")
