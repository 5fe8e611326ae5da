"""``tagwise segment …``: audiences (人群圈选) — count an expression, saved segments, exports
with a holdout, overlap, snapshots, and why a customer is in or out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, parse_date, workspace_of
from tagwise.results import (
    SegmentCount,
    SegmentDetail,
    SegmentExplainResult,
    SegmentExportResult,
)

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    help="Segments (人群圈选): customers selected by an expression over tags, attributes "
    "and features; saved segments, exports, overlap, snapshots.",
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


NameArgument = Annotated[str, typer.Argument(help="The saved segment's name.")]


@segment_app.command("save")
def segment_save(  # noqa: PLR0917 (Typer: one parameter per option)
    ctx: typer.Context,
    name: NameArgument,
    expr: Annotated[str, typer.Argument(help="The expression that selects the members.")],
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    owner: Annotated[str, typer.Option("--owner", help="Who answers for it.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Save a segment to segments/NAME.yaml and record its version (like `apply`)."""
    with workspace_of(ctx) as ws:
        result = ws.segment_save(name, expr, description=description, owner=owner)
    if as_json:
        output.emit_result(result)
        return
    state = f"recorded version {result.version}" if result.changed else "unchanged"
    output.stdout.print(f"segment {result.name}: {state} ({result.file})")


@segment_app.command("list")
def segment_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every saved segment with its version and size now."""
    with workspace_of(ctx) as ws:
        listing = ws.segment_list()
    if as_json:
        output.emit_result(listing)
        return
    if not listing.segments:
        output.stdout.print("no saved segments: `tagwise segment save NAME EXPR` saves one")
        return
    output.table(
        None,
        ["name", "members", "share", "version", "expr"],
        [
            (
                s.name,
                s.members,
                _share(s.share),
                s.version if s.applied else f"{s.version or '—'} (changed)",
                s.expr,
            )
            for s in listing.segments
        ],
        numeric=["members", "share", "version"],
        shrink=["expr"],
    )


@segment_app.command("show")
def segment_show(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """A segment's definition, size, size trend across runs, tags used and snapshots."""
    with workspace_of(ctx) as ws:
        detail = ws.segment_show(name)
    if as_json:
        output.emit_result(detail)
        return
    _print_detail(detail)


def _print_detail(d: SegmentDetail) -> None:
    version = f"version {d.version}" if d.version else "not applied"
    changed = "" if d.applied or not d.version else " (the file has changes not applied)"
    output.stdout.print(f"{d.name} · {version}{changed} · {d.file}")
    output.stdout.print(f"expr: {d.expr}")
    if d.description:
        output.stdout.print(d.description)
    if d.owner:
        output.stdout.print(f"owner {d.owner}")
    output.stdout.print(f"members {d.members:,} ({_share(d.share)})")
    output.stdout.print("tags used: " + (", ".join(d.tags_used) or "—"))
    if d.segments_used:
        output.stdout.print("segments used: " + ", ".join(d.segments_used))
    output.table(
        "size across runs",
        ["run", "as of", "members"],
        [(t.run_id, t.as_of, t.members) for t in d.trend],
        numeric=["run", "members"],
    )
    if d.snapshots:
        output.table(
            "snapshots",
            ["label", "members", "version", "seq", "taken at", "by"],
            [
                (
                    s.label,
                    s.members,
                    s.version,
                    s.seq,
                    s.taken_at.strftime("%Y-%m-%d %H:%M"),
                    s.actor,
                )
                for s in d.snapshots
            ],
            numeric=["members", "version", "seq"],
        )
    if d.exports:
        output.table(
            "latest exports",
            ["at", "by", "members", "control", "from", "files"],
            [
                (
                    e.exported_at.strftime("%Y-%m-%d %H:%M"),
                    e.actor,
                    e.members,
                    e.control_members,
                    f"snapshot {e.snapshot}" if e.snapshot else f"version {e.version}",
                    ", ".join(e.files),
                )
                for e in d.exports
            ],
            numeric=["members", "control"],
            shrink=["files"],
        )


@segment_app.command("export")
def segment_export(  # noqa: PLR0917 (Typer: one parameter per option)
    ctx: typer.Context,
    name: NameArgument,
    out: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.parquet.")],
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Attributes, features or tags to add, comma-separated."),
    ] = None,
    holdout: Annotated[
        str | None,
        typer.Option(
            "--holdout",
            help="A control group's share (10% or 0.1), written to FILE.control.EXT.",
        ),
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option("--seed", help="The holdout split's seed (default: the segment name)."),
    ] = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Export a snapshot's members (its label).")
    ] = None,
    bom: Annotated[
        bool, typer.Option("--bom", help="Start a CSV with a UTF-8 BOM (for Excel).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a segment's members to a file, all of it or nothing."""
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else []
    with workspace_of(ctx) as ws:
        result = ws.segment_export(
            name,
            out=out,
            columns=wanted,
            holdout=holdout,
            seed=seed,
            bom=bom,
            snapshot=snapshot,
        )
    if as_json:
        output.emit_result(result)
        return
    _print_export(result)


def _print_export(r: SegmentExportResult) -> None:
    source = f"snapshot {r.snapshot}" if r.snapshot else f"version {r.version}"
    output.stdout.print(f"segment {r.name} ({source}): {r.members:,} members")
    output.stdout.print(f"  target  {r.target.members:>10,}  {r.target.path}")
    if r.control is not None:
        output.stdout.print(
            f"  control {r.control.members:>10,}  {r.control.path}  "
            f"(holdout {r.holdout:.1%}, seed {r.seed})"
        )


@segment_app.command("overlap")
def segment_overlap(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Two or more saved segments.")],
    as_json: JsonOption = False,
) -> None:
    """Members each pair of segments shares, and their Jaccard similarity."""
    with workspace_of(ctx) as ws:
        result = ws.segment_overlap(names)
    if as_json:
        output.emit_result(result)
        return
    headers = ["segment", "members", *result.segments]
    output.table(
        "shared members",
        headers,
        [
            (n, size, *row)
            for n, size, row in zip(result.segments, result.sizes, result.shared, strict=True)
        ],
        numeric=headers[1:],
    )
    output.table(
        "jaccard",
        ["segment", *result.segments],
        [
            (n, *(f"{x:.3f}" for x in row))
            for n, row in zip(result.segments, result.jaccard, strict=True)
        ],
        numeric=result.segments,
    )


@segment_app.command("snapshot")
def segment_snapshot(
    ctx: typer.Context,
    name: NameArgument,
    label: Annotated[str, typer.Option("--label", help="The snapshot's name, e.g. 双11活动.")],
    as_json: JsonOption = False,
) -> None:
    """Freeze a segment's members now, to export exactly that audience later."""
    with workspace_of(ctx) as ws:
        result = ws.segment_snapshot(name, label=label)
    if as_json:
        output.emit_result(result)
        return
    output.stdout.print(
        f"segment {result.name}: snapshot {result.label} holds {result.members:,} members "
        f"(version {result.version}, seq {result.seq})"
    )


@segment_app.command("explain")
def segment_explain(
    ctx: typer.Context,
    name: NameArgument,
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    as_json: JsonOption = False,
) -> None:
    """Which predicates of a segment a customer meets and which not."""
    with workspace_of(ctx) as ws:
        result = ws.segment_explain(name, customer_id)
    if as_json:
        output.emit_result(result)
        return
    _print_explain(result)


def _print_explain(r: SegmentExplainResult) -> None:
    verdict = "is a member of" if r.is_member else "is not a member of"
    output.stdout.print(f"{r.customer_id} {verdict} {r.name}: {r.expr}")
    marks = {True: "✓", False: "✗", None: "✗ (missing value)"}
    output.table(
        None,
        ["", "predicate", "values"],
        [
            (
                marks[p.met],
                "  " * p.depth + p.text,
                ", ".join(f"{k}={v}" for k, v in p.values.items()),
            )
            for p in r.predicates
        ],
        shrink=["values"],
    )


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def register(app: typer.Typer) -> None:
    """Add ``segment …`` to the app."""
    app.add_typer(segment_app, name="segment")
