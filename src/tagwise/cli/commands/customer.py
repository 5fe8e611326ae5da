"""``tagwise customer …``: ``show ID`` (the profile) and the identity decisions
``merge``, ``separate``, ``unmerge`` and ``matches`` (the review queue)."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.commands.resolve import print_resolution
from tagwise.cli.options import JsonOption, parse_date, workspace_of
from tagwise.errors import ConfigError
from tagwise.results import CustomerProfile, CustomerTags, DecisionResult, ProfileTag

__all__ = ["register"]

customer_app = typer.Typer(help="One customer's profile (客户画像).", no_args_is_help=True)


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="The customer's id (customer master key).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The tags the customer had on this date.")
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            help="Only the current tag values, from the segment index (milliseconds; "
            "no provenance).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Attributes, features and tags with provenance: source, rule version, run, why."""
    if brief:
        if as_of is not None:
            raise ConfigError(
                "--brief shows the current tags; it cannot be combined with --as-of",
                hint="drop --brief to see the tags as of a date with their provenance",
            )
        with workspace_of(ctx) as ws:
            tags = ws.customer_tags(customer_id)
        if as_json:
            output.emit_result(tags)
            return
        _print_brief(tags)
        return
    with workspace_of(ctx) as ws:
        profile = ws.customer(customer_id, as_of=parse_date(as_of))
    if as_json:
        output.emit_result(profile)
        return
    _print_customer(profile)


def _print_brief(tags: CustomerTags) -> None:
    output.stdout.print(f"{tags.customer_id} (cid {tags.cid})  index at commit {tags.seq}")
    output.table(
        "tags",
        ["tag", "value"],
        [(t.tag, ", ".join(t.values) or _score(t.score)) for t in tags.tags],
        shrink=["value"],
    )


def _print_customer(profile: CustomerProfile) -> None:
    output.stdout.print(
        f"{profile.customer_id} (cid {profile.cid})  "
        + "  ".join(
            f"{k}={v}"
            for k, v in profile.attributes.items()  # the customer master's own columns
            if k not in ("cid", "customer_id") and v is not None
        )
    )
    _print_records(profile)
    output.stdout.print(_state(profile))
    _print_features(profile)
    title = f"tags as on {profile.as_of}" if profile.historical else "tags"
    output.table(
        title,
        ["tag", "name", "value", "source", "run", "since", "why"],
        [
            (
                t.tag,
                t.name,
                ", ".join(t.values) or _score(t.score),
                t.source + (" (locked)" if t.locked else ""),
                _tag_run(t, profile),
                t.since.date() if t.since else None,
                t.why,
            )
            for t in profile.tags
        ],
        shrink=["why", "value", "name"],
        drop=["since", "name"],
    )
    if profile.changes:
        output.table(
            "recent changes",
            ["run", "as of", "tag", "from", "to"],
            [
                (
                    c.run_id,
                    c.as_of,
                    c.tag,
                    c.old_value or _score(c.old_score),
                    c.new_value or _score(c.new_score),
                )
                for c in profile.changes
            ],
        )


def _state(profile: CustomerProfile) -> str:
    asked = f"tags as on {profile.as_of}; " if profile.historical else ""
    if profile.run_id is None:
        return f"{asked}no run has computed tags{' by then' if asked else ' yet'}"
    return f"{asked}state of run {profile.run_id} (as of {profile.run_as_of})"


def _print_features(profile: CustomerProfile) -> None:
    if profile.features is None:
        if profile.run_id is not None:
            output.stdout.print(
                f"features: run {profile.run_id}'s profile snapshot is no longer kept "
                "or has no row for this customer"
            )
        return
    output.table(
        f"features (run {profile.run_id}, as of {profile.run_as_of})",
        ["feature", "value"],
        [(name, _feature(value)) for name, value in profile.features.items()],
    )


def _feature(value: object) -> object:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return value


def _tag_run(tag: ProfileTag, profile: CustomerProfile) -> str:
    """The run a value is explained on, with its as-of date when it is not the profile's."""
    if tag.run_id is None:
        return ""
    if tag.run_id == profile.run_id:
        return str(tag.run_id)
    return f"{tag.run_id} (as of {tag.as_of})"


def _print_records(profile: CustomerProfile) -> None:
    if len(profile.records) > 1:
        sources = profile.attribute_sources
        output.table(
            "records (one customer)",
            ["record", "file:line", "linked by", "attributes taken from it"],
            [
                (
                    r.customer_id + (" (survivor)" if r.survivor else ""),
                    f"{r.file}:{r.line}" if r.file else "",
                    r.linked_by or "",
                    ", ".join(a for a, k in sources.items() if k == r.customer_id),
                )
                for r in profile.records
            ],
        )
    if profile.identity_history:
        output.table(
            "merges and splits",
            ["resolution", "at", "record", "kind", "from cid", "to cid", "reason"],
            [
                (e.resolution_id, e.at, e.record, e.kind, e.old_cid, e.new_cid, e.reason)
                for e in profile.identity_history
            ],
        )


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the merge history).")]
NoRunOption = Annotated[
    bool,
    typer.Option("--no-run", help="Do not recompute the tags of the customers concerned."),
]


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
    # the compared fields (match_on), at most three per record so that the table fits
    fields = list(dict.fromkeys(k for p in queue.pairs for k in p.left.fields))[:3]
    output.table(
        "pairs to review",
        ["probability", "record", *fields, "other", *(f"{f} " for f in fields)],
        [
            (
                f"{p.probability:.3f}",
                p.left.customer_id,
                *(p.left.fields.get(f) for f in fields),
                p.right.customer_id,
                *(p.right.fields.get(f) for f in fields),
            )
            for p in queue.pairs
        ],
    )
    if queue.truncated:
        output.stdout.print(
            f"{len(queue.pairs):,} of {queue.total:,} pairs shown (cut by --limit {queue.limit});"
            " decide these or raise --limit to see more"
        )
    else:
        waiting = "1 pair waits" if queue.total == 1 else f"{queue.total:,} pairs wait"
        output.stdout.print(f"{waiting} for review")


def register(app: typer.Typer) -> None:
    """Add the ``customer`` group to the app."""
    app.add_typer(customer_app, name="customer")
