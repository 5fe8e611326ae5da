"""Helpers of the differential tests: run the demo on an engine, read its tag values, and
check that two engines give identical values (docs/engines.md: no declared gap is left for
the demo's tags)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

AS_OF = "2026-11-01"

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


def assert_identical(duck: Values, other: Values) -> None:
    """Every customer, tag, value and score is the same (scores compared exactly)."""
    differ = sorted(
        (k, duck.get(k, "∅"), other.get(k, "∅"))
        for k in duck.keys() | other.keys()
        if duck.get(k, "∅") != other.get(k, "∅")
    )
    assert not differ, f"{len(differ)} values differ, e.g. {differ[:5]}"
    assert len(duck) == len(other) > 0
