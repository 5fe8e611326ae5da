"""`customer show` is one moment (#12): features, explanations, runs and since columns
come from one state run, and a run that computes nothing does not move it."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tagwise.cli.app import run as cli_run

DEMO_AS_OF = date(2026, 11, 1)
LATER = date(2026, 11, 20)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """The demo (run 1: every tag as of 2026-11-01), then run 2: only spend_level (and what
    it reads) as of 2026-11-20."""
    root = tmp_path_factory.mktemp("profile") / "shop"
    assert cli_run(["demo", str(root), "--customers", "1000", "--json"]) == 0
    assert cli_run(["-w", str(root), "run", "--tags", "spend_level", "--as-of", str(LATER)]) == 0
    return root


@pytest.fixture
def shop(two_runs: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(two_runs, target)
    return target


def paid_orders(root: Path) -> pd.DataFrame:
    """The demo's orders file joined to the customers' cids (read without Tagwise)."""
    orders = pd.read_parquet(root / "data" / "orders.parquet")
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        keys = con.execute("SELECT customer_id, cid FROM meta.customer_keys").df()
    finally:
        con.close()
    paid = orders[orders.status == "paid"].merge(keys, on="customer_id")
    paid["paid_at"] = pd.to_datetime(paid["paid_at"])
    return paid


def expected_features(paid: pd.DataFrame, cid: int, as_of: date) -> dict[str, float]:
    """last_order_days and orders_total of a customer as of a date, by hand."""
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    mine = paid[(paid.cid == cid) & (paid.paid_at < end)]
    last = mine.paid_at.max().date()
    return {"last_order_days": (as_of - last).days, "orders_total": len(mine)}


def a_buyer(root: Path) -> tuple[str, int]:
    """The first customer with paid orders and a lifecycle stage (its key and cid)."""
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT k.customer_id, k.cid FROM meta.customer_keys k WHERE k.rid = k.cid "
            "AND k.cid IN (SELECT cid FROM src.orders WHERE status = 'paid') "
            "AND k.cid IN (SELECT cid FROM tags.current WHERE tag = 'lifecycle_stage') "
            "ORDER BY k.cid LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0]), int(row[1])


def show(cli, root: Path, customer: str, *extra: str) -> dict:
    result = cli("-w", root, "customer", "show", customer, *extra, "--json")
    assert result.code == 0, result.err
    return result.json()


def test_features_and_runs_are_those_of_one_state(shop: Path, cli) -> None:
    customer, cid = a_buyer(shop)
    paid = paid_orders(shop)
    shown = show(cli, shop, customer)
    assert (shown["run_id"], shown["run_as_of"], shown["as_of"]) == (2, "2026-11-20", "2026-11-20")
    assert shown["historical"] is False
    # the features are run 2's snapshot, all of them: as computed by hand as of its date …
    hand = expected_features(paid, cid, LATER)
    assert {k: shown["features"][k] for k in hand} == hand
    # … and exactly the snapshot file's row
    snapshot = pd.read_parquet(shop / ".tagwise" / "snapshots" / "profile_2.parquet")
    row = snapshot[snapshot.cid == cid].iloc[0]
    assert shown["features"] == {k: None if pd.isna(row[k]) else row[k] for k in shown["features"]}
    assert (
        shown["features"]["last_order_days"]
        != expected_features(paid, cid, DEMO_AS_OF)["last_order_days"]
    )
    # each tag names the run it is explained on: spend_level run 2, the others run 1
    tags = {t["tag"]: t for t in shown["tags"]}
    assert (tags["spend_level"]["run_id"], tags["spend_level"]["as_of"]) == (2, "2026-11-20")
    stage = tags["lifecycle_stage"]
    assert (stage["run_id"], stage["as_of"], stage["set_by_run_id"]) == (1, "2026-11-01", 1)
    assert stage["since"].startswith("2026-11-01")
    # and its why reads run 1's snapshot, where the numbers are those of 2026-11-01
    read = re.match(r"(\w+) = (-?\d+(?:\.\d+)?)", stage["why"])
    assert read, stage["why"]
    first = pd.read_parquet(shop / ".tagwise" / "snapshots" / "profile_1.parquet")
    assert first[first.cid == cid][read[1]].iloc[0] == float(read[2])


def test_as_of_shows_the_state_of_the_run_current_on_that_date(shop: Path, cli) -> None:
    customer, cid = a_buyer(shop)
    shown = show(cli, shop, customer, "--as-of", "2026-11-10")
    assert (shown["run_id"], shown["run_as_of"], shown["as_of"]) == (1, "2026-11-01", "2026-11-10")
    assert shown["historical"] is True
    hand = expected_features(paid_orders(shop), cid, DEMO_AS_OF)
    assert {k: shown["features"][k] for k in hand} == hand
    assert {t["run_id"] for t in shown["tags"]} == {1}
    before = show(cli, shop, customer, "--as-of", "2026-10-01")
    assert before["run_id"] is None and before["features"] is None and before["tags"] == []


def test_a_due_run_with_nothing_due_records_nothing_and_moves_nothing(shop: Path, cli) -> None:
    customer, _ = a_buyer(shop)
    before = show(cli, shop, customer)
    runs = cli("-w", shop, "runs", "--json").json()["runs"]
    snapshots = sorted(p.name for p in (shop / ".tagwise" / "snapshots").iterdir())
    due = cli("-w", shop, "run", "--due")
    assert due.code == 0, due.err
    assert due.out.strip() == "nothing to compute: no tag is due (no run recorded)"
    as_json = cli("-w", shop, "run", "--due", "--json").json()
    assert as_json["run_id"] is None and as_json["tags"] == []
    assert cli("-w", shop, "runs", "--json").json()["runs"] == runs
    assert sorted(p.name for p in (shop / ".tagwise" / "snapshots").iterdir()) == snapshots
    assert show(cli, shop, customer) == before


def test_the_text_view_lists_the_features_and_labels_older_runs(shop: Path, cli) -> None:
    customer, _ = a_buyer(shop)
    shown = show(cli, shop, customer)
    text = cli("-w", shop, "customer", "show", customer)
    assert text.code == 0, text.err
    assert "state of run 2 (as of 2026-11-20)" in text.out
    assert "features (run 2, as of 2026-11-20)" in text.out
    lines = text.out.splitlines()
    for name, value in shown["features"].items():
        if value is None:
            continue
        line = next((x for x in lines if re.match(rf"\s*{name}\s", x)), None)
        assert line is not None, name
    assert any("lifecycle_stage" in x and "1 (as of 2026-11-01)" in x for x in lines)
