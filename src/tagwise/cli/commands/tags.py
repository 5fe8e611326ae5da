"""``tagwise tags list | show CODE`` and ``tagwise customer show ID``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tagwise.cli import output
from tagwise.cli.commands.ingest import JsonOption
from tagwise.cli.commands.run import parse_date
from tagwise.cli.state import workspace_of

__all__ = ["register"]

tags_app = typer.Typer(
    help="Tag definitions, distributions, coverage and freshness.", no_args_is_help=True
)
customer_app = typer.Typer(help="One customer's profile (客户画像).", no_args_is_help=True)


@tags_app.command("list")
def tags_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every tag: category, kind, status, coverage and last run."""
    with workspace_of(ctx) as ws:
        rows = ws.tags_overview()
    if as_json:
        output.emit_json({"tags": rows})
        return
    output.table(
        None,
        ["code", "name", "category", "kind", "status", "customers", "coverage", "last run"],
        [
            (
                r["code"],
                r["name"],
                r["category"],
                r["kind"],
                r["status"],
                r["customers"],
                _share(r["coverage"]),
                r["last_run"],
            )
            for r in rows
        ],
        numeric=["customers", "coverage", "last run"],
        shrink=["name"],
        drop=["last run", "status", "category", "kind", "name"],
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
        output.emit_json(detail)
        return
    d = detail["definition"]
    output.stdout.print(
        f"{d.get('name', code)} ({code}) · {d.get('category')} · {d.get('kind')} · "
        f"{d.get('status', 'published')} · version {detail['version']}"
    )
    if d.get("description"):
        output.stdout.print(d["description"])
    output.stdout.print(
        f"owner {d.get('owner', '—')} · refresh {d.get('refresh', 'daily')} · "
        f"sensitivity {d.get('sensitivity', 'internal')} · review {d.get('review', 'none')}"
    )
    _print_method(d)
    last = detail["last_computation"]
    coverage = _share(detail["coverage"])
    if last:
        output.stdout.print(
            f"coverage {detail['customers']:,} customers ({coverage}); last computed by run "
            f"{last['run_id']} as of {last['as_of']}, {last['changes']:,} changes"
        )
    else:
        output.stdout.print("not computed yet: `tagwise run`")
    output.table(
        "distribution",
        ["value", "customers"],
        [(r["value"], r["customers"]) for r in detail["distribution"]],
        numeric=["customers"],
    )
    if detail["last_run_changes"]:
        output.table(
            "changes in the last run",
            ["from", "to", "customers"],
            [(c["from"], c["to"], c["customers"]) for c in detail["last_run_changes"]],
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


def register(app: typer.Typer) -> None:
    """Add the command groups to the app."""
    app.add_typer(tags_app, name="tags")
    app.add_typer(customer_app, name="customer")
