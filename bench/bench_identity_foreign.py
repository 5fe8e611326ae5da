"""Benchmark: matching on data Tagwise was not tuned to (#13), beside plain splink.

Generated FEBRL-like persons (``tagwise.demo.persons``: one to five duplicates per
person, typos, transpositions, swapped names, missing values, corrupted dates,
abbreviations) at each size. In the same run, each in a fresh process, interleaved per
repetition:

* **tagwise**: ``match_pairs`` with the shipped defaults on the four fields Tagwise
  matches on (name = given name + surname, birthday, city = suburb, address = street
  number + street), as resolution reads them from ``match_on``;
* **splink**: a plain splink 5 deduplication of the same four fields, trained as its
  documentation recommends (``tests/identity/persons_support.py``: prior from a
  deterministic rule, u by random sampling, m by EM on two blocking rules).

Quality is precision and recall against the generator's truth, computed here with
numpy, of the merged pairs (probability >= 0.99 for both; Tagwise's review band
``>= lower`` beside) and of the customers they make (``clusters``: records linked by a
chain of merged pairs are one customer, as resolution and splink's
``cluster_pairwise_predictions_at_threshold`` make them; every two records of a customer
count as a found pair); time is the wall time of the matching call (the
splink time includes its training). Medians over ``--repeat`` runs.

    python bench/bench_identity_foreign.py --sizes 10000 100000 1000000 --repeat 1
    python bench/bench_identity_foreign.py --sizes 10000 --repeat 3 --splink-max 100000
    BENCH_MAX_PAIRS_PER_RECORD=1 python bench/bench_identity_foreign.py --splink-max 0  # a budget
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))  # this checkout's tagwise, not the installed one


def prepare(out: Path, size: int, seed: int) -> Path:
    """Generated records (Parquet) and their truth (npz) for one size; returns the folder."""
    import numpy as np
    import pyarrow.parquet as pq

    from tagwise.demo.persons import generate_persons

    folder = out / f"persons_{size}_{seed}"
    if (folder / "truth.npz").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    persons = generate_persons(size, seed=seed)
    seconds = time.perf_counter() - started
    pq.write_table(persons.records, folder / "records.parquet")
    np.savez(
        folder / "truth.npz",
        person=persons.person,
        kinds=persons.kinds,
        corruptions=persons.corruptions,
    )
    (folder / "generated.json").write_text(json.dumps({"seconds": seconds, "records": size}))
    return folder


def _persons(folder: Path) -> Any:
    import numpy as np
    import pyarrow.parquet as pq

    from tagwise.demo.persons import Persons

    truth = np.load(folder / "truth.npz")
    return Persons(
        pq.read_table(folder / "records.parquet"),
        truth["person"],
        truth["kinds"],
        truth["corruptions"],
    )


def child(engine: str, folder: Path, dest: Path) -> None:
    """Run one matcher; write its pairs (npz) and print its measurements as JSON."""
    import numpy as np

    persons = _persons(folder)
    out: dict[str, Any] = {"engine": engine}
    if engine == "tagwise":
        from tests.identity.persons_support import load, tagwise_pairs

        from tagwise.settings import MatchingSettings, WarehouseSettings
        from tagwise.store.warehouse import Warehouse

        db = dest.with_suffix(".duckdb")
        db.unlink(missing_ok=True)
        wh = Warehouse(db, WarehouseSettings(threads=2))
        load(wh, persons)
        budget = os.environ.get("BENCH_MAX_PAIRS_PER_RECORD")
        chosen = None if budget is None else MatchingSettings(max_pairs_per_record=float(budget))
        merged, queued, report = tagwise_pairs(wh, chosen)
        wh.close()
        db.unlink(missing_ok=True)
        np.savez(
            dest,
            left=merged.left,
            right=merged.right,
            review_left=queued.left,
            review_right=queued.right,
        )
        out |= {
            "seconds": merged.seconds,
            "candidates": report.candidates,
            "skipped_blocks": report.skipped_blocks,
            "prior": report.prior,
        }
    else:
        from tests.identity.persons_support import splink_pairs

        found = splink_pairs(persons)
        np.savez(dest, left=found.left, right=found.right)
        out["seconds"] = found.seconds
    out["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(out))


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_child(engine: str, folder: Path, dest: Path, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--folder", str(folder),
             "--dest", str(dest)],
            capture_output=True, text=True, env=env, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"engine": engine, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"engine": engine, "error": done.stderr.strip().splitlines()[-1:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def score(folder: Path, dest: Path) -> dict[str, Any]:
    import numpy as np

    from tagwise.demo.persons import Kind

    persons = _persons(folder)
    found = np.load(dest)
    merged = persons.score(found["left"], found["right"])
    clusters = persons.score_clusters(found["left"], found["right"])
    out: dict[str, Any] = {
        "pairs": merged.found,
        "true_pairs": merged.true,
        "precision": round(merged.precision, 5),
        "recall": round(merged.recall, 5),
        "clusters": {
            "pairs": clusters.found,
            "precision": round(clusters.precision, 5),
            "recall": round(clusters.recall, 5),
        },
        "recall_by_kind": {
            k.name.lower(): round(persons.score_kind(k, found["left"], found["right"]).recall, 4)
            for k in Kind
        },
    }
    if "review_left" in found:
        queued = persons.score(found["review_left"], found["review_right"])
        grouped = persons.score_clusters(found["review_left"], found["review_right"])
        out["review_or_merge"] = {
            "pairs": queued.found,
            "precision": round(queued.precision, 5),
            "recall": round(queued.recall, 5),
            "clusters_precision": round(grouped.precision, 5),
            "clusters_recall": round(grouped.recall, 5),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--splink-max", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "identity_foreign")
    parser.add_argument("--results", type=Path, default=HERE / "identity_foreign_results.json")
    parser.add_argument("--child")
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--dest", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.dest)
        return
    results: dict[str, Any] = {"sizes": {}}
    for size in args.sizes:
        folder = prepare(args.out, size, args.seed)
        engines = ["tagwise"] + (["splink"] if size <= args.splink_max else [])
        runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
        for repetition in range(args.repeat):
            for engine in engines:
                dest = args.out / f"{engine}_{size}_{repetition}.npz"
                measured = run_child(engine, folder, dest, args.timeout)
                if "error" not in measured:
                    measured |= score(folder, dest)
                runs[engine].append(measured)
                print(json.dumps({"size": size, **measured}), flush=True)
        summary = {}
        for engine, measured in runs.items():
            good = [m for m in measured if "error" not in m]
            if not good:
                summary[engine] = {"error": measured[0].get("error")}
                continue
            summary[engine] = {
                "seconds_median": round(statistics.median(m["seconds"] for m in good), 2),
                "peak_rss_mib_median": round(statistics.median(m["peak_rss_mib"] for m in good)),
                **{k: v for k, v in good[0].items() if k not in {"seconds", "peak_rss_mib"}},
            }
        if "splink" in summary and "seconds_median" in summary.get("splink", {}):
            summary["time_ratio_tagwise_over_splink"] = round(
                summary["tagwise"]["seconds_median"] / summary["splink"]["seconds_median"], 3
            )
        generated = json.loads((folder / "generated.json").read_text())
        results["sizes"][str(size)] = {"generate_seconds": generated["seconds"], **summary}
    results["repeat"] = args.repeat
    results["machine"] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    args.results.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
