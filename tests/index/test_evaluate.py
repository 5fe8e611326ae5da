"""Segment evaluation on bitmaps equals a brute-force pandas evaluation of the same
expression, with SQL's three-valued logic (pandas' nullable booleans are Kleene logic):
random expressions over enum, flag, multi and score tags, indexed and warehouse-only
attributes and features, nulls everywhere, and both polarities (true and false sets)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from tagwise.errors import UnsupportedError
from tagwise.index.bitmap import NumberColumn, SegmentIndex, ValueColumn, bitmap_of
from tagwise.index.evaluate import Evaluation
from tagwise.index.follow import column_of
from tagwise.index.profile import Profile
from tagwise.lang import Column, Schema, Type, check_condition, parse
from tagwise.store.warehouse import Warehouse

NA = pd.NA
N = 80
TIERS = ["一线", "新一线", "二线"]
LIKES = ["a", "b", "c"]

SCHEMA = Schema(
    [
        Column("city", Type.STRING, "attribute"),
        Column("age", Type.NUMBER, "attribute"),
        Column("spend", Type.NUMBER, "feature"),
        Column("tier", Type.STRING, "tag", "enum"),
        Column("vip", Type.BOOLEAN, "tag", "flag"),
        Column("likes", Type.LIST, "tag", "multi"),
        Column("score", Type.NUMBER, "tag", "score"),
    ]
)


def make_people(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def maybe(options: list, p_null: float = 0.25) -> list:
        return [
            None if rng.random() < p_null else options[rng.integers(len(options))] for _ in range(N)
        ]

    likes = []
    for _ in range(N):
        chosen = sorted(v for v in LIKES if rng.random() < 0.4)
        likes.append(chosen or None)
    return pd.DataFrame(
        {
            "cid": np.arange(N) * 2 + 3,  # sparse cids
            "city": pd.array(maybe(["上海", "北京", "成都"]), dtype="string"),
            "age": pd.array(maybe([18.0, 25.0, 40.0, 61.5]), dtype="Float64"),
            "spend": pd.array(maybe([0.0, 99.5, 1000.0, 5000.0, 20000.0]), dtype="Float64"),
            "tier": pd.array(maybe(TIERS), dtype="string"),
            "vip": pd.array(maybe([True], p_null=0.6), dtype="boolean"),
            "likes": likes,
            "score": pd.array(maybe([1.0, 2.0, 3.0, 4.0, 5.0]), dtype="Float64"),
        }
    )


PEOPLE = make_people()


def build_index(people: pd.DataFrame) -> SegmentIndex:
    cids = people.cid.to_numpy(dtype=np.uint32)
    index = SegmentIndex(universe=bitmap_of(cids))

    def values(name: str, kind: str, role: str, series: pd.Series) -> None:
        known = series.notna().to_numpy()
        labels = sorted(set(series[known].astype(str)))
        codes = np.array(
            [labels.index(str(v)) if k else -1 for v, k in zip(series, known, strict=True)]
        )
        column = ValueColumn(name, role, kind)  # type: ignore[arg-type]
        column.add(cids, codes, labels)
        index.columns[name] = column

    def numbers(name: str, kind: str, role: str, series: pd.Series) -> None:
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        index.columns[name] = NumberColumn.build(name, role, kind, cids, arr)  # type: ignore[arg-type]

    values("tier", "enum", "tag", people.tier)
    values("vip", "flag", "tag", people.vip.map(lambda v: "true" if v is True else None))
    values("city", "string", "attribute", people.city)
    numbers("score", "score", "tag", people.score)
    numbers("spend", "number", "feature", people.spend)
    multi = ValueColumn("likes", "tag", "multi")
    rows = [(c, v) for c, vs in zip(cids, people.likes, strict=True) if vs for v in vs]
    multi.add(
        np.array([c for c, _ in rows], dtype=np.uint32),
        np.array([LIKES.index(v) for _, v in rows]),
        LIKES,
    )
    index.columns["likes"] = multi
    return index


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    wh = Warehouse(Path(tmp_path_factory.mktemp("eval")) / "w.duckdb")
    frame = pd.DataFrame(
        {
            "cid": PEOPLE.cid,
            "city": [None if pd.isna(v) else v for v in PEOPLE.city],
            "age": PEOPLE.age,
            "spend": PEOPLE.spend,
        }
    )
    wh.con.register("people_df", frame)
    wh.execute("CREATE TABLE src.people AS SELECT * FROM people_df")
    wh.con.unregister("people_df")
    yield wh
    wh.close()


PROFILE = Profile(
    "(SELECT cid, city, age, spend FROM src.people)",
    1,
    {"city": Type.STRING, "age": Type.NUMBER, "spend": Type.NUMBER},
)
INDEX = build_index(PEOPLE)
PRISTINE = build_index(PEOPLE)
"""A second copy: evaluation shares the index's bitmaps and must never change them."""


def evaluation(text: str, wh: Warehouse, *, indexed: bool = True) -> Evaluation:
    typed = check_condition(parse(text), SCHEMA, source=text)
    return Evaluation(
        typed,
        INDEX,
        profile=PROFILE,
        wh=wh,
        as_of=date(2026, 11, 1),
        indexed=(lambda name: indexed and name in ("city", "spend")),
    )


# --------------------------------------------------------------------------- pandas side


def kleene(values) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype="boolean"), index=PEOPLE.index)


def is_in(series: pd.Series, items: list, *, negated: bool) -> pd.Series:
    """SQL `x [not] in (...)`: null x is null; a null item makes a miss null."""
    known = [i for i in items if i is not None]
    hit = series.isin(known).astype("boolean")
    out = hit.copy()
    if None in items:
        out[~hit] = NA
    out[series.isna()] = NA
    return ~out if negated else out


def like(series: pd.Series, pattern: str) -> pd.Series:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return series.str.fullmatch(regex).astype("boolean")


def q(v: str) -> str:
    return "'" + v + "'"


def num(v: float) -> str:
    return repr(v) if v != int(v) else str(int(v))


tier_value = st.sampled_from([*TIERS, "三线"])
score_value = st.sampled_from([0.0, 1.0, 2.5, 3.0, 5.0, 6.0])
spend_value = st.sampled_from([0.0, 99.5, 100.0, 5000.0, 30000.0])


def leaves() -> st.SearchStrategy:
    p = PEOPLE
    return st.one_of(
        tier_value.map(lambda v: (f"tier = {q(v)}", lambda: p.tier == v)),
        tier_value.map(lambda v: (f"tier != {q(v)}", lambda: p.tier != v)),
        st.lists(st.one_of(tier_value, st.none()), min_size=1, max_size=3).flatmap(
            lambda items: st.booleans().map(
                lambda neg: (
                    f"tier {'not in' if neg else 'in'} ("
                    + ", ".join("null" if i is None else q(i) for i in items)
                    + ")",
                    lambda: is_in(p.tier, items, negated=neg),
                )
            )
        ),
        st.booleans().map(
            lambda neg: (
                f"tier is {'not ' if neg else ''}null",
                lambda: kleene(p.tier.notna() if neg else p.tier.isna()),
            )
        ),
        st.just(("tier like '%线'", lambda: like(p.tier, "%线"))),
        tier_value.map(
            lambda v: (
                f"has_tag('tier', {q(v)})",
                lambda: (p.tier == v).fillna(False).astype("boolean"),
            )
        ),
        st.just(("has_tag('tier')", lambda: kleene(p.tier.notna()))),
        st.just(("vip", lambda: p.vip)),
        st.just(("has_tag('vip')", lambda: p.vip.fillna(False))),
        st.sampled_from(LIKES).map(
            lambda v: (
                f"has_tag('likes', {q(v)})",
                lambda: kleene(bool(x) and v in x for x in p.likes),
            )
        ),
        st.just(("likes is null", lambda: kleene(x is None for x in p.likes))),
        st.tuples(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), score_value).map(
            lambda t: (f"score {t[0]} {num(t[1])}", lambda: _cmp(p.score, t[0], t[1]))
        ),
        st.tuples(score_value, score_value, st.booleans()).map(
            lambda t: (
                f"score {'not ' if t[2] else ''}between {num(t[0])} and {num(t[1])}",
                lambda: _between(p.score, t[0], t[1], t[2]),
            )
        ),
        st.lists(st.one_of(score_value, st.none()), min_size=1, max_size=3).flatmap(
            lambda items: st.booleans().map(
                lambda neg: (
                    f"score {'not in' if neg else 'in'} ("
                    + ", ".join("null" if i is None else num(i) for i in items)
                    + ")",
                    lambda: is_in(p.score, items, negated=neg),
                )
            )
        ),
        score_value.map(lambda v: (f"{num(v)} < score", lambda: _cmp(p.score, ">", v))),
        score_value.map(
            lambda v: (f"score * 2 - 1 > {num(v)}", lambda: _cmp(p.score * 2 - 1, ">", v))
        ),
        st.just(("score > null", lambda: kleene([NA] * N))),
        st.just(("has_tag('score')", lambda: kleene(p.score.notna()))),
        st.tuples(st.sampled_from(["<", ">="]), spend_value).map(
            lambda t: (f"spend {t[0]} {num(t[1])}", lambda: _cmp(p.spend, t[0], t[1]))
        ),
        st.tuples(spend_value, spend_value).map(
            lambda t: (
                f"spend between {num(t[0])} and {num(t[1])}",
                lambda: _between(p.spend, t[0], t[1], False),
            )
        ),
        st.sampled_from(["上海", "北京", "广州"]).map(
            lambda v: (f"city = {q(v)}", lambda: p.city == v)
        ),
        st.just(("coalesce(city, '无') = '无'", lambda: kleene(p.city.isna()))),
        st.sampled_from([18.0, 30.0, 61.5]).map(
            lambda v: (f"age >= {num(v)}", lambda: _cmp(p.age, ">=", v))
        ),
        st.just(("age + spend > 1000", lambda: _cmp(p.age + p.spend, ">", 1000.0))),
        st.just(("true", lambda: kleene([True] * N))),
        st.just(("null", lambda: kleene([NA] * N))),
    )


def _cmp(series: pd.Series, op: str, value: float) -> pd.Series:
    ops = {
        "<": series < value,
        "<=": series <= value,
        ">": series > value,
        ">=": series >= value,
        "=": series == value,
        "!=": series != value,
    }
    return ops[op].astype("boolean")


def _between(series: pd.Series, low: float, high: float, negated: bool) -> pd.Series:
    inside = ((series >= low) & (series <= high)).astype("boolean")
    return ~inside if negated else inside


def combine(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        children.map(lambda c: (f"not ({c[0]})", lambda: ~c[1]())),
        st.tuples(children, children).map(
            lambda t: (f"({t[0][0]}) and ({t[1][0]})", lambda: t[0][1]() & t[1][1]())
        ),
        st.tuples(children, children).map(
            lambda t: (f"({t[0][0]}) or ({t[1][0]})", lambda: t[0][1]() | t[1][1]())
        ),
    )


expressions = st.recursive(leaves(), combine, max_leaves=8)


def cids_where(mask: pd.Series) -> BitMap:
    return BitMap(PEOPLE.cid[mask.fillna(False).astype(bool)].tolist())


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(expressions, st.booleans())
def test_random_expressions_equal_pandas(warehouse, expression, indexed) -> None:
    text, expected = expression
    truth = expected()
    result = evaluation(text, warehouse, indexed=indexed)
    assert result.true(result.typed.expr) == cids_where(truth == True), text  # noqa: E712
    assert result.false(result.typed.expr) == cids_where(truth == False), text  # noqa: E712
    assert INDEX.equal(PRISTINE), f"evaluating {text} changed the index"


def test_the_null_rule_is_the_sql_where_rule(warehouse) -> None:
    """not (x = 'a') leaves out customers without x; has_tag is never null."""
    no_tier = BitMap(PEOPLE.cid[PEOPLE.tier.isna()].tolist())
    shanghai = BitMap(PEOPLE.cid[PEOPLE.tier.fillna("") == "一线"].tolist())
    negated = evaluation("not (tier = '一线')", warehouse).members()
    assert negated == INDEX.universe - shanghai - no_tier
    assert evaluation("not has_tag('tier', '一线')", warehouse).members() == (
        INDEX.universe - shanghai
    )
    assert evaluation("tier is null or tier != '一线'", warehouse).members() == (
        INDEX.universe - shanghai
    )


def test_where_each_part_is_answered(warehouse) -> None:
    text = "tier = '一线' and spend > 100 and age >= 18 and has_tag('likes', 'a')"
    result = evaluation(text, warehouse)
    result.members()
    assert result.answered == {
        "tier = '一线'": "index",
        "spend > 100": "index",
        "age >= 18": "warehouse",
        "has_tag('likes', 'a')": "index",
    }


def test_a_tag_mixed_with_another_column_is_refused(warehouse) -> None:
    with pytest.raises(UnsupportedError, match=r"mixes tag `score` with `spend`"):
        evaluation("score > spend", warehouse).members()


def test_a_tag_without_values_is_empty_not_an_error(warehouse) -> None:
    empty = SegmentIndex(universe=INDEX.universe, columns={})
    typed = check_condition(parse("tier = '一线' or score > 1"), SCHEMA, source="")
    found = Evaluation(typed, empty, profile=PROFILE, wh=warehouse, as_of=date(2026, 1, 1))
    assert found.members() == BitMap()
    typed = check_condition(parse("not has_tag('tier')"), SCHEMA, source="")
    found = Evaluation(typed, empty, profile=PROFILE, wh=warehouse, as_of=date(2026, 1, 1))
    assert found.members() == INDEX.universe


def test_columns_built_from_arrow_equal_the_hand_built_ones() -> None:
    rows = PEOPLE[PEOPLE.tier.notna()]
    table = pa.table(
        {
            "cid": pa.array(rows.cid, pa.uint32()),
            "value": pa.array(rows.tier.astype(object), pa.string()),
        }
    )
    assert column_of("tier", "tag", "enum", table).bitmaps == INDEX.columns["tier"].bitmaps  # type: ignore[union-attr]
