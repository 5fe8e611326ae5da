"""Overlap between segments: the members they share and their Jaccard similarity.

Every pair is answered with count-only set operations on the members' bitmaps
(``intersection_cardinality``, ``union_cardinality``), so nothing is materialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyroaring import BitMap

__all__ = ["Overlap", "overlap"]


@dataclass(frozen=True, slots=True)
class Overlap:
    """The overlap matrix of some segments, in the order they were named."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    shared: tuple[tuple[int, ...], ...]
    """``shared[i][j]``: members of both segment i and segment j (the diagonal: sizes)."""
    jaccard: tuple[tuple[float, ...], ...]
    """``|A ∩ B| / |A ∪ B|``; 1.0 on the diagonal, 0.0 for two different empty segments."""


def overlap(members: Mapping[str, BitMap]) -> Overlap:
    """The overlap of every pair of the given segments' members."""
    names = tuple(members)
    maps = [members[n] for n in names]
    shared = tuple(tuple(a.intersection_cardinality(b) for b in maps) for a in maps)
    jaccard = tuple(
        tuple(_jaccard(a, b, shared[i][j]) for j, b in enumerate(maps)) for i, a in enumerate(maps)
    )
    return Overlap(names, tuple(len(m) for m in maps), shared, jaccard)


def _jaccard(a: BitMap, b: BitMap, both: int) -> float:
    if a is b:
        return 1.0
    union = a.union_cardinality(b)
    return both / union if union else 0.0
