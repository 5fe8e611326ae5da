"""One `tagwise resolve` of the 1M demo workspace of ``bench_identity.py`` and its quality.

Restores the reset warehouse (``bench_identity.restore``), runs ``tagwise resolve --json``
once in a fresh process with the current environment (``TAGWISE_IDENTITY__MATCHING__*``
settings apply), and prints the wall time, peak RSS, step timings and the pairwise
precision and recall against the generator's truth (``bench_identity.quality``). A quick
check of one setting, not a benchmark of record: use ``bench_identity.py`` for that.

    TAGWISE_IDENTITY__MATCHING__MAX_PAIRS_PER_RECORD=1 python bench/bench_identity_once.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_identity  # noqa: E402 (restore, resolve, quality)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "identity")
    parser.add_argument("--tag", default="1000000-dup10")
    args = parser.parse_args()
    ws, clean = args.out / f"ws{args.tag}", args.out / f"clean{args.tag}.duckdb"
    bench_identity.restore(ws, clean)
    run = bench_identity.resolve(ws, dict(os.environ))
    quality = bench_identity.quality(ws)
    print(
        json.dumps(
            {
                "seconds": run["seconds"],
                "peak_mib": run.get("peak_mib"),
                "timings": run["report"]["timings"],
                "quality": {"precision": quality["precision"], "recall": quality["recall"]},
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
