"""``tagwise identity``: how identity resolution decides, starting with its matching model."""

from __future__ import annotations

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of

__all__ = ["register"]

identity_app = typer.Typer(
    help="How identity resolution decides who is who: the trained matching model.",
    no_args_is_help=True,
)


@identity_app.command("model")
def model(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The probabilistic matching model of the last resolution: the prior, the blocking
    rules, one training session per rule, and m and u of every comparison level with the
    match weight it adds (log2 m/u)."""
    with workspace_of(ctx) as ws:
        found = ws.matching_model()
    if as_json:
        output.emit_result(found)
        return
    out = output.stdout
    out.print(
        f"matching model of resolution {found.resolution_id} ({found.resolved_at:%Y-%m-%d %H:%M}):"
        f" prior {found.prior:.3g} (probability that two random records match)"
    )
    output.table(
        "training (expectation maximisation, one session per blocking rule)",
        ["rule", "pairs", "iterations", "matches", "note"],
        [
            (
                " + ".join(t.rule),
                f"{t.pairs:,}",
                t.iterations,
                None if t.share_of_matches is None else f"{t.share_of_matches:.2%}",
                t.skipped,
            )
            for t in found.training
        ],
        numeric=["pairs", "iterations", "matches"],
    )
    output.table(
        "comparison levels",
        ["field", "level", "m", "u", "weight"],
        [
            (
                lv.field,
                lv.level,
                f"{lv.m:.4g}",
                f"{lv.u:.4g}",
                "—" if lv.weight is None else f"{lv.weight:+.2f}",
            )
            for lv in found.levels
        ],
        numeric=["m", "u", "weight"],
        shrink=["level"],
    )


def register(app: typer.Typer) -> None:
    """Add the ``identity`` group to the app."""
    app.add_typer(identity_app, name="identity")
