"""Ctrl-C (SIGINT) during `ingest` and `run`: one line, exit 130, the catalog says
`interrupted`, and the previous data stay (issue #12). A killed ingest is settled as
`interrupted` when the workspace is next opened."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import tagwise
from tagwise.cli.app import run as cli_run

SRC = Path(__file__).resolve().parents[2] / "src"
ROWS = 150_000
SOURCES = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      phone: {type: phone}
      city: {type: string}
      joined: {type: date}
"""

pytestmark = pytest.mark.slow


def write_customers(path: Path, version: int) -> None:
    cities = ["上海", "北京", "广州", "深圳"]
    lines = ["customer_id,phone,city,joined"]
    lines += [
        f"C{i:07d},138{i:08d},{cities[(i + version) % 4]},2024/{1 + i % 12}/{1 + i % 28}"
        for i in range(ROWS + version * 1000)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tagwise_process(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tagwise", "-w", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )


def catalog_rows(root: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(root / ".tagwise" / "catalog.sqlite", timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()  # closes the pipes
            raise AssertionError(f"the command ended before it started working: {err}")
        assert time.monotonic() < deadline
        time.sleep(0.02)


def interrupt(proc: subprocess.Popen[str], after: float) -> tuple[int, str]:
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    del out
    return proc.returncode, err


def master_state(root: Path) -> tuple[int, str]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        total = con.execute("SELECT count(*) FROM ident.records").fetchone()[0]
        city = con.execute(
            "SELECT city FROM ident.records WHERE customer_id = 'C0000000'"
        ).fetchone()[0]
    finally:
        con.close()
    return int(total), str(city)


def test_ctrl_c_during_ingest(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    write_customers(ws.data_dir / "customers.csv", 0)
    ws.ingest()
    ws.close()
    before = master_state(ws.root)
    assert before == (ROWS, "上海")
    write_customers(ws.data_dir / "customers.csv", 1)  # the new data: 1,000 more, other cities
    last = catalog_rows(ws.root, "SELECT max(id) FROM ingest_runs")[0][0]
    started_sql = f"SELECT count(*) FROM ingest_runs WHERE id > {last} AND status = 'running'"
    interrupted = 0
    for delay in (0.1, 0.4, 0.8):
        proc = tagwise_process(ws.root, "ingest")
        wait_until(lambda s=started_sql: catalog_rows(ws.root, s)[0][0] > 0, proc)
        code, err = interrupt(proc, delay)
        row = catalog_rows(ws.root, "SELECT status, error FROM ingest_runs ORDER BY id DESC")[0]
        if code == 0:  # the signal came after the load: the new data, recorded as ok
            assert row[0] == "ok" and master_state(ws.root) == (ROWS + 1000, "北京")
            break
        interrupted += 1
        assert code == 130, err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("error[interrupted]: interrupted while loading `customers`")
        assert "keeps its previous data" in err
        assert row[0] == "interrupted" and "Ctrl-C" in row[1]
        assert master_state(ws.root) == before
        last = catalog_rows(ws.root, "SELECT max(id) FROM ingest_runs")[0][0]
        started_sql = f"SELECT count(*) FROM ingest_runs WHERE id > {last} AND status = 'running'"
    assert interrupted  # at least one signal landed during the load
    assert not catalog_rows(ws.root, "SELECT id FROM ingest_runs WHERE status = 'running'")


def test_a_killed_ingest_is_settled_when_the_workspace_opens(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    write_customers(ws.data_dir / "customers.csv", 0)
    ws.close()
    proc = tagwise_process(ws.root, "ingest")
    running = "SELECT count(*) FROM ingest_runs WHERE status = 'running'"
    wait_until(lambda: catalog_rows(ws.root, running)[0][0] > 0, proc)
    proc.kill()  # SIGKILL: no handler runs
    proc.communicate(timeout=30)
    assert catalog_rows(ws.root, running)[0][0] == 1  # what a kill leaves behind
    with tagwise.open(ws.root) as reopened:
        _ = reopened.warehouse
        runs = reopened.catalog.ingest_runs()
    assert [r.status for r in runs] == ["interrupted"]
    assert "killed or crashed" in (runs[0].error or "")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interrupt") / "shop"
    assert cli_run(["demo", str(root), "--customers", "20000", "--json"]) == 0
    return root


def current(root: Path) -> set[tuple]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        return set(con.execute("SELECT cid, tag, value, score FROM tags.current").fetchall())
    finally:
        con.close()


def test_ctrl_c_during_run(demo: Path) -> None:
    before = current(demo)
    interrupted = 0
    for delay in (0.05, 0.3, 0.6):
        last = catalog_rows(demo, "SELECT max(id) FROM runs")[0][0]
        proc = tagwise_process(demo, "run", "--as-of", "2027-06-01")
        started = f"SELECT count(*) FROM runs WHERE id > {last}"
        wait_until(lambda s=started: catalog_rows(demo, s)[0][0] > 0, proc)
        code, err = interrupt(proc, delay)
        status, error = catalog_rows(demo, "SELECT status, error FROM runs ORDER BY id DESC")[0]
        if code == 0:  # the signal came after the commit: a complete run
            assert status == "ok"
            break
        interrupted += 1
        assert code == 130, err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("error[interrupted]: run ") and "nothing was changed" in err
        assert status == "interrupted" and "Ctrl-C" in error
        assert current(demo) == before
    assert interrupted
