"""The key map: cid → customer_id from a memory-mapped file, equal to the warehouse's join,
rebuilt whenever the customers change or the file is damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import tagwise
from tagwise.audience.keys import KeyMap
from tagwise.identity.store import customer_keys_of


@pytest.fixture
def ws(tmp_path: Path):
    workspace = tagwise.init(tmp_path / "shop")
    wh = workspace.warehouse
    # 2,000 records: cids 0..1999 with gaps (every 7th cid absorbed into its neighbour)
    rows = []
    for rid in range(2000):
        cid = rid - 1 if rid % 7 == 3 else rid
        rows.append((f"客户{rid:05d}", cid, rid))
    wh.con.register(
        "t_keys",
        pa.table(
            {
                "customer_id": [r[0] for r in rows],
                "cid": pa.array([r[1] for r in rows], pa.int32()),
                "rid": pa.array([r[2] for r in rows], pa.int32()),
            }
        ),
    )
    wh.execute(
        "INSERT INTO meta.customer_keys SELECT customer_id, cid, TIMESTAMP '2026-01-01', rid "
        "FROM t_keys"
    )
    wh.con.unregister("t_keys")
    yield workspace
    workspace.close()


def survivors(ws) -> pa.Array:
    cids = [c for (c,) in ws.warehouse.rows("SELECT cid FROM meta.customer_keys WHERE rid = cid")]
    return pa.array(sorted(cids), pa.uint32())


def test_the_map_equals_the_warehouse_join(ws, tmp_path: Path) -> None:
    everyone = survivors(ws)
    rng = np.random.default_rng(7)
    keys = KeyMap(tmp_path / "index", ws.warehouse)
    for size in (0, 1, 50, len(everyone)):
        chosen = pa.array(np.sort(rng.choice(everyone.to_numpy(), size, replace=False)))
        want = customer_keys_of(ws.warehouse, chosen)
        assert keys.customer_ids(chosen).to_pylist() == want.to_pylist()


def test_the_file_is_reused_until_the_customers_change(ws, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    KeyMap(folder, ws.warehouse).customer_ids(pa.array([0], pa.uint32()))
    path = folder / "customer_ids.arrow"
    written = path.stat().st_mtime_ns
    assert KeyMap(folder, ws.warehouse).customer_ids(pa.array([5], pa.uint32())).to_pylist() == [
        "客户00005"
    ]
    assert path.stat().st_mtime_ns == written  # read, not rebuilt
    ws.warehouse.execute(
        "INSERT INTO meta.customer_keys VALUES ('新客户', 5000, TIMESTAMP '2026-02-01', 5000)"
    )
    fresh = KeyMap(folder, ws.warehouse).customer_ids(pa.array([5000], pa.uint32()))
    assert fresh.to_pylist() == ["新客户"]
    assert path.stat().st_mtime_ns != written


def test_a_damaged_file_is_rebuilt(ws, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    KeyMap(folder, ws.warehouse).customer_ids(pa.array([0], pa.uint32()))
    path = folder / "customer_ids.arrow"
    path.write_bytes(path.read_bytes()[:100])
    got = KeyMap(folder, ws.warehouse).customer_ids(pa.array([2, 4], pa.uint32()))
    assert got.to_pylist() == ["客户00002", "客户00004"]
    assert sorted(p.name for p in folder.iterdir()) == ["customer_ids.arrow"]


def test_an_absorbed_cid_has_no_customer_id(ws, tmp_path: Path) -> None:
    # cid 3 was absorbed (record 3 joined customer 2): no customer has cid 3 any more
    got = KeyMap(tmp_path / "index", ws.warehouse).customer_ids(pa.array([2, 3], pa.uint32()))
    assert got.to_pylist() == ["客户00002", None]
