"""Segments on the demo workspace, end to end: counts equal pandas over the stored values,
the CLI contract (`segment count --json`, --by, --sample, errors and warnings), draft and
deprecated tags refused, time travel equal to a fresh run as of that date, and the index
of a workspace kept equal to a rebuild through runs and manual edits."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pyroaring import BitMap

import tagwise
from tagwise.cli.app import run as cli_run
from tagwise.index.follow import build
from tagwise.store.tags import Edit

DEMO_AS_OF = date(2026, 11, 1)
LATER = date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("segments") / "shop"
    assert cli_run(["demo", str(root), "--customers", "600", "--json"]) == 0
    return root


@pytest.fixture(scope="module")
def two_runs(demo: Path, tmp_path_factory) -> Path:
    """The demo, then a second run of every tag as of LATER (values move)."""
    root = tmp_path_factory.mktemp("segments2") / "shop"
    shutil.copytree(demo, root)
    assert cli_run(["-w", str(root), "run", "--as-of", str(LATER)]) == 0
    return root


@pytest.fixture
def shop(demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(demo, target)
    return target


def stored(root: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def wide(root: Path, as_of: date | None = None) -> pd.DataFrame:
    """One row per customer, one column per tag (multi: a set), read without Tagwise's
    index: current values, or the values held on ``as_of`` from history."""
    customers = stored(root, "SELECT DISTINCT cid FROM meta.customer_keys")
    if as_of is None:
        long = stored(root, "SELECT cid, tag, value, score FROM tags.current")
    else:
        long = stored(
            root,
            "SELECT cid, tag, value, score FROM tags.history WHERE valid_from <= DATE "
            f"'{as_of}' AND (valid_to IS NULL OR valid_to > DATE '{as_of}')",
        )
    frame = customers.set_index("cid")
    for tag, rows in long.groupby("tag"):
        if rows.score.notna().any():
            frame[tag] = rows.groupby("cid").score.max()
        elif rows.groupby("cid").size().max() > 1 or tag in ("interests",):
            frame[tag] = rows.groupby("cid").value.agg(set)
        else:
            frame[tag] = rows.set_index("cid").value
    return frame


def members(frame: pd.DataFrame, mask: pd.Series) -> BitMap:
    return BitMap(frame.index[mask.fillna(False).astype(bool)].tolist())


def col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


EXPRESSIONS = {
    "rfm_segment = '重要价值' and city_tier in ('一线', '新一线') and not has_tag('complaint_risk')": (
        lambda f: (
            (col(f, "rfm_segment") == "重要价值")
            & col(f, "city_tier").isin(["一线", "新一线"])
            & col(f, "complaint_risk").isna()
        )
    ),
    "not (gender_label = '女') and m_score >= 4": (
        # SQL: not (null = '女') is null, so customers without gender_label are out
        lambda f: (
            col(f, "gender_label").notna()
            & (col(f, "gender_label") != "女")
            & (col(f, "m_score") >= 4)
        )
    ),
    "has_tag('interests', '美食') or high_value": (
        lambda f: (
            col(f, "interests").map(lambda v: isinstance(v, set) and "美食" in v)
            | (col(f, "high_value") == "true")
        )
    ),
    "r_score between 2 and 4 and lifecycle_stage is not null": (
        lambda f: (
            (col(f, "r_score") >= 2) & (col(f, "r_score") <= 4) & col(f, "lifecycle_stage").notna()
        )
    ),
    "spend_level like '%消费' and not (churn_risk in ('高', '中'))": (
        lambda f: (
            col(f, "spend_level").fillna("").str.endswith("消费")
            & col(f, "churn_risk").notna()
            & ~col(f, "churn_risk").isin(["高", "中"])
        )
    ),
}


@pytest.mark.parametrize("expr", list(EXPRESSIONS))
def test_counts_equal_pandas_over_the_stored_values(demo: Path, expr: str) -> None:
    frame = wide(demo)
    expected = members(frame, EXPRESSIONS[expr](frame))
    with tagwise.open(demo) as ws:
        assert ws.segment_members(expr) == expected
        result = ws.segment_count(expr, sample=5)
    assert result.count == len(expected)
    assert result.total == len(frame)
    assert result.share == pytest.approx(len(expected) / len(frame), abs=1e-6)
    assert len(result.sample) == min(5, len(expected))


def test_the_cli_counts_with_a_breakdown_and_a_sample(demo: Path, cli) -> None:
    expr = "city_tier in ('一线', '新一线')"
    done = cli(
        "-w", demo, "segment", "count", expr, "--by", "rfm_segment", "--sample", "3", "--json"
    )
    assert done.code == 0, done.err
    data = done.json()
    frame = wide(demo)
    chosen = frame[col(frame, "city_tier").isin(["一线", "新一线"])]
    assert data["count"] == len(chosen)
    assert data["expression"] == expr
    by_value = {r["value"]: r["count"] for r in data["breakdown"]}
    expected = chosen["rfm_segment"].fillna("∅").value_counts().to_dict()
    assert by_value == {(None if k == "∅" else k): v for k, v in expected.items()}
    assert sum(by_value.values()) == data["count"]
    keys = stored(demo, "SELECT customer_id, cid FROM meta.customer_keys WHERE rid = cid")
    sample_cids = keys.set_index("customer_id").loc[data["sample"], "cid"]
    assert set(sample_cids) <= set(chosen.index)
    assert len(data["sample"]) == 3
    again = cli("-w", demo, "segment", "count", expr, "--sample", "3", "--json")
    assert again.json()["sample"] == data["sample"]  # deterministic
    text = cli("-w", demo, "segment", "count", expr, "--by", "city_tier")
    assert text.code == 0
    assert f"{len(chosen):,} of {len(frame):,} customers" in text.out


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("rfm_segmnt = '重要价值'", r"unknown name `rfm_segmnt`.*did you mean `rfm_segment`"),
        ("rfm_segment = '重要价直'", r"tag `rfm_segment` has no value `重要价直`.*重要价值"),
        ("has_tag('city_tier', '一线城市')", r"tag `city_tier` has no value `一线城市`"),
        ("city_tier = ", r"error\[parse\]"),
    ],
)
def test_bad_expressions_are_one_line_with_position_and_hint(
    demo: Path, cli, expr: str, message: str
) -> None:
    done = cli("-w", demo, "segment", "count", expr)
    assert done.code != 0
    assert "Traceback" not in done.err
    assert re.search(message, done.err.splitlines()[0]), done.err
    assert "col" in done.err.splitlines()[0] or "^" in done.err


def test_an_empty_result_is_no_error_and_a_value_nobody_holds_is_a_warning(demo: Path, cli) -> None:
    frame = wide(demo)
    with tagwise.open(demo) as ws:
        specs = ws.specs(check=False).tags.tags
    unheld = [
        (code, value)
        for code, spec in specs.items()
        if spec.kind.value == "enum" and code in frame
        for value in spec.values
        if value not in set(frame[code].dropna())
    ]
    assert unheld, "every declared value is held: the demo needs a rarer value"
    code, value = unheld[0]
    done = cli("-w", demo, "segment", "count", f"{code} = '{value}'", "--json")
    assert done.code == 0
    assert done.json()["count"] == 0
    assert f"warning: no customer holds `{value}` of tag `{code}` now" in done.err


@pytest.mark.parametrize("status", ["draft", "deprecated"])
def test_draft_and_deprecated_tags_are_refused(shop: Path, cli, status: str) -> None:
    path = shop / "tags" / "risk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  - code: churn_risk\n", f"  - code: churn_risk\n    status: {status}\n"),
        encoding="utf-8",
    )
    done = cli("-w", shop, "segment", "count", "churn_risk = '高' and m_score > 1")
    assert done.code != 0
    first = done.err.splitlines()[0]
    assert f"tag `churn_risk` is {'a draft' if status == 'draft' else 'deprecated'}" in first


def test_time_travel_equals_a_fresh_run_as_of_that_date(demo: Path, two_runs: Path) -> None:
    expr = "recency_band = '30天内' or (lifecycle_stage in ('流失', '衰退') and r_score <= 2)"
    with tagwise.open(demo) as fresh:  # only the run as of DEMO_AS_OF
        then = fresh.segment_members(expr)
    with tagwise.open(two_runs) as ws:
        now = ws.segment_members(expr)
        back = ws.segment_members(expr, as_of=DEMO_AS_OF)
        counted = ws.segment_count(expr, as_of=DEMO_AS_OF, by="lifecycle_stage")
    assert back == then
    assert counted.count == len(then)
    assert counted.as_of == DEMO_AS_OF
    assert now != then  # the later run moved people, so the question was worth asking
    frame = wide(two_runs, as_of=DEMO_AS_OF)
    expected = (col(frame, "recency_band") == "30天内") | (
        col(frame, "lifecycle_stage").isin(["流失", "衰退"]) & (col(frame, "r_score") <= 2)
    )
    assert back == members(frame, expected)


def test_the_workspace_index_follows_runs_and_edits(shop: Path) -> None:
    expr = "rfm_segment = '重要价值' or has_tag('interests', '宠物')"
    with tagwise.open(shop) as ws:
        ws.segment_count(expr)  # builds and saves the index
        assert ws.segment_evaluator.opened is not None
    with tagwise.open(shop) as ws:
        ws.segment_count(expr)
        assert ws.segment_evaluator.opened.how == "loaded"  # a fresh process reads it, no rebuild
        ws.run(as_of=LATER)
        store = ws.tag_store
        cids = sorted(ws.segment_members("has_tag('rfm_segment')"))[:5]
        store.apply(
            [Edit(cid=c, tag="rfm_segment", values=("重要价值",)) for c in cids]
            + [Edit(cid=cids[0], tag="interests", values=("宠物", "美食"))],
            source="manual",
            actor="tester",
        )
        found = ws.segment_members(expr)
        assert ws.segment_evaluator.opened.how == "caught up"
        keys = ws.customer_ids(BitMap(cids[:1])).to_pylist()
        profile = ws.customer(keys[0])  # a person's change is listed without a run
        assert any(c.run_id is None and c.tag == "rfm_segment" for c in profile.changes)
        assert set(cids) <= set(found)
        index = ws.segment_evaluator.opened.index
        fresh = build(ws.segment_evaluator._sources(ws.segment_evaluator.profile()))
        assert index.equal(fresh)
    frame = wide(shop)
    expected = (col(frame, "rfm_segment") == "重要价值") | col(frame, "interests").map(
        lambda v: isinstance(v, set) and "宠物" in v
    )
    assert found == members(frame, expected)


def test_indexed_attributes_and_features_answer_like_the_warehouse(shop: Path) -> None:
    expr = "spend_365d between 1000 and 20000 and city in ('上海', '北京') and member_level != '普通会员'"
    with tagwise.open(shop) as ws:
        by_warehouse = ws.segment_count(expr)
    assert set(by_warehouse.answered.values()) == {"warehouse"}
    with (shop / "tagwise.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[index]\ncolumns = ["spend_365d", "city", "member_level"]\n')
    with tagwise.open(shop) as ws:
        by_index = ws.segment_count(expr)
        assert ws.segment_evaluator.opened.how == "caught up"
    assert set(by_index.answered.values()) == {"index"}
    assert by_index.count == by_warehouse.count
    assert by_index.count > 0


def test_customer_ids_come_back_in_cid_order(demo: Path) -> None:
    keys = stored(demo, "SELECT customer_id, cid FROM meta.customer_keys WHERE rid = cid")
    wanted = BitMap(keys.cid.sort_values().tolist()[::7])
    with tagwise.open(demo) as ws:
        ids = ws.customer_ids(wanted)
    expected = keys.set_index("cid").loc[list(wanted), "customer_id"].tolist()
    assert ids.to_pylist() == expected


def test_customer_show_brief_reads_the_tags_from_the_index(demo: Path, cli) -> None:
    keys = stored(demo, "SELECT customer_id, cid FROM meta.customer_keys WHERE rid = cid")
    customer_id, cid = keys.iloc[17]
    done = cli("-w", demo, "customer", "show", customer_id, "--brief", "--json")
    assert done.code == 0, done.err
    data = done.json()
    assert data["cid"] == cid
    current = stored(demo, f"SELECT tag, value, score FROM tags.current WHERE cid = {int(cid)}")
    expected = {}
    for tag, rows in current.groupby("tag"):
        if rows.score.notna().any():
            expected[tag] = ([], float(rows.score.max()))
        else:
            expected[tag] = (sorted(rows.value), None)
    assert {t["tag"]: (t["values"], t["score"]) for t in data["tags"]} == expected
    text = cli("-w", demo, "customer", "show", customer_id, "--brief")
    assert text.code == 0
    assert customer_id in text.out
    refused = cli("-w", demo, "customer", "show", customer_id, "--brief", "--as-of", "2026-11-01")
    assert refused.code != 0
    assert "--brief" in refused.err.splitlines()[0]


def test_the_cli_travels_in_time_and_names_an_unknown_breakdown(two_runs: Path, cli) -> None:
    expr = "recency_band = '30天内'"
    back = cli("-w", two_runs, "segment", "count", expr, "--as-of", str(DEMO_AS_OF), "--json")
    assert back.code == 0, back.err
    frame = wide(two_runs, as_of=DEMO_AS_OF)
    assert back.json()["count"] == int((col(frame, "recency_band") == "30天内").sum())
    assert back.json()["as_of"] == str(DEMO_AS_OF)
    wrong = cli("-w", two_runs, "segment", "count", expr, "--by", "rfm_segmnt")
    assert wrong.code != 0
    assert "did you mean `rfm_segment`" in wrong.err.splitlines()[0]
    bad_date = cli("-w", two_runs, "segment", "count", expr, "--as-of", "1 Oct")
    assert bad_date.code != 0
    assert len(bad_date.err.strip().splitlines()) == 1
