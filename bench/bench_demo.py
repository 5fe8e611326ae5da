"""Time the demo data generator: rows per second per file, file sizes and peak memory.

Run: `python bench/bench_demo.py --customers 1000000 --out /tmp/demo`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from tagwise.demo.generate import generate

_FILES = {
    "customers": "customers.csv",
    "orders": "orders.parquet",
    "events": "events.parquet",
    "social_profiles": "social_profiles.csv",
    "social_interactions": "social_interactions.csv",
    "surveys": "surveys.jsonl",
    "tickets": "tickets.csv",
    "third_party": "third_party.jsonl",
    "consent": "consent.csv",
}


def main() -> None:
    """Generate once, then print one line per file and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out/demo"))
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    stages: dict[str, float] = {}
    began = time.perf_counter()

    def progress(stage: str, rows: int) -> None:
        stages[stage] = time.perf_counter() - began
        del rows

    stats = generate(args.out, customers=args.customers, seed=args.seed, progress=progress)
    _emit(f"{'file':<26}{'rows':>12}{'MB':>9}{'finished at s':>15}")
    for field, name in _FILES.items():
        rows = getattr(stats, field)
        size = (args.out / name).stat().st_size / 1e6
        _emit(f"{name:<26}{rows:>12,}{size:>9.1f}{_finished(stages, field):>15}")
    total = sum(getattr(stats, field) for field in _FILES)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _emit(f"total {total:,} rows in {stats.seconds:.1f} s = {total / stats.seconds:,.0f} rows/s")
    _emit(f"peak RSS {peak_mb:,.0f} MB; invalid rows listed: {stats.invalid_rows}")


def _finished(stages: dict[str, float], field: str) -> str:
    stage = {"social_profiles": "social", "social_interactions": "social"}.get(field, field)
    seconds = stages.get(stage, stages.get("enrichment"))
    return "" if seconds is None else f"{seconds:.1f}"


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
