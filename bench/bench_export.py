"""Time a segment export of 1M members to Parquet (issue #14's goal: <= 200 ms).

Run: `flock /work/bench.lock nice -n 5 python bench/bench_export.py --members 1000000`.

The members are a synthetic roaring bitmap (``--members`` cids drawn from a universe of
``--universe`` customers); the customer ids live in a real warehouse file's
``meta.customer_keys`` (one row per customer, as ingestion writes it). Measured,
interleaved in one run (medians):

* **tagwise**: the export path of ``tagwise segment export`` — ``Workspace.customer_ids``
  (``BitMap.to_array`` → Arrow ``uint32`` cids → a ``take`` over the memory-mapped key
  map, ``tagwise.audience.keys``) → the member table → ``write_lists`` (Parquet to a
  temporary file, then the rename). No Python list anywhere. The key map is built once
  beforehand (timed on its own: it is rebuilt only when ingestion or resolution changes
  the customers).
* **tagwise, ids by a join**: the same with the customer ids from one join in the
  warehouse (``identity.store.customer_keys_of``), the path before the key map.
* **tagwise + holdout 10%**: the same with the hash split and the control file beside it.
* **baseline, Python lists**: ``list(bitmap)``, a list comprehension over the mapping (a
  Python list built once, outside the timing), then ``pa.array`` and the same Parquet
  writer: the path the goal says never to take.
* **baseline, DuckDB COPY**: everything in the warehouse: the cids registered, joined to
  ``meta.customer_keys`` and written with ``COPY (…) TO … (FORMAT parquet)``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyroaring import BitMap

import tagwise
from tagwise.audience.export import MemberList, control_path, write_lists
from tagwise.audience.holdout import control_mask
from tagwise.audience.snapshot import cid_array
from tagwise.identity.store import customer_keys_of


def synthetic(members: int, universe: int, seed: int) -> tuple[BitMap, pa.Array]:
    """A bitmap of ``members`` random cids and the customer ids of the whole universe
    (index: cid)."""
    rng = np.random.default_rng(seed)
    cids = np.sort(rng.choice(universe, size=members, replace=False)).astype(np.uint32)
    bitmap = BitMap(cids)
    numbers = pa.array(np.arange(universe, dtype=np.int64))
    mapping = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(numbers, pa.string()), 9, "0"), ""
    )
    return bitmap, mapping


_WORKSPACE: list[tagwise.Workspace] = []
"""The workspace whose ``meta.customer_keys`` holds the universe (opened in main())."""


def workspace_with_keys(folder: Path, mapping: pa.Array) -> tagwise.Workspace:
    """A fresh workspace whose customer keys are the synthetic universe (rid = cid)."""
    ws = tagwise.init(folder / "shop")
    keys = pa.table(
        {
            "customer_id": mapping,
            "cid": pa.array(np.arange(len(mapping), dtype=np.int32)),
            "first_seen": pa.array(np.full(len(mapping), np.datetime64("2026-01-01", "us"))),
            "rid": pa.array(np.arange(len(mapping), dtype=np.int32)),
        }
    )
    ws.warehouse.con.register("bench_keys", keys)
    ws.warehouse.execute("INSERT INTO meta.customer_keys SELECT * FROM bench_keys")
    ws.warehouse.con.unregister("bench_keys")
    return ws


def tagwise_export(bitmap: BitMap, mapping: pa.Array, out: Path) -> int:
    del mapping  # the customer ids come from the workspace's key map
    table = pa.table({"customer_id": _WORKSPACE[0].customer_ids(bitmap)})
    write_lists([MemberList(out, table)])
    return table.num_rows


def tagwise_holdout(bitmap: BitMap, mapping: pa.Array, out: Path) -> int:
    del mapping  # the customer ids come from the workspace's key map
    ids = _WORKSPACE[0].customer_ids(bitmap)
    mask = pa.array(control_mask(ids, share=0.1, seed="bench"))
    target = pa.table({"customer_id": ids.filter(pc.invert(mask))})
    control = pa.table({"customer_id": ids.filter(mask)})
    write_lists([MemberList(out, target), MemberList(control_path(out), control)])
    return target.num_rows + control.num_rows


def warehouse_join(bitmap: BitMap, mapping: pa.Array, out: Path) -> int:
    del mapping  # the customer ids through one join in the warehouse (no key map)
    table = pa.table({"customer_id": customer_keys_of(_WORKSPACE[0].warehouse, cid_array(bitmap))})
    write_lists([MemberList(out, table)])
    return table.num_rows


_PYTHON_MAPPING: list[str] = []
"""The mapping as a Python list, built once outside the timings (the baseline's best case)."""


def python_lists(bitmap: BitMap, mapping: pa.Array, out: Path) -> int:
    del mapping  # the baseline reads the Python list built once in main()
    ids_list = _PYTHON_MAPPING
    members = list(bitmap)
    table = pa.table({"customer_id": pa.array([ids_list[c] for c in members], pa.string())})
    pq.write_table(table, out, compression="zstd")
    return table.num_rows


def duckdb_copy(bitmap: BitMap, mapping: pa.Array, out: Path) -> int:
    del mapping  # all in the warehouse: join the members to the keys and COPY the result
    wh = _WORKSPACE[0].warehouse
    wh.con.register("bench_cids", pa.table({"cid": cid_array(bitmap)}))
    try:
        wh.execute(
            "COPY (SELECT k.customer_id FROM bench_cids w JOIN meta.customer_keys k "
            f"ON k.cid = w.cid ORDER BY w.cid) TO '{out}' (FORMAT parquet)"
        )
    finally:
        wh.con.unregister("bench_cids")
    return len(bitmap)


CASES: dict[str, Callable[[BitMap, pa.Array, Path], int]] = {
    "tagwise": tagwise_export,
    "tagwise + holdout 10%": tagwise_holdout,
    "tagwise, ids by a join": warehouse_join,
    "baseline: python lists": python_lists,
    "baseline: duckdb COPY": duckdb_copy,
}


def main() -> None:
    """Interleave the cases ``--repeat`` times; print medians and ratios to tagwise."""
    parser = argparse.ArgumentParser(description="Time segment exports to Parquet.")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--universe", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    bitmap, mapping = synthetic(args.members, args.universe, args.seed)
    _PYTHON_MAPPING.extend(mapping.to_pylist())
    times: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as folder:
        _WORKSPACE.append(workspace_with_keys(Path(folder), mapping))
        started = time.perf_counter()
        _WORKSPACE[0].customer_ids(BitMap([0]))  # builds the key map file once
        key_map_s = time.perf_counter() - started
        for _ in range(args.repeat):
            for name, case in CASES.items():
                out = Path(folder) / "members.parquet"
                started = time.perf_counter()
                rows = case(bitmap, mapping, out)
                times[name].append(time.perf_counter() - started)
                if rows != args.members or pq.read_metadata(out).num_rows > rows:
                    raise SystemExit(f"{name} wrote {rows} rows, not {args.members}")
        _WORKSPACE.pop().close()
    base = statistics.median(times["tagwise"])
    results = {}
    print(f"{args.members:,} members of {args.universe:,}; medians of {args.repeat}")
    print(f"key map built once (rebuilt when the customers change): {key_map_s * 1000:.0f} ms")
    print(f"{'case':<26}{'median ms':>11}{'min ms':>9}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        results[name] = {
            "median_ms": round(median * 1000, 1),
            "min_ms": round(min(values) * 1000, 1),
        }
        print(f"{name:<26}{median * 1000:>11.1f}{min(values) * 1000:>9.1f}{median / base:>8.2f}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "key_map_build_ms": round(key_map_s * 1000, 1),
                    "results": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
