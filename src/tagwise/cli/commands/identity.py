"""``tagwise resolve`` and the identity decisions under ``tagwise customer``:
``merge``, ``separate``, ``unmerge`` and ``matches`` (the review queue)."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.commands.ingest import JsonOption
from tagwise.cli.commands.tags import customer_app
from tagwise.cli.state import workspace_of
from tagwise.results import DecisionResult, ResolveResult

__all__ = ["print_resolution", "register"]

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the merge history).")]
NoRunOption = Annotated[
    bool,
    typer.Option("--no-run", help="Do not recompute the tags of the customers concerned."),
]


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


@customer_app.command("merge")
def merge(  # noqa: PLR0917 (Typer arguments and options)
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(help="A record key (customer master id).")],
    second: Annotated[str, typer.Argument(help="Another record key.")],
    reason: ReasonOption = "",
    no_run: NoRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Decide that two records are one customer (e.g. from `tagwise customer matches`)."""
    with workspace_of(ctx) as ws:
        result = ws.merge_customers(first, second, reason=reason, recompute=not no_run)
    _print_decision(result, as_json=as_json)


@customer_app.command("separate")
def separate(  # noqa: PLR0917 (Typer arguments and options)
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(help="A record key (customer master id).")],
    second: Annotated[str, typer.Argument(help="Another record key.")],
    reason: ReasonOption = "",
    no_run: NoRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Decide that two records are different customers (a review decision); a shared
    identifier or a match no longer links them."""
    with workspace_of(ctx) as ws:
        result = ws.separate_customers(first, second, reason=reason, recompute=not no_run)
    _print_decision(result, as_json=as_json)


@customer_app.command("unmerge")
def unmerge(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help="The record key that was merged wrongly.")],
    reason: ReasonOption = "",
    no_run: NoRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Undo a wrong merge: the record leaves its customer and stays apart from the
    customer's other records; both customers' features and tags are recomputed."""
    with workspace_of(ctx) as ws:
        result = ws.unmerge_customer(record, reason=reason, recompute=not no_run)
    _print_decision(result, as_json=as_json)


def _print_decision(result: DecisionResult, *, as_json: bool) -> None:
    if as_json:
        output.emit_result(result)
        return
    output.stdout.print(f"recorded decision(s) {', '.join(f'#{i}' for i in result.decisions)}")
    print_resolution(result.identity)
    run = result.recomputed
    if run is not None:
        output.stdout.print(
            f"recomputed tags: run {run.run_id} as of {run.as_of}, {run.changes:,} changes"
        )
    elif result.identity.changed:
        output.stdout.print("tags not recomputed: run `tagwise run` to refresh them")


@customer_app.command("matches")
def matches(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Pairs to show at most.", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The review queue: record pairs that probabilistic matching found likely but not
    certain; decide each with `tagwise customer merge` or `separate`."""
    with workspace_of(ctx) as ws:
        queue = ws.review_queue(limit=limit)
    if as_json:
        output.emit_result(queue)
        return
    output.table(
        "pairs to review",
        [
            "probability",
            "record",
            "name",
            "birthday",
            "city",
            "other",
            "name ",
            "birthday ",
            "city ",
        ],
        [
            (
                f"{p.probability:.3f}",
                p.left.customer_id,
                p.left.fields.get("name"),
                p.left.fields.get("birthday"),
                p.left.fields.get("city"),
                p.right.customer_id,
                p.right.fields.get("name"),
                p.right.fields.get("birthday"),
                p.right.fields.get("city"),
            )
            for p in queue.pairs
        ],
    )


def register(app: typer.Typer) -> None:
    """Add ``resolve`` to the app (the customer subcommands register with their group)."""
    app.command("resolve")(resolve)
