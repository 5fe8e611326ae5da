"""The in-memory bitmap index: roaring bitmaps over the dense customer id ``cid``.

Two kinds of columns:

* :class:`ValueColumn` — one :class:`~pyroaring.BitMap` per value: enum tags (each value),
  flag tags (the value ``true``), multi tags (each value; a customer is in several), and
  the string or boolean attributes and features a workspace marks for indexing.
* :class:`NumberColumn` — a range-encoded bit-sliced index over a number: the sorted
  distinct values are the dictionary, each customer's *rank* in it is written bit by bit
  into ``slices`` (slice ``i`` holds the customers whose rank has bit ``i`` set), and
  ``present`` holds the customers with a number. A range ``lo <= x <= hi`` becomes a range
  of ranks found by bisection, answered with one pass over the slices (O'Neil and Quass,
  "Improved query performance with variant indexes", 1997), so its cost grows with the
  number of bits (log2 of the distinct values), not with the customers. Score tags and
  numeric attributes/features are number columns.

:class:`SegmentIndex` holds the columns, the universe (every customer's cid) and the
stamps that say which state of the stores it reflects (:mod:`tagwise.index.follow`).
Bitmaps are built from numpy/Arrow arrays in bulk (``array.array('I')``), never one cid
at a time.
"""

from __future__ import annotations

import array
import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap

__all__ = [
    "NumberColumn",
    "Role",
    "SegmentIndex",
    "Stamps",
    "ValueColumn",
    "bitmap_of",
    "cid_array",
    "union",
]

Role = Literal["tag", "attribute", "feature"]

Cids = npt.NDArray[np.uint32]


def bitmap_of(cids: npt.ArrayLike) -> BitMap:
    """A bitmap of the cids in an array (any integer dtype; built in bulk)."""
    arr = np.ascontiguousarray(np.asarray(cids, dtype=np.uint32))
    return BitMap(array.array("I", arr.tobytes()))


def cid_array(bitmap: BitMap) -> Cids:
    """The cids of a bitmap as a numpy array (sorted; no Python list)."""
    return np.frombuffer(bitmap.to_array(), dtype=np.uint32)


@dataclass(slots=True)
class ValueColumn:
    """One bitmap per value of a column (an enum/flag/multi tag, or a string attribute)."""

    name: str
    role: Role
    kind: str
    """The tag kind (``enum``, ``flag``, ``multi``) or ``string``/``boolean``."""
    bitmaps: dict[str, BitMap] = field(default_factory=dict)
    _present: BitMap | None = field(default=None, repr=False, compare=False)

    def present(self) -> BitMap:
        """Customers with at least one value (computed once; do not modify it)."""
        if self._present is None:
            self._present = BitMap.union(*self.bitmaps.values()) if self.bitmaps else BitMap()
        return self._present

    def is_disjoint(self) -> bool:
        """Whether every customer holds one value at most (an enum tag, a string)."""
        return sum(len(bm) for bm in self.bitmaps.values()) == len(self.present())

    def values_of(self, cid: int) -> list[str]:
        """The values one customer holds, sorted (membership tests, no scan)."""
        return sorted(v for v, bm in self.bitmaps.items() if cid in bm)

    def remove(self, cids: BitMap) -> None:
        """Forget the values of ``cids`` (before their new values are added)."""
        self._present = None
        for value in list(self.bitmaps):
            bm = self.bitmaps[value]
            bm.difference_update(cids)
            if not bm:
                del self.bitmaps[value]

    def add(self, cids: Cids, codes: npt.NDArray[np.integer[Any]], labels: Sequence[str]) -> None:
        """Add customers' values, dictionary-encoded: customer ``cids[i]`` holds
        ``labels[codes[i]]`` (several rows per customer for multi tags; code -1: none)."""
        if len(cids) == 0:
            return
        self._present = None
        if len(labels) <= _MASKED:
            groups: Iterable[tuple[int, Cids]] = ((k, cids[codes == k]) for k in range(len(labels)))
        else:
            order = np.argsort(codes, kind="stable")
            sorted_codes, sorted_cids = codes[order], cids[order]
            starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
            ends = np.r_[starts[1:], len(sorted_codes)]
            groups = (
                (int(sorted_codes[a]), sorted_cids[a:b])
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
            )
        for code, members in groups:
            if code < 0 or len(members) == 0:
                continue
            chunk = bitmap_of(members)
            value = labels[code]
            if value in self.bitmaps:
                self.bitmaps[value] |= chunk
            else:
                self.bitmaps[value] = chunk

    def size(self) -> int:
        """Bytes of the bitmaps serialized."""
        return sum(len(bm.serialize()) for bm in self.bitmaps.values())


@dataclass(slots=True)
class NumberColumn:
    """A range-encoded bit-sliced index over a number (see the module docstring)."""

    name: str
    role: Role
    kind: str
    """``score`` for score tags, ``number`` for attributes and features."""
    keys: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    """The dictionary: distinct values, ascending (ranks index it)."""
    slices: list[BitMap] = field(default_factory=list)
    present: BitMap = field(default_factory=BitMap)
    by_rank: list[BitMap] | None = None
    """With few distinct numbers (a score tag's 1..N, at most ``_PER_NUMBER`` of them),
    also one bitmap per number: a range is then one multi-way union of the numbers it
    covers (or the rest taken away), instead of passes over the slices."""

    @classmethod
    def build(
        cls, name: str, role: Role, kind: str, cids: Cids, numbers: npt.NDArray[np.float64]
    ) -> NumberColumn:
        """The column of customers' numbers (one per customer; NaN is not a number here)."""
        keep = ~np.isnan(numbers)
        cids, numbers = cids[keep], numbers[keep] + 0.0  # + 0.0: -0.0 becomes 0.0
        keys, ranks = np.unique(numbers, return_inverse=True)
        column = cls(name, role, kind, keys.astype(np.float64))
        column.slices = [BitMap() for _ in range(_bits(len(keys)))]
        if len(keys) <= _PER_NUMBER:
            column.by_rank = [BitMap() for _ in range(len(keys))]
        column._set(cids, ranks.astype(np.int64))
        return column

    def _set(self, cids: Cids, ranks: npt.NDArray[np.int64]) -> None:
        for bit in range(len(self.slices)):
            self.slices[bit] |= bitmap_of(cids[(ranks >> bit) & 1 == 1])
        self.present |= bitmap_of(cids)
        if self.by_rank is not None and len(cids):
            order = np.argsort(ranks, kind="stable")
            sorted_ranks, sorted_cids = ranks[order], cids[order]
            starts = np.flatnonzero(np.r_[True, sorted_ranks[1:] != sorted_ranks[:-1]])
            ends = [*starts[1:].tolist(), len(order)]
            for a, b in zip(starts.tolist(), ends, strict=True):
                self.by_rank[int(sorted_ranks[a])] |= bitmap_of(sorted_cids[a:b])

    def update(self, cids: Cids, numbers: npt.NDArray[np.float64]) -> bool:
        """Set new numbers of customers whose old ones were removed; False when a number
        is not in the dictionary (the caller rebuilds the column)."""
        keep = ~np.isnan(numbers)
        cids, numbers = cids[keep], numbers[keep] + 0.0
        ranks = np.searchsorted(self.keys, numbers)
        ranks = np.minimum(ranks, max(len(self.keys) - 1, 0))
        if len(numbers) and (len(self.keys) == 0 or not np.array_equal(self.keys[ranks], numbers)):
            return False
        self._set(cids, ranks.astype(np.int64))
        return True

    def remove(self, cids: BitMap) -> None:
        """Forget the numbers of ``cids``."""
        for bm in (*self.slices, *(self.by_rank or ())):
            bm.difference_update(cids)
        self.present.difference_update(cids)

    def numbers(self) -> tuple[Cids, npt.NDArray[np.float64]]:
        """Every customer's number, decoded in bulk: (cids ascending, numbers)."""
        cids = cid_array(self.present)
        ranks = np.zeros(len(cids), dtype=np.int64)
        for bit, bm in enumerate(self.slices):
            ranks[np.searchsorted(cids, cid_array(bm & self.present))] += 1 << bit
        return cids, self.keys[ranks] if len(cids) else np.empty(0, dtype=np.float64)

    def rank_of(self, cid: int) -> int | None:
        """One customer's rank (membership tests of the slices), None without a number."""
        if cid not in self.present:
            return None
        return sum(1 << bit for bit, bm in enumerate(self.slices) if cid in bm)

    def number_of(self, cid: int) -> float | None:
        """One customer's number."""
        rank = self.rank_of(cid)
        return None if rank is None else float(self.keys[rank])

    # -- ranges --------------------------------------------------------------------------

    def at_most_rank(self, rank: int, within: BitMap | None = None) -> BitMap:
        """Customers (of ``within``, default all with a number) whose rank is ``<= rank``:
        one pass over the slices, high bit first; a small ``within`` makes it cheap."""
        base = self.present if within is None else self.present & within
        if rank < 0:
            return BitMap()
        if rank >= len(self.keys) - 1:
            return base.copy()
        below = BitMap()
        equal = base.copy()
        for bit in range(len(self.slices) - 1, -1, -1):
            if not equal:
                break
            if (rank >> bit) & 1:
                below |= equal - self.slices[bit]
                equal &= self.slices[bit]
            else:
                equal -= self.slices[bit]
        below |= equal
        return below

    def rank_between(self, low: int, high: int, within: BitMap | None = None) -> BitMap:
        """Customers (of ``within``) with ``low <= rank <= high``."""
        if low > high or high < 0 or low >= len(self.keys):
            return BitMap()
        low, high = max(low, 0), min(high, len(self.keys) - 1)
        if self.by_rank is not None:
            small = within is not None and len(within) * _SMALL < len(self.present)
            inside = high - low + 1
            if inside <= len(self.keys) - inside:
                found = union(_within(self.by_rank[low : high + 1], within if small else None))
            else:
                rest = [*self.by_rank[:low], *self.by_rank[high + 1 :]]
                found = self.present - union(_within(rest, within if small else None))
            return found & within if within is not None else found
        upper = self.at_most_rank(high, within)
        return upper - self.at_most_rank(low - 1, within) if low > 0 else upper

    def between(self, low: float, high: float, within: BitMap | None = None) -> BitMap:
        """Customers (of ``within``) with ``low <= x <= high``."""
        keys = self.keys
        return self.rank_between(
            bisect.bisect_left(keys, low), bisect.bisect_right(keys, high) - 1, within
        )

    def compare(self, op: str, number: float, within: BitMap | None = None) -> BitMap:
        """Customers (of ``within``) with ``x op number`` (op: = != < <= > >=); nulls never
        qualify."""
        keys, inf = self.keys, float("inf")
        ranges = {
            "=": (number, number),
            "<": (-inf, number),
            "<=": (-inf, number),
            ">": (number, inf),
            ">=": (number, inf),
        }
        if op == "!=":
            base = self.present if within is None else self.present & within
            return base - self.compare("=", number, within)
        low, high = ranges[op]
        lo = bisect.bisect_right(keys, low) if op == ">" else bisect.bisect_left(keys, low)
        hi = bisect.bisect_left(keys, high) if op == "<" else bisect.bisect_right(keys, high)
        return self.rank_between(lo, hi - 1, within)

    def size(self) -> int:
        """Bytes of the bitmaps serialized (and the dictionary)."""
        bitmaps = sum(len(bm.serialize()) for bm in (*self.slices, *(self.by_rank or ())))
        bitmaps += len(self.present.serialize())
        return bitmaps + self.keys.nbytes


def _within(bitmaps: Sequence[BitMap], within: BitMap | None) -> Sequence[BitMap]:
    return bitmaps if within is None else [bm & within for bm in bitmaps]


def union(bitmaps: Sequence[BitMap]) -> BitMap:
    """The union of any number of bitmaps (a new one, also for none or one)."""
    if not bitmaps:
        return BitMap()
    return bitmaps[0].copy() if len(bitmaps) == 1 else BitMap.union(*bitmaps)


_SMALL = 8
"""A restriction to fewer than 1/_SMALL of the customers is applied to each bitmap first."""

_PER_NUMBER = 256
"""Number columns with at most this many distinct numbers also keep a bitmap per number."""

_MASKED = 64
"""Up to this many values, one mask per value beats sorting the codes."""


def _bits(distinct: int) -> int:
    """Slices needed for ranks ``0 .. distinct - 1``."""
    return max(int(distinct - 1).bit_length(), 1) if distinct else 0


Column = ValueColumn | NumberColumn


@dataclass(frozen=True, slots=True)
class Stamps:
    """Which state of the stores an index reflects (see :mod:`tagwise.index.follow`)."""

    seq: int = 0
    """The change feed's last commit applied (0: none)."""
    seq_recorded_at: str | None = None
    """When that commit was recorded: a feed with other history (a recreated warehouse)
    has another time at the same ``seq``."""
    customers: str = ""
    """The customer set's stamp (rows, last record, last resolution)."""
    profile_run: int | None = None
    """The run whose profile snapshot the indexed attributes/features come from."""
    columns: tuple[str, ...] = ()
    """The attributes/features marked for indexing when it was built."""
    next_expiry: str | None = None
    """The earliest expiry of a lock the index holds as current (ISO time; None: none)."""
    checked_at: str | None = None
    """When the locks were last compared with the clock (ISO time)."""


@dataclass(slots=True)
class SegmentIndex:
    """Every indexed column, the universe of customers and the stamps."""

    universe: BitMap = field(default_factory=BitMap)
    columns: dict[str, Column] = field(default_factory=dict)
    stamps: Stamps = field(default_factory=Stamps)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns.values())

    def get(self, name: str) -> Column | None:
        """The indexed column called ``name``, or None."""
        return self.columns.get(name)

    def tags(self) -> Iterable[Column]:
        """The tag columns."""
        return (c for c in self.columns.values() if c.role == "tag")

    def profile(self, cid: int) -> dict[str, list[str] | float]:
        """One customer's tag values from the bitmaps (membership tests, no scan):
        tag → sorted values, or the score of a score tag; tags without a value are left
        out."""
        out: dict[str, list[str] | float] = {}
        for column in self.tags():
            if isinstance(column, NumberColumn):
                number = column.number_of(cid)
                if number is not None:
                    out[column.name] = number
            else:
                values = column.values_of(cid)
                if values:
                    out[column.name] = values
        return out

    def size(self) -> int:
        """Bytes of every bitmap serialized (what pyroaring itself would write)."""
        return len(self.universe.serialize()) + sum(c.size() for c in self.columns.values())

    def equal(self, other: SegmentIndex) -> bool:
        """Whether two indexes answer every question alike (same members per value and
        per number; stale dictionary entries without customers do not count)."""
        mine, theirs = _held(self), _held(other)
        if self.universe != other.universe or set(mine) != set(theirs):
            return False
        return all(_same(c, theirs[n]) for n, c in mine.items())


def _held(index: SegmentIndex) -> dict[str, Column]:
    """The columns some customer holds a value of."""
    return {
        n: c
        for n, c in index.columns.items()
        if (c.present if isinstance(c, NumberColumn) else any(c.bitmaps.values()))
    }


def _same(a: Column, b: Column) -> bool:
    if isinstance(a, ValueColumn) and isinstance(b, ValueColumn):
        return {v: bm for v, bm in a.bitmaps.items() if bm} == {
            v: bm for v, bm in b.bitmaps.items() if bm
        }
    if isinstance(a, NumberColumn) and isinstance(b, NumberColumn):
        if a.present != b.present:
            return False
        (_, mine), (_, theirs) = a.numbers(), b.numbers()
        return bool(np.array_equal(mine, theirs))
    return False
