"""CLI start-up time: ``reprkit --help`` and ``reprkit list`` (issue #21 target: < 1.5 s idle).

Run alone on an idle machine (another CPU-heavy job slows start-up several-fold):
``.venv/bin/python benchmarks/cli_startup.py`` prints JSON with ``wall_time_s`` per command
(median of 5 runs after one warm-up) and ``peak_mem_mb`` of the child process.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPRKIT = Path(sys.executable).with_name("reprkit")


def measure(args: list[str], runs: int = 5) -> dict[str, float]:
    subprocess.run([str(REPRKIT), *args], capture_output=True, check=True)  # warm-up (disk cache)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(REPRKIT), *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "wall_time_s": round(statistics.median(times), 3),
        "peak_mem_mb": round(peak_kb / 1024, 1),
    }


if __name__ == "__main__":
    print(json.dumps({" ".join(a): measure(a) for a in (["--help"], ["list"])}, indent=2))
