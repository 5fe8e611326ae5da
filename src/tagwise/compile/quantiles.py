"""Quantile scores (``quantiles: N``): the tie rule, the cut points a run records and scoring
one value against them (docs/tags.md, "Quantile scores").

**The rule.** Among the ``M`` customers whose raw score is not null, ordered by it
(``descending: true`` orders from the largest), a customer whose value has ``below``
customers strictly before it and ``tied`` customers equal to it (itself included) scores::

    1 + floor(N * (2 * below + tied) / (2 * M))

which is the ``N``-quantile of the middle of its group of equal values: customers with equal
values always share a score, and a group that straddles a boundary between two scores goes
to the side that holds most of it. Without ties this is the classic quantile (each score
holds ``M / N`` customers, give or take one); with ties a score's count differs from
``M / N`` by at most half of each tie group that straddles its two ideal boundaries
(``k * M / N``). The rule is integer arithmetic on ranks and counts, so every engine computes
the same scores (no interpolated percentiles). Null raw scores stay null.

**Cut points.** A run records, per quantile tag, the cut points ``c_1 … c_(N-1)``: ``c_k``
is the smallest raw value whose score exceeds ``k`` (the largest one when descending), or
null when no customer scores above ``k``. They are actual data values, and
:func:`score_of` gives back every customer's score from them:
``1 + #{k : v >= c_k}`` (``v <= c_k`` when descending). The tag store keeps
them by run (``tags.cuts``), written in the run's swap transaction
(:meth:`tagwise.store.tags.TagStore.swap_run`), so only committed runs have cut points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "Cuts",
    "cut_points",
    "quantile_score",
    "score_of",
]

Cuts = tuple[float | None, ...]
"""The ``N - 1`` cut points of one quantile tag in one run (see the module docstring)."""


def quantile_score(below: int, tied: int, total: int, n: int) -> int:
    """The score of a value with ``below`` customers before it and ``tied`` equal to it
    (itself included) among ``total``: the rule of the module docstring."""
    return 1 + (n * (2 * below + tied)) // (2 * total)


def cut_points(groups: Iterable[tuple[int, float, float]], n: int, *, descending: bool) -> Cuts:
    """The cut points from each score's ``(score, smallest raw, largest raw)``.

    Args:
        groups: one triple per score that some customer has.
        n: the tag's ``quantiles``.
        descending: whether the tag orders from the largest raw value.
    """
    edge = {int(score): (high if descending else low) for score, low, high in groups}
    cuts: list[float | None] = []
    for k in range(1, n):
        above = [edge[s] for s in range(k + 1, n + 1) if s in edge]
        if not above:
            cuts.append(None)
        else:
            cuts.append(float(max(above) if descending else min(above)))
    return tuple(cuts)


def score_of(value: float, cuts: Sequence[float | None], *, descending: bool) -> int:
    """The score of a raw value against a run's cut points (the realtime rule)."""
    if descending:
        return 1 + sum(1 for c in cuts if c is not None and value <= c)
    return 1 + sum(1 for c in cuts if c is not None and value >= c)
