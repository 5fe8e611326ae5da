"""``tagwise lint``, ``plan`` and ``apply``: tags as code."""

from __future__ import annotations

from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of
from tagwise.results import PlanResult

__all__ = ["register"]


def lint(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check every spec file (sources, features, taxonomy, tags) and report all problems."""
    with workspace_of(ctx) as ws:
        result = ws.lint()
    if as_json:
        output.emit_result(result)
    else:
        for problem in result.problems:
            output.print_problem(problem)
        if result.problems:
            output.stderr.print(f"{len(result.problems)} problem(s)")
        else:
            output.stdout.print("all specs are valid")
    if not result.ok:
        raise typer.Exit(code=1)


def plan(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show what `apply` would record: added, changed and removed definitions."""
    with workspace_of(ctx) as ws:
        result = ws.plan()
    _print_plan(result, as_json=as_json, verb="would record")
    if result.errors:
        raise typer.Exit(code=1)


def apply(
    ctx: typer.Context,
    as_json: JsonOption = False,
    show_diff: Annotated[bool, typer.Option("--diff", help="Print each change's diff.")] = False,
) -> None:
    """Record a new immutable version of every changed definition (who, when, diff)."""
    with workspace_of(ctx) as ws:
        result = ws.apply()
    _print_plan(result, as_json=as_json, verb="recorded", show_diff=show_diff)


def _print_plan(result: PlanResult, *, as_json: bool, verb: str, show_diff: bool = True) -> None:
    if as_json:
        output.emit_result(result)
        return
    for problem in result.errors:
        output.print_problem(problem)
    if result.is_empty:
        output.stdout.print("no changes: the catalog matches the spec files")
        return
    rows = [
        (c.kind, c.code, c.action, c.version, c.status, ", ".join(c.fields)) for c in result.changes
    ]
    output.table(
        None, ["kind", "code", "action", "version", "status", "fields"], rows, numeric=["version"]
    )
    if show_diff:
        for change in result.changes:
            if change.action == "change":
                output.stdout.print(f"\n{change.kind} {change.code}:\n{change.diff}")
    summary = result.summary
    output.stdout.print(
        f"{verb}: {summary.add} to add, {summary.change} to change, "
        f"{summary.remove} to deprecate, {summary.restore} to restore"
    )


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command("lint")(lint)
    app.command("plan")(plan)
    app.command("apply")(apply)
