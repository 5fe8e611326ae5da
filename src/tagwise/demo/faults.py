"""Rows made invalid on purpose, and the choice of those rows in customers.csv."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagwise.demo.arrays import IntArray

_CUSTOMER_FAULTS = (
    ("missing_required", "客户编号"),
    ("bad_date", "出生日期"),
    ("bad_date", "注册时间"),
    ("bad_phone", "手机号"),
    ("duplicate_key", "客户编号"),
    ("malformed_line", ""),
    ("bad_encoding", ""),
)


@dataclass(frozen=True, slots=True)
class Fault:
    """Rows of one source file made invalid on purpose, as `_truth/invalid.csv` lists them."""

    file: str
    lines: IntArray
    column: str
    kind: str


def customer_faults(rng: np.random.Generator, person: IntArray) -> tuple[list[Fault], IntArray]:
    """Choose the invalid rows of customers.csv among customers without a second account."""
    n = len(person)
    in_pair = np.zeros(n, dtype=np.bool_)
    in_pair[person[person != np.arange(n)]] = True
    in_pair[person != np.arange(n)] = True
    in_pair[0] = True  # a duplicate key needs an earlier row to repeat
    per_kind = max(1, round(n * 0.00003))
    rows = rng.permutation(np.flatnonzero(~in_pair))[: per_kind * len(_CUSTOMER_FAULTS)]
    faults = [
        Fault("customers.csv", np.sort(rows[i * per_kind : (i + 1) * per_kind]) + 2, col, kind)
        for i, (kind, col) in enumerate(_CUSTOMER_FAULTS)
    ]
    return faults, earlier_rows(rng, faults[4].lines - 2, taken=set(rows.tolist()))


def earlier_rows(rng: np.random.Generator, rows: IntArray, *, taken: set[int]) -> IntArray:
    """For each of `rows`, a random earlier row outside `taken`: the one whose key it repeats."""
    sources = []
    for row in rows.tolist():
        source = int(rng.integers(0, row))
        while source in taken:
            source = int(rng.integers(0, row))
        sources.append(source)
    return np.array(sources, dtype=np.int64)
