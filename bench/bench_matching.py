"""Benchmark: probabilistic record matching (``tagwise.ingest.matching.match_pairs``).

For each size, generates people with a known truth (``tests/ingest/people.py``: 1–3
records per person, about 10 % extra records, typos, spelling noise, namesakes,
households), stores them in a fresh warehouse file, then times ``match_pairs`` in a fresh
child process so that its peak memory is its own. Reports wall time, peak RSS, candidate
pairs, and the precision and recall of the pairs at or above ``upper`` (merges) and at
or above ``lower`` (merges plus review) against the truth; also the load average, since
other work on the machine changes the time.

    python bench/bench_matching.py                      # 100k and 1M records
    python bench/bench_matching.py --records 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def prepare(path: Path, records: int, seed: int) -> None:
    """A warehouse with ``stage.people`` (the records) and ``stage.truth`` (rid → person)."""
    import numpy as np
    import pyarrow as pa
    from tests.ingest.people import generate

    from tagwise.store.warehouse import Warehouse

    people = generate(records, seed=seed)
    truth = pa.table(
        {
            "rid": pa.array(np.arange(records, dtype=np.int32)),
            "person": pa.array(people.person),
        }
    )
    wh = Warehouse(path)
    for name, table in (("stage.people", people.records), ("stage.truth", truth)):
        wh.con.register("__arrow", table)
        wh.execute(f"CREATE TABLE {name} AS SELECT * FROM __arrow")
        wh.con.unregister("__arrow")
    wh.close()


def peak_rss_mib() -> float:
    """Peak resident memory of this process since it started (VmHWM). Not ru_maxrss: Linux
    carries that over from the parent through fork and exec, and the parent generated the
    data."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path, threads: int | None) -> None:
    """Time one ``match_pairs`` call; print the measurements as JSON."""
    from tagwise.ingest.matching import match_pairs
    from tagwise.settings import MatchingSettings, WarehouseSettings
    from tagwise.store.warehouse import Warehouse

    settings = MatchingSettings()
    wh = Warehouse(path, WarehouseSettings(threads=threads))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    report = match_pairs(
        wh,
        "SELECT rid, name, birthday, city, address FROM stage.people",
        settings=settings,
        target="stage.match_pairs",
    )
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    true_pairs = wh.scalar(
        "SELECT count(*) FROM stage.truth a JOIN stage.truth b"
        " ON a.person = b.person AND a.rid < b.rid"
    )
    quality = {}
    for band, minimum in (("merge", settings.upper), ("review_or_merge", settings.lower)):
        hits, found = wh.rows(
            "SELECT count(*) FILTER (WHERE a.person = b.person), count(*) FROM stage.match_pairs p"
            " JOIN stage.truth a ON a.rid = p.rid_l JOIN stage.truth b ON b.rid = p.rid_r"
            " WHERE p.probability >= ?",
            [minimum],
        )[0]
        quality[band] = {
            "pairs": found,
            "precision": hits / found if found else 1.0,
            "recall": hits / true_pairs,
        }
    print(
        json.dumps(
            {
                "records": report.records,
                "seconds": seconds,
                "peak_rss_mib": peak,
                "candidates": report.candidates,
                "pairs": report.pairs,
                "merges": report.merges,
                "true_pairs": true_pairs,
                "quality": quality,
                "threads": wh.scalar("SELECT current_setting('threads')"),
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()[0],
            }
        )
    )
    wh.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "matching")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads)
        return
    results = []
    for records in args.records:
        folder = args.out / str(records)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        path = folder / "warehouse.duckdb"
        started = time.perf_counter()
        prepare(path, records, args.seed)
        print(f"{records:>9,} records generated in {time.perf_counter() - started:.1f} s")
        command = [sys.executable, __file__, "--child", str(path)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print(
        "| records | seconds | peak RSS MiB | candidates | merges | precision | recall "
        "| ≥ lower: precision | recall | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        merge, review = r["quality"]["merge"], r["quality"]["review_or_merge"]
        print(
            f"| {r['records']:,} | {r['seconds']:.1f} | {r['peak_rss_mib']:.0f} "
            f"| {r['candidates']:,} | {r['merges']:,} | {merge['precision']:.4f} "
            f"| {merge['recall']:.4f} | {review['precision']:.4f} | {review['recall']:.4f} "
            f"| {r['load_average_before']:.1f} |"
        )
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
