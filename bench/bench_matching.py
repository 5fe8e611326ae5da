"""Benchmark: probabilistic record matching (``tagwise.identity.matching.match_pairs``).

For each size, generates people with a known truth (``tests/ingest/people.py``: 1–3
records per person, about 10 % extra records, typos, spelling noise, namesakes,
households), stores them in a fresh warehouse file, then times ``match_pairs`` in a fresh
child process so that its peak memory is its own. Reports wall time, peak RSS, candidate
pairs, and the precision and recall of the pairs at or above ``upper`` (merges) and at
or above ``lower`` (merges plus review) against the truth; also the load average, since
other work on the machine changes the time.

    python bench/bench_matching.py                      # 100k and 1M records
    python bench/bench_matching.py --records 1000000 --threads 2
    python bench/bench_matching.py --records 1000000 --engines duckdb spark --repeat 3

``--engines duckdb spark`` runs splink on an in-memory DuckDB and on Spark ``local[N]``
(N = ``--threads``, default 2) side by side, interleaved, each repetition in a fresh
process; for Spark the session start is timed apart from the matching and the peak RSS
adds the JVM's (VmHWM of the driver JVM, which runs the local executors) to Python's.
Both engines' pairs are compared: the table reports how many differ (expected: 0).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def jvm_peak_mib(session: Any) -> float:
    """Peak resident memory of the JVM behind a local Spark session."""
    pid = session.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: Path, threads: int | None, engine: str) -> None:
    """Time one ``match_pairs`` call; print the measurements as JSON."""
    from tagwise.identity.matching import SparkMatching, match_pairs
    from tagwise.settings import EngineSettings, MatchingSettings, WarehouseSettings
    from tagwise.store.warehouse import Warehouse

    settings = MatchingSettings()
    wh = Warehouse(path, WarehouseSettings(threads=threads))
    load_before = os.getloadavg()[0]
    spark, session_seconds = None, 0.0
    if engine == "spark":
        from tagwise.engine.spark import spark_session

        started = time.perf_counter()
        cores = threads or 2
        session, work = spark_session(
            EngineSettings(spark_master=f"local[{cores}]", spark_partitions=2 * cores),
            path.parent,
        )
        spark = SparkMatching(session, work)
        session_seconds = time.perf_counter() - started
    started = time.perf_counter()
    target = f"stage.pairs_{engine}"
    report = match_pairs(
        wh,
        "SELECT rid, name, birthday, city, address FROM stage.people",
        settings=settings,
        target=target,
        spark=spark,
    )
    seconds = time.perf_counter() - started
    peak = peak_rss_mib() + (jvm_peak_mib(spark.session) if spark else 0.0)
    true_pairs = wh.scalar(
        "SELECT count(*) FROM stage.truth a JOIN stage.truth b"
        " ON a.person = b.person AND a.rid < b.rid"
    )
    quality = {}
    for band, minimum in (("merge", settings.upper), ("review_or_merge", settings.lower)):
        hits, found = wh.rows(
            "SELECT count(*) FILTER (WHERE a.person = b.person), count(*)"
            f" FROM {target} p"
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
                "engine": engine,
                "records": report.records,
                "seconds": seconds,
                "session_seconds": session_seconds,
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
    parser.add_argument("--engines", nargs="+", choices=["duckdb", "spark"], default=["duckdb"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "matching")
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.engine)
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
        runs: dict[str, list[dict]] = {e: [] for e in args.engines}
        for repetition in range(args.repeat):
            for engine in args.engines:
                command = [sys.executable, __file__, "--child", str(path), "--engine", engine]
                if args.threads:
                    command += ["--threads", str(args.threads)]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode:
                    sys.exit(f"{engine} failed:\n{done.stderr[-3000:]}")
                runs[engine].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"  {engine} #{repetition + 1}: {runs[engine][-1]['seconds']:.1f} s")
        for measured in runs.values():
            best = dict(measured[-1])
            for key in ("seconds", "session_seconds", "peak_rss_mib", "load_average_before"):
                best[key] = statistics.median(r[key] for r in measured)
            best["seconds_all"] = [round(r["seconds"], 2) for r in measured]
            best["differing_pairs"] = differing(path, args.engines)
            results.append(best)
    print()
    print(
        "| engine | records | seconds (median) | session start | peak RSS MiB | candidates "
        "| merges | precision | recall | ≥ lower: precision | recall | pairs differing "
        "| load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        merge, review = r["quality"]["merge"], r["quality"]["review_or_merge"]
        print(
            f"| {r['engine']} | {r['records']:,} | {r['seconds']:.1f} "
            f"| {r['session_seconds']:.1f} | {r['peak_rss_mib']:.0f} "
            f"| {r['candidates']:,} | {r['merges']:,} | {merge['precision']:.4f} "
            f"| {merge['recall']:.4f} | {review['precision']:.4f} | {review['recall']:.4f} "
            f"| {r['differing_pairs']} | {r['load_average_before']:.1f} |"
        )
    target = args.results or args.out / "results.json"
    target.write_text(json.dumps(results, indent=2), encoding="utf-8")


def differing(path: Path, engines: list[str]) -> int | None:
    """Pairs found by one engine only, or with a probability differing by more than 1e-9."""
    if len(engines) < 2:
        return None
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        a, b = (f"stage.pairs_{e}" for e in engines[:2])
        return int(
            con.execute(
                f"SELECT count(*) FROM {a} x FULL JOIN {b} y USING (rid_l, rid_r)"
                " WHERE x.rid_l IS NULL OR y.rid_l IS NULL"
                " OR abs(x.probability - y.probability) > 1e-9"
            ).fetchone()[0]
        )
    finally:
        con.close()


if __name__ == "__main__":
    main()
