"""``tagwise tags list | show CODE`` and ``tagwise customer show ID``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of

__all__ = ["register"]

tags_app = typer.Typer(
    help="Tag definitions, distributions, coverage and freshness.", no_args_is_help=True
)


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


def register(app: typer.Typer) -> None:
    """Add the command groups to the app."""
    app.add_typer(tags_app, name="tags")
