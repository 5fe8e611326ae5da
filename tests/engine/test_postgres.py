"""The PostgreSQL engine against DuckDB on the demo workspace: the same tags for every
customer (the differential suite of docs/engines.md), explanations, configuration errors.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import psycopg
import pytest
from tests.engine.differential import AS_OF, assert_identical, current, run

import tagwise
from tagwise.cli.app import run as cli_run


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pg") / "shop"
    assert cli_run(["demo", str(root), "--customers", "1500", "--json"]) == 0
    return root


@pytest.fixture
def shop(demo_template: Path, tmp_path: Path, pg_url: str) -> Path:
    """A copy of the demo whose sources are also tables of a fresh PostgreSQL database."""
    target = tmp_path / "shop"
    shutil.copytree(demo_template, target)
    published = cli_run(
        ["-w", str(target), "sources", "publish", "--url", pg_url, "--schema", "shop", "--json"]
    )
    assert published == 0
    with tagwise.open(target) as ws, psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        for name in ws.specs().sources.sources:
            rows = conn.execute(f'SELECT count(*) FROM shop."{name}"').fetchone()
            assert rows == (ws.warehouse.scalar(f'SELECT count(*) FROM src."{name}"'),), name
    with (target / "tagwise.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[engine]\npostgres_url = "{pg_url}"\npostgres_schema = "shop"\n')
    return target


def test_postgres_computes_the_same_tags_as_duckdb(shop: Path, cli) -> None:
    on_duckdb = run(cli, shop, "duckdb")
    duck = current(shop)
    on_postgres = run(cli, shop, "postgres")
    pg = current(shop)
    assert on_postgres["customers"] == on_duckdb["customers"]
    assert on_postgres["tag_values"] == on_duckdb["tag_values"] == len(duck) > 30_000
    # every value of every customer and tag is the same, rounded doubles included
    assert_identical(duck, pg)
    assert on_postgres["changes"] == 0
    # the demo does hold doubles whose rounding sits on a decimal tie (15.85 → 15.9)
    with tagwise.open(shop) as ws:
        ties = ws.warehouse.scalar(
            "SELECT count(*) FROM read_parquet(?) WHERE orders_total > 1 AND abs(("
            "(first_order_days - last_order_days) / (orders_total - 1)) * 10 % 1 - 0.5) < 1e-9",
            [str(ws.warehouse.snapshot_path(on_duckdb["run_id"]))],
        )
    assert ties > 0


def test_values_computed_on_postgres_are_explained_from_its_snapshot(shop: Path, cli) -> None:
    report = run(cli, shop, "postgres")
    shown = cli("-w", shop, "customer", "show", "C00000002", "--json").json()
    stage = next(t for t in shown["tags"] if t["tag"] == "lifecycle_stage")
    # re-derived on run 2's snapshot, in PostgreSQL: the why names the feature it read
    read = re.match(r"(\w+) = (-?\d+(?:\.\d+)?)", stage["why"])
    assert read, stage["why"]
    feature, value = read.groups()
    with tagwise.open(shop) as ws:
        cid = ws.warehouse.scalar(
            "SELECT cid FROM meta.customer_keys WHERE customer_id = 'C00000002'"
        )
        row = ws.engine("postgres").profile_row(report["run_id"], cid)
    assert row[feature] == shown["features"][feature] == float(value)
    assert row["orders_total"] == shown["features"]["orders_total"]


def test_postgres_runs_keep_only_recent_snapshots_and_publish_keys_once(
    shop: Path, cli, pg_url: str
) -> None:
    runs = [run(cli, shop, "postgres")["run_id"] for _ in range(7)]
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'shop_tagwise'"
            ).fetchall()
        }
        keys = conn.execute("SELECT count(*), count(DISTINCT cid) FROM shop_tagwise.customer_keys")
        published = keys.fetchone()
    assert tables == {"customer_keys", "keys_state", *(f"profile_{r}" for r in runs[-5:])}
    with tagwise.open(shop) as ws:
        records = ws.warehouse.scalar("SELECT count(*) FROM meta.customer_keys")
        assert published == (records, ws.customer_count())


def test_a_missing_source_table_is_one_clear_line(shop: Path, cli, pg_url: str) -> None:
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP TABLE shop.tickets")
    result = cli("-w", shop, "run", "--as-of", AS_OF, "--engine", "postgres")
    assert result.code != 0 and result.err.count("\n") == 1
    assert "shop.tickets" in result.err and "does not exist" in result.err


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("", "needs a database"),
        ('postgres_url = "postgresql://nobody@127.0.0.1:1/none"\n', "cannot connect"),
    ],
)
def test_engine_configuration_errors_are_one_line(
    demo_template: Path, tmp_path: Path, cli, setting: str, message: str
) -> None:
    target = tmp_path / "shop"
    shutil.copytree(demo_template, target)
    with (target / "tagwise.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[engine]\n{setting}")
    result = cli("-w", target, "run", "--engine", "postgres")
    assert result.code != 0 and result.err.count("\n") == 1 and message in result.err


def test_an_unknown_engine_names_the_known_ones(demo_template: Path, cli) -> None:
    result = cli("-w", demo_template, "run", "--engine", "oracle")
    assert result.code != 0 and "duckdb" in result.err and "postgres" in result.err
