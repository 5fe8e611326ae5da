"""The columns of a member list, read in bulk: attributes, features and tags.

A member list is ``customer_id`` followed by the asked columns, one row per member in
``cid`` order. Each column is an attribute or a feature, read from the same profile
relation segments are evaluated on (the customer master's rows joined to the latest run's
profile snapshot), or a tag (the tag store's current values). The members are registered
on the warehouse connection as one Arrow table and each kind of column is one join, so a
million members cost a few queries, not a million lookups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from tagwise.errors import NotFound, did_you_mean
from tagwise.store.sql import ident
from tagwise.store.tags import TagStore
from tagwise.store.warehouse import Warehouse

__all__ = ["ColumnSources", "member_table"]

_MEMBERS = "tw_export_members"
_TAGS = "tw_export_tags"


@dataclass(frozen=True, slots=True)
class ColumnSources:
    """Where each column a member list may hold comes from."""

    profile: str | None
    """The profile relation segments read (``tagwise.index.profile``: the customer master's
    rows joined to the latest run's snapshot), a parenthesized query with ``cid``."""
    profile_columns: Sequence[str] = ()
    """The attributes and features that relation holds."""
    features: Sequence[str] = ()
    """Every declared feature (those missing from the relation have no snapshot kept)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Published tag code → kind."""

    def kind_of(self, name: str) -> str:
        """``profile`` (an attribute or a feature) or ``tag``.

        Raises:
            NotFound: no such column, or a feature when no run's snapshot is kept.
        """
        if name in self.tags:
            return "tag"
        if name in self.profile_columns:
            return "profile"
        if name in self.features:
            raise NotFound(
                f"feature `{name}` comes from a run's profile snapshot, and none is kept",
                hint="run `tagwise run` first, or leave the features out",
            )
        known = [*self.profile_columns, *self.tags]
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
        NotFound: an unknown column, or a feature when no snapshot is kept.
    """
    wanted = [c for c in dict.fromkeys(columns) if c != "customer_id"]
    base = pa.table({"cid": cids, "customer_id": customer_ids})
    if not wanted:
        return base.select(["customer_id"])
    kinds = {name: sources.kind_of(name) for name in wanted}
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
    alias = {"profile": "p", "tag": "t"}
    picks = ", ".join(f"{alias[kinds[n]]}.{ident(n)}" for n in wanted)
    joins = []
    if "profile" in kinds.values() and sources.profile is not None:
        joins.append(f"LEFT JOIN {sources.profile} p ON p.cid = m.cid")
    if with_tags:
        joins.append(f"LEFT JOIN {_TAGS} t ON t.cid = m.cid")
    return (
        f"SELECT m.customer_id, {picks} FROM {_MEMBERS} m {' '.join(joins)} "  # noqa: S608 (names through ident(); the profile relation is built by index.profile)
        "ORDER BY m.cid"
    )
