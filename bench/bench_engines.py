"""Benchmark: the starter taxonomy on DuckDB and on Spark ``local[2]``, side by side.

On the demo workspace of ``bench_run.py`` (ingested once, reused), the sources are exported
once as Parquet partitioned by a hash of the customer key (``export_sources``: the layout
a lake would have); then each repetition, interleaved and each in a fresh process, runs

* ``tagwise run --engine duckdb`` on a fresh warehouse (no tag values yet), and
* ``tagwise run --engine spark`` (``local[2]``) on a fresh warehouse,

and records wall time, stage times and the peak memory of the whole process tree (Python
plus Spark's JVM, sampled from /proc every 0.1 s). After the last repetition the two
runs' values are compared (every customer, tag and value).

    python bench/bench_engines.py --customers 1000000 --repeat 3   # → bench/engines_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_run  # noqa: E402 (the shared workspace and tag list)

AS_OF = bench_run.AS_OF.isoformat()


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (MiB), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def measure(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall time, output and peak tree RSS of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mib(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{err[-3000:]}")
    return {"seconds": seconds, "peak_mib": peak, "report": json.loads(out)}


def run(ws: Path, engine: str, env: dict[str, str]) -> dict[str, Any]:
    args = [bench_run.tagwise_bin(), "-w", str(ws), "run", "--as-of", AS_OF, "--json"]
    args += ["--engine", engine]
    args += [a for code in bench_run.ALL_TAGS for a in ("--tags", code)]
    result = measure(args, env)
    report = result.pop("report")
    return {**result, "stages": report["timings"], "tag_values": report["tag_values"]}


def export_lake(ws: Path, lake: Path, partitions: int) -> dict[str, Any]:
    """The sources as partitioned Parquet (once per size)."""
    import tagwise
    from tagwise.engine.spark import export_sources

    marker = lake / "_done.json"
    if marker.exists():
        return json.loads(marker.read_text())
    started = time.perf_counter()
    with tagwise.open(ws) as opened:
        specs = opened.specs()
        assert specs.sources is not None  # noqa: S101
        rows = export_sources(opened.warehouse, lake, specs.sources, partitions=partitions)
    info = {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info))
    return info


def current_values(ws: Path, target: Path) -> None:
    import duckdb

    con = duckdb.connect(str(bench_run.warehouse(ws)), read_only=True)
    con.execute(
        f"COPY (SELECT cid, tag, value, score FROM tags.current) TO '{target}' (FORMAT parquet)"
    )
    con.close()


def compare(a: Path, b: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    only = con.execute(
        f"SELECT tag, count(*) FROM (SELECT * FROM '{a}' EXCEPT ALL SELECT * FROM '{b}') "
        "GROUP BY tag ORDER BY tag"
    ).fetchall()
    total = con.execute(f"SELECT count(*) FROM '{a}'").fetchone()
    return {"values": total[0] if total else 0, "differing_per_tag": dict(only)}


def median(runs: list[dict[str, Any]], *path: str) -> float:
    def get(r: dict[str, Any]) -> float:
        for p in path:
            r = r[p]
        return float(r)  # type: ignore[arg-type]

    return round(statistics.median(get(r) for r in runs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--results", type=Path, default=HERE / "engines_results.json")
    args = parser.parse_args()
    ws, clean, _ = bench_run.prepare(args.out / "run", args.customers)
    lake = args.out / "engines" / f"lake{args.customers}"
    work = args.out / "engines" / f"work{args.customers}"
    exported = export_lake(ws, lake, args.partitions)
    env = {
        **os.environ,
        "TAGWISE_ENGINE__SPARK_MASTER": "local[2]",
        "TAGWISE_ENGINE__SPARK_SOURCES": str(lake),
        "TAGWISE_ENGINE__SPARK_WORK": str(work),
        "TAGWISE_ENGINE__SPARK_PARTITIONS": str(args.partitions),
        "TAGWISE_ENGINE__SPARK_CONF": json.dumps({"spark.driver.memory": args.driver_memory}),
    }
    runs: dict[str, list[dict[str, Any]]] = {"duckdb": [], "spark": []}
    values = {name: args.out / "engines" / f"values_{name}.parquet" for name in runs}
    for rep in range(args.repeat):
        for name, results in runs.items():
            bench_run.restore(ws, clean)
            shutil.rmtree(work, ignore_errors=True)
            results.append(run(ws, name, env))
            if rep == args.repeat - 1:
                current_values(ws, values[name])
        line = ", ".join(f"{n} {r[-1]['seconds']:.1f} s" for n, r in runs.items())
        print(f"rep {rep}: {line}", file=sys.stderr, flush=True)
    rows = sum(exported["rows"].values())
    summary: dict[str, Any] = {
        "customers": args.customers,
        "source_rows": rows,
        "export_seconds": exported["seconds"],
        "partitions": args.partitions,
        "approaches": {
            name: {
                "seconds": median(r, "seconds"),
                "peak_mib": median(r, "peak_mib"),
                "stages": {s: median(r, "stages", s) for s in ("features", "rules", "swap")},
            }
            for name, r in runs.items()
        },
        "comparison": compare(values["duckdb"], values["spark"]),
        "runs": runs,
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        "code": bench_run.code_version(),
    }
    spark = summary["approaches"]["spark"]
    compute = spark["stages"]["features"] + spark["stages"]["rules"]
    summary["spark_rows_per_core_second"] = round(rows / compute / 2)
    args.results.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
