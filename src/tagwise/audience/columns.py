"""The columns of a member list, read in bulk: attributes, features and tags.

A member list is ``customer_id`` followed by the asked columns, one row per member in
``cid`` order. Each column is an attribute (a column of the customer master in ``src``),
a feature (the last run's profile snapshot) or a tag (the tag store's current values). The
members are registered on the warehouse connection as one Arrow table and every kind of
column is one join, so a million members cost a few queries, not a million lookups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tagwise.errors import NotFound, did_you_mean
from tagwise.store.sql import ident, lit, table
from tagwise.store.tags import TagStore
from tagwise.store.warehouse import Warehouse

__all__ = ["ColumnSources", "member_table"]

_MEMBERS = "tw_export_members"
_TAGS = "tw_export_tags"


@dataclass(frozen=True, slots=True)
class ColumnSources:
    """Where each column a member list may hold comes from."""

    master: str | None
    """The customer master source (its table ``src.<master>`` holds the attributes)."""
    attributes: Sequence[str] = ()
    features: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tag code → kind."""
    snapshot: Path | None = None
    """The profile snapshot (Parquet) of the last run, when it is kept."""

    def kind_of(self, name: str) -> str:
        """``attribute``, ``feature`` or ``tag``.

        Raises:
            NotFound: no such column.
        """
        if name in self.tags:
            return "tag"
        if name in self.features:
            return "feature"
        if name in self.attributes:
            return "attribute"
        known = [*self.attributes, *self.features, *self.tags]
        raise NotFound(
            f"unknown column `{name}`",
            hint=did_you_mean(name, known)
            or "--columns takes attributes, features and tag codes, separated by commas",
        )


def member_table(
    wh: Warehouse,
    sources: ColumnSources,
    *,
    cids: pa.Array,
    customer_ids: pa.Array,
    columns: Sequence[str],
) -> pa.Table:
    """``customer_id`` and ``columns`` of every member (``cids`` and ``customer_ids`` are
    aligned arrays, in the order of the result).

    Raises:
        NotFound: an unknown column, or features asked for when no snapshot is kept.
    """
    wanted = [c for c in dict.fromkeys(columns) if c != "customer_id"]
    base = pa.table({"cid": cids, "customer_id": customer_ids})
    if not wanted:
        return base.select(["customer_id"])
    kinds = {name: sources.kind_of(name) for name in wanted}
    if "feature" in kinds.values() and sources.snapshot is None:
        raise NotFound(
            "features come from the last run's profile snapshot, which is not kept here",
            hint="run `tagwise run` (on the duckdb engine) first, or leave the features out",
        )
    tags = [n for n in wanted if kinds[n] == "tag"]
    wh.con.register(_MEMBERS, base)
    try:
        tag_table = TagStore(wh).wide_values(_MEMBERS, tags, kinds=sources.tags) if tags else None
        if tag_table is not None:
            wh.con.register(_TAGS, tag_table)
        return wh.arrow(_query(sources, wanted, kinds, with_tags=tag_table is not None))
    finally:
        wh.con.unregister(_MEMBERS)
        if tags:
            wh.con.unregister(_TAGS)


def _query(
    sources: ColumnSources, wanted: Sequence[str], kinds: Mapping[str, str], *, with_tags: bool
) -> str:
    alias = {"attribute": "a", "feature": "f", "tag": "t"}
    picks = ", ".join(f"{alias[kinds[n]]}.{ident(n)}" for n in wanted)
    joins = []
    if "attribute" in kinds.values() and sources.master is not None:
        joins.append(f"LEFT JOIN {table('src', sources.master)} a ON a.cid = m.cid")
    if "feature" in kinds.values() and sources.snapshot is not None:
        joins.append(f"LEFT JOIN read_parquet({lit(str(sources.snapshot))}) f ON f.cid = m.cid")
    if with_tags:
        joins.append(f"LEFT JOIN {_TAGS} t ON t.cid = m.cid")
    return (
        f"SELECT m.customer_id, {picks} FROM {_MEMBERS} m {' '.join(joins)} "  # noqa: S608 (names through ident()/table()/lit())
        "ORDER BY m.cid"
    )
