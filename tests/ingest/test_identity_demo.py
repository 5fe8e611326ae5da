"""Identity resolution end to end on the demo data, against the generator's ground truth.

The demo writes `_truth/persons.csv` (which records are one person), `_truth/duplicates.csv`
(how each extra account is linked: phone, email, unionid, or nothing but fuzzy evidence)
and `_truth/shared_identifiers.csv` (family and placeholder phones shared by strangers).
Precision and recall are counted over record pairs, independently of the resolver.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import tagwise

CUSTOMERS = 6_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    from tagwise.demo.generate import generate  # noqa: PLC0415

    root = tmp_path_factory.mktemp("identity") / "ws"
    ws = tagwise.init(root, demo=True)
    generate(root / "data", customers=CUSTOMERS, duplicates=0.10)
    report = ws.ingest()
    assert not report.errors, report.errors
    assert report.identity is not None
    ws.close()
    return root


def assignment(root: Path) -> pd.DataFrame:
    """Every loaded record with its customer (cid) and its true person."""
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        keys = con.execute(
            "SELECT k.customer_id, k.cid FROM meta.customer_keys k "
            "JOIN ident.records r ON r.customer_id = k.customer_id"
        ).df()
    finally:
        con.close()
    persons = pd.read_csv(root / "data" / "_truth" / "persons.csv", dtype=str)
    return keys.merge(persons, on="customer_id", how="inner")


def pairs(frame: pd.DataFrame, by: list[str]) -> int:
    sizes = frame.groupby(by).size()
    return int((sizes * (sizes - 1) // 2).sum())


def test_precision_and_recall_meet_the_goal(demo: Path) -> None:
    frame = assignment(demo)
    found, true = pairs(frame, ["cid"]), pairs(frame, ["person_id"])
    both = pairs(frame, ["cid", "person_id"])
    assert true > CUSTOMERS * 0.05  # the data really has duplicates to find
    assert both / found >= 0.99, (both, found)
    assert both / true >= 0.95, (both, true)


def test_every_link_kind_is_found(demo: Path) -> None:
    frame = assignment(demo).set_index("customer_id")["cid"]
    dups = pd.read_csv(demo / "data" / "_truth" / "duplicates.csv", dtype={"name_typo": str})
    dups = dups[dups.customer_id.isin(frame.index) & dups.first_customer_id.isin(frame.index)]
    dups["placed"] = frame[dups.customer_id].to_numpy() == frame[dups.first_customer_id].to_numpy()
    recall = dups.groupby("link")["placed"].mean()
    assert set(recall.index) == {"phone", "email", "unionid", "fuzzy"}
    assert recall[["phone", "email", "unionid"]].min() >= 0.97, recall.to_dict()
    assert recall["fuzzy"] >= 0.85, recall.to_dict()


def test_shared_phones_never_merge_strangers(demo: Path, cli) -> None:
    frame = assignment(demo)
    shared = pd.read_csv(demo / "data" / "_truth" / "shared_identifiers.csv", dtype=str)
    con = duckdb.connect(str(demo / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        holders = con.execute(
            "SELECT r.customer_id, r.phone FROM ident.records r WHERE r.phone IS NOT NULL"
        ).df()
        capped = {tuple(r) for r in con.execute("SELECT type, value FROM ident.capped").fetchall()}
    finally:
        con.close()
    checked = 0
    for _, row in shared.iterrows():
        records = frame[frame.customer_id.isin(holders[holders.phone == row["value"]].customer_id)]
        # strangers on one phone: as many customers as persons among them
        assert records.cid.nunique() >= records.person_id.nunique()
        if len(records) > 1:
            assert (row["type"], row["value"]) in capped
            checked += 1
    assert checked > 0  # the loop compared phones that several records hold
    report = cli("-w", demo, "quality", "customers", "--json")
    assert report.code == 0, report.err
    identity = report.json()["identity"]
    assert identity["capped"]["values"] == len(capped)


def test_review_queue_and_decisions(demo: Path, cli) -> None:
    listed = cli("-w", demo, "customer", "matches", "--json", "--limit", "500")
    assert listed.code == 0, listed.err
    queue = listed.json()["pairs"]
    with tagwise.open(demo) as ws:
        matching = ws.settings.identity.matching
        cids = dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    assert queue, "the demo should leave some pairs for people to decide"
    waiting = duckdb.connect(str(demo / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        (total,) = waiting.execute("SELECT count(*) FROM ident.review").fetchone()
    finally:
        waiting.close()
    assert listed.json()["total"] == total
    assert len(queue) == min(total, 500)
    page = cli("-w", demo, "customer", "matches", "--json", "--limit", "1").json()
    assert (page["total"], page["limit"], len(page["pairs"])) == (total, 1, 1)
    assert page["truncated"] is (total > 1)
    shown = cli("-w", demo, "customer", "matches", "--limit", "1")
    assert shown.code == 0, shown.err
    assert (f"1 of {total:,} pairs shown" in shown.out) is (total > 1)
    probabilities = [p["probability"] for p in queue]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(matching.lower <= p < matching.upper for p in probabilities)
    assert all(cids[p["left"]["customer_id"]] != cids[p["right"]["customer_id"]] for p in queue)
    first, second = queue[0], queue[1] if len(queue) > 1 else None
    merged = cli(
        "-w",
        demo,
        "customer",
        "merge",
        first["left"]["customer_id"],
        first["right"]["customer_id"],
        "--no-run",
        "--json",
    )
    assert merged.code == 0, merged.err
    with tagwise.open(demo) as ws:
        cids = dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
        remaining = ws.review_queue(limit=500).pairs
    assert cids[first["left"]["customer_id"]] == cids[first["right"]["customer_id"]]
    assert len(remaining) == len(queue) - 1
    if second is not None:
        kept = cli(
            "-w",
            demo,
            "customer",
            "separate",
            second["left"]["customer_id"],
            second["right"]["customer_id"],
            "--no-run",
        )
        assert kept.code == 0, kept.err
        with tagwise.open(demo) as ws:
            after = ws.review_queue(limit=500).pairs
            cids = dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
        assert len(after) == len(queue) - 2
        assert cids[second["left"]["customer_id"]] != cids[second["right"]["customer_id"]]
