"""Is the cross-encoder from the [CLS] start short of budget? One cross-encoder round per seed
on the [CLS]-pooled start's labels (cycle 1 of the mechanism check), at each of ``--epochs``
(default 3.2 and 6.4: 224 and 448 steps); STS-B dev only (the reported seeds' test sets are not
looked at). Also prints the spread of the two starts' labels on the pool.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/transencoder_cls_budget.py \
        [--seeds 0,1,2] [--epochs 3.2,6.4]

Cross seeds 0, 1, 2 are not the experiment's (its cross-encoders use seed + 1000 · cycle). The
defaults take about 15 minutes on 2 cores; run it alone (the times are part of the answer).
``--seeds 1 --epochs 4,5`` gave the 280- and 350-step points of the CPU profile's comment.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np

from reprkit.eval.metrics import spearman
from reprkit.methods.transencoder.experiment import load_benchmark, resolve_config
from reprkit.methods.transencoder.method import TransEncoder, _Bi


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", default="3.2,6.4", help="cross epochs over the 560-pair pool")
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")]
    epoch_list = [float(x) for x in args.epochs.split(",")]
    exp = resolve_config("cpu")
    sets, dev = load_benchmark("sts", exp.per_set, exp.n_dev)
    pool = [p for d in sets.values() for p in d.pairs()]
    dv = (dev.pairs(), dev.score)
    out: dict[str, object] = {"pairs": len(pool)}
    labels = {}
    for pooling in ("mean", "cls"):
        te = TransEncoder(replace(exp.transencoder, pooling=pooling), device="cpu", progress=False)
        te.tok_, te.toks_ = te._tokenizer(te._base()), {}
        s = np.asarray(te._bi_scores(_Bi(te._base(), pooling), pool))
        labels[pooling] = s
        out[f"labels_{pooling}"] = {"mean": float(s.mean()), "std": float(s.std()),
                                    "p10": float(np.percentile(s, 10)),
                                    "p90": float(np.percentile(s, 90))}  # fmt: skip
    for seed in seeds:
        for epochs in epoch_list:
            cfg = replace(exp.transencoder, seed=seed, pooling="cls", cross_epochs=epochs)
            te = TransEncoder(cfg, device="cpu", progress=False)
            te.tok_, te.toks_ = te._tokenizer(te._base()), {}
            t = time.perf_counter()
            model = te._train_cross(pool, labels["cls"], seed, "cross", dv)
            res = {
                "steps": cfg.steps("cross", len(pool)),
                "dev": spearman(te._cross_scores(model, dv[0]), dv[1]),
                "wall_time_s": time.perf_counter() - t,
            }
            out[f"seed{seed}_epochs{epochs:g}"] = res
            print(seed, epochs, res, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
