"""Building the index, and keeping it equal to the stores as they change.

An index is stamped with what it reflects (:class:`~tagwise.index.bitmap.Stamps`). On
open, :func:`open_index` loads the file and compares the stamps with the stores:

* **tag values** follow the tag store's change feed: the (cid, tag) pairs that the commits
  after the stamped ``seq`` changed are re-read from the current values (locks win) and
  only those customers' bits of those tags move, so a run that changed 1% of the values
  costs about 1% of a rebuild. A score that falls outside a number column's dictionary
  rebuilds that one column.
* **locks that expired** without a commit yet (``tags.current`` hides them from the moment
  they expire) are re-read the same way once the clock passes the stamped ``next_expiry``.
* **customers** (the universe that ``not`` and ``share`` use) are re-read when the
  customer stamp (records, resolutions) changed.
* **attributes and features** marked for indexing are re-read when the latest profile
  snapshot or the list of marked columns changed.
* A missing, torn or foreign file, a stamp ahead of the feed, or a feed whose commit at
  the stamped ``seq`` is another one (a recreated warehouse) rebuilds from scratch.

Whatever changed is saved atomically (:mod:`tagwise.index.storage`), so the next process
loads the caught-up index without recomputing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap

from tagwise.errors import ConfigError
from tagwise.identity.store import customer_universe, customers_stamp
from tagwise.index import storage
from tagwise.index.bitmap import (
    Column,
    NumberColumn,
    Role,
    SegmentIndex,
    Stamps,
    ValueColumn,
    bitmap_of,
)
from tagwise.index.profile import Profile
from tagwise.lang import Type
from tagwise.store.sql import ident
from tagwise.store.tags import TagStore
from tagwise.store.warehouse import Warehouse

__all__ = [
    "Opened",
    "build",
    "catch_up",
    "column_of",
    "index_of_table",
    "open_index",
    "refresh",
]

How = Literal["loaded", "caught up", "rebuilt"]


@dataclass(frozen=True, slots=True)
class Opened:
    """An index ready for questions, and how it got there."""

    index: SegmentIndex
    how: How
    reason: str | None = None
    """Why it was rebuilt (damaged file, another feed …)."""


@dataclass(frozen=True, slots=True)
class Sources:
    """What an index is built from."""

    store: TagStore
    wh: Warehouse
    profile: Profile
    columns: tuple[str, ...]
    """Attributes/features marked for indexing (settings ``index.columns``)."""


# --------------------------------------------------------------------------- columns


def column_of(name: str, role: Role, kind: str, table: pa.Table) -> Column:
    """One column built from rows ``cid`` plus ``score`` (score tags, numbers) or
    ``value`` (everything else); rows without a value are skipped."""
    cids = np.asarray(table.column("cid").to_numpy(zero_copy_only=False), dtype=np.uint32)
    if kind in ("score", "number"):
        field = "score" if "score" in table.column_names else "value"
        numbers = table.column(field).cast(pa.float64()).to_numpy(zero_copy_only=False)
        return NumberColumn.build(name, role, kind, cids, np.asarray(numbers, dtype=np.float64))
    column = ValueColumn(name, role, kind)
    _add_values(column, cids, table.column("value"))
    return column


def _add_values(column: ValueColumn, cids: np.ndarray, values: pa.ChunkedArray) -> None:
    encoded = pc.dictionary_encode(values.cast(pa.string()).combine_chunks())
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    labels = [str(v) for v in encoded.dictionary.to_pylist()]
    column.add(cids, np.asarray(codes, dtype=np.int32), labels)


def index_of_table(values: pa.Table, universe: pa.Table) -> SegmentIndex:
    """An index of tag values (the columns of :meth:`TagStore.current_table`), e.g. the
    values held on a past date."""
    index = SegmentIndex(universe=bitmap_of(universe.column("cid").to_numpy()))
    if values.num_rows == 0:
        return index
    for tag, kind, part in _by_tag(values):
        index.columns[tag] = column_of(tag, "tag", kind, part)
    return index


def _by_tag(values: pa.Table) -> list[tuple[str, str, pa.Table]]:
    """(tag, kind, its rows) for each tag in a table of values."""
    encoded = pc.dictionary_encode(values.column("tag").combine_chunks())
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    kinds = values.column("kind") if "kind" in values.column_names else None
    out = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        rows = values.take(pa.array(order[a:b]))
        tag = str(encoded.dictionary[int(sorted_codes[a])].as_py())
        kind = str(rows.column("kind")[0].as_py()) if kinds is not None else "enum"
        out.append((tag, kind, rows))
    return out


def _profile_columns(sources: Sources) -> dict[str, Column]:
    """The marked attributes/features, read from the profile relation."""
    profile, out = sources.profile, {}
    for name in sources.columns:
        kind = profile.columns.get(name)
        if kind is None or profile.relation is None:
            continue  # a feature before any run: answered as "not available" by evaluation
        if kind not in _INDEXED_TYPES:
            raise ConfigError(
                f"index.columns: `{name}` is a {kind}; only numbers, strings and true/false "
                "are indexed",
                hint=f"remove `{name}` from index.columns in tagwise.toml",
            )
        value = f"CAST({ident(name)} AS {_INDEXED_TYPES[kind]})"
        rows = sources.wh.arrow(
            f"SELECT CAST(cid AS UINTEGER) AS cid, {value} AS value "  # noqa: S608 (names quoted by ident(); relation built from quoted names)
            f"FROM {profile.relation} WHERE {ident(name)} IS NOT NULL"
        )
        role: Role = "feature" if name in profile.features else "attribute"
        column_kind = {Type.NUMBER: "number", Type.STRING: "string"}.get(kind, "boolean")
        out[name] = column_of(name, role, column_kind, rows)
    return out


_INDEXED_TYPES = {Type.NUMBER: "DOUBLE", Type.STRING: "VARCHAR", Type.BOOLEAN: "VARCHAR"}


# --------------------------------------------------------------------------- build / follow


def build(sources: Sources) -> SegmentIndex:
    """A fresh index of the stores' current state."""
    store = sources.store
    now = datetime.now()  # before reading: a lock expiring from now on is re-read later
    seq = store.last_seq()
    index = SegmentIndex(universe=bitmap_of(customer_universe(sources.wh).column("cid").to_numpy()))
    for tag, kind in sorted(store.tag_kinds().items()):
        rows = store.current_table(tag=tag)
        if rows.num_rows:
            index.columns[tag] = column_of(tag, "tag", kind, rows)
    index.columns.update(_profile_columns(sources))
    index.stamps = _fresh_stamps(sources, seq, now)
    return index


def _fresh_stamps(sources: Sources, seq: int, now: datetime) -> Stamps:
    expiry = sources.store.next_lock_expiry(now)
    return Stamps(
        seq=seq,
        seq_recorded_at=_recorded_at(sources.store, seq),
        customers=customers_stamp(sources.wh),
        profile_run=sources.profile.run_id,
        columns=sources.columns,
        next_expiry=expiry.isoformat() if expiry else None,
        checked_at=now.isoformat(),
    )


def _recorded_at(store: TagStore, seq: int) -> str | None:
    if seq <= 0:
        return None
    found = store.commits_since(seq - 1, limit=1)
    return found[0].recorded_at.isoformat() if found and found[0].seq == seq else None


def refresh(index: SegmentIndex, store: TagStore, pairs: pa.Table) -> int:
    """Re-read the current values of the (cid, tag) pairs and move only their bits.

    Returns:
        The number of pairs refreshed.
    """
    if pairs.num_rows == 0:
        return 0
    pairs = pairs.select(["cid", "tag"]).cast(
        pa.schema([("cid", pa.int64()), ("tag", pa.string())])
    )
    rows = store.current_table(pairs=pairs)
    kinds = store.tag_kinds()
    fresh = {tag: part for tag, _, part in _by_tag(rows)} if rows.num_rows else {}
    for tag, _, part in _by_tag(pairs):
        kind = kinds.get(tag, "enum")
        touched = bitmap_of(part.column("cid").to_numpy())
        new = fresh.get(tag)
        _move(index, store, tag, kind=kind, touched=touched, new=new)
    return int(pairs.num_rows)


def _move(
    index: SegmentIndex,
    store: TagStore,
    tag: str,
    *,
    kind: str,
    touched: BitMap,
    new: pa.Table | None,
) -> None:
    column = index.columns.get(tag)
    if column is None or column.kind != kind:
        rows = store.current_table(tag=tag)
        if rows.num_rows:
            index.columns[tag] = column_of(tag, "tag", kind, rows)
        else:
            index.columns.pop(tag, None)
        return
    column.remove(touched)
    if new is None or new.num_rows == 0:
        if not (column.present if isinstance(column, NumberColumn) else column.bitmaps):
            del index.columns[tag]  # nobody holds the tag any more: as a fresh build
        return
    cids = np.asarray(new.column("cid").to_numpy(zero_copy_only=False), dtype=np.uint32)
    if isinstance(column, NumberColumn):
        numbers = new.column("score").cast(pa.float64()).to_numpy(zero_copy_only=False)
        if not column.update(cids, np.asarray(numbers, dtype=np.float64)):
            index.columns[tag] = column_of(tag, "tag", kind, store.current_table(tag=tag))
        return
    _add_values(column, cids, new.column("value"))


def catch_up(index: SegmentIndex, sources: Sources) -> bool:
    """Apply what changed since the index's stamps; True when anything did."""
    store, stamps, changed = sources.store, index.stamps, False
    now = datetime.now()
    last = store.last_seq()
    if stamps.seq < last:
        refresh(index, store, store.commit_pairs(stamps.seq, last))
        changed = True
    if stamps.next_expiry is not None and now >= datetime.fromisoformat(stamps.next_expiry):
        after = datetime.fromisoformat(stamps.checked_at) if stamps.checked_at else None
        refresh(index, store, store.lock_expiries(after=after, until=now))
        changed = True
    if stamps.customers != customers_stamp(sources.wh):
        index.universe = bitmap_of(customer_universe(sources.wh).column("cid").to_numpy())
        changed = True
    if stamps.profile_run != sources.profile.run_id or stamps.columns != sources.columns:
        for name in [n for n, c in index.columns.items() if c.role != "tag"]:
            del index.columns[name]
        index.columns.update(_profile_columns(sources))
        changed = True
    if changed:
        index.stamps = _fresh_stamps(sources, last, now)
    return changed


def open_index(folder: Path, sources: Sources) -> Opened:
    """The index of the stores' current state: loaded, caught up, or rebuilt (and saved
    whenever it was not simply loaded)."""
    try:
        index: SegmentIndex | None = storage.load(folder)
        reason = None
    except storage.DamagedIndex as exc:
        index, reason = None, str(exc)
    if index is not None:
        reason = _foreign(index.stamps, sources.store)
    if index is None or reason is not None:
        index = build(sources)
        storage.save(index, folder)
        return Opened(index, "rebuilt", reason)
    if catch_up(index, sources):
        storage.save(index, folder)
        return Opened(index, "caught up")
    return Opened(index, "loaded")


def _foreign(stamps: Stamps, store: TagStore) -> str | None:
    """Why an index's stamps cannot be followed from this feed (None: they can)."""
    last = store.last_seq()
    if stamps.seq > last:
        return f"the index is at commit {stamps.seq}, the tag store only at {last}"
    if stamps.seq and _recorded_at(store, stamps.seq) != stamps.seq_recorded_at:
        return f"commit {stamps.seq} of the tag store is not the one the index followed"
    return None


def pairs_table(cids: Sequence[int], tags: Sequence[str]) -> pa.Table:
    """A (cid, tag) table (for tests and tools that refresh chosen pairs)."""
    return pa.table({"cid": pa.array(cids, pa.int64()), "tag": pa.array(tags, pa.string())})
