"""``tagwise quality``: completeness, validity, duplicates and rejections per source, and
the quality of identity resolution."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of
from tagwise.results import IdentityQuality, QualityResult, SourceQuality

__all__ = ["print_quality", "register"]


def quality(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to report (default: all declared).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The data quality report: per source the rows read, loaded and rejected, each
    column's completeness and validity, the duplicate rate and the rejections by reason;
    for the customer master, identity resolution's clusters, capped identifiers and
    matches. Identifier values are masked."""
    with workspace_of(ctx) as ws:
        report = ws.quality(sources or None)
    if as_json:
        output.emit_result(report)
    else:
        print_quality(report)


def _pct(share: float | None) -> str | None:
    return None if share is None else f"{share:.2%}"


def print_quality(report: QualityResult) -> None:
    """The human-readable quality report."""
    for source in report.sources:
        _print_source(source)
    if report.identity is not None:
        _print_identity(report.identity)


def _print_source(source: SourceQuality) -> None:
    out = output.stdout
    out.print()
    if not source.ingested and not source.read:
        out.print(f"[bold]{source.name}[/bold]: not ingested (`tagwise ingest {source.name}`)")
        return
    duplicate = _pct(source.duplicate_rate) or "—"
    out.print(
        f"[bold]{source.name}[/bold]: {source.read:,} read · {source.loaded:,} loaded · "
        f"{source.rejected:,} rejected · duplicate rate {duplicate}"
    )
    last = source.last_ingest
    if last is not None and last.status != "ok":
        out.print(f"  the last ingest {last.status}: these figures are from the ingest before it")
    output.table(
        None,
        ["column", "file column", "completeness", "validity", "rejected"],
        [
            (
                c.column,
                c.file_column if c.file_column != c.column else "",
                _pct(c.completeness),
                _pct(c.validity),
                c.rejected or "",
            )
            for c in source.columns
        ],
        numeric=["completeness", "validity", "rejected"],
    )
    if source.reasons:
        output.table(
            None,
            ["rejected because", "rows"],
            list(source.reasons.items()),
            numeric=["rows"],
        )
    if source.warning_reasons:
        output.table(
            f"{source.warnings:,} values loaded as null (their rows kept)",
            ["warning", "values"],
            list(source.warning_reasons.items()),
            numeric=["values"],
        )


def _print_identity(identity: IdentityQuality) -> None:
    out = output.stdout
    out.print()
    if not identity.records:
        out.print(f"[bold]identity[/bold]: no records of `{identity.master}` yet")
        return
    out.print(
        f"[bold]identity[/bold] ({identity.master}): {identity.records:,} records → "
        f"{identity.customers:,} customers; {identity.merged_customers:,} customers "
        f"hold several records ({identity.merged_records:,} records)"
    )
    if not identity.up_to_date:
        out.print("  records changed since the last resolution: run `tagwise resolve`")
    output.table(
        None,
        ["records per customer", "customers"],
        [(s.size, s.customers) for s in identity.cluster_sizes],
        numeric=["records per customer", "customers"],
    )
    output.table(
        None,
        ["identifier", "strong", "records", "values", "shared", "linking", "capped"],
        [
            (
                t.type,
                "yes" if t.strong else "no",
                t.records,
                t.values,
                t.shared,
                t.linking,
                t.capped,
            )
            for t in identity.identifiers
        ],
        numeric=["records", "values", "shared", "linking", "capped"],
    )
    capped = identity.capped
    if capped.values:
        output.table(
            f"{capped.values:,} identifiers capped (they link nobody)",
            ["identifier", "reason", "values", "records"],
            [(r.type, r.reason, r.values, r.records) for r in capped.by_reason],
            numeric=["values", "records"],
        )
        output.table(
            "shared by the most records",
            ["identifier", "value", "records", "reason"],
            [(t.type, t.value, t.records, t.reason) for t in capped.top],
            numeric=["records"],
        )
    matching = identity.matching
    threshold = matching.threshold
    at = f" at or above {threshold:g}" if threshold is not None else ""
    out.print(
        f"probabilistic matching: {matching.matches:,} pairs{at}; "
        f"{matching.review:,} pairs waiting for review (`tagwise customer matches`)"
    )
    last = identity.last_resolution
    if last is not None:
        # the report as the resolution recorded it (JSON), not a result model
        details = last.report if isinstance(last.report, dict) else {}
        changed = details.get("changed")
        out.print(
            f"last resolution: #{last.resolution_id} at {last.resolved_at:%Y-%m-%d %H:%M}"
            + (f", {changed:,} records changed customer" if isinstance(changed, int) else "")
        )


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("quality")(quality)
