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
    weights = [abs(lv.weight) for lv in found.levels if lv.weight is not None]
    scale = max(weights, default=0.0)
    output.table(
        "comparison levels (the chart: each level's match weight, as splink draws it)",
        ["field", "level", "m", "u", "weight", "chart"],
        [
            (
                lv.field,
                lv.level,
                f"{lv.m:.4g}",
                f"{lv.u:.4g}",
                "—" if lv.weight is None else f"{lv.weight:+.2f}",
                _bar(lv.weight, scale),
            )
            for lv in found.levels
        ],
        numeric=["m", "u", "weight"],
        shrink=["level"],
    )


_HALF = 10
"""Characters on each side of the chart's axis."""


def _bar(weight: float | None, scale: float) -> str:
    """A bar of a match weight around an axis: against a match to the left, for it to the
    right, the longest bar of the model ``_HALF`` characters long."""
    if weight is None or scale <= 0:
        return ""
    cells = round(abs(weight) / scale * _HALF)
    if weight < 0:
        return " " * (_HALF - cells) + "█" * cells + "│"
    return " " * _HALF + "│" + "█" * cells


def register(app: typer.Typer) -> None:
    """Add the ``identity`` group to the app."""
    app.add_typer(identity_app, name="identity")
