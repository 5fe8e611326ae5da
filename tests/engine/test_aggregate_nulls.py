"""How feature aggregates treat nulls and empty windows, as docs/language.md states it.

One small source, one customer per case, on DuckDB through the profile query (the customer
master left-joined to the feature scan, as in a run). The expected values are written by
hand from the documented rules, never read back from the code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import pytest

from tagwise.compile.features import profile_select
from tagwise.spec.features import FeatureSpec, FeaturesSpec
from tagwise.spec.sources import ColumnSpec, ColumnType, SourceSpec, SourcesSpec

AS_OF = date(2024, 3, 10)
RECENT = datetime(2024, 3, 1, 12)
OLD = datetime(2023, 1, 1)

ROWS: list[tuple[int, float | None, str | None, datetime | None]] = [
    # 1: three rows in the window, one value null
    (1, 10.0, "a", RECENT),
    (1, None, None, RECENT),
    (1, 30.0, "b", datetime(2024, 2, 20)),
    # 2: two rows in the window, every value null
    (2, None, None, RECENT),
    (2, None, None, RECENT),
    # 3: rows only before the 30-day window
    (3, 5.0, "a", OLD),
    # 4: no rows at all
    # 5: a row whose time is null (never counts) and a row after the as-of date (never counts)
    (5, 7.0, "c", None),
    (5, 8.0, "c", datetime(2024, 3, 11)),
]

FEATURES = {
    "n": "count",
    "total": "sum",
    "mean": "avg",
    "low": "min",
    "high": "max",
    "kinds": "count_distinct",
    "top": "mode",
    "big_share": "share",
    "last_days": "days_since_last",
    "first_days": "days_since_first",
}
COLUMN = {"total": "v", "mean": "v", "low": "v", "high": "v", "kinds": "k", "top": "k"}

NULL = None
EXPECTED: dict[int, dict[str, Any]] = {
    1: {
        "n": 3,  # count counts rows, null values included
        "total": 40.0,  # sum, avg, min, max and count_distinct skip null values
        "mean": 20.0,
        "low": 10.0,
        "high": 30.0,
        "kinds": 2,
        "top": "a",  # a tie of counts goes to the smallest value; null is no value
        "big_share": 1 / 3,  # rows where `v > 10` is true / all rows of the window
        "last_days": 9,
        "first_days": 19,
    },
    2: {
        "n": 2,
        "total": 0.0,  # a sum of no values is 0, not null
        "mean": NULL,
        "low": NULL,
        "high": NULL,
        "kinds": 0,
        "top": NULL,
        "big_share": 0.0,  # `null > 10` is not true: the row does not match
        "last_days": 9,
        "first_days": 9,
    },
    3: {
        "n": 0,  # an empty window: count, sum, count_distinct are 0; the rest are null
        "total": 0.0,
        "mean": NULL,
        "low": NULL,
        "high": NULL,
        "kinds": 0,
        "top": NULL,
        "big_share": NULL,  # 0 / 0 rows
        "last_days": NULL,
        "first_days": NULL,
    },
}
EXPECTED[4] = EXPECTED[3]  # no rows at all is the same as an empty window
EXPECTED[5] = EXPECTED[3]  # a null time and a time after the as-of date never count


@pytest.fixture(scope="module")
def profile() -> dict[int, dict[str, Any]]:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA src")
    con.execute("CREATE TABLE src.customers (cid INTEGER, customer_id VARCHAR)")
    con.executemany("INSERT INTO src.customers VALUES (?, ?)", [(i, f"c{i}") for i in range(1, 6)])
    con.execute("CREATE TABLE src.s (cid INTEGER, v DOUBLE, k VARCHAR, t TIMESTAMP)")
    con.executemany("INSERT INTO src.s VALUES (?, ?, ?, ?)", ROWS)
    select = profile_select(_features(), _sources(), as_of=AS_OF)
    cursor = con.execute(select.sql("duckdb"))
    names = [d[0] for d in cursor.description]
    found = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    con.close()
    return found


def _sources() -> SourcesSpec:
    master = SourceSpec(
        name="customers",
        role="customers",
        path="c.csv",
        customer_key="customer_id",
        primary_key=("customer_id",),
        columns={"customer_id": ColumnSpec()},
    )
    records = SourceSpec(
        name="s",
        path="s.csv",
        customer_key="customer_id",
        columns={
            "customer_id": ColumnSpec(),
            "v": ColumnSpec(type=ColumnType.NUMBER),
            "k": ColumnSpec(),
            "t": ColumnSpec(type=ColumnType.TIMESTAMP),
        },
        time_column="t",
    )
    return SourcesSpec(sources={"customers": master, "s": records})


def _features() -> FeaturesSpec:
    specs = {
        name: FeatureSpec(
            name=name,
            source="s",
            agg=agg,
            column=COLUMN.get(name),
            window="30d",
            where="v > 10" if agg == "share" else None,
        )
        for name, agg in FEATURES.items()
    }
    return FeaturesSpec(features=specs)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_aggregate_of_nulls_and_empty_windows(profile, cid: int, feature: str) -> None:
    got, want = profile[cid][feature], EXPECTED[cid][feature]
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want), (cid, feature, got)
        assert isinstance(got, str) == isinstance(want, str)
