"""``tagwise tags list | show CODE`` and ``tagwise customer show ID``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tagwise.cli import output
from tagwise.cli.commands.ingest import JsonOption
from tagwise.cli.commands.run import parse_date
from tagwise.cli.state import workspace_of
from tagwise.results import CustomerProfile, ProfileTag

__all__ = ["register"]

tags_app = typer.Typer(
    help="Tag definitions, distributions, coverage and freshness.", no_args_is_help=True
)
customer_app = typer.Typer(help="One customer's profile (客户画像).", no_args_is_help=True)


@tags_app.command("list")
def tags_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every tag: category, kind, status, coverage and last run."""
    with workspace_of(ctx) as ws:
        listing = ws.tags_overview()
    if as_json:
        output.emit_result(listing)
        return
    output.table(
        None,
        ["code", "name", "category", "kind", "status", "customers", "coverage", "last run"],
        [
            (
                r.code,
                r.name,
                r.category,
                r.kind,
                r.status,
                r.customers,
                _share(r.coverage),
                r.last_run_id,
            )
            for r in listing.tags
        ],
        numeric=["customers", "coverage", "last run"],
    )


@tags_app.command("show")
def tags_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Tag code.")],
    as_json: JsonOption = False,
) -> None:
    """A tag's definition, value distribution, coverage, last run and its changes."""
    with workspace_of(ctx) as ws:
        detail = ws.tag_detail(code)
    if as_json:
        output.emit_result(detail)
        return
    d = detail.definition  # the definition as written in YAML: its keys are the spec's
    output.stdout.print(
        f"{d.get('name', code)} ({code}) · {d.get('category')} · {d.get('kind')} · "
        f"{d.get('status', 'published')} · version {detail.version}"
    )
    if d.get("description"):
        output.stdout.print(d["description"])
    output.stdout.print(
        f"owner {d.get('owner', '—')} · refresh {d.get('refresh', 'daily')} · "
        f"sensitivity {d.get('sensitivity', 'internal')} · review {d.get('review', 'none')}"
    )
    _print_method(d)
    last = detail.last_computation
    coverage = _share(detail.coverage)
    if last:
        output.stdout.print(
            f"coverage {detail.customers:,} customers ({coverage}); last computed by run "
            f"{last.run_id} as of {last.as_of}, {last.changes:,} changes"
        )
    else:
        output.stdout.print("not computed yet: `tagwise run`")
    output.table(
        "distribution",
        ["value", "customers"],
        [(r.value, r.customers) for r in detail.distribution],
        numeric=["customers"],
    )
    if detail.last_run_changes:
        output.table(
            "changes in the last run",
            ["from", "to", "customers"],
            [(c.old_value, c.new_value, c.customers) for c in detail.last_run_changes],
            numeric=["customers"],
        )


def _print_method(d: dict[str, Any]) -> None:
    rule = d.get("rule")
    if isinstance(rule, str):
        output.stdout.print(f"rule: {rule}")
    elif isinstance(rule, list):
        for branch in rule:
            if "else" in branch:
                output.stdout.print(f"  else → {branch['else']}")
            else:
                output.stdout.print(f"  when {branch['when']} → {branch['value']}")
    if d.get("score"):
        quantiles = f" (quantile 1..{d['quantiles']})" if d.get("quantiles") else ""
        output.stdout.print(f"score: {d['score']}{quantiles}")
    if d.get("sql"):
        output.stdout.print(f"sql: {d['sql']}")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


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
        output.emit_result(profile)
        return
    _print_customer(profile)


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


def register(app: typer.Typer) -> None:
    """Add the command groups to the app."""
    app.add_typer(tags_app, name="tags")
    app.add_typer(customer_app, name="customer")
