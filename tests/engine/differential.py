"""Helpers of the differential tests: run the demo on an engine, read its tag values, and
check that two engines differ only by the declared gap (docs/engines.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb

AS_OF = "2026-11-01"
ROUNDED = {"purchase_interval_days": 1}
"""Tags whose rule rounds a double, with the decimals: the declared gap (docs/engines.md)."""

Values = dict[tuple[int, str, str | None], float | None]
"""(cid, tag, value) → score: a workspace's current tag values."""


def current(root: Path) -> Values:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT cid, tag, value, score FROM tags.current").fetchall()
    finally:
        con.close()
    return {(cid, tag, value): score for cid, tag, value, score in rows}


def run(cli: Any, shop: Path, engine: str) -> dict[str, Any]:
    """``tagwise run --engine`` as of :data:`AS_OF`; its JSON report."""
    result = cli("-w", shop, "run", "--as-of", AS_OF, "--engine", engine, "--json")
    assert result.code == 0, result.err
    return result.json()


def declared_differences(duck: Values, other: Values) -> set[tuple[int, str, str | None]]:
    """The keys whose values differ; asserts each is a rounded score one unit apart."""
    differ = {k for k in duck.keys() | other.keys() if duck.get(k, "∅") != other.get(k, "∅")}
    assert {tag for _, tag, _ in differ} <= set(ROUNDED)
    for key in differ:
        a, b = duck[key], other[key]
        assert a is not None and b is not None
        assert math.isclose(abs(a - b), 10 ** -ROUNDED[key[1]], rel_tol=1e-6), (key, a, b)
    return differ
