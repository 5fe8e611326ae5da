"""Features → profile, checked against an independent pandas computation on the demo data.

The reference reads the ingested ``src.*`` tables into pandas and recomputes every feature
with groupby and the window rules of docs/tags.md; ``where`` filters are written again as
pandas masks (never compiled by Tagwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlglot import exp
from tests.factories import demo_workspace

from tagwise.compile.features import (
    build_profile,
    check_features,
    feature_select,
    profile_schema,
    profile_select,
    time_column_of,
)
from tagwise.demo.generate import DEMO_AS_OF
from tagwise.errors import SpecError
from tagwise.lang import Type
from tagwise.spec.features import Agg, FeatureSpec, FeaturesSpec, load_features
from tagwise.spec.sources import ColumnSpec, ColumnType, SourceSpec, SourcesSpec, load_sources
from tagwise.store.warehouse import Warehouse

FEATURES_YAML = """\
features:
  spend_365d:       {source: orders, agg: sum, column: amount, window: 365d, where: "status = 'paid'"}
  orders_90d:       {source: orders, agg: count, window: 90d, where: "status = 'paid'"}
  orders_all:       {source: orders, agg: count}
  last_order_days:  {source: orders, agg: days_since_last, where: "status = 'paid'"}
  first_order_days: {source: orders, agg: days_since_first}
  top_category:     {source: orders, agg: mode, column: category, window: 180d}
  top_quantity:     {source: orders, agg: mode, column: quantity}
  discount_share:   {source: orders, agg: share, where: "discount > 0", window: 365d}
  avg_amount_2w:    {source: orders, agg: avg, column: amount, window: 2w}
  max_amount:       {source: orders, agg: max, column: amount,
                     where: "channel in ('online', 'mini_program') or discount >= 50"}
  first_paid_30d:   {source: orders, agg: min, column: paid_at, window: 30d}
  max_category:     {source: orders, agg: max, column: category}
  quantity_60d:     {source: orders, agg: sum, column: quantity, where: "days_since(paid_at) <= 60"}
  cities_365d:      {source: orders, agg: count_distinct, column: store_city, window: 365d}
  events_36h:       {source: events, agg: count, window: 36h}
  clicks_1w:        {source: events, agg: count, window: 1w, where: "event_type in ('click', 'search')"}
  event_days_30d:   {source: events, agg: days_since_last, window: 30d}
  avg_nps:          {source: surveys, agg: avg, column: nps}
  complaint_days:   {source: tickets, agg: days_since_first, where: "type = '投诉'"}
  unresolved_share: {source: tickets, agg: share, where: "not resolved"}
  top_severity:     {source: tickets, agg: mode, column: severity, window: 365d}
  credit:           {source: third_party, agg: max, column: credit_score}
  followers:        {source: social_profiles, agg: sum, column: followers}
  consents:         {source: consent, agg: count, where: "granted"}
  likes_90d:        {source: social_interactions, agg: count, window: 90d, where: "action = 'like'"}
"""

Mask = Callable[[pd.DataFrame, date], pd.Series]
WHERE: dict[str, Mask] = {
    "status = 'paid'": lambda d, _: d["status"].eq("paid"),
    "discount > 0": lambda d, _: d["discount"].gt(0),
    "channel in ('online', 'mini_program') or discount >= 50": lambda d, _: (
        d["channel"].isin(["online", "mini_program"]) | d["discount"].ge(50)
    ),
    "days_since(paid_at) <= 60": lambda d, as_of: d["paid_at"].map(
        lambda t: (as_of - t.date()).days <= 60
    ),
    "event_type in ('click', 'search')": lambda d, _: d["event_type"].isin(["click", "search"]),
    "type = '投诉'": lambda d, _: d["type"].eq("投诉"),
    "not resolved": lambda d, _: d["resolved"].map(lambda v: v is False or v is np.False_),
    "granted": lambda d, _: d["granted"].map(lambda v: v is True or v is np.True_),
    "action = 'like'": lambda d, _: d["action"].eq("like"),
}
"""Each ``where`` of FEATURES_YAML as a pandas mask (null → not kept, as in SQL)."""

EARLY_AS_OF = date(2026, 3, 15)
AS_OFS = [DEMO_AS_OF, EARLY_AS_OF]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("features") / "shop"
    ws = demo_workspace(root, customers=800)
    (root / "features.yaml").write_text(FEATURES_YAML, encoding="utf-8")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def specs(demo) -> tuple[FeaturesSpec, SourcesSpec]:
    features, doc = load_features(demo.root / "features.yaml")
    sources = demo.sources()
    assert check_features(features, doc, sources) == []
    return features, sources


@pytest.fixture(scope="module")
def tables(demo, specs) -> dict[str, pd.DataFrame]:
    _, sources = specs
    con = demo.warehouse.con
    return {name: con.sql(f'SELECT * FROM src."{name}"').df() for name in sources.sources}


@pytest.fixture(scope="module", params=AS_OFS, ids=str)
def profile(request, demo, specs) -> tuple[date, pd.DataFrame]:
    features, sources = specs
    as_of: date = request.param
    target = f'"snap"."profile_test_{as_of:%Y%m%d}"'
    build_profile(demo.warehouse, features, sources, as_of=as_of, target=target)
    frame = demo.warehouse.con.sql(f"SELECT * FROM {target} ORDER BY cid").df()
    return as_of, frame.set_index("cid")


# --------------------------------------------------------------------------- reference


def reference(
    feature: FeatureSpec, source: SourceSpec, frame: pd.DataFrame, cids: pd.Index, as_of: date
) -> pd.Series:
    """The feature for every customer, computed with pandas from the spec's rules."""
    time = feature.time or time_column_of(source)
    end = pd.Timestamp(as_of + timedelta(days=1))
    inside = pd.Series(True, index=frame.index)
    if time is not None:
        inside = frame[time].notna() & (pd.to_datetime(frame[time]) < end)
        if feature.window_hours is not None:
            start = end - pd.Timedelta(hours=feature.window_hours)
            inside &= pd.to_datetime(frame[time]) >= start
    matching = inside
    if feature.where is not None:
        matching = inside & WHERE[feature.where](frame, as_of).fillna(False).astype(bool)
    rows = frame[matching]
    column = feature.column or time
    agg = feature.agg.value
    if agg == "share":
        total = frame[inside].groupby("cid").size()
        result = rows.groupby("cid").size().reindex(total.index, fill_value=0) / total
    elif agg.startswith("days_since"):
        pick = "max" if agg == "days_since_last" else "min"
        moment = rows.groupby("cid")[column].agg(pick).dropna()
        result = moment.map(lambda t: (as_of - pd.Timestamp(t).date()).days)
    elif agg == "count":
        result = rows.groupby("cid").size()
    else:
        result = rows.groupby("cid")[column].agg(PANDAS_AGGS[agg])
    result = result.reindex(cids)
    if agg in ("count", "sum", "count_distinct"):
        result = result.fillna(0)
    return result


def mode_of(values: pd.Series) -> object:
    """Most frequent non-null value; ties → the smallest."""
    counts: dict[object, int] = {}
    for value in values.dropna():
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], v))


def same(actual: object, expected: object) -> bool:
    if is_null(actual) or is_null(expected):
        return is_null(actual) and is_null(expected)
    if isinstance(expected, float | int | np.number) and not isinstance(expected, bool):
        return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, pd.Timestamp | datetime):
        return pd.Timestamp(actual) == pd.Timestamp(expected)
    return actual == expected


def is_null(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


PANDAS_AGGS: dict[str, object] = {
    "sum": "sum",
    "avg": "mean",
    "min": "min",
    "max": "max",
    "count_distinct": "nunique",
    "mode": mode_of,
}


# --------------------------------------------------------------------------- the profile


def test_profile_has_one_row_per_customer_with_attributes_then_features(profile, tables, specs):
    _, frame = profile
    features, sources = specs
    master = tables["customers"].set_index("cid").sort_index()
    assert list(frame.index) == list(master.index)
    assert list(frame.columns) == [*sources.sources["customers"].columns, *features.features]
    for name in sources.sources["customers"].columns:
        assert all(same(a, e) for a, e in zip(frame[name], master[name], strict=True)), name


@pytest.mark.parametrize("name", list(yaml.safe_load(FEATURES_YAML)["features"]))
def test_feature_equals_the_pandas_reference(name, profile, tables, specs):
    as_of, frame = profile
    features, sources = specs
    feature = features.features[name]
    source = sources.sources[feature.source]
    expected = reference(feature, source, tables[source.name], frame.index, as_of)
    actual = frame[name]
    wrong = [
        (cid, a, e)
        for cid, a, e in zip(frame.index, actual, expected, strict=True)
        if not same(a, e)
    ]
    assert not wrong, f"{len(wrong)} customers differ, first: {wrong[:5]}"


def test_reference_covers_the_interesting_cases(profile, tables):
    """The comparison above means something: defaults, nulls and ties all occur."""
    as_of, frame = profile
    orders = tables["orders"]
    without_orders = frame.index.difference(orders["cid"].unique())
    assert len(without_orders) > 0
    none = frame.loc[without_orders]
    assert (none["spend_365d"] == 0).all()
    assert (none["orders_all"] == 0).all()
    assert (none["cities_365d"] == 0).all()
    assert (
        none[["last_order_days", "top_category", "discount_share", "avg_amount_2w"]]
        .isna()
        .all()
        .all()
    )
    # customers with orders but none paid in the window: 0, not null
    assert ((frame["orders_all"] > 0) & (frame["orders_90d"] == 0)).any()
    # ties for the most frequent category occur among the customers
    end = pd.Timestamp(as_of + timedelta(days=1))
    recent = orders[(orders["paid_at"] < end) & (orders["paid_at"] >= end - pd.Timedelta(days=180))]
    counts = recent.groupby(["cid", "category"]).size()
    top = counts.groupby("cid").transform("max")
    assert (counts[counts == top].groupby("cid").size() > 1).any()


def test_rows_after_the_as_of_date_never_count(demo, specs):
    features, sources = specs
    con = demo.warehouse.con
    build_profile(demo.warehouse, features, sources, as_of=EARLY_AS_OF, target='"snap"."early"')
    counted = con.execute("SELECT sum(orders_all), max(first_paid_30d) FROM snap.early").fetchone()
    end = datetime(2026, 3, 16)
    before = con.execute("SELECT count(*) FROM src.orders WHERE paid_at < ?", [end]).fetchone()
    total = con.execute("SELECT count(*) FROM src.orders").fetchone()
    assert counted[0] == before[0] < total[0]
    assert counted[1] < end
    low = con.execute("SELECT min(last_order_days), min(event_days_30d) FROM snap.early").fetchone()
    assert low[0] >= 0 and low[1] >= 0


def test_profile_schema_types(specs):
    features, sources = specs
    schema = profile_schema(features, sources)
    assert schema["city"].role == "attribute" and schema["city"].type is Type.STRING
    assert schema["registered_at"].type is Type.TIMESTAMP
    assert schema["birthday"].type is Type.DATE
    assert schema["spend_365d"].role == "feature" and schema["spend_365d"].type is Type.NUMBER
    assert schema["top_category"].type is Type.STRING
    assert schema["first_paid_30d"].type is Type.TIMESTAMP
    assert schema["top_quantity"].type is Type.NUMBER
    assert schema["last_order_days"].type is Type.NUMBER
    assert "cid" not in schema


# --------------------------------------------------------------------------- SQL shape


def test_one_group_by_scan_per_source_plus_one_per_mode_feature(specs):
    """All non-mode features of a source share one GROUP BY cid scan; each mode feature
    adds a (cid, value) pre-aggregation and a pick per cid (faster than a histogram)."""
    features, sources = specs
    orders = features.by_source()["orders"]
    modes = [f for f in orders if f.agg is Agg.MODE]
    select = feature_select(
        sources.sources["orders"], orders, as_of=DEMO_AS_OF, time_column="paid_at"
    )
    assert modes
    assert len(list(select.find_all(exp.Group))) == 1 + 2 * len(modes)
    assert len(list(select.find_all(exp.Table))) == 1 + len(modes)
    names = [e.alias_or_name for e in select.expressions]
    assert sorted(n for n in names if n != "*") == sorted(f.name for f in modes)
    plain = [f for f in orders if f.agg is not Agg.MODE]
    scan = feature_select(sources.sources["orders"], plain, as_of=DEMO_AS_OF, time_column="paid_at")
    assert len(list(scan.find_all(exp.Group))) == 1
    assert len(list(scan.find_all(exp.Select))) == 1
    assert [e.alias_or_name for e in scan.expressions] == ["cid", *(f.name for f in plain)]
    whole = profile_select(features, sources, as_of=DEMO_AS_OF)
    mode_count = sum(f.agg is Agg.MODE for f in features.features.values())
    assert len(list(whole.find_all(exp.Group))) == len(features.by_source()) + 2 * mode_count


def test_window_bounds_are_half_open_at_midnight_after_the_as_of_date(tmp_path):
    as_of = date(2024, 3, 10)
    end = datetime(2024, 3, 11)
    times = [
        end - timedelta(days=7),  # first moment of a 7d window: counts
        end - timedelta(days=7, microseconds=1),  # just before: not in the window
        end - timedelta(microseconds=1),  # last moment of the as-of day: counts
        end,  # the next day: never counts
    ]
    source = scratch_source({"t": ColumnSpec(type=ColumnType.TIMESTAMP)}, time_column="t")
    wh = scratch_table(tmp_path, source, [(1, t) for t in times])
    specs = [
        FeatureSpec(name="week", source="s", agg="count", window="7d"),
        FeatureSpec(name="ever", source="s", agg="count"),
        FeatureSpec(name="hours", source="s", agg="count", window="1h"),
        FeatureSpec(name="last", source="s", agg="days_since_last"),
        FeatureSpec(name="first", source="s", agg="days_since_first"),
    ]
    row = run_select(wh, source, specs, as_of)
    assert row == {"cid": 1, "week": 2, "ever": 3, "hours": 1, "last": 0, "first": 7}


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        (ColumnType.STRING, ["b", "中", "a", "中", "a", None, None, None], "a"),
        (ColumnType.INTEGER, [10, 9, 10, 9, 3], 9),
        (
            ColumnType.DATE,
            [date(2024, 2, 1), date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1)],
            date(2024, 1, 1),
        ),
        (ColumnType.BOOLEAN, [True, False, True, False], False),
        (ColumnType.STRING, ["z", "y", "z"], "z"),
    ],
)
def test_mode_ties_go_to_the_smallest_value_and_nulls_are_ignored(tmp_path, kind, values, expected):
    stamp = ColumnSpec(type=ColumnType.TIMESTAMP)
    source = scratch_source({"v": ColumnSpec(type=kind), "t": stamp}, time_column="t")
    moment = datetime(2024, 3, 1)
    wh = scratch_table(tmp_path, source, [(1, v, moment) for v in values] + [(2, None, moment)])
    spec = FeatureSpec(name="top", source="s", agg="mode", column="v")
    rows = run_select(wh, source, [spec], date(2024, 3, 10), every=True)
    assert rows == [{"cid": 1, "top": expected}, {"cid": 2, "top": None}]


def test_chinese_names_and_quotes_are_quoted_not_spliced(tmp_path):
    odd = '金额"; DROP TABLE src.s; --'
    source = scratch_source({odd: ColumnSpec(type=ColumnType.NUMBER), "类别": ColumnSpec()})
    wh = scratch_table(tmp_path, source, [(1, 5.0, "母婴's"), (1, 7.0, "服装"), (2, 1.0, None)])
    specs = [
        FeatureSpec(name="合计\"'x", source="s", agg="sum", column=odd, where="`类别` = '母婴''s'"),
        FeatureSpec(name="类别_mode", source="s", agg="mode", column="类别"),
    ]
    rows = run_select(wh, source, specs, date(2024, 3, 10), every=True)
    assert rows == [
        {"cid": 1, "合计\"'x": 5.0, "类别_mode": "服装"},  # a tie: 服 (U+670D) < 母 (U+6BCD)
        {"cid": 2, "合计\"'x": 0.0, "类别_mode": None},
    ]
    assert wh.scalar("SELECT count(*) FROM src.s") == 3


def scratch_source(columns: dict[str, ColumnSpec], *, time_column: str | None = None) -> SourceSpec:
    # model_construct: the odd column names of the quoting test are not valid in sources.yaml
    return SourceSpec.model_construct(
        name="s",
        role="records",
        path="s.csv",
        customer_key="customer_id",
        columns=columns,
        time_column=time_column,
    )


SQL_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
}


def scratch_table(tmp_path: Path, source: SourceSpec, rows: list[tuple]) -> Warehouse:
    wh = Warehouse(tmp_path / "w.duckdb")
    columns = ", ".join(
        f"{exp.to_identifier(n, quoted=True).sql('duckdb')} {SQL_TYPES[c.type]}"
        for n, c in source.columns.items()
    )
    wh.execute(f"CREATE TABLE src.s (cid INTEGER, {columns})")
    marks = ", ".join("?" for _ in range(len(source.columns) + 1))
    wh.con.executemany(f"INSERT INTO src.s VALUES ({marks})", rows)
    return wh


def run_select(wh, source, specs, as_of, *, every=False):
    select = feature_select(source, specs, as_of=as_of, time_column=time_column_of(source))
    cursor = wh.execute(select.order_by("cid").sql("duckdb"))
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return rows if every else rows[0]


# --------------------------------------------------------------------------- checks

SOURCES_YAML = """\
sources:
  customers:
    role: customers
    path: c.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string}
      city: {type: string}
  orders:
    path: o.csv
    customer_key: customer_id
    time_column: paid_at
    columns:
      customer_id: {}
      amount: {type: number}
      status: {type: string}
      paid_at: {type: timestamp}
  shops:
    path: s.csv
    columns:
      shop_id: {}
  ratings:
    path: r.csv
    customer_key: customer_id
    columns:
      customer_id: {}
      score: {type: integer}
"""

BROKEN_YAML = """\
features:
  ok:          {source: orders, agg: sum, column: amount, window: 30d}
  typo_source: {source: order, agg: count}
  no_key:      {source: shops, agg: count}
  typo_column: {source: orders, agg: sum, column: amout}
  sum_text:    {source: orders, agg: sum, column: status}
  no_column:   {source: orders, agg: avg}
  share_alone: {source: orders, agg: share, window: 7d}
  no_time:     {source: ratings, agg: count, window: 30d}
  city:        {source: orders, agg: count}
  count_col:   {source: orders, agg: count, column: amount}
  bad_time:    {source: orders, agg: count, window: 1d, time: status}
  bad_where:
    source: orders
    agg: count
    where: "statuz = 'paid'"
  not_boolean:
    source: orders
    agg: count

    where: "amount + 1"
  unparsable:  {source: orders, agg: count, where: "amount >"}
  no_time_since: {source: ratings, agg: days_since_last}
"""


def test_check_features_reports_every_problem_at_its_line(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    (tmp_path / "features.yaml").write_text(BROKEN_YAML, encoding="utf-8")
    sources = load_sources(tmp_path / "sources.yaml")
    features, doc = load_features(tmp_path / "features.yaml")
    errors = check_features(features, doc, sources)
    found = [(e.location.line, e.message, e.hint) for e in errors]
    expected = [
        (3, "feature `typo_source`: source `order` is not declared", "did you mean `orders`?"),
        (4, "feature `no_key`: source `shops` has no customer_key", "set customer_key"),
        (
            5,
            "feature `typo_column`: source `orders` has no column `amout`",
            "did you mean `amount`?",
        ),
        (6, "feature `sum_text`: `sum` needs a number or integer column, `status` is string", None),
        (7, "feature `no_column`: `avg` needs `column`", "name the column"),
        (8, "feature `share_alone`: `share` needs `where`", "discount > 0"),
        (9, "feature `no_time`: source `ratings` has no date or timestamp column", "time_column"),
        (10, "feature `city` has the name of a customer attribute", "one namespace"),
        (11, "feature `count_col`: `count` counts rows and takes no `column`", "where"),
        (12, "feature `bad_time`: time column `status` is string", "date or timestamp"),
        (16, "feature `bad_where`: `where` is invalid: unknown", "did you mean `status`?"),
        (21, "feature `not_boolean`: `where` is invalid: a condition must be true/false", None),
        (22, "feature `unparsable`: `where` is invalid:", None),
        (
            23,
            "feature `no_time_since`: source `ratings` has no date or timestamp column",
            "time_column",
        ),
    ]
    assert len(found) == len(expected), "\n".join(map(str, found))
    for (line, message, hint), (want_line, fragment, want_hint) in zip(
        found, expected, strict=True
    ):
        assert (line, message[: len(fragment)]) == (want_line, fragment), (line, message)
        if want_hint is None:
            continue
        assert hint is not None and want_hint in hint, (message, hint)
    assert all(isinstance(e, SpecError) for e in errors)
    assert all(e.location.path == tmp_path / "features.yaml" for e in errors)
    where_error = errors[10]
    assert "statuz" in where_error.message and where_error.__cause__ is not None
    with pytest.raises(SpecError, match="typo_source"):
        profile_schema(features, sources, doc=doc)


def test_time_column_must_be_a_declared_date_or_timestamp(tmp_path):
    text = SOURCES_YAML.replace("time_column: paid_at", "time_column: status")
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(
        SpecError, match="time_column `status` must have type date or timestamp"
    ) as info:
        load_sources(tmp_path / "sources.yaml")
    assert info.value.location.line == 13
    text = SOURCES_YAML.replace("time_column: paid_at", "time_column: paid")
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="time_column `paid` is not declared"):
        load_sources(tmp_path / "sources.yaml")


def test_without_a_customer_master_there_is_no_profile(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    sources = load_sources(tmp_path / "sources.yaml")
    headless = SourcesSpec(sources={n: s for n, s in sources.sources.items() if n != "customers"})
    features = FeaturesSpec(features={"n": FeatureSpec(name="n", source="orders", agg="count")})
    errors = check_features(features, None, headless)
    assert [e.message for e in errors] == [
        "sources.yaml declares no customers source, so there is no profile"
    ]


def test_sums_do_not_depend_on_row_order(tmp_path):
    """Floating-point addition is not associative; the same rows in another order (as
    parallel aggregation may add them) must give the bit-identical feature."""
    spec = SourceSpec.model_validate(
        {
            "name": "pay",
            "path": "p.csv",
            "customer_key": "customer_id",
            "columns": {"customer_id": {}, "amount": {"type": "number"}},
        }
    )
    features = [
        FeatureSpec(name="total", source="pay", agg="sum", column="amount"),
        FeatureSpec(name="mean", source="pay", agg="avg", column="amount"),
    ]
    values = [0.1, 0.2, 0.3, 1e10, -1e10, 123.456, 7.77, 1e-3, 33.33, 0.7]
    assert sum(values) != sum(reversed(values))  # plain doubles do depend on the order
    wh = Warehouse(tmp_path / "w.duckdb")
    results = []
    for order in (values, list(reversed(values))):
        wh.execute(
            "CREATE OR REPLACE TABLE src.pay (cid INTEGER, customer_id VARCHAR, amount DOUBLE)"
        )
        wh.con.executemany("INSERT INTO src.pay VALUES (1, 'c', ?)", [(v,) for v in order])
        sql = feature_select(spec, features, as_of=DEMO_AS_OF, time_column=None).sql("duckdb")
        results.append(wh.rows(sql))
    wh.close()
    assert results[0] == results[1]
    assert results[0][0][1] == pytest.approx(sum(values))
