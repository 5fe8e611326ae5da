"""``tagwise customer …``: ``show ID`` (the profile) and the identity decisions
``merge``, ``separate``, ``unmerge`` and ``matches`` (the review queue)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tagwise.cli import output
from tagwise.cli.commands.resolve import print_resolution
from tagwise.cli.options import JsonOption, LimitOption, parse_date, workspace_of

__all__ = ["register"]

customer_app = typer.Typer(help="One customer's profile (客户画像).", no_args_is_help=True)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the merge history).")]
NoRunOption = Annotated[
    bool,
    typer.Option("--no-run", help="Do not recompute the tags of the customers concerned."),
]


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="The customer's id (customer master key).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The tags the customer had on this date.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Attributes, features and tags with provenance: source, rule version, run, why."""
    with workspace_of(ctx) as ws:
        profile = ws.customer(customer_id, as_of=parse_date(as_of))
    if as_json:
        output.emit_json(profile)
        return
    attrs = profile["attributes"]
    output.stdout.print(
        f"{profile['customer_id']} (cid {profile['cid']})  "
        + "  ".join(
            f"{k}={v}"
            for k, v in attrs.items()
            if k not in ("cid", "customer_id") and v is not None
        )
    )
    if len(profile["records"]) > 1:
        sources = profile["attribute_sources"]
        output.table(
            "records (one customer)",
            ["record", "file:line", "linked by", "attributes taken from it"],
            [
                (
                    r["customer_id"] + (" (survivor)" if r["survivor"] else ""),
                    f"{r['file']}:{r['line']}" if r["file"] else "",
                    r["linked_by"] or "",
                    ", ".join(a for a, k in sources.items() if k == r["customer_id"]),
                )
                for r in profile["records"]
            ],
        )
    if profile["identity_history"]:
        output.table(
            "merges and splits",
            ["resolution", "at", "record", "kind", "from cid", "to cid", "reason"],
            [
                (
                    e["resolution"],
                    e["at"],
                    e["record"],
                    e["kind"],
                    e["old_cid"],
                    e["new_cid"],
                    e["reason"],
                )
                for e in profile["identity_history"]
            ],
        )
    title = f"tags as of {profile['as_of']}" if profile["as_of"] else "tags"
    output.table(
        title,
        ["tag", "name", "value", "source", "run", "since", "why"],
        [
            (
                t["tag"],
                t["name"],
                ", ".join(t["values"]) or _score(t["score"]),
                t["source"] + (" (locked)" if t["locked"] else ""),
                t["run"],
                t["since"],
                t["why"],
            )
            for t in profile["tags"]
        ],
        shrink=["why", "value", "name"],
        drop=["since", "name"],
    )
    if profile["changes"]:
        output.table(
            "recent changes",
            ["run", "as of", "tag", "from", "to"],
            [
                (
                    c["run"],
                    c["as_of"],
                    c["tag"],
                    c["old"] or _score(c["old_score"]),
                    c["new"] or _score(c["new_score"]),
                )
                for c in profile["changes"]
            ],
        )


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


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


def _print_decision(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        output.emit_json(result)
        return
    report = result["identity"]
    output.stdout.print(f"recorded decision(s) {', '.join(f'#{i}' for i in result['decisions'])}")
    print_resolution(report)
    run = result["run"]
    if run is not None:
        output.stdout.print(
            f"recomputed tags: run {run['run_id']} as of {run['as_of']}, {run['changes']:,} changes"
        )
    elif report["changed"]:
        output.stdout.print("tags not recomputed: run `tagwise run` to refresh them")


@customer_app.command("matches")
def matches(
    ctx: typer.Context,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """The review queue: record pairs that probabilistic matching found likely but not
    certain; decide each with `tagwise customer merge` or `separate`."""
    with workspace_of(ctx) as ws:
        pairs = ws.review_queue(limit=limit)
    if as_json:
        output.emit_json({"pairs": pairs})
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
                f"{p['probability']:.3f}",
                p["left"]["customer_id"],
                p["left"].get("name"),
                p["left"].get("birthday"),
                p["left"].get("city"),
                p["right"]["customer_id"],
                p["right"].get("name"),
                p["right"].get("birthday"),
                p["right"].get("city"),
            )
            for p in pairs
        ],
    )


def register(app: typer.Typer) -> None:
    """Add the ``customer`` group to the app."""
    app.add_typer(customer_app, name="customer")
