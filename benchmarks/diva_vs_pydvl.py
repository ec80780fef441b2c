"""Our KNN-Shapley and Data-OOB (``methods/diva/baselines.py``) beside pyDVL's, on the same
features and split, in one run: the experiment's seed-0 split with 40 % pair-flip noise.

pyDVL pins numpy<2, so it runs in its own environment (``benchmarks/diva_pydvl_venv.sh`` makes
``.venv-pydvl``), called from here through files:

    benchmarks/diva_pydvl_venv.sh                      # once
    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/diva_vs_pydvl.py [--datasets digits,cora_text]

Prints JSON per dataset: seconds of each implementation (pyDVL's in its own process, timed
there), the ratio, Pearson and Spearman correlation of the values, and the detection AUC of each
against the flipped labels. KNN-Shapley is the same closed form (Jia et al., 2019) with K = 10
on the validation points, so the values should agree up to tie order; Data-OOB uses different
bootstrap draws and pyDVL's ``BaggingClassifier(RidgeClassifier)`` (±1 targets, unpenalised
intercept) against our bootstrap-weighted one-hot ridge heads, so only a rank agreement is
expected. Run it alone: another CPU-heavy job distorts the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr

from reprkit.methods.diva.baselines import data_oob, knn_shapley
from reprkit.methods.diva.experiment import _auc, corrupt, resolve_config, split
from reprkit.methods.diva.features import load_features
from reprkit.methods.diva.method import DIVA

ROOT = Path(__file__).resolve().parents[1]
K, N_BAGS = 10, 50


def compare(dataset: str, tmp: Path) -> dict:
    cfg = resolve_config("paper")
    x_all, y_all, _ = load_features(dataset)
    tr, va, _ = split(y_all, 0, cfg.val_frac)
    x = (x_all - x_all[tr].mean(0)) / (x_all[tr].std(0) + 1e-8)
    keep, y, flipped = corrupt(y_all[tr], "pairflip40", int(y_all.max()) + 1, 0, cfg)
    xt = x[tr][keep]
    m = DIVA(cfg.diva).fit(xt, y, val=(x[va], y_all[va]))
    ours, secs = {}, {}
    for name, fn in (("knn_shapley", knn_shapley), ("data_oob", data_oob)):
        start = time.perf_counter()
        ours[name] = -fn(m)  # the baselines return suspicion = minus the value
        secs[name] = time.perf_counter() - start
    np.savez(tmp / "in.npz", x_train=xt, y_train=y, x_val=x[va], y_val=y_all[va], k=K,
             lam=m.lam_, n_bags=N_BAGS)  # fmt: skip
    py = ROOT / ".venv-pydvl" / "bin" / "python"
    if not py.exists():
        raise SystemExit("run benchmarks/diva_pydvl_venv.sh first (it makes .venv-pydvl)")
    subprocess.run([str(py), str(ROOT / "benchmarks" / "diva_pydvl_fit.py"), str(tmp / "in.npz"),
                    str(tmp / "out.npz")], check=True)  # fmt: skip
    theirs = np.load(tmp / "out.npz")
    out = {"n": len(y), "d": xt.shape[1], "lam": m.lam_}
    for name, tkey in (("knn_shapley", "knn_s"), ("data_oob", "oob_s")):
        a, b = ours[name], theirs[name]
        out[name] = {
            "ours_s": round(secs[name], 3),
            "pydvl_s": round(float(theirs[tkey]), 3),
            "pydvl_over_ours": round(float(theirs[tkey]) / secs[name], 1),
            "pearson": round(float(pearsonr(a, b)[0]), 4),
            "spearman": round(float(spearmanr(a, b)[0]), 4),
            "auc_ours": round(_auc(-a, flipped), 4),
            "auc_pydvl": round(_auc(-b, flipped), 4),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="digits")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {d: compare(d, Path(tmp)) for d in args.datasets.split(",")}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
