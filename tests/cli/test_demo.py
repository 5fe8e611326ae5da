"""`tagwise demo` end to end, checked against the generator's own ground truth."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tagwise.cli.app import run

REASONS = {
    "missing_required": "missing required value",
    "bad_date": ("not a valid date", "not a valid date and time"),
    "bad_phone": "not a valid phone number",
    "duplicate_key": "duplicate key",
    "malformed_line": "malformed line",
    "bad_encoding": "bad encoding",
    "unknown_customer": "unknown customer",
    "out_of_range": ("below the minimum", "above the maximum"),
    "bad_json": "bad json",
    "bad_number": ("not an integer", "not a number"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "shop"
    code = run(["demo", str(root), "--customers", "1500", "--duplicates", "0.05", "--json"])
    assert code == 0
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    yield root, con
    con.close()


def truth(root: Path, name: str) -> list[dict]:
    with (root / "data" / "_truth" / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_quarantine_is_exactly_the_generators_invalid_rows(demo) -> None:
    root, con = demo
    expected = {
        (f"data/{r['file']}", int(r["line"]), r["column"] or None): r["kind"]
        for r in truth(root, "invalid.csv")
    }
    rows = con.execute('SELECT file, line, "column", reason FROM meta.quarantine').fetchall()
    found = {(f, line, col): reason for f, line, col, reason in rows}
    assert set(found) == set(expected)
    for key, kind in expected.items():
        assert found[key].startswith(REASONS[kind]), (key, kind, found[key])


def test_every_row_read_is_loaded_or_quarantined(demo) -> None:
    root, con = demo
    files = {
        "customers": "customers.csv",
        "social_profiles": "social_profiles.csv",
        "social_interactions": "social_interactions.csv",
        "consent": "consent.csv",
    }
    for source, name in files.items():
        with (root / "data" / name).open("rb") as fh:
            lines = sum(1 for line in fh if line.strip()) - 1
        # the customer master's rows are records; src.customers is their golden record
        relation = "ident.records" if source == "customers" else f'src."{source}"'
        loaded = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        rejected = con.execute(
            "SELECT count(*) FROM meta.quarantine WHERE source = ?", [source]
        ).fetchone()[0]
        assert loaded + rejected == lines, source
    parquet = con.execute(
        "SELECT count(*) FROM read_parquet(?)", [str(root / "data" / "orders.parquet")]
    ).fetchone()[0]
    loaded = con.execute("SELECT count(*) FROM src.orders").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM meta.quarantine WHERE source='orders'").fetchone()[
        0
    ]
    assert loaded + rejected == parquet


def test_standardized_values_are_canonical(demo) -> None:
    _, con = demo
    bad = con.execute(
        "SELECT count(*) FROM src.customers WHERE NOT regexp_full_match(phone, '\\+861[3-9][0-9]{9}') "
        "OR email <> lower(trim(email)) OR gender NOT IN ('M', 'F', 'U') "
        "OR city <> trim(city) OR regexp_matches(city, '\\s\\s|\u3000')"
    ).fetchone()[0]
    assert bad == 0
    # records are numbered densely; a customer's cid is the number of its oldest record
    rids = [r[0] for r in con.execute("SELECT rid FROM meta.customer_keys ORDER BY rid").fetchall()]
    assert rids == list(range(1, len(rids) + 1))
    survivors = con.execute(
        "SELECT count(*) FROM (SELECT cid, min(rid) AS first FROM meta.customer_keys "
        "GROUP BY cid) WHERE cid <> first"
    ).fetchone()[0]
    assert survivors == 0


def test_duplicate_persons_agree_after_standardization(demo) -> None:
    """A person's extra account, registered with a differently written phone or email,
    carries the same E.164 phone or the same lower-case email after ingest, as its link in
    `_truth/duplicates.csv` says; a UnionID link the same UnionID."""
    root, con = demo
    extras = truth(root, "duplicates.csv")
    assert len(extras) == round(1500 * 0.05)  # --duplicates reached the generator
    columns = {"phone": "phone", "email": "email", "unionid": "wechat_unionid"}
    loaded = {
        link: dict(con.execute(f"SELECT customer_id, {column} FROM ident.records").fetchall())
        for link, column in columns.items()
    }
    checked = set()
    for row in extras:
        me, other = row["customer_id"], row["linked_customer_id"]
        for link, values in loaded.items():
            if row["link"] == link:
                assert values[me] is not None and values[me] == values[other], row
                checked.add(link)
            elif row["link"] == "fuzzy":
                assert values[me] is None or values[me] != values[other], row
    assert checked == set(columns)


def test_shared_phones_are_held_by_the_listed_records(demo) -> None:
    root, con = demo
    counts = dict(con.execute("SELECT phone, count(*) FROM ident.records GROUP BY 1").fetchall())
    shared = truth(root, "shared_identifiers.csv")
    assert {r["kind"] for r in shared} == {"family", "placeholder"}
    for row in shared:
        assert counts[row["value"]] == int(row["records"]), row


def test_demo_refuses_a_non_empty_folder_without_force(cli, tmp_path: Path) -> None:
    target = tmp_path / "notes"
    target.mkdir()
    (target / "todo.txt").write_text("x")
    result = cli("demo", target, "--customers", "200")
    assert result.code == 1 and "exists and is not empty" in result.err
    forced = cli("demo", target, "--customers", "200", "--force")
    assert forced.code == 1 and "not a Tagwise workspace" in forced.err
    assert (target / "todo.txt").exists()


def test_the_demo_acts_as_the_os_user_via_the_cli(demo) -> None:
    import getpass  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    root, _ = demo
    con = sqlite3.connect(root / ".tagwise" / "catalog.sqlite")
    try:
        actors = {
            table: {r[0] for r in con.execute(f"SELECT {column} FROM {table}")}
            for table, column in (
                ("ingest_runs", "actor"),
                ("runs", "actor"),
                ("spec_versions", "applied_by"),
            )
        }
    finally:
        con.close()
    user = f"{getpass.getuser()}@cli"
    assert actors == {"ingest_runs": {user}, "runs": {user}, "spec_versions": {user}}
