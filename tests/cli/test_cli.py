"""The command line end to end: JSON shapes, one-line errors, workspace discovery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from tests.factories import broken_workspace

from tagwise import __version__


def test_version(cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"tagwise {__version__}"


def test_init_creates_the_layout_and_refuses_to_overwrite(cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "shop", "--json")
    assert result.code == 0, result.err
    root = Path(result.json()["workspace"])
    for name in ("tagwise.toml", "sources.yaml", "features.yaml", "tags", "segments", "data"):
        assert (root / name).exists(), name
    assert (root / ".tagwise" / "catalog.sqlite").exists()
    assert (root / ".tagwise" / "warehouse.duckdb").exists()
    again = cli("init", tmp_path / "shop")
    assert again.code == 1
    assert again.err.count("\n") == 1
    assert again.err.startswith("error[conflict]:")


def test_init_with_a_postgresql_catalog(cli, tmp_path: Path, pg_url: str) -> None:
    result = cli("init", tmp_path / "team", "--catalog-url", pg_url, "--json")
    assert result.code == 0, result.err
    assert pg_url in (tmp_path / "team" / "tagwise.toml").read_text()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT key, value FROM workspace_meta")).all())
    engine.dispose()
    assert names["name"] == "team"


def test_ingest_json_and_quarantine(cli, tmp_path: Path) -> None:
    case = broken_workspace(tmp_path / "ws")
    case.ws.close()
    result = cli("-w", case.root, "ingest", "--json")
    assert result.code == 0, result.err
    data = result.json()
    by_name = {s["name"]: s for s in data["sources"]}
    assert set(by_name) == {"customers", "orders"}
    for source in data["sources"]:
        assert source["loaded"] + source["rejected"] == source["read"]
        assert sum(source["reasons"].values()) == source["rejected"]
    assert by_name["orders"]["reasons"]["customer_id: unknown customer"] == 2
    rows = cli("-w", case.root, "quarantine", "orders", "--json").json()["rows"]
    assert next((r["line"], r["reason"]) for r in rows) == (4, "unknown customer")
    table = cli("-w", case.root, "quarantine", "customers")
    assert "data/customers.csv:8" in table.out and "not a valid date" in table.out


def test_human_output_shows_counts(cli, tmp_path: Path) -> None:
    case = broken_workspace(tmp_path / "ws")
    case.ws.close()
    result = cli("-w", case.root, "ingest")
    assert result.code == 0
    assert "customers" in result.out and "rejected" in result.out
    assert "tagwise quarantine" in result.out


def test_workspace_is_found_from_a_subfolder(cli, tmp_path: Path, monkeypatch) -> None:
    case = broken_workspace(tmp_path / "ws")
    case.ws.close()
    monkeypatch.chdir(case.root / "data")
    result = cli("ingest", "orders", "--json")
    assert result.code == 0, result.err
    (orders,) = result.json()["sources"]
    lines = (case.root / "data" / "orders.csv").read_text(encoding="utf-8").splitlines()
    assert (orders["name"], orders["read"]) == ("orders", len(lines) - 1)
    assert not (case.root / "data" / ".tagwise").exists()  # the parent workspace was used
    with duckdb.connect(str(case.root / ".tagwise" / "warehouse.duckdb"), read_only=True) as con:
        (loaded,) = con.execute("SELECT count(*) FROM src.orders").fetchone()
        (rejected,) = con.execute(
            "SELECT count(*) FROM meta.quarantine WHERE source = 'orders'"
        ).fetchone()
    assert (loaded, rejected) == (orders["loaded"], orders["rejected"])
    assert rejected > 0  # no customers were ingested: the orders' customers are unknown


@pytest.mark.parametrize(
    ("setup", "args", "code", "fragment"),
    [
        (None, ["ingest"], "not-found", "no tagwise.toml"),
        ("yaml", ["ingest"], "spec", "sources.yaml:19:5: unknown field `sources.orders.pth`"),
        ("ok", ["ingest", "ordrs"], "not-found", "source `ordrs` is not declared"),
        ("ok", ["quarantine", "ordrs"], "not-found", "source `ordrs` is not declared"),
        ("missing", ["ingest"], "source", "no file matches `orders.csv`"),
        ("toml", ["ingest"], "config", "tagwise.toml"),
    ],
)
def test_user_errors_are_one_line(cli, tmp_path: Path, setup, args, code, fragment) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    if setup:
        broken_workspace(root / "w").ws.close()
        root = root / "w"
    if setup == "yaml":
        text = (
            (root / "sources.yaml")
            .read_text()
            .replace("  orders:\n    path:", "  orders:\n    pth:")
        )
        (root / "sources.yaml").write_text(text)
    if setup == "missing":
        (root / "data" / "orders.csv").unlink()
    if setup == "toml":
        (root / "tagwise.toml").write_text("[catalog\n")
    result = cli("-w", root, *args)
    assert result.code != 0
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"error[{code}]:")
    assert fragment in result.err
    assert "Traceback" not in result.err


def test_errors_with_json_are_json_on_stdout(cli, tmp_path: Path) -> None:
    result = cli("-w", tmp_path, "ingest", "--json")
    assert result.code == 1
    assert result.json()["error"]["code"] == "not-found"


def test_missing_source_still_loads_the_others(cli, tmp_path: Path) -> None:
    case = broken_workspace(tmp_path / "ws")
    case.ws.close()
    (case.root / "data" / "orders.csv").unlink()
    result = cli("-w", case.root, "ingest", "--json")
    assert result.code == 1
    data = result.json()
    assert [s["name"] for s in data["sources"]] == ["customers"]
    assert data["errors"][0]["source"] == "orders"


def test_usage_errors_are_one_line(cli) -> None:
    result = cli("ingest", "--no-such-option")
    assert result.code == 2
    assert result.err.startswith("error[usage]:")
    assert result.err.count("\n") == 1


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tagwise", "-w", str(tmp_path), "ingest", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "not-found"
    assert result.stderr.startswith("error[not-found]:")


def test_ingest_with_a_postgresql_catalog_records_runs_there(cli, tmp_path: Path, pg_url) -> None:
    case = broken_workspace(tmp_path / "ws", catalog_url=pg_url)
    case.ws.close()
    assert cli("-w", case.root, "ingest", "--json").code == 0
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        runs = conn.execute(
            sa.text("SELECT source, status, read_rows, loaded_rows, rejected_rows FROM ingest_runs")
        ).all()
    engine.dispose()
    by_source = {r[0]: r for r in runs}
    assert by_source["customers"][1] == "ok"
    assert by_source["customers"][3] + by_source["customers"][4] == by_source["customers"][2]
    assert not (case.root / ".tagwise" / "catalog.sqlite").exists()


def test_a_second_writer_gets_a_one_line_conflict(cli, tmp_path: Path) -> None:
    case = broken_workspace(tmp_path / "ws")
    case.ws.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(60)",
            str(case.root / ".tagwise" / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = cli("-w", case.root, "ingest")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert result.code == 1
    assert result.err.startswith("error[conflict]: the workspace warehouse is open in another")
    assert result.err.count("\n") == 1


def test_init_demo_ships_a_valid_starter_taxonomy(cli, tmp_path: Path) -> None:
    root = tmp_path / "starter"
    assert cli("init", root, "--demo", "--customers", "300", "--json").code == 0
    assert (root / "taxonomy.yaml").exists()
    assert len(list((root / "tags").glob("*.yaml"))) == 8
    assert [p.name for p in (root / "segments").glob("*.yaml")] == ["marketing.yaml"]
    result = cli("-w", root, "lint", "--json")
    assert result.code == 0, result.out
    assert result.json() == {"ok": True, "problems": []}
    plan = cli("-w", root, "plan", "--json").json()
    kinds = {c["kind"] for c in plan["changes"]}
    assert kinds == {"category", "feature", "tag", "segment"}
    assert all(c["action"] == "add" for c in plan["changes"])
    assert [c["code"] for c in plan["changes"] if c["kind"] == "segment"] == [
        "一线城市活跃客户",
        "高价值女性",
        "高价值流失预警",
    ]


def test_init_without_demo_has_no_tags_and_lints_clean(cli, tmp_path: Path) -> None:
    root = tmp_path / "empty"
    assert cli("init", root).code == 0
    assert cli("-w", root, "lint").code == 0
    assert not list((root / "tags").glob("*.yaml"))


def test_the_catalog_records_who_acted_and_through_which_interface(cli, tmp_path: Path) -> None:
    import getpass  # noqa: PLC0415

    import tagwise  # noqa: PLC0415

    user = getpass.getuser()
    case = broken_workspace(tmp_path / "ws")
    case.ws.ingest(["customers"])  # the Python API's default actor
    case.ws.close()
    assert cli("-w", case.root, "ingest", "orders").code == 0
    robot = tagwise.Actor("nightly", kind="service", via="api")
    with tagwise.open(case.root, actor=robot) as ws:
        ws.ingest(["customers"])
        by_id = sorted((r.id, r.source, r.actor) for r in ws.catalog.ingest_runs())
    assert [(source, actor) for _, source, actor in by_id] == [
        ("customers", f"{user}@python"),
        ("orders", f"{user}@cli"),
        ("customers", "nightly@api"),
    ]
