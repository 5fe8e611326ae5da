"""Run one command as a child process; print its wall time and peak RSS as JSON.

Used by the benchmarks so that every repetition is a fresh process whose peak memory is
its own: ``python bench/measure.py -- tagwise ingest``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    args = sys.argv[sys.argv.index("--") + 1 :]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak_kib / 1024,
                "returncode": result.returncode,
                "stdout": result.stdout,
                "stderr": result.stderr[-2000:],
            }
        )
    )


if __name__ == "__main__":
    main()
