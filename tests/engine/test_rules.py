"""Rule tags: planning (checks, layers, cycles), set-based evaluation in DuckDB, SQL tags
and explanations (src/tagwise/compile/rules.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from tests.engine.test_engine_semantics import tie_quantiles

from tagwise.compile.layers import LayerSql
from tagwise.compile.rules import (
    TagPlan,
    check_tags,
    checked_plan,
    dependencies,
    explain,
    parse_sql_tag,
    plan_tags,
    tag_values,
)
from tagwise.compile.sqltags import bind_as_of
from tagwise.engine.duckdb import DuckDBEngine
from tagwise.engine.evaluate import evaluate_tags
from tagwise.errors import EngineError, Location, SpecError
from tagwise.lang import Column, Schema, Type
from tagwise.spec.tags import TagSpec
from tagwise.store.warehouse import Warehouse

AS_OF = date(2024, 6, 30)
PROFILE = '"snap"."profile_1"'
TARGET = '"stage"."tag_values_1"'

_LANG_TYPES = {
    "DOUBLE": Type.NUMBER,
    "BIGINT": Type.NUMBER,
    "INTEGER": Type.NUMBER,
    "VARCHAR": Type.STRING,
    "DATE": Type.DATE,
    "BOOLEAN": Type.BOOLEAN,
}


def tag(code: str, kind: str, **fields: Any) -> TagSpec:
    return TagSpec(code=code, name=f"价值_{code}", category="value", kind=kind, **fields)


def when(*pairs: tuple[str, str], otherwise: str | None = None) -> list[dict[str, str]]:
    branches = [{"when": w, "value": v} for w, v in pairs]
    return branches + ([{"else": otherwise}] if otherwise is not None else [])


def make_profile(wh: Warehouse, columns: dict[str, str], rows: list[dict[str, Any]]) -> Schema:
    """Create the profile table (cid + columns) with ``rows``; return its lang schema."""
    wh.execute("CREATE SCHEMA IF NOT EXISTS snap")
    wh.execute(f"DROP TABLE IF EXISTS {PROFILE}")
    defs = ", ".join(f'"{n}" {t}' for n, t in columns.items())
    wh.execute(f"CREATE TABLE {PROFILE} (cid INTEGER, {defs})")
    names = ["cid", *columns]
    if rows:
        marks = ", ".join("?" for _ in names)
        wh.con.executemany(
            f"INSERT INTO {PROFILE} VALUES ({marks})", [[r.get(n) for n in names] for r in rows]
        )
    role = "feature"
    return Schema(Column(n, _LANG_TYPES[t], role) for n, t in columns.items())


def run(wh: Warehouse, tags: list[TagSpec], schema: Schema, **kw: Any) -> TagPlan:
    plan = plan_tags(tags, schema, **kw)
    wh.execute(f"DROP TABLE IF EXISTS {TARGET}")
    ids = {code: i for i, code in enumerate(plan.tags, start=1)}
    engine = DuckDBEngine(wh)
    profile = exp.to_table(PROFILE, dialect="duckdb")
    with evaluate_tags(engine, plan, profile=profile, as_of=AS_OF, ids=ids) as long_form:
        empty = "SELECT NULL::INTEGER cid, NULL::INTEGER tag_id, NULL value, NULL::DOUBLE score"
        values = f"({empty} LIMIT 0)" if long_form is None else engine.export(long_form, wh)
        wh.execute(f"CREATE TEMP TABLE long_values AS SELECT * FROM {values}")
    names = ", ".join(f"({i}, '{code}')" for code, i in ids.items())
    wh.execute(
        f"CREATE TABLE {TARGET} AS SELECT v.cid, n.tag, v.value, v.score FROM long_values v "
        f"JOIN (VALUES {names or '(0, NULL)'}) n(id, tag) ON n.id = v.tag_id"
    )
    wh.execute("DROP TABLE long_values")
    return plan


def values_of(wh: Warehouse, code: str) -> dict[int, Any]:
    """cid → value (multi: sorted list of values) of one tag in the long table."""
    rows = wh.rows(f"SELECT cid, value FROM {TARGET} WHERE tag = ? ORDER BY cid, value", [code])
    out: dict[int, Any] = defaultdict(list)
    for cid, value in rows:
        out[cid].append(value)
    return {cid: v if len(v) > 1 else v[0] for cid, v in out.items()}


def scores_of(wh: Warehouse, code: str) -> dict[int, tuple[float, str | None]]:
    rows = wh.rows(f"SELECT cid, score, value FROM {TARGET} WHERE tag = ? ORDER BY cid", [code])
    return {cid: (score, value) for cid, score, value in rows}


@pytest.fixture
def wh(tmp_path: Path):
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    yield warehouse
    warehouse.close()


SPEND = {"spend_365d": "DOUBLE", "orders_90d": "BIGINT", "city": "VARCHAR"}
SPEND_ROWS = [
    {"cid": 1, "spend_365d": 123456.0, "orders_90d": 9, "city": "上海"},
    {"cid": 2, "spend_365d": 100000.0, "orders_90d": 1, "city": "北京"},
    {"cid": 3, "spend_365d": 99999.5, "orders_90d": 0, "city": "上海"},
    {"cid": 4, "spend_365d": 500.0, "orders_90d": 3, "city": None},
    {"cid": 5, "spend_365d": None, "orders_90d": 0, "city": "广州"},
]
SPEND_LEVEL = tag(
    "spend_level",
    "enum",
    values=["高消费", "中消费", "低消费"],
    rule=when(
        ("spend_365d >= 100000", "高消费"), ("spend_365d >= 10000", "中消费"), otherwise="低消费"
    ),
)


# -- kinds ---------------------------------------------------------------------------------


def test_enum_first_match_wins_and_null_conditions_fall_to_else(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    run(wh, [SPEND_LEVEL], schema)
    assert values_of(wh, "spend_level") == {
        1: "高消费",
        2: "高消费",
        3: "中消费",
        4: "低消费",
        5: "低消费",
    }
    assert wh.columns(TARGET) == [
        ("cid", "INTEGER"),
        ("tag", "VARCHAR"),
        ("value", "VARCHAR"),
        ("score", "DOUBLE"),
    ]  # the long form: (cid, tag_id, value, score), named here by the test


def test_enum_without_else_gives_no_row_when_nothing_matches(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    spec = tag("big", "enum", rule=when(("spend_365d >= 100000", "大"), ("city = '北京'", "京")))
    run(wh, [spec], schema)
    assert values_of(wh, "big") == {1: "大", 2: "大"}


def test_flag_has_value_true_only_when_the_condition_is_true(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    run(wh, [tag("shanghai", "flag", rule="city = '上海'")], schema)
    assert values_of(wh, "shanghai") == {1: "true", 3: "true"}
    assert wh.scalar(f"SELECT count(*) FROM {TARGET} WHERE score IS NOT NULL") == 0


def test_multi_gives_one_row_per_matching_value(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    spec = tag(
        "traits",
        "multi",
        rule=when(
            ("spend_365d > 1000", "买得多"),
            ("orders_90d >= 3", "常来"),
            ("city = '上海'", "沪"),
            ("orders_90d >= 9", "常来"),  # a second way to the same value: one row
        ),
    )
    run(wh, [spec], schema)
    assert values_of(wh, "traits") == {
        1: ["买得多", "常来", "沪"],
        2: "买得多",
        3: ["买得多", "沪"],
        4: "常来",
    }
    # customer 5 matches nothing (a null spend, 0 orders, not 上海): no row at all
    assert 5 not in values_of(wh, "traits")


def test_score_with_bands(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    spec = tag(
        "value_score",
        "score",
        score="spend_365d / 1000 + orders_90d",
        bands=[{"min": 100, "value": "高"}, {"min": 10, "value": "中"}],
    )
    run(wh, [spec], schema)
    assert scores_of(wh, "value_score") == {
        1: (pytest.approx(132.456), "高"),
        2: (101.0, "高"),
        3: (pytest.approx(99.9995), "中"),
        4: (3.5, None),
    }


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_score_quantiles_match_an_independent_computation(
    wh: Warehouse, descending: bool, n: int
) -> None:
    rng = np.random.default_rng(7 + n)
    amounts = rng.integers(0, 6, size=23).astype(float)  # many ties
    frame = pd.DataFrame({"cid": range(1, 24), "amount": amounts})
    frame.loc[[2, 9, 17], "amount"] = np.nan
    rows = [
        {"cid": int(r.cid), "amount": None if np.isnan(r.amount) else r.amount}
        for r in frame.itertuples()
    ]
    schema = make_profile(wh, {"amount": "DOUBLE"}, rows)
    run(wh, [tag("q", "score", score="amount * 2", quantiles=n, descending=descending)], schema)
    raw = {r["cid"]: r["amount"] for r in rows}
    expected = tie_quantiles(raw, n, descending=descending)
    assert scores_of(wh, "q") == {cid: (float(b), None) for cid, b in expected.items()}
    assert len({(raw[c], s) for c, (s, _) in scores_of(wh, "q").items()}) == len(
        {raw[c] for c in expected}
    )  # equal amounts, equal scores


def test_quantiles_rank_in_a_narrow_subquery_in_any_layer(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    tags = [
        SPEND_LEVEL,
        tag("busy", "score", score="orders_90d * 2"),
        # a quantile of a SQL tag (layer 0), of a tag (layer 1), plain tags beside them
        tag("busy_q", "score", score="busy + 1", quantiles=2, descending=True),
        tag(
            "spend_q",
            "score",
            sql="SELECT cid, spend_365d AS value FROM profile WHERE city IS NOT NULL",
            quantiles=2,
        ),
        tag("big", "flag", rule="spend_level = '高消费' and busy >= 2"),
    ]
    plan = run(wh, tags, schema)
    assert plan.layers == (("spend_level", "busy", "spend_q"), ("busy_q", "big"))
    # busy + 1 = 19, 3, 1, 7, 1: the two 1s share the lower half's score
    busy_first = {1: 1, 4: 1, 2: 2, 3: 2, 5: 2}
    assert scores_of(wh, "busy_q") == {c: (float(b), None) for c, b in busy_first.items()}
    spend_up = {3: 1, 2: 2, 1: 2}  # cid 4 has no city, cid 5 no spend; the middle one rounds up
    assert scores_of(wh, "spend_q") == {c: (float(b), None) for c, b in spend_up.items()}
    assert values_of(wh, "big") == {1: "true", 2: "true"}
    # the windows read a subquery of cid and the quantile columns, not the whole layer
    builder = LayerSql(plan, profile=exp.to_table(PROFILE), as_of=AS_OF, ids={})
    tables = [exp.to_identifier("l0"), exp.to_identifier("l1")]
    for number, ranked in ((0, "spend_q"), (1, "busy_q")):
        layer = builder.layer(number, tables)
        windows = list(layer.find_all(exp.Window))
        assert len(windows) == 3  # rank, count through the value's peers, count of all
        (inner,) = {
            id(w.find_ancestor(exp.Select)): w.find_ancestor(exp.Select) for w in windows
        }.values()
        assert inner is not layer
        assert inner.named_selects == ["cid", ranked, f"{ranked}:raw"]


# -- layers and cycles -----------------------------------------------------------------


def test_tags_use_tags_in_dependency_layers(wh: Warehouse) -> None:
    schema = make_profile(wh, SPEND, SPEND_ROWS)
    tags = [
        tag("vip", "flag", rule="spend_level = '高消费' and has_tag('traits', '常来')"),
        SPEND_LEVEL,
        tag("traits", "multi", rule=when(("orders_90d >= 3", "常来"), ("city = '上海'", "沪"))),
        tag("vip_score", "score", score="case_score * 10", bands=[{"min": 10, "value": "是"}]),
        tag("case_score", "score", score="coalesce(orders_90d, 0) + 1"),
        tag("vip_or_sh", "enum", rule=when(("vip", "VIP"), ("has_tag('traits', '沪')", "沪"))),
    ]
    plan = run(wh, tags, schema)
    assert plan.layers == (
        ("spend_level", "traits", "case_score"),
        ("vip", "vip_score"),
        ("vip_or_sh",),
    )
    assert plan.tags["vip"].depends_on == {"spend_level", "traits"}
    assert plan.schema["traits"] == Column("traits", Type.LIST, "tag", "multi")
    assert values_of(wh, "vip") == {1: "true"}
    assert values_of(wh, "vip_or_sh") == {1: "VIP", 3: "沪"}
    assert scores_of(wh, "vip_score")[5] == (10.0, "是")


def test_a_plan_of_chosen_tags_equals_planning_them_alone() -> None:
    schema = Schema(Column(n, _LANG_TYPES[t], "feature") for n, t in SPEND.items())
    tags = [
        tag("vip", "flag", rule="spend_level = '高消费' and has_tag('traits', '常来')"),
        SPEND_LEVEL,
        tag("traits", "multi", rule=when(("orders_90d >= 3", "常来"), ("city = '上海'", "沪"))),
        tag("busy", "score", score="orders_90d * 2", quantiles=2),
        tag("vip_or_sh", "enum", rule=when(("vip", "VIP"), ("has_tag('traits', '沪')", "沪"))),
    ]
    plan, errors = checked_plan(tags, schema)
    assert errors == []
    assert plan == plan_tags(tags, schema)
    for chosen in (["vip", "spend_level", "traits"], ["busy"], ["traits", "busy"]):
        alone = plan_tags([t for t in tags if t.code in chosen], schema)
        only = plan.only(chosen)
        assert only.layers == alone.layers
        assert only.reads() == alone.reads()
        # the same SQL (typed expressions keep the schema they were checked against, which
        # holds every tag in the full plan, so the trees differ only in unused columns)
        for number in range(len(alone.layers)):
            tables = [exp.to_identifier(f"l{i}") for i in range(len(alone.layers))]
            sql = [
                LayerSql(p, profile=exp.to_table(PROFILE), as_of=AS_OF, ids={})
                .layer(number, tables)
                .sql("duckdb")
                for p in (only, alone)
            ]
            assert sql[0] == sql[1]
    with pytest.raises(ValueError, match="unchosen"):
        plan.only(["vip"])


def test_a_cycle_is_an_error_naming_it() -> None:
    schema = Schema([Column("x", Type.NUMBER, "feature")])
    tags = [
        tag("a", "flag", rule="b and x > 1"),
        tag("b", "flag", rule="has_tag('c')"),
        tag("c", "enum", rule=when(("a", "yes"))),
        tag("d", "flag", rule="has_tag('c', 'yes')"),  # behind the cycle: not layered
    ]
    with pytest.raises(SpecError, match="tags form a cycle: a → b → c → a"):
        plan_tags(tags, schema)
    errors = check_tags([tag("me", "flag", rule="me or x > 1")], schema)
    assert [e.message for e in errors] == ["tag `me`: tags form a cycle: me → me"]


def test_check_tags_returns_every_problem_located() -> None:
    schema = Schema(
        [Column("spend_365d", Type.NUMBER, "feature"), Column("city", Type.STRING, "attribute")]
    )
    tags = [
        tag("a", "enum", values=["x"], rule=when(("spend_356d > 1", "x"), ("city > 1", "y"))),
        tag("b", "score", score="city"),
        tag("city", "flag", rule="true"),
        tag("d", "flag", rule="spend_365d >"),
    ]

    def locate(code: str, field: str | None) -> Location:
        return Location(f"tags/{code}.yaml", line=len(field or ""))

    errors = check_tags(tags, schema, locate=locate)
    assert [e.message for e in errors] == [
        "tag `city` `code`: the code is also the name of an attribute",
        "tag `a` `rule.0.when`: unknown name `spend_356d` (line 1, col 1)",
        "tag `a` `rule.1.when`: cannot compare string `city` with number `1` (line 1, col 8)",
        "tag `a` `rule.1.value`: value `y` is not in `values`",
        "tag `b` `score`: must be a number, got string `city`",
        "tag `d` `rule`: expected an expression after `>` (line 1, col 13)",
    ]
    assert errors[1].hint == "did you mean `spend_365d`?"
    assert errors[1].location == Location("tags/a.yaml", line=len("rule.0.when"))
    assert all(isinstance(e, SpecError) for e in errors)
    with pytest.raises(SpecError, match=r"\(and 5 more\)"):
        plan_tags(tags, schema, locate=locate)


# -- RFM and lifecycle (hand-made fixtures, known answers) ------------------------------

RFM_FEATURES = {"recency": "BIGINT", "frequency": "BIGINT", "monetary": "DOUBLE"}
# cid: (days since last order, orders, spend); 11 never ordered (recency null)
RFM_ROWS = {
    1: (1, 20, 123456.0),
    2: (3, 1, 12000.0),
    3: (40, 8, 8000.0),
    4: (60, 2, 5000.0),
    5: (5, 5, 1000.0),
    6: (8, 3, 800.0),
    7: (90, 6, 500.0),
    8: (200, 4, 100.0),
    9: (10, 10, 20000.0),
    10: (12, 12, 50000.0),
    11: (None, 0, 0.0),
}
SEGMENTS = [
    ("r_score >= 3 and f_score >= 3 and m_score >= 3", "重要价值"),
    ("r_score >= 3 and f_score < 3 and m_score >= 3", "重要发展"),
    ("r_score < 3 and f_score >= 3 and m_score >= 3", "重要保持"),
    ("r_score < 3 and f_score < 3 and m_score >= 3", "重要挽留"),
    ("r_score >= 3 and f_score >= 3 and m_score < 3", "一般价值"),
    ("r_score >= 3 and f_score < 3 and m_score < 3", "一般发展"),
    ("r_score < 3 and f_score >= 3 and m_score < 3", "一般保持"),
    ("r_score < 3 and f_score < 3 and m_score < 3", "一般挽留"),
]
RFM_TAGS = [
    tag("rfm_segment", "enum", values=[v for _, v in SEGMENTS], rule=when(*SEGMENTS)),
    tag("r_score", "score", score="recency", quantiles=5, descending=True),
    tag("f_score", "score", score="frequency", quantiles=5),
    tag("m_score", "score", score="monetary", quantiles=5),
]


def test_rfm_quintiles_and_the_eight_segments(wh: Warehouse) -> None:
    rows = [
        {"cid": c, "recency": r, "frequency": f, "monetary": m} for c, (r, f, m) in RFM_ROWS.items()
    ]
    schema = make_profile(wh, RFM_FEATURES, rows)
    plan = run(wh, RFM_TAGS, schema)
    assert plan.layers == (("r_score", "f_score", "m_score"), ("rfm_segment",))
    # recency: 10 known values, 2 per quintile, the most recent scores 5
    r = {8: 1, 7: 1, 4: 2, 3: 2, 10: 3, 9: 3, 6: 4, 5: 4, 2: 5, 1: 5}
    # frequency and monetary: 11 distinct values (cid 11 has 0); the middle quintile holds 3
    # (the 5th, 6th and 7th value: their middles 4.5/11, 5.5/11, 6.5/11 lie in [2/5, 3/5))
    f = {11: 1, 2: 1, 4: 2, 6: 2, 8: 3, 5: 3, 7: 3, 3: 4, 9: 4, 10: 5, 1: 5}
    m = {11: 1, 8: 1, 7: 2, 6: 2, 5: 3, 4: 3, 3: 3, 2: 4, 9: 4, 10: 5, 1: 5}
    for code, expected in (("r_score", r), ("f_score", f), ("m_score", m)):
        assert scores_of(wh, code) == {c: (float(s), None) for c, s in expected.items()}
    assert values_of(wh, "rfm_segment") == {
        1: "重要价值",
        2: "重要发展",
        3: "重要保持",
        4: "重要挽留",
        5: "重要价值",  # r 4, f 3, m 3
        6: "一般发展",
        7: "一般保持",
        8: "一般保持",  # r 1, f 3, m 1
        9: "重要价值",
        10: "重要价值",
        # 11: no recency, so no r_score: every segment condition is null, no value
    }


LIFECYCLE = tag(
    "lifecycle",
    "enum",
    values=["潜在", "新客", "成长", "成熟", "衰退", "流失"],
    rule=when(
        ("days_since_first_order is null", "潜在"),
        ("days_since_last_order > 365", "流失"),
        ("days_since_last_order > 180", "衰退"),
        ("days_since_first_order <= 90", "新客"),
        ("orders_365d >= 6", "成熟"),
        otherwise="成长",
    ),
)
LIFECYCLE_FEATURES = {
    "orders_365d": "BIGINT",
    "days_since_first_order": "BIGINT",
    "days_since_last_order": "BIGINT",
}
# cid: (orders_365d, days_since_first_order, days_since_last_order) → expected stage
LIFECYCLE_ROWS = {
    1: ((0, None, None), "潜在"),
    2: ((1, 10, 10), "新客"),
    3: ((2, 90, 5), "新客"),  # 90 days: still new
    4: ((2, 91, 5), "成长"),
    5: ((6, 400, 2), "成熟"),
    6: ((12, 800, 30), "成熟"),
    7: ((0, 700, 181), "衰退"),
    8: ((0, 700, 365), "衰退"),  # 365 days: not yet lost
    9: ((0, 900, 366), "流失"),
    10: ((5, 200, 100), "成长"),
    11: ((3, 30, 400), "流失"),  # an old last order beats a recent first one (impossible data)
}


def test_lifecycle_stages_by_explicit_rules(wh: Warehouse) -> None:
    rows = [
        dict(zip(["cid", *LIFECYCLE_FEATURES], [c, *values], strict=True))
        for c, (values, _) in LIFECYCLE_ROWS.items()
    ]
    schema = make_profile(wh, LIFECYCLE_FEATURES, rows)
    plan = run(wh, [LIFECYCLE], schema)
    expected = {c: stage for c, (_, stage) in LIFECYCLE_ROWS.items()}
    assert values_of(wh, "lifecycle") == expected
    for row in rows:  # the Python back-end agrees, row by row
        assert tag_values(plan, row, as_of=AS_OF)["lifecycle"] == expected[row["cid"]]


# -- SQL tags ------------------------------------------------------------------------------

SOURCES = {"orders": ["cid", "customer_id", "amount", "paid_at"], "events": ["cid", "kind"]}


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE x AS SELECT 1 AS cid, 2 AS value", "only SELECT is allowed, got `CREATE`"),
        ("DROP TABLE src.orders", "only SELECT is allowed, got `DROP`"),
        ("DELETE FROM src.orders", "only SELECT is allowed, got `DELETE`"),
        ("COPY src.orders TO 'out.csv'", "only SELECT is allowed, got `COPY`"),
        ("ATTACH 'other.duckdb' AS o", "only SELECT is allowed, got `ATTACH`"),
        ("SELECT cid, 1 AS value FROM profile; SELECT 2", "exactly one statement, got 2"),
        ("SELECT cid, amount AS value FROM src.order", "unknown table `src.order`"),
        ("SELECT cid, 1 AS value FROM meta.customer_keys", "unknown table `meta.customer_keys`"),
        ("SELECT cid, 1 AS value FROM snap.profile_1", "unknown table `snap.profile_1`"),
        ("SELECT cid, 1 AS value FROM read_csv('/etc/passwd')", "`read_csv` is not allowed"),
        ("SELECT 1 AS cid, content AS value FROM read_text('x')", "`read_text` is not allowed"),
        ("SELECT cid, 1 AS value FROM 'data.csv'", "unknown table `data.csv`"),
        ("SELECT cid, getenv('HOME') AS value FROM profile", "`getenv` is not allowed"),
        ("SELECT * FROM glob('*')", "function `glob` is not allowed"),
        ("SELECT range AS cid, 1 AS value FROM range(3)", "table functions are not allowed"),
        ("SELECT cid, 1 AS value INTO t FROM profile", "only SELECT is allowed"),
        ("SELECT cid FROM profile", "two columns `cid` (or `customer_id`) and `value`, got `cid`"),
        ("SELECT * FROM profile", "two columns"),
        ("SELECT cid, amount FROM src.orders", "got `cid`, `amount`"),
        ("SELECT cid, amout AS value FROM src.orders", "unknown column: Column 'amout'"),
        ("SELEC cid", "only SELECT is allowed, got `SELEC`"),
        ("SELECT cid, (1 AS value FROM profile", "cannot parse the SQL"),
    ],
)
def test_sql_tag_validation_errors(sql: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_sql_tag(
            sql, sources=SOURCES, profile=Schema([Column("city", Type.STRING, "attribute")])
        )
    assert message in info.value.message


def test_sql_tag_errors_are_located_in_check_tags() -> None:
    schema = Schema([Column("city", Type.STRING, "attribute")])
    bad = tag("x", "enum", sql="SELECT cid, 1 AS value FROM src.order")
    errors = check_tags(
        [bad], schema, sources=SOURCES, locate=lambda _code, _field: Location("t.yaml", 3)
    )
    assert [str(e) for e in errors] == [
        "t.yaml:3: tag `x` `sql`: unknown table `src.order` (hint: did you mean `src.orders`?)"
    ]


def test_valid_sql_tags_by_cid_and_by_customer_id(wh: Warehouse) -> None:
    schema = make_profile(wh, {"city": "VARCHAR"}, [{"cid": c, "city": "上海"} for c in (1, 2, 3)])
    wh.execute("CREATE TABLE src.orders (cid INTEGER, customer_id VARCHAR, amount DOUBLE)")
    wh.execute(
        "INSERT INTO src.orders VALUES (1, 'C1', 10), (1, 'C1', 30), (2, 'C2', 5), (9, 'C9', 1)"
    )
    wh.execute("INSERT INTO meta.customer_keys VALUES ('C1', 1, now(), 1), ('C2', 2, now(), 2)")
    tags = [
        tag(
            "big_spender",
            "flag",
            sql="SELECT o.cid, sum(amount) > 20 AS value FROM src.orders o "
            "JOIN profile p ON p.cid = o.cid WHERE p.city = '上海' GROUP BY o.cid",
        ),
        tag(
            "order_total",
            "score",
            bands=[{"min": 20, "value": "高"}],
            sql="SELECT customer_id, sum(amount) AS value FROM src.orders GROUP BY customer_id",
        ),
        tag("rich", "enum", rule=when(("big_spender", "是"), ("order_total > 1", "中"))),
    ]
    plan = run(wh, tags, schema, sources={"orders": ["cid", "customer_id", "amount"]})
    assert plan.layers == (("big_spender", "order_total"), ("rich",))
    assert values_of(wh, "big_spender") == {1: "true"}  # cid 2 has false, cid 9 no profile
    assert scores_of(wh, "order_total") == {1: (40.0, "高"), 2: (5.0, None)}
    assert values_of(wh, "rich") == {1: "是", 2: "中"}
    explanation = explain(tags[1], plan, {"cid": 1}, as_of=AS_OF)
    assert explanation.over_all_customers
    assert explanation.text == "order_total is computed by its SQL query over all customers"


def test_sql_tag_without_source_columns_skips_the_column_check() -> None:
    checked = parse_sql_tag(
        "WITH t AS (SELECT cid, kind FROM src.events) SELECT cid, max(kind) AS value "
        "FROM t GROUP BY cid",
        sources={"events": []},
    )
    assert checked.key == "cid"


# -- the set-based evaluation equals the row-by-row Python back-end ----------------------

PROP_FEATURES = {"x": "BIGINT", "y": "DOUBLE", "city": "VARCHAR"}
_OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
_ATOMS = st.one_of(
    st.builds("x {} {}".format, _OPS, st.integers(-3, 3)),
    st.builds("y {} {}".format, _OPS, st.sampled_from(["-1.5", "0", "0.25", "2"])),
    st.builds("city = '{}'".format, st.sampled_from("abc")),
    st.just("city in ('a', 'b')"),
    st.just("x is null"),
    st.just("y between -1 and 1"),
    st.just("x % 2 = 0"),
)
_CONDITIONS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.builds("({}) and ({})".format, inner, inner),
        st.builds("({}) or ({})".format, inner, inner),
        st.builds("not ({})".format, inner),
    ),
    max_leaves=4,
)
_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "x": st.none() | st.integers(-3, 3),
            "y": st.none() | st.sampled_from([-2.0, -1.0, 0.0, 0.25, 1.0, 3.5]),
            "city": st.none() | st.sampled_from("abc"),
        }
    ),
    max_size=8,
)


@st.composite
def enum_rules(draw: st.DrawFn, values: str) -> list[dict[str, str]]:
    conditions = draw(st.lists(_CONDITIONS, min_size=1, max_size=4))
    pairs = [(c, draw(st.sampled_from(values))) for c in conditions]
    otherwise = draw(st.none() | st.sampled_from(values))
    return when(*pairs, otherwise=otherwise)


@pytest.fixture(scope="module")
def shared_wh(tmp_path_factory: pytest.TempPathFactory):
    warehouse = Warehouse(tmp_path_factory.mktemp("prop") / "warehouse.duckdb")
    yield warehouse
    warehouse.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_ROWS,
    first=enum_rules("pqr"),
    second=st.lists(_CONDITIONS, min_size=1, max_size=3),
    flag=_CONDITIONS,
)
def test_evaluate_tags_equals_explain_row_by_row(
    shared_wh: Warehouse,
    rows: list[dict[str, Any]],
    first: list[dict[str, str]],
    second: list[str],
    flag: str,
) -> None:
    wh = shared_wh
    rows = [{"cid": i + 1, **r} for i, r in enumerate(rows)]
    schema = make_profile(wh, PROP_FEATURES, rows)
    tags = [
        tag("first", "enum", rule=first),
        # a second layer reads the first tag
        tag("second", "enum", rule=when(*((f"first = 'p' or ({c})", "s") for c in second))),
        tag("mark", "flag", rule=flag),
        tag("both", "multi", rule=when(("has_tag('mark')", "m"), ("has_tag('second')", "s"))),
    ]
    plan = run(wh, tags, schema)
    got = {code: values_of(wh, code) for code in plan.tags}
    for row in rows:
        values = tag_values(plan, row, as_of=AS_OF)
        full = {**row, **values}
        for spec in tags:
            explanation = explain(spec, plan, full, as_of=AS_OF)
            stored = got[spec.code].get(row["cid"])
            stored = stored if isinstance(stored, list) else [] if stored is None else [stored]
            assert sorted(explanation.values) == stored, (spec.code, row)
            if spec.kind == "multi":
                assert explanation.value is None
                assert sorted(values[spec.code] or []) == stored
            else:
                assert explanation.value == (
                    "true" if values[spec.code] is True else values[spec.code]
                )


# -- explanations --------------------------------------------------------------------------


def _spend_plan() -> TagPlan:
    schema = Schema(Column(n, _LANG_TYPES[t], "feature") for n, t in SPEND.items())
    return plan_tags(
        [
            SPEND_LEVEL,
            tag("sh_big", "flag", rule="city = '上海' and spend_365d >= 1000"),
            tag("q", "score", score="spend_365d", quantiles=4, descending=True),
            tag(
                "s",
                "score",
                score="spend_365d / 1000 + orders_90d",
                bands=[{"min": 50, "value": "高"}],
            ),
            tag("m", "multi", rule=when(("orders_90d > 2", "常来"), ("city = '上海'", "沪"))),
        ],
        schema,
    )


def test_explain_a_simple_comparison() -> None:
    row = {"spend_365d": 123456.0, "orders_90d": 9, "city": "上海"}
    e = explain(SPEND_LEVEL, _spend_plan(), row, as_of=AS_OF)
    assert (e.value, e.branch, e.condition) == ("高消费", 0, "spend_365d >= 100000")
    assert e.inputs == {"spend_365d": 123456.0}
    assert e.text == "spend_365d = 123,456 >= 100,000 → 高消费"
    e = explain(SPEND_LEVEL, _spend_plan(), {**row, "spend_365d": 12345.5}, as_of=AS_OF)
    assert e.text == "spend_365d = 12,345.5 >= 10,000 → 中消费"


def test_explain_else_and_no_value() -> None:
    plan = _spend_plan()
    e = explain(SPEND_LEVEL, plan, {"spend_365d": None}, as_of=AS_OF)
    assert (e.value, e.branch, e.condition) == ("低消费", 2, "else")
    assert e.text == "spend_365d = null: no condition matched, else → 低消费"
    flag = plan.tags["sh_big"].spec
    e = explain(flag, plan, {"spend_365d": 5000.0, "city": "北京"}, as_of=AS_OF)
    assert (e.value, e.branch) == (None, None)
    assert e.text == "city = '北京', spend_365d = 5,000: no condition matched → no value"


def test_explain_a_compound_condition_lists_each_input() -> None:
    plan = _spend_plan()
    e = explain(plan.tags["sh_big"].spec, plan, {"spend_365d": 1500.0, "city": "上海"}, as_of=AS_OF)
    assert e.value == "true"
    assert e.inputs == {"city": "上海", "spend_365d": 1500.0}
    assert e.text == "city = '上海', spend_365d = 1,500 → true"


def test_explain_multi_lists_every_matching_branch() -> None:
    plan = _spend_plan()
    e = explain(plan.tags["m"].spec, plan, {"orders_90d": 3, "city": "上海"}, as_of=AS_OF)
    assert (e.values, e.branches) == (("常来", "沪"), (0, 1))
    assert e.text == "orders_90d = 3, city = '上海' → 常来, 沪"


def test_explain_scores() -> None:
    plan = _spend_plan()
    e = explain(plan.tags["s"].spec, plan, {"spend_365d": 60500.0, "orders_90d": 2}, as_of=AS_OF)
    assert (e.score, e.value) == (62.5, "高")
    assert (
        e.text == "spend_365d = 60,500, orders_90d = 2: spend_365d / 1000 + orders_90d = 62.5 → 高"
    )
    e = explain(plan.tags["q"].spec, plan, {"spend_365d": 60500.0}, as_of=AS_OF)
    assert e.over_all_customers and e.score is None
    assert e.inputs == {"spend_365d": 60500.0}
    assert e.text == (
        "q is the descending 4-quantile of `spend_365d` over all customers "
        "(the run recorded no cut points); spend_365d = 60,500"
    )
    # with the run's cut points (descending: c_k is the largest value scoring above k)
    cuts = (100000.0, 50000.0, None)
    e = explain(plan.tags["q"].spec, plan, {"spend_365d": 60500.0}, as_of=AS_OF, cuts=cuts)
    assert e.score == 2.0
    assert e.text == (
        "q is 2 of 4: spend_365d = 60,500 lies in (50,000, 100,000] (cut points 100,000, "
        "50,000, none)"
    )
    e = explain(plan.tags["q"].spec, plan, {"spend_365d": 10.0}, as_of=AS_OF, cuts=cuts)
    assert (e.score, e.text.split(" lies in ")[1]) == (
        3.0,
        "(-∞, 50,000] (cut points 100,000, 50,000, none)",
    )


def test_dependencies_and_deprecated_tags_and_sources_by_name() -> None:
    spec = tag("v", "enum", rule=when(("has_tag('a') and b > 1", "x"), ("c = 'y' or z", "y")))
    assert dependencies(spec, {"a", "b", "c", "v"}) == {"a", "b", "c"}
    assert dependencies(tag("w", "flag", rule="a >"), {"a"}) == set()  # unparsable: skipped
    schema = Schema([Column("z", Type.BOOLEAN, "feature")])
    old = tag("old", "flag", rule="z", status="deprecated")
    plan = plan_tags(
        [old, tag("s", "enum", sql="SELECT cid, 'x' AS value FROM src.orders")],
        schema,
        sources=["orders"],  # names only: tables checked, columns not
    )
    assert plan.layers == (("s",),)
    errors = check_tags([old, tag("n", "flag", rule="old")], schema)
    assert [e.message for e in errors] == ["tag `n` `rule`: unknown name `old` (line 1, col 1)"]


def test_a_failing_layer_raises_an_engine_error_and_leaves_no_scratch_tables(
    wh: Warehouse,
) -> None:
    schema = make_profile(wh, {"x": "BIGINT"}, [{"cid": 1, "x": 5}])
    tags = [
        tag("lvl", "enum", rule=when(("x > 1", "big"))),
        # layer 1 overflows 64-bit integers in DuckDB
        tag("huge", "score", score="x * 10000000000 * 10000000000 + length(lvl)"),
    ]
    with pytest.raises(EngineError) as info:
        run(wh, tags, schema)
    assert info.value.message == "tag `huge` overflowed a 64-bit integer on duckdb"
    assert "decimal" in (info.value.hint or "")
    assert "Overflow in multiplication of INT64" in str(info.value.__cause__)
    assert wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0
    # inside the caller's transaction the first error survives (not the clean-up's)
    with pytest.raises(EngineError, match="tag `huge` overflowed"), wh.transaction():
        run(wh, tags, schema)


def test_sql_tags_bind_the_as_of_date_and_refuse_other_parameters() -> None:
    tag = parse_sql_tag(
        "SELECT cid, 'x' AS value FROM src.orders WHERE paid_at < :as_of", sources=["orders"]
    )
    bound = bind_as_of(tag.query.copy(), date(2026, 1, 31))
    sql = bound.sql("duckdb")
    assert "CAST('2026-01-31' AS DATE)" in sql and ":as_of" not in sql
    con = duckdb.connect()  # the bound query runs and keeps only rows before the date
    con.execute("CREATE SCHEMA src; CREATE TABLE src.orders (cid INTEGER, paid_at TIMESTAMP)")
    con.execute(
        "INSERT INTO src.orders VALUES (1, '2026-01-30 23:59'), (2, '2026-01-31'), (3, '2026-02-01')"
    )
    assert con.execute(sql).fetchall() == [(1, "x")]
    con.close()
    with pytest.raises(SpecError, match="unknown parameter `:since`") as info:
        parse_sql_tag(
            "SELECT cid, 'x' AS value FROM src.orders WHERE paid_at < :since", sources=["orders"]
        )
    assert ":as_of" in (info.value.hint or "")
