"""Time and peak memory of DIVA's fit + LOO derivative on random data, one fresh process per
point (so each peak is that point's own): N up to 100,000 at D = 512, D up to 2,048 at
N = 5,000, float64 (and float32 at the largest N). No N x N matrix is ever formed: the solves
are D x D (Cholesky) and D x N.

    .venv/bin/python benchmarks/diva_scale.py [--points 100000x512,5000x2048]

Prints one JSON object per point: n, d, dtype, wall_time_s, peak_mem_mb (the process's maximum
resident set, including the random data itself: N x D float64 = 8 N D bytes). Run it alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from reprkit.methods.diva.experiment import SCALING_D, SCALING_N

_CHILD = """
import json, resource, sys
from reprkit.methods.diva.experiment import time_fit_and_derivative
n, d, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t = time_fit_and_derivative(n, d, dtype)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "d": d, "dtype": dtype, "wall_time_s": round(t, 3),
                  "peak_mem_mb": round(peak, 1)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="", help="NxD,NxD,... (default: the experiment's)")
    args = ap.parse_args()
    if args.points:
        points = [(int(p.split("x")[0]), int(p.split("x")[1]), "float64")
                  for p in args.points.split(",")]  # fmt: skip
    else:
        points = [(n, 512, "float64") for n in SCALING_N]
        points += [(5000, d, "float64") for d in SCALING_D if d != 512]
        points.append((max(SCALING_N), 512, "float32"))
    for n, d, dtype in points:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(d), dtype],
                             capture_output=True, text=True, check=True)  # fmt: skip
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
