"""Attribution speed and accuracy of ours beside ``shap``'s ``PermutationExplainer``, on the same
value function, scenes and number of permutations, in one run; both against exact enumeration.

    .venv/bin/pip install -e '.[bench]'      # shap
    .venv/bin/python benchmarks/trajshap_vs_shap.py [--scenes 200] [--orders 32]

The model: the social-attention predictor trained briefly on ``synthetic_interaction`` (its
neighbours matter, so the attributions are not trivially 0). The game: zero removal, players =
the target's past, each neighbour and one injected random neighbour (up to 8), value ``-minADE``
(``ShapleyAttribution.game``). Ours: the permutation estimator batched over the scenes'
coalitions. shap: one ``PermutationExplainer`` per scene over the same value function (its
input is the coalition mask, the masker's background all zeros), ``max_evals`` chosen so it
walks the same number of orders (shap walks each permutation forwards and backwards: orders / 2
iterations of 2n + 1 evaluations). Prints JSON: seconds of each, per 1,000 scenes, the ratio,
and the mean |φ − φ_exact| of each. Run it alone: another CPU-heavy job distorts the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch

from reprkit.datasets.trajectories import synthetic_interaction
from reprkit.methods.trajshap.models import train
from reprkit.methods.trajshap.shapley import ShapleyAttribution


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--orders", type=int, default=32)
    args = ap.parse_args()
    import shap  # the bench extra

    data = synthetic_interaction(3000, seed=0)
    gen = torch.Generator().manual_seed(0)
    model = train("social", data.subset(slice(0, 2000)), data.subset(slice(2000, 2500)),
                  epochs=3, k=20, hidden=64, max_per_epoch=4000, gen=gen)  # fmt: skip
    scenes = data.subset(slice(2500, 2500 + args.scenes))
    ours = ShapleyAttribution(model, n_samples=args.orders, progress=False)

    start = time.perf_counter()
    att = ours.attribute(scenes)
    t_ours = time.perf_counter() - start
    exact = ShapleyAttribution(model, estimator="exact", progress=False).attribute(scenes)

    v, players, _ = ours.game(scenes)
    phi_shap = np.zeros_like(att.phi)
    np.random.seed(0)  # shap shuffles with numpy's global generator
    start = time.perf_counter()
    for k in range(len(scenes)):
        x = players[k].astype(float)[None]  # the grand coalition; absent slots never vary
        n_var = int(players[k].sum())

        def f(masks: np.ndarray, k: int = k) -> np.ndarray:
            return v(masks.astype(bool)[None], idx=[k])[0]

        explainer = shap.PermutationExplainer(
            f, shap.maskers.Independent(np.zeros((1, x.shape[1])))
        )
        out = explainer(x, max_evals=args.orders // 2 * (2 * n_var + 1), silent=True)
        phi_shap[k] = out.values[0]
    t_shap = time.perf_counter() - start

    act = exact.active
    res = {
        "scenes": len(scenes),
        "orders": args.orders,
        "players_max": int(players.sum(1).max()),
        "ours_s": t_ours,
        "shap_s": t_shap,
        "ours_s_per_1k": t_ours * 1000 / len(scenes),
        "shap_s_per_1k": t_shap * 1000 / len(scenes),
        "speed_ratio": t_shap / t_ours,
        "ours_mae_vs_exact": float(np.abs(att.phi - exact.phi)[act].mean()),
        "shap_mae_vs_exact": float(np.abs(phi_shap - exact.phi)[act].mean()),
        "exact_mean_abs_phi": float(np.abs(exact.phi)[act].mean()),
        "peak_mem_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
