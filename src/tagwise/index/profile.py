"""Where the index and the warehouse fallback read attributes and features.

The *profile relation* is the customer master's current rows (every attribute, from
``src.<master>``) left-joined to the profile snapshot of the latest committed run (every
feature, ``.tagwise/snapshots/profile_<run>.parquet``). Segments see features as that run
computed them and attributes as the last ingest left them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tagwise.lang import Type
from tagwise.store.sql import ident, lit, table

__all__ = ["Profile", "profile_relation"]


@dataclass(frozen=True, slots=True)
class Profile:
    """A warehouse relation with ``cid`` and the attributes/features segments may read."""

    relation: str | None
    """SQL of the relation (a parenthesized query), None when there is no customer master."""
    run_id: int | None
    """The run whose snapshot gives the features (None: no snapshot, no features)."""
    columns: Mapping[str, Type] = field(default_factory=dict)
    """Name → type of every column the relation holds besides ``cid``."""
    features: frozenset[str] = frozenset()
    """The columns that are features (read from the snapshot); the others are attributes."""


def profile_relation(
    *,
    master: str | None,
    attributes: Mapping[str, Type],
    features: Mapping[str, Type],
    snapshot: Path | None,
    run_id: int | None,
) -> Profile:
    """The profile relation over ``src.<master>`` and an optional snapshot file.

    Args:
        master: the customer master source's name (None: no profile at all).
        attributes: the master's declared columns and their types.
        features: the declared features and their types (read from ``snapshot``).
        snapshot: the latest run's profile snapshot (None: features are not available).
        run_id: that run.
    """
    if master is None:
        return Profile(None, None, {})
    picks = ["m.cid"] + [f"m.{ident(name)}" for name in attributes]
    columns = dict(attributes)
    joins = ""
    if snapshot is not None and snapshot.exists():
        kept = {n: t for n, t in features.items() if n not in attributes}
        picks += [f"s.{ident(name)}" for name in kept]
        columns.update(kept)
        joins = f" LEFT JOIN read_parquet({lit(str(snapshot))}) s ON s.cid = m.cid"
    else:
        run_id = None
    relation = f"(SELECT {', '.join(picks)} FROM {table('src', master)} m{joins})"  # noqa: S608 (names quoted by ident()/table()/lit())
    return Profile(relation, run_id, columns, frozenset(columns) - frozenset(attributes))
