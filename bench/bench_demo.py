"""Time the demo data generator: rows per second per file, file sizes and peak memory.

Run: `python bench/bench_demo.py --customers 1000000 --out /tmp/demo`.

A worker thread writes events and then consent while the main thread writes the rest, so
each file is timed from the end of the stage before it on its thread (events from the start
of `generate`, which includes building the population). Both social files share one rate.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from tagwise.demo.generate import generate

# (DemoStats field, file, progress stage, thread) in the order each thread writes them
_FILES = (
    ("customers", "customers.csv", "customers", "main"),
    ("orders", "orders.parquet", "orders", "main"),
    ("surveys", "surveys.jsonl", "surveys", "main"),
    ("social_profiles", "social_profiles.csv", "social", "main"),
    ("social_interactions", "social_interactions.csv", "social", "main"),
    ("tickets", "tickets.csv", "tickets", "main"),
    ("third_party", "third_party.jsonl", "third_party", "main"),
    ("events", "events.parquet", "events", "worker"),
    ("consent", "consent.csv", "consent", "worker"),
)


def main() -> None:
    """Generate once, then print one line per file and a summary."""
    parser = argparse.ArgumentParser(description="Time the demo data generator.")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out/demo"))
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    finished: dict[str, float] = {}
    began = time.perf_counter()

    def progress(stage: str, rows: int) -> None:
        del rows
        finished[stage] = time.perf_counter() - began

    stats = generate(args.out, customers=args.customers, seed=args.seed, progress=progress)
    print(f"{'file':<25}{'rows':>12}{'MB':>9}{'done at s':>11}{'rows/s':>13}")
    stage_rows: dict[str, int] = {}
    for field, _, stage, _ in _FILES:
        stage_rows[stage] = stage_rows.get(stage, 0) + getattr(stats, field)
    previous = {"main": 0.0, "worker": 0.0}
    for field, name, stage, thread in _FILES:
        size = (args.out / name).stat().st_size / 1e6
        rate = stage_rows[stage] / max(finished[stage] - previous[thread], 1e-9)
        rows = getattr(stats, field)
        print(f"{name:<25}{rows:>12,}{size:>9.1f}{finished[stage]:>11.1f}{rate:>13,.0f}")
        if field != "social_profiles":
            previous[thread] = finished[stage]
    total = sum(getattr(stats, field) for field, _, _, _ in _FILES)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {total:,} rows in {stats.seconds:.1f} s ({total / stats.seconds:,.0f} rows/s)")
    print(f"peak RSS {peak_mb:,.0f} MB; rows listed in _truth/invalid.csv: {stats.invalid_rows}")


if __name__ == "__main__":
    main()
