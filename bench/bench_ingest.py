"""Benchmark: demo generation and ingestion throughput at scale, beside a raw-load floor.

For each repetition (interleaved, fresh processes):

* ``tagwise ingest`` of the demo sources (validation, standardization, quarantine, keys,
  atomic swap), timed per source;
* the floor: DuckDB loading the same files with no validation at all
  (``CREATE TABLE AS SELECT * FROM read_csv/read_parquet``), per source.

Reports medians, rows/s, the ratio to the floor and peak RSS, as JSON and a markdown table.

    python bench/bench_ingest.py --customers 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOOR = r"""
import duckdb, json, sys, time
from pathlib import Path
data, db = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(db)
con.execute("SET enable_progress_bar = false")
files = {
    "customers": "read_csv('{d}/customers.csv', all_varchar=true, ignore_errors=true)",
    "orders": "read_parquet('{d}/orders.parquet')",
    "events": "read_parquet('{d}/events.parquet')",
    "social_profiles": "read_csv('{d}/social_profiles.csv', all_varchar=true)",
    "social_interactions": "read_csv('{d}/social_interactions.csv', all_varchar=true)",
    "surveys": "read_json('{d}/surveys.jsonl', format='newline_delimited', ignore_errors=true)",
    "tickets": "read_csv('{d}/tickets.csv', all_varchar=true, ignore_errors=true)",
    "third_party": "read_json('{d}/third_party.jsonl', format='newline_delimited')",
    "consent": "read_csv('{d}/consent.csv', all_varchar=true)",
}
out = {}
for name, scan in files.items():
    start = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM " + scan.format(d=data))
    out[name] = time.perf_counter() - start
print(json.dumps(out))
"""


def measure(args: list[str]) -> dict:
    cmd = [sys.executable, str(HERE / "measure.py"), "--", *args]
    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{result['stderr']}")
    return result


def generate(out: Path, customers: int) -> dict:
    script = (
        "import json, sys, dataclasses; from pathlib import Path; "
        "from tagwise.demo.generate import generate; "
        f"s = generate(Path({str(out)!r}), customers={customers}); "
        "print(json.dumps(dataclasses.asdict(s)))"
    )
    result = measure([sys.executable, "-c", script])
    stats = json.loads(result["stdout"])
    return {"seconds": result["seconds"], "peak_mib": result["peak_mib"], "rows": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "ingest")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    gen = generate(args.out / "data", args.customers)
    rows = {k: v for k, v in gen["rows"].items() if k not in ("seconds", "invalid_rows")}
    print(
        f"generated {sum(rows.values()):,} rows in {gen['seconds']:.1f} s "
        f"(peak {gen['peak_mib']:.0f} MiB)",
        file=sys.stderr,
    )
    tagwise_bin = str(Path(sys.executable).with_name("tagwise"))
    runs: list[dict] = []
    floors: list[dict] = []
    for rep in range(args.repeat):
        ws = args.out / f"ws{rep}"
        subprocess.run([tagwise_bin, "init", str(ws)], check=True, capture_output=True)
        (ws / "data").rmdir()
        (ws / "data").symlink_to(args.out / "data")
        shutil.copy(HERE.parent / "src/tagwise/demo/templates/sources.yaml", ws / "sources.yaml")
        run = measure([tagwise_bin, "-w", str(ws), "ingest", "--json"])
        report = json.loads(run["stdout"])
        runs.append(
            {
                "seconds": run["seconds"],
                "peak_mib": run["peak_mib"],
                "sources": {s["name"]: s for s in report["sources"]},
            }
        )
        floor = measure(
            [
                sys.executable,
                "-c",
                FLOOR,
                str(args.out / "data"),
                str(args.out / f"floor{rep}.duckdb"),
            ]
        )
        floors.append(
            {
                "seconds": floor["seconds"],
                "peak_mib": floor["peak_mib"],
                "sources": json.loads(floor["stdout"]),
            }
        )
        print(
            f"rep {rep}: tagwise {run['seconds']:.1f} s, floor {floor['seconds']:.1f} s",
            file=sys.stderr,
        )
        shutil.rmtree(ws)
        (args.out / f"floor{rep}.duckdb").unlink()
    summary = summarize(gen, rows, runs, floors)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(markdown(summary))


def summarize(gen: dict, rows: dict, runs: list[dict], floors: list[dict]) -> dict:
    per_source = {}
    for name in runs[0]["sources"]:
        t = statistics.median(r["sources"][name]["seconds"] for r in runs)
        f = statistics.median(fl["sources"][name] for fl in floors)
        read = runs[0]["sources"][name]["read"]
        per_source[name] = {
            "read": read,
            "rejected": runs[0]["sources"][name]["rejected"],
            "seconds": round(t, 2),
            "rows_per_s": round(read / t),
            "floor_seconds": round(f, 2),
            "ratio_to_floor": round(t / f, 2) if f else None,
        }
    total_rows = sum(rows.values())
    total = statistics.median(r["seconds"] for r in runs)
    return {
        "customers": rows["customers"],
        "generate": {
            "seconds": round(gen["seconds"], 1),
            "rows": total_rows,
            "rows_per_s": round(total_rows / gen["seconds"]),
            "peak_mib": round(gen["peak_mib"]),
        },
        "ingest": {
            "seconds": round(total, 1),
            "rows_per_s": round(total_rows / total),
            "peak_mib": round(statistics.median(r["peak_mib"] for r in runs)),
            "floor_seconds": round(statistics.median(f["seconds"] for f in floors), 1),
            "floor_peak_mib": round(statistics.median(f["peak_mib"] for f in floors)),
        },
        "sources": per_source,
        "repeat": len(runs),
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
    }


def markdown(s: dict) -> str:
    lines = [
        "| source | rows read | rejected | tagwise s | rows/s | floor s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in s["sources"].items():
        lines.append(
            f"| {name} | {v['read']:,} | {v['rejected']:,} | {v['seconds']} | "
            f"{v['rows_per_s']:,} | {v['floor_seconds']} | {v['ratio_to_floor']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
