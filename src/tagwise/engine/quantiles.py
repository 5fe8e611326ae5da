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
``1 + #{k : v >= c_k}`` (``v <= c_k`` when descending). They are kept in
``meta.quantile_cuts`` by run, written before the run's swap and read only for committed
runs (those in ``meta.runs``), so a failed run's cut points are never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tagwise.store.warehouse import Warehouse

__all__ = [
    "Cuts",
    "committed_cuts",
    "cut_points",
    "quantile_score",
    "score_of",
    "write_cuts",
]

Cuts = tuple[float | None, ...]
"""The ``N - 1`` cut points of one quantile tag in one run (see the module docstring)."""

_TABLE = "meta.quantile_cuts"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} "
    "(run_id BIGINT NOT NULL, tag VARCHAR NOT NULL, cuts DOUBLE[] NOT NULL)"
)


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


def write_cuts(wh: Warehouse, run_id: int, cuts: Mapping[str, Cuts]) -> None:
    """Record a run's cut points (replacing any left by a failed attempt with this id)."""
    wh.execute(_CREATE)
    wh.execute(f"DELETE FROM {_TABLE} WHERE run_id = ?", [run_id])
    rows = [[run_id, tag, list(points)] for tag, points in sorted(cuts.items())]
    if rows:
        wh.con.executemany(f"INSERT INTO {_TABLE} VALUES (?, ?, ?)", rows)


def committed_cuts(wh: Warehouse, run_id: int, tag: str) -> Cuts | None:
    """The cut points of a quantile tag in a committed run, or None (no such run, a run
    that failed, or one from before cut points were recorded)."""
    if not wh.has_table("meta", "quantile_cuts") or not wh.has_table("meta", "runs"):
        return None
    found = wh.rows(
        f"SELECT q.cuts FROM {_TABLE} q JOIN meta.runs r ON r.run_id = q.run_id "
        "WHERE q.run_id = ? AND q.tag = ?",
        [run_id, tag],
    )
    if not found:
        return None
    return tuple(None if c is None else float(c) for c in found[0][0])
