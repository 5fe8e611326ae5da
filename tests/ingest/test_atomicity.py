"""A process killed in the middle of an ingest leaves the previous state intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import tagwise

ROWS = 100_000
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


def write_customers(path: Path, version: int) -> None:
    lines = ["customer_id,phone,city,joined"]
    cities = ["上海", "北京", "广州", "深圳"]
    for i in range(ROWS + version * 1000):
        lines.append(
            f"C{i:07d},138{i:08d},{cities[(i + version) % 4]},2024/{1 + i % 12}/{1 + i % 28}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def state(root: Path) -> tuple[int, str, int]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        count, cities = con.execute(
            "SELECT count(*), string_agg(DISTINCT city, ',' ORDER BY city) FROM src.customers "
            "WHERE customer_id = 'C0000000'"
        ).fetchone()
        total = con.execute("SELECT count(*) FROM src.customers").fetchone()[0]
        keys = con.execute("SELECT count(*) FROM meta.customer_keys").fetchone()[0]
    finally:
        con.close()
    assert count == 1
    assert keys >= total
    return total, cities, keys


def ingest_process(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tagwise", "-w", str(root), "ingest", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_killed_ingest_leaves_old_or_new_state(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    write_customers(ws.data_dir / "customers.csv", 0)
    ws.ingest()
    ws.close()
    old = state(ws.root)
    assert old == (ROWS, "上海", ROWS)
    write_customers(ws.data_dir / "customers.csv", 1)
    started = time.perf_counter()
    assert ingest_process(ws.root).wait(timeout=120) == 0
    full = time.perf_counter() - started
    new = state(ws.root)
    assert new == (ROWS + 1000, "北京", ROWS + 1000)
    # back to the old data, then kill re-ingests of the new data at several moments
    write_customers(ws.data_dir / "customers.csv", 0)
    assert ingest_process(ws.root).wait(timeout=120) == 0
    reverted = state(ws.root)
    write_customers(ws.data_dir / "customers.csv", 1)
    seen = set()
    for fraction in (0.3, 0.5, 0.7, 0.9):
        before = state(ws.root)
        proc = ingest_process(ws.root)
        time.sleep(full * fraction)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        after = state(ws.root)
        assert after in (before, new), (fraction, after)
        seen.add(after == new)
        if after == new:  # start from the old state again
            write_customers(ws.data_dir / "customers.csv", 0)
            assert ingest_process(ws.root).wait(timeout=120) == 0
            assert state(ws.root)[:2] == reverted[:2]
            write_customers(ws.data_dir / "customers.csv", 1)
    assert False in seen  # at least one kill landed before the commit
