"""Benchmark: the change feed's cost per run, and what a follower pays to catch up.

On the demo workspace of ``bench_run.py`` (``bench/out/run/ws<N>``, built on first use), each
repetition restores the warehouse to "ingested, never run", then:

1. ``tagwise run --as-of 2026-11-01`` (the first run: every value is a change) in a fresh
   process, wall time and peak RSS (``bench/measure.py``);
2. a follower at sequence 0 reads that run's commit as Arrow
   (``TagStore.commit_changes_table``): seconds and rows;
3. the **baseline** the feed's design avoids: writing every change of the run as a row of a
   feed table inside the run (``CREATE TABLE … AS`` the same changes), i.e. what the run
   would pay if the feed stored one row per change;
4. ``tagwise run --as-of 2026-12-01`` (a month later: real changes), and the follower
   reading that commit;
5. one edit commit of 10,000 single-customer decisions (``TagStore.apply``) and its read.

    python bench/bench_feed.py --customers 1000000 --repeat 3   # → bench/feed_results.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_run  # noqa: E402 (the workspace, restore and measure helpers of the #4 benchmark)

FIRST, LATER = date(2026, 11, 1), date(2026, 12, 1)


def run(ws: Path, day: date) -> dict[str, Any]:
    result = bench_run.measure(
        [bench_run.tagwise_bin(), "-w", str(ws), "run", "--as-of", day.isoformat(), "--json"]
    )
    if result["returncode"] != 0:
        raise SystemExit(result["stderr"])
    report = json.loads(result["stdout"])
    return {
        "seconds": result["seconds"],
        "peak_mib": result["peak_mib"],
        "swap_s": report["timings"]["swap"],
        "changes": report["changes"],
    }


def follow(ws: Path, after: int) -> dict[str, Any]:
    """In a fresh process: read every commit after ``after`` as Arrow, time each."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "follow", "--ws", str(ws), "--after", str(after)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def worker_follow(ws: Path, after: int) -> dict[str, Any]:
    import tagwise

    with tagwise.open(ws) as w:
        store = w.tag_store
        commits = []
        for commit in store.commits_since(after):
            started = time.perf_counter()
            table = store.commit_changes_table(commit)
            read = time.perf_counter() - started
            w.warehouse.con.register("feed_rows", table)
            started = time.perf_counter()
            w.warehouse.execute("CREATE OR REPLACE TABLE stage.feed_copy AS FROM feed_rows")
            copy = time.perf_counter() - started
            w.warehouse.execute("DROP TABLE stage.feed_copy")
            w.warehouse.con.unregister("feed_rows")
            commits.append(
                {
                    "seq": commit.seq,
                    "kind": commit.kind,
                    "rows": table.num_rows,
                    "read_s": read,
                    "materialize_s": copy,
                }
            )
        return {"commits": commits, "last_seq": store.last_seq()}


def worker_edit(ws: Path, count: int) -> dict[str, Any]:
    import tagwise
    from tagwise.store.tags import Edit

    with tagwise.open(ws) as w:
        cids = [
            int(r[0])
            for r in w.warehouse.rows(
                f"SELECT DISTINCT cid FROM meta.customer_keys ORDER BY hash(cid) LIMIT {int(count)}"
            )
        ]
        edits = [Edit(cid=c, tag="spend_level", values=("高消费",)) for c in cids]
        started = time.perf_counter()
        commit = w.tag_store.apply(edits, source="manual", actor="bench")
        seconds = time.perf_counter() - started
        if commit is None:
            raise SystemExit("the edits changed nothing")
        return {"edits": len(edits), "apply_s": seconds, "seq": commit.seq}


def edit(ws: Path, count: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "edit", "--ws", str(ws), "--count", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def repetition(ws: Path, clean: Path) -> dict[str, Any]:
    bench_run.restore(ws, clean)
    first = run(ws, FIRST)
    followed = follow(ws, 0)
    later = run(ws, LATER)
    after_later = follow(ws, followed["last_seq"])
    edited = edit(ws, 10_000)
    after_edit = follow(ws, after_later["last_seq"])
    return {
        "first_run": first,
        "first_feed": followed["commits"][-1],
        "later_run": later,
        "later_feed": after_later["commits"][-1],
        "edit": edited,
        "edit_feed": after_edit["commits"][-1],
    }


def med(reps: list[dict[str, Any]], *path: str) -> float:
    values = []
    for rep in reps:
        v: Any = rep
        for key in path:
            v = v[key]
        values.append(float(v))
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "run")
    parser.add_argument("--results", type=Path, default=HERE / "feed_results.json")
    parser.add_argument("--worker", choices=["follow", "edit"], help=argparse.SUPPRESS)
    parser.add_argument("--ws", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--after", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=10_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "follow":
        print(json.dumps(worker_follow(args.ws, args.after)))
        return
    if args.worker == "edit":
        print(json.dumps(worker_edit(args.ws, args.count)))
        return
    ws, clean, _ = bench_run.prepare(args.out, args.customers)
    reps = [repetition(ws, clean) for _ in range(args.repeat)]
    summary = {
        "customers": args.customers,
        "repeat": args.repeat,
        "code": bench_run.code_version(),
        "first_run_s": med(reps, "first_run", "seconds"),
        "first_run_swap_s": med(reps, "first_run", "swap_s"),
        "first_run_changes": med(reps, "first_feed", "rows"),
        "first_feed_read_s": med(reps, "first_feed", "read_s"),
        "per_change_feed_table_s": med(reps, "first_feed", "materialize_s"),
        "later_run_s": med(reps, "later_run", "seconds"),
        "later_run_changes": med(reps, "later_feed", "rows"),
        "later_feed_read_s": med(reps, "later_feed", "read_s"),
        "edit_apply_s": med(reps, "edit", "apply_s"),
        "edit_rows": med(reps, "edit_feed", "rows"),
        "edit_feed_read_s": med(reps, "edit_feed", "read_s"),
        "runs": reps,
    }
    args.results.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
