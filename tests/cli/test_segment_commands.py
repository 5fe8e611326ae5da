"""`tagwise segment save | list | show | export | overlap | snapshot | explain` end to end on
a demo workspace, checked against pandas over the tag store's current values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.audience.test_holdout import reference_position

import tagwise as api
from tagwise.cli.app import run

LATER = "2027-03-01"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("segments") / "shop"
    assert run(["demo", str(root), "--customers", "600", "--json"]) == 0
    return root


@pytest.fixture
def ws(shop: Path, tmp_path: Path) -> Path:
    """A copy of the demo workspace, so each test may change it."""
    root = tmp_path / "shop"
    shutil.copytree(shop, root)
    return root


def tagwise(cli, root: Path, *args) -> dict:
    result = cli("--workspace", root, *args, "--json")
    assert result.code == 0, result.err
    assert result.err == ""
    return result.json()


def current(root: Path) -> pd.DataFrame:
    """Every current tag value (cid, tag, value) and each cid's customer id, read directly."""
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        values = con.execute("SELECT cid, tag, value FROM tags.current").df()
        keys = con.execute("SELECT cid, customer_id FROM src.customers").df()
    finally:
        con.close()
    return values.merge(keys, on="cid")


def brute_force(values: pd.DataFrame, **wanted: str | tuple[str, ...]) -> set[str]:
    """The customer ids holding every wanted (tag, value or values)."""
    sets = []
    for tag, want in wanted.items():
        options = want if isinstance(want, tuple) else (want,)
        rows = values[(values["tag"] == tag) & values["value"].isin(options)]
        sets.append(set(rows["customer_id"]))
    return set.intersection(*sets)


def demo_segments(values: pd.DataFrame) -> dict[str, set[str]]:
    women = brute_force(values, gender_label="女", spend_level="高消费")
    return {
        "高价值女性": women,
        "一线城市活跃客户": brute_force(
            values, city_tier=("一线", "新一线"), recency_band=("30天内", "31-90天")
        ),
        "高价值流失预警": women & brute_force(values, churn_risk=("高", "中")),
    }


def exported(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_table(path).column("customer_id").to_pylist()
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)["customer_id"].tolist()


def test_list_counts_every_saved_segment_like_pandas(cli, shop: Path) -> None:
    listing = tagwise(cli, shop, "segment", "list")
    expected = demo_segments(current(shop))
    got = {s["name"]: s["members"] for s in listing["segments"]}
    assert got == {name: len(members) for name, members in expected.items()}
    assert all(s["applied"] and s["version"] == 1 for s in listing["segments"])
    assert all(s["members"] > 0 for s in listing["segments"])  # the demo has members in each


def test_export_writes_exactly_the_members_in_csv_and_parquet(cli, ws: Path) -> None:
    expected = demo_segments(current(ws))["高价值流失预警"]
    csv = tagwise(cli, ws, "segment", "export", "高价值流失预警", "--out", ws / "a.csv")
    parquet = tagwise(cli, ws, "segment", "export", "高价值流失预警", "--out", ws / "a.parquet")
    assert csv["members"] == parquet["members"] == len(expected)
    assert set(exported(ws / "a.csv")) == expected
    assert exported(ws / "a.parquet") == exported(ws / "a.csv")
    assert csv["control"] is None and csv["version"] == 1
    assert csv["actor"].endswith("@cli")
    log = tagwise(cli, ws, "segment", "show", "高价值流失预警")["exports"]
    assert [(e["files"], e["members"], e["actor"]) for e in log] == [
        ([str((ws / "a.parquet").resolve())], len(expected), csv["actor"]),
        ([str((ws / "a.csv").resolve())], len(expected), csv["actor"]),
    ]


def test_holdout_is_a_stable_hash_split_beside_the_target(cli, ws: Path) -> None:
    name, out = "一线城市活跃客户", ws / "out" / "活跃.csv"
    out.parent.mkdir()
    args = ("segment", "export", name, "--out", out, "--holdout", "20%", "--seed", "双11")
    first = tagwise(cli, ws, *args)
    control_file = ws / "out" / "活跃.control.csv"
    target, control = set(exported(out)), set(exported(control_file))
    members = demo_segments(current(ws))[name]
    assert target | control == members and not target & control
    assert first["target"]["members"] + first["control"]["members"] == len(members)
    # an independent computation of the documented hash decides each customer's group
    assert control == {c for c in members if reference_position(c, "双11") < 0.2}
    # a second export, and one after a run that changed the tags, keep everyone's group
    tagwise(cli, ws, *args)
    assert set(exported(out)) == target and set(exported(control_file)) == control
    tagwise(cli, ws, "run", "--as-of", LATER)
    tagwise(cli, ws, *args)
    later_target, later_control = set(exported(out)), set(exported(control_file))
    stayed = members & (later_target | later_control)
    assert {c for c in stayed if c in later_control} == {c for c in stayed if c in control}


def test_columns_are_attributes_features_and_tags_with_a_bom_for_excel(cli, ws: Path) -> None:
    out = ws / "cols.csv"
    columns = "city,spend_365d,gender_label,interests,high_value"
    result = tagwise(
        cli, ws, "segment", "export", "高价值女性", "--out", out, "--columns", columns, "--bom"
    )
    assert result["columns"] == ["customer_id", *columns.split(",")]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == result["columns"]
    assert set(frame["gender_label"]) == {"女"}
    values = current(ws)
    some = frame.iloc[0]
    mine = values[values["customer_id"] == some["customer_id"]]
    interests = sorted(mine[mine["tag"] == "interests"]["value"])
    assert some["interests"] == "|".join(interests)
    assert some["high_value"] == ("true" if (mine["tag"] == "high_value").any() else "false")
    profile = tagwise(cli, ws, "customer", "show", some["customer_id"])
    assert some["city"] == (profile["attributes"]["city"] or "")
    assert float(some["spend_365d"] or 0) == pytest.approx(profile["features"]["spend_365d"] or 0)


def test_a_bad_export_is_one_line_and_writes_nothing(cli, ws: Path) -> None:
    before = sorted(p.name for p in ws.iterdir())
    cases = [
        (("--out", ws / "nowhere" / "a.csv"), "does not exist"),
        (("--out", ws / "a.xlsx"), "unknown file type"),
        (("--out", ws / "a.csv", "--columns", "citty"), "did you mean `city`?"),
        (("--out", ws / "a.csv", "--holdout", "150%"), "less than 100%"),
        (("--out", ws / "a.csv", "--snapshot", "nope"), "has no snapshot `nope`"),
    ]
    for extra, message in cases:
        result = cli("--workspace", ws, "segment", "export", "高价值女性", *extra)
        assert result.code == 1, extra
        assert result.err.count("\n") == 1 and message in result.err, result.err
        assert "Traceback" not in result.err
    wrong = cli("--workspace", ws, "segment", "export", "高价值女姓", "--out", ws / "a.csv")
    assert wrong.code == 1 and "did you mean `高价值女性`?" in wrong.err
    assert sorted(p.name for p in ws.iterdir()) == before
    assert tagwise(cli, ws, "segment", "show", "高价值女性")["exports"] == []  # none logged


def test_save_records_versions_and_refuses_mistakes(cli, ws: Path) -> None:
    saved = tagwise(
        cli, ws, "segment", "save", "上海女性", "gender_label = '女' and city_tier = '一线'"
    )
    assert (saved["version"], saved["changed"], saved["file"]) == (
        1,
        True,
        "segments/上海女性.yaml",
    )
    again = tagwise(
        cli, ws, "segment", "save", "上海女性", "gender_label = '女' and city_tier = '一线'"
    )
    assert (again["version"], again["changed"]) == (1, False)
    changed = tagwise(cli, ws, "segment", "save", "上海女性", "gender_label = '女'")
    assert (changed["version"], changed["changed"]) == (2, True)
    assert tagwise(cli, ws, "plan")["changes"] == []
    assert tagwise(cli, ws, "lint")["ok"] is True
    typo = cli("--workspace", ws, "segment", "save", "x", "gender_lable = '女'")
    assert typo.code == 1 and typo.err.count("\n") == 1
    assert "did you mean `gender_label`?" in typo.err
    # a cycle is refused, and the file keeps the definition it had
    tagwise(cli, ws, "segment", "save", "p", "gender_label = '女'")
    tagwise(cli, ws, "segment", "save", "q", "in_segment('p') and city_tier = '一线'")
    cycle = cli("--workspace", ws, "segment", "save", "p", "in_segment('q')")
    assert cycle.code == 1 and "cycle: p → q → p" in cycle.err and cycle.err.count("\n") == 1
    assert "gender_label" in (ws / "segments" / "p.yaml").read_text(encoding="utf-8")
    bad_name = cli("--workspace", ws, "segment", "save", "a/b", "gender_label = '女'")
    assert bad_name.code == 1 and "segment name" in bad_name.err


def test_an_empty_segment_is_not_an_error(cli, ws: Path) -> None:
    tagwise(cli, ws, "segment", "save", "无人", "gender_label = '女' and gender_label = '男'")
    out = ws / "empty.csv"
    result = tagwise(cli, ws, "segment", "export", "无人", "--out", out, "--holdout", "10%")
    assert result["members"] == 0 and exported(out) == []
    assert exported(ws / "empty.control.csv") == []


def test_overlap_equals_brute_force(cli, shop: Path) -> None:
    names = ["高价值女性", "一线城市活跃客户", "高价值流失预警"]
    result = tagwise(cli, shop, "segment", "overlap", *names)
    sets = demo_segments(current(shop))
    assert result["segments"] == names
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert result["shared"][i][j] == len(sets[a] & sets[b])
            union = len(sets[a] | sets[b])
            want = 1.0 if i == j else (len(sets[a] & sets[b]) / union if union else 0.0)
            assert result["jaccard"][i][j] == pytest.approx(want, abs=1e-6)
    unknown = cli("--workspace", shop, "segment", "overlap", "高价值女性", "高价值男性")
    assert unknown.code == 1 and "did you mean" in unknown.err


def test_a_snapshot_recalls_the_audience_after_the_tags_change(cli, ws: Path) -> None:
    name = "一线城市活跃客户"
    taken = tagwise(cli, ws, "segment", "snapshot", name, "--label", "双11活动")
    before = demo_segments(current(ws))[name]
    assert taken["members"] == len(before) and taken["label"] == "双11活动"
    tagwise(cli, ws, "run", "--as-of", LATER)
    after = demo_segments(current(ws))[name]
    assert after != before  # the later run moved customers in and out
    out = ws / "campaign.parquet"
    recalled = tagwise(cli, ws, "segment", "export", name, "--out", out, "--snapshot", "双11活动")
    assert set(exported(out)) == before and recalled["snapshot"] == "双11活动"
    now = tagwise(cli, ws, "segment", "export", name, "--out", ws / "now.parquet")
    assert set(exported(ws / "now.parquet")) == after and now["members"] == len(after)
    duplicate = cli("--workspace", ws, "segment", "snapshot", name, "--label", "双11活动")
    assert duplicate.code == 1 and "already has a snapshot" in duplicate.err
    shown = tagwise(cli, ws, "segment", "show", name)
    assert [(s["label"], s["members"]) for s in shown["snapshots"]] == [("双11活动", len(before))]
    assert [t["members"] for t in shown["trend"]] == [len(before), len(after)]
    assert shown["members"] == len(after)


def test_show_names_what_a_segment_reads(cli, shop: Path) -> None:
    shown = tagwise(cli, shop, "segment", "show", "高价值流失预警")
    assert shown["tags_used"] == ["gender_label", "spend_level", "churn_risk"]
    assert shown["segments_used"] == ["高价值女性"]
    assert shown["file"] == "segments/marketing.yaml" and shown["version"] == 1
    text = cli("--workspace", shop, "segment", "show", "高价值流失预警")
    assert text.code == 0 and "in_segment('高价值女性')" in text.out


def test_explain_agrees_with_membership(cli, shop: Path) -> None:
    name = "高价值流失预警"
    members = demo_segments(current(shop))[name]
    everyone = sorted(set(current(shop)["customer_id"]))
    outsider = next(c for c in everyone if c not in members)
    for customer, inside in ((sorted(members)[0], True), (outsider, False)):
        result = tagwise(cli, shop, "segment", "explain", name, customer)
        assert result["is_member"] is inside
        top = [p for p in result["predicates"] if p["depth"] == 0]
        assert [p["text"] for p in top] == [
            "in_segment('高价值女性')",
            "churn_risk in ('高', '中')",
        ]
        assert all(p["met"] is True for p in top) is inside  # an `and` of both
        nested = [p for p in result["predicates"] if p["segment"] == "高价值女性"]
        assert [p["text"] for p in nested] == ["gender_label = '女'", "spend_level = '高消费'"]
        assert (all(p["met"] is True for p in nested)) is top[0]["met"]
        assert set(result["predicates"][1]["values"]) == {"gender_label"}
    missing = cli("--workspace", shop, "segment", "explain", name, "NO_SUCH_CUSTOMER")
    assert missing.code == 1 and missing.err.count("\n") == 1


def test_text_output_keeps_chinese_and_json_is_one_object(cli, shop: Path) -> None:
    listing = cli("--workspace", shop, "segment", "list")
    assert listing.code == 0 and "高价值女性" in listing.out
    raw = cli("--workspace", shop, "segment", "list", "--json").out
    assert json.loads(raw)["segments"][0]["name"] == "高价值女性"
    assert "高价值女性" in raw  # not \\u-escaped


def test_count_expands_saved_segments(cli, shop: Path) -> None:
    listing = {s["name"]: s["members"] for s in tagwise(cli, shop, "segment", "list")["segments"]}
    nested = tagwise(cli, shop, "segment", "count", "in_segment('高价值流失预警')")
    assert nested["count"] == listing["高价值流失预警"]
    outside = tagwise(cli, shop, "segment", "count", "not in_segment('高价值女性')")
    assert outside["count"] == outside["total"] - listing["高价值女性"]
    typo = cli(
        "--workspace", shop, "segment", "count", "in_segment('高价值女姓') and has_tag('vip')"
    )
    assert typo.code == 1 and typo.err.count("\n") == 1
    assert "unknown segment `高价值女姓`" in typo.err and "did you mean `高价值女性`?" in typo.err


def test_explain_agrees_with_the_index_for_many_customers(shop: Path, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(shop, root)
    with api.open(root) as ws:
        # or / not / a missing value: the three-valued logic must agree too
        ws.segment_save("非一线或高价值", "not (city_tier = '一线') or has_tag('high_value')")
        everyone = sorted(set(current(root)["customer_id"]))
        for customer in everyone[:: max(1, len(everyone) // 25)]:
            chained = ws.segment_explain("高价值流失预警", customer)
            top = [p for p in chained.predicates if p.depth == 0]
            assert chained.is_member == all(p.met is True for p in top), customer
            either = ws.segment_explain("非一线或高价值", customer)
            city, high = either.predicates
            assert either.is_member == (city.met is False or high.met is True), customer


def test_not_in_segment_counts_customers_whose_values_are_missing(
    shop: Path, tmp_path: Path
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(shop, root)
    with api.open(root) as ws:
        ws.segment_save("高流失风险", "churn_risk = '高'")
        inside = ws.segment_count("in_segment('高流失风险')")
        outside = ws.segment_count("not in_segment('高流失风险')")
        plain = ws.segment_count("not (churn_risk = '高')")
        assert inside.count + outside.count == inside.total
        # three-valued logic leaves out those without a churn_risk; membership does not
        assert plain.count < outside.count
        assert inside.count == ws.segment_count("churn_risk = '高'").count
