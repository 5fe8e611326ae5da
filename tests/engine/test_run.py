"""`tagwise run` end to end on the demo: atomic, idempotent, versioned, explainable."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

import tagwise
from tagwise.cli.app import run as cli_run
from tagwise.engine.pipeline import KEEP_SNAPSHOTS

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run") / "shop"
    assert cli_run(["demo", str(root), "--customers", "1200", "--json"]) == 0
    return root


@pytest.fixture
def shop(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(demo_template, target)
    return target


def current(root: Path) -> set[tuple]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        return set(con.execute("SELECT cid, tag, value, score FROM tags.current").fetchall())
    finally:
        con.close()


def history_at(root: Path, day: date) -> set[tuple]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        return set(
            con.execute(
                "SELECT cid, tag, value, score FROM tags.history WHERE valid_from <= ? "
                "AND (valid_to IS NULL OR valid_to > ?)",
                [day, day],
            ).fetchall()
        )
    finally:
        con.close()


def snapshots(root: Path) -> set[int]:
    """Run ids whose profile snapshot file exists."""
    folder = root / ".tagwise" / "snapshots"
    return {int(p.name.split("_")[1].split(".")[0]) for p in folder.glob("profile_*.parquet")}


def first_tagged(root: Path, tag: str, *, run: int | None = None, on: str | None = None) -> str:
    """The smallest customer id holding a value of `tag` (of run `run`, valid on day `on`)."""
    where, params = "h.tag = ?", [tag]
    if run is not None:
        where += " AND h.run_id = ?"
        params.append(run)
    if on is not None:
        where += " AND h.valid_from <= ?::TIMESTAMP AND coalesce(h.valid_to > ?::TIMESTAMP, true)"
        params += [on, on]
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT min(k.customer_id) FROM tags.history h JOIN meta.customer_keys k USING (cid) "
            f"WHERE {where}",
            params,
        ).fetchone()
    finally:
        con.close()
    assert row and row[0], (tag, run, on)
    return str(row[0])


def test_snapshots_of_the_last_runs_are_kept_and_explain_old_values(shop: Path, cli) -> None:
    for day in ("2026-11-10", "2026-11-20", "2026-12-01", "2026-12-10", "2026-12-20"):
        assert cli("-w", shop, "run", "--as-of", day).code == 0
    assert snapshots(shop) == {2, 3, 4, 5, 6}
    # a value of run 2 is explained on run 2's snapshot, read back from its Parquet file
    customer = first_tagged(shop, "lifecycle_stage", run=2, on="2026-11-15")
    may = cli("-w", shop, "customer", "show", customer, "--as-of", "2026-11-15", "--json")
    stage = next(t for t in may.json()["tags"] if t["tag"] == "lifecycle_stage")
    assert stage["run_id"] == 2
    # the why cites a feature's value as run 2's snapshot file holds it
    read = re.match(r"(\w+) = (-?\d+(?:\.\d+)?)", stage["why"])
    assert read, stage["why"]
    snapshot = pd.read_parquet(shop / ".tagwise" / "snapshots" / "profile_2.parquet")
    row = snapshot[snapshot.cid == may.json()["cid"]]
    assert len(row) == 1 and row[read[1]].iloc[0] == float(read[2])


def edit_tag(root: Path, code: str, change) -> None:
    for path in (root / "tags").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for tag in data["tags"]:
            if tag["code"] == code:
                change(tag)
                path.write_text(
                    yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
                )
                return
    raise AssertionError(code)


def test_demo_run_tags_every_customer_and_matches_history(shop: Path, cli) -> None:
    runs = cli("-w", shop, "runs", "--json").json()["runs"]
    defined = sum(
        len(yaml.safe_load(p.read_text(encoding="utf-8"))["tags"])
        for p in (shop / "tags").glob("*.yaml")
    )
    assert runs[0]["status"] == "ok" and runs[0]["tags"] == defined >= 39
    values = current(shop)
    assert len(values) == runs[0]["tag_values"]
    assert history_at(shop, AS_OF) == values
    customers = {cid for cid, *_ in values}
    with tagwise.open(shop) as ws:
        assert len(customers) == ws.customer_count()


def test_rerunning_the_same_date_changes_nothing(shop: Path, cli) -> None:
    before = current(shop)
    result = cli("-w", shop, "run", "--as-of", "2026-11-01", "--json")
    assert result.code == 0, result.err
    assert result.json()["changes"] == 0
    assert current(shop) == before


def test_time_travel_answers_what_the_tags_were_on_a_date(shop: Path, cli) -> None:
    november = current(shop)
    assert cli("-w", shop, "run", "--as-of", "2027-06-01").code == 0
    june = current(shop)
    assert june != november
    assert history_at(shop, date(2027, 6, 1)) == june
    assert history_at(shop, date(2027, 5, 31)) == history_at(shop, AS_OF) == november
    # history only moves forward: a run as of an earlier date is refused, one line, no change
    back = cli("-w", shop, "run", "--as-of", "2026-11-01")
    assert back.code == 1 and back.err.count("\n") == 1
    assert back.err.startswith("error[conflict]: cannot run as of 2026-11-01")
    assert current(shop) == june
    changes = cli("-w", shop, "customer", "show", "C00000001", "--json").json()["changes"]
    assert {c["run_id"] for c in changes} <= {1, 2}
    shown = cli("-w", shop, "customer", "show", "C00000001", "--as-of", "2026-11-05", "--json")
    tags_now = {t["tag"]: t["values"] or [t["score"]] for t in shown.json()["tags"]}
    cid = shown.json()["cid"]
    expected: dict[str, list] = {}
    for c, tag, value, score in sorted(november, key=repr):
        if c == cid:
            expected.setdefault(tag, []).append(value if value is not None else score)
    assert {k: sorted(map(str, v)) for k, v in tags_now.items()} == {
        k: sorted(map(str, v)) for k, v in expected.items()
    }


def test_customer_show_explains_rule_values(shop: Path, cli) -> None:
    customer = first_tagged(shop, "spend_level", run=1)
    data = cli("-w", shop, "customer", "show", customer, "--json").json()
    spend = data["features"]["spend_365d"]
    level = next(t for t in data["tags"] if t["tag"] == "spend_level")
    assert level["source"] == "rule" and level["version"] == 1 and level["run_id"] == 1
    assert "spend_365d" in level["why"] and level["values"][0] in level["why"]
    expected = "高消费" if spend >= 10000 else "中消费" if spend >= 2000 else None
    if expected:
        assert level["values"] == [expected]
    missing = cli("-w", shop, "customer", "show", "NOPE")
    assert missing.code == 1 and missing.err.startswith("error[not-found]")


def test_changed_specs_must_be_applied_and_get_a_new_version(shop: Path, cli) -> None:
    edit_tag(shop, "spend_level", lambda t: t["rule"][0].update(when="spend_365d >= 5000"))
    blocked = cli("-w", shop, "run", "--as-of", "2026-11-01")
    assert blocked.code == 1 and "differ from the applied versions" in blocked.err
    plan = cli("-w", shop, "plan", "--json").json()
    assert [(c["code"], c["action"], c["version"], c["fields"]) for c in plan["changes"]] == [
        ("spend_level", "change", 2, ["rule"])
    ]
    assert cli("-w", shop, "apply").code == 0
    assert cli("-w", shop, "plan", "--json").json()["changes"] == []
    result = cli("-w", shop, "run", "--as-of", "2026-11-01", "--json").json()
    assert result["per_tag"]["spend_level"]["changes"] > 0
    assert all(
        v["changes"] == 0
        for k, v in result["per_tag"].items()
        if k not in ("spend_level", "rfm_segment", "high_value", "loyalty")
    )
    with tagwise.open(shop) as ws:
        versions = set(
            ws.warehouse.rows("SELECT DISTINCT version FROM tags.current WHERE tag = 'spend_level'")
        )
        assert versions == {(2,)}
        assert ws.tag_detail("spend_level").version == 2


def test_removed_tags_are_deprecated_and_keep_their_history(shop: Path, cli) -> None:
    path = shop / "tags" / "social.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["tags"] = [t for t in data["tags"] if t["code"] != "opinion_leader"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plan = cli("-w", shop, "plan", "--json").json()
    assert [(c["code"], c["action"]) for c in plan["changes"]] == [("opinion_leader", "remove")]
    had = {v for v in current(shop) if v[1] == "opinion_leader"}
    assert cli("-w", shop, "apply").code == 0
    result = cli("-w", shop, "run", "--as-of", "2026-11-02", "--json").json()
    assert result["retired"] == ["opinion_leader"]
    assert not {v for v in current(shop) if v[1] == "opinion_leader"}
    assert {v for v in history_at(shop, AS_OF) if v[1] == "opinion_leader"} == had


def test_due_and_manual_tags(shop: Path, cli) -> None:
    assert cli("-w", shop, "run", "--due", "--json").json()["tags"] == []
    edit_tag(shop, "region", lambda t: t.update(refresh="manual"))
    assert cli("-w", shop, "apply").code == 0
    plain = cli("-w", shop, "run", "--as-of", "2026-11-01", "--json").json()
    assert "region" not in plain["tags"] and "spend_level" in plain["tags"]
    asked = cli("-w", shop, "run", "--tags", "region", "--as-of", "2026-11-01", "--json").json()
    assert asked["tags"] == ["region"]
    with_deps = cli(
        "-w", shop, "run", "--tags", "rfm_segment", "--as-of", "2026-11-01", "--json"
    ).json()
    assert set(with_deps["tags"]) == {"r_score", "f_score", "m_score", "rfm_segment"}


def test_a_failed_run_is_recorded_and_changes_nothing(shop: Path, cli) -> None:
    before = current(shop)
    edit_tag(
        shop,
        "income_level",
        lambda t: (
            t.pop("rule"),
            t.update(sql="SELECT cid, CAST(name AS INTEGER) AS value FROM profile"),
        ),
    )
    assert cli("-w", shop, "apply").code == 0
    failed = cli("-w", shop, "run", "--as-of", "2026-11-01")
    assert failed.code != 0 and failed.err.count("\n") == 1
    runs = cli("-w", shop, "runs", "--json").json()["runs"]
    assert runs[0]["status"] == "failed" and runs[0]["error"]
    assert current(shop) == before
    assert snapshots(shop) == {1}  # the failed run's snapshot is gone, run 1's stays
    listing = {t["code"]: t for t in cli("-w", shop, "tags", "list", "--json").json()["tags"]}
    assert listing["spend_level"]["last_run_id"] == 1


def test_lint_reports_every_problem_with_its_line(shop: Path, cli) -> None:
    (shop / "tags" / "broken.yaml").write_text(
        "tags:\n"
        "  - code: bad_one\n    name: 价值_坏\n    category: value\n    kind: enum\n"
        "    values: [a]\n    owner: x\n    description: d\n"
        "    rule:\n      - when: spend_356d >= 1\n        value: a\n"
        "  - code: bad_two\n    name: 价值_坏二\n    category: valu\n    kind: flag\n"
        "    owner: x\n    description: d\n    rule: \"orders_365d > 'many'\"\n",
        encoding="utf-8",
    )
    result = cli("-w", shop, "lint", "--json")
    assert result.code == 1
    problems = result.json()["problems"]
    found = {(Path(p["file"]).name, p["line"]) for p in problems}
    assert ("broken.yaml", 10) in found  # unknown feature spend_356d
    assert ("broken.yaml", 14) in found  # unknown category valu
    assert ("broken.yaml", 18) in found  # number compared with text
    hints = " ".join(p.get("hint") or "" for p in problems)
    assert "spend_365d" in hints and "value" in hints


def _tagwise_run(root: Path, day: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tagwise", "-w", str(root), "run", "--as-of", day],
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_killed_run_leaves_the_previous_values(shop: Path, tmp_path: Path) -> None:
    # history only moves forward, so each attempt runs as of a later date; what a complete
    # run as of that date gives comes from a copy of the workspace (runs are stateless)
    reference = tmp_path / "reference"
    shutil.copytree(shop, reference)
    outcomes = set()
    for fraction, day in zip(
        (0.4, 0.6, 0.75, 0.9), ("2027-01-01", "2027-03-01", "2027-05-01", "2027-07-01"), strict=True
    ):
        before = current(shop)
        started = time.perf_counter()
        _tagwise_run(reference, day)
        full = time.perf_counter() - started
        complete = current(reference)
        assert complete != before
        proc = subprocess.Popen(
            [sys.executable, "-m", "tagwise", "-w", str(shop), "run", "--as-of", day],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(full * fraction)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = current(shop)
        assert state in (before, complete)
        outcomes.add(state == complete)
    with tagwise.open(shop) as ws:
        statuses = {r.status for r in ws.runs(limit=50).runs}
        committed = {r.run_id for r in ws.tag_store.committed_runs()}
    assert "running" not in statuses
    assert False in outcomes
    # one more run: only snapshots of the last committed runs remain, no killed leftovers
    _tagwise_run(shop, "2027-09-01")
    left = snapshots(shop)
    assert left and left <= committed | {max(left)} and len(left) <= KEEP_SNAPSHOTS
    assert not list((shop / ".tagwise" / "snapshots").glob("*.partial"))


def test_sql_tag_finds_the_generators_fraud_bursts(shop: Path) -> None:
    """The planted burst customers (ground truth) get 短时高频下单 from the SQL tag."""
    truth = pd.read_parquet(shop / "data" / "_truth" / "customers.parquet")
    planted = set(truth.loc[truth["is_fraud"], "customer_id"])
    assert planted
    con = duckdb.connect(str(shop / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        flagged = {
            r[0]
            for r in con.execute(
                "SELECT k.customer_id FROM tags.current c JOIN meta.customer_keys k USING (cid) "
                "WHERE c.tag = 'abnormal_order_pattern' AND c.value = '短时高频下单'"
            ).fetchall()
        }
    finally:
        con.close()
    assert planted <= flagged


def test_human_output_of_the_reading_commands(shop: Path, cli) -> None:
    listing = cli("-w", shop, "tags", "list")
    assert listing.code == 0 and "价值_RFM客户分群" in listing.out and "rfm_segment" in listing.out
    shown = cli("-w", shop, "tags", "show", "rfm_segment")
    assert shown.code == 0
    assert "when r_score >= 3 and f_score >= 3 and m_score >= 3 → 重要价值" in shown.out
    assert "distribution" in shown.out
    unknown = cli("-w", shop, "tags", "show", "rfm_segmnt")
    assert unknown.code == 1 and "did you mean `rfm_segment`" in unknown.err
    profile = cli("-w", shop, "customer", "show", first_tagged(shop, "spend_level", run=1))
    assert profile.code == 0 and "spend_level" in profile.out and "→" in profile.out
    runs = cli("-w", shop, "runs")
    assert runs.code == 0 and "ok" in runs.out


QUANTILE_INPUTS = {
    "r_score": (["last_order_days"], True),
    "f_score": (["orders_365d", "last_order_days"], False),
    "m_score": (["spend_365d", "last_order_days"], False),
}
"""The demo's quantile tags: the features their score reads, and whether descending."""


def _quantile_raw(snapshot: pd.DataFrame, code: str) -> pd.Series:
    """The demo's raw score of a quantile tag, computed in pandas (+ 0 * last_order_days
    makes it null for customers who never ordered)."""
    if code == "r_score":
        return snapshot.last_order_days.astype(float)
    column = "orders_365d" if code == "f_score" else "spend_365d"
    return snapshot[column].astype(float).where(snapshot.last_order_days.notna())


def test_customers_with_equal_features_never_differ_in_a_quantile_tag(shop: Path, cli) -> None:
    from tests.engine.test_engine_semantics import tie_quantiles  # noqa: PLC0415

    snapshot = pd.read_parquet(shop / ".tagwise" / "snapshots" / "profile_1.parquet")
    stored = {(cid, tag): score for cid, tag, _value, score in current(shop)}
    for code, (inputs, descending) in QUANTILE_INPUTS.items():
        scores = snapshot.cid.map(lambda c, code=code: stored.get((c, code)))
        groups = snapshot.assign(score=scores).groupby(inputs, dropna=False).score
        assert (groups.nunique(dropna=False) == 1).all(), code  # equal inputs, equal score
        assert groups.size().max() > 20, code  # the demo has large groups of equal inputs
        raw = dict(zip(snapshot.cid, _quantile_raw(snapshot, code), strict=True))
        raw = {c: (None if pd.isna(v) else v) for c, v in raw.items()}
        expected = tie_quantiles(raw, 5, descending=descending)
        assert {c: s for (c, t), s in stored.items() if t == code} == {
            c: float(s) for c, s in expected.items()
        }


def test_cut_points_are_recorded_per_run_and_explain_quantile_scores(shop: Path, cli) -> None:
    snapshot = pd.read_parquet(shop / ".tagwise" / "snapshots" / "profile_1.parquet")
    stored = {(cid, tag): score for cid, tag, _value, score in current(shop)}
    raw = _quantile_raw(snapshot, "f_score")
    scores = snapshot.cid.map(lambda c: stored.get((c, "f_score")))
    # c_k: the smallest raw value scoring above k, computed here from the stored scores
    cuts = tuple(float(raw[scores > k].min()) if (scores > k).any() else None for k in range(1, 5))
    with tagwise.open(shop) as ws:
        assert ws.tag_store.cuts(1, "f_score") == cuts
        assert ws.tag_store.cuts(99, "f_score") is None  # no such run
        key = int(snapshot.cid[scores.notna()].iloc[0])
        customer = ws.warehouse.scalar(
            "SELECT customer_id FROM meta.customer_keys WHERE cid = ? ORDER BY rid LIMIT 1", [key]
        )
    shown = cli("-w", shop, "customer", "show", customer, "--json").json()
    why = next(t["why"] for t in shown["tags"] if t["tag"] == "f_score")
    score = int(stored[(key, "f_score")])
    listed = ", ".join("none" if c is None else f"{c:,.0f}" for c in cuts)
    assert why.startswith(f"f_score is {score} of 5: orders_365d + 0 * last_order_days = ")
    assert why.endswith(f"(cut points {listed})"), why


def test_an_integer_overflow_names_the_tag(shop: Path, cli) -> None:
    edit_tag(shop, "m_score", lambda t: t.update(score="orders_total * 4611686018427387904"))
    assert cli("-w", shop, "apply").code == 0
    result = cli("-w", shop, "run", "--as-of", "2026-11-01")
    assert result.code == 1 and result.err.count("\n") == 1, result.err
    assert result.err.startswith(
        "error[engine]: tag `m_score` overflowed a 64-bit integer on duckdb"
    ), result.err
