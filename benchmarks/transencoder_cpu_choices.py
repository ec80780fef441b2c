"""How the Trans-Encoder CPU profile's learning rates and mixed precision were chosen: on a seed
that is not reported (100), STS-B dev only, the CPU profile's pool and budget, [CLS] start.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/transencoder_cpu_choices.py [--seed 100]

One cross-encoder round per ``lr_cross`` (labels: the start bi-encoder's cosines, as in cycle
1), then one bi-encoder round per ``lr_bi`` on the best cross-encoder's labels, all with bf16
autocast (``amp``); then the chosen pair again without autocast. Prints JSON: dev Spearman of
each round's kept checkpoint and its ``wall_time_s``; ``peak_mem_mb``. About 11 minutes on 2
cores; run it alone (the times are part of the answer).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import replace

from reprkit.eval.metrics import spearman
from reprkit.methods.transencoder.experiment import load_benchmark, resolve_config
from reprkit.methods.transencoder.method import TransEncoder, _Bi


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=100)
    args = ap.parse_args()
    exp = resolve_config("cpu")
    sets, dev = load_benchmark("sts", exp.per_set, exp.n_dev)
    pool = [p for d in sets.values() for p in d.pairs()]
    dv = (dev.pairs(), dev.score)
    cfg = replace(exp.transencoder, seed=args.seed, pooling="cls")
    te = TransEncoder(cfg, device="cpu", progress=False)
    te.tok_, te.toks_ = te._tokenizer(te._base()), {}
    start = _Bi(te._base(), "cls")
    labels = te._bi_scores(start, pool)
    out: dict[str, object] = {
        "seed": args.seed,
        "pairs": len(pool),
        "steps": {k: cfg.steps(k, len(pool)) for k in ("cross", "bi")},
        "start_dev": spearman(te._bi_scores(start, dv[0]), dv[1]),
    }

    def cross_round(**over):
        te.config = replace(cfg, **over)
        t = time.perf_counter()
        model = te._train_cross(pool, labels, args.seed, "cross", dv)
        wall = time.perf_counter() - t
        return model, {"dev": spearman(te._cross_scores(model, dv[0]), dv[1]), "wall_time_s": wall}

    def bi_round(cross_labels, **over):
        te.config = replace(cfg, **over)
        t = time.perf_counter()
        model = te._train_bi(start, pool, cross_labels, args.seed, "bi", dv)
        wall = time.perf_counter() - t
        return {"dev": spearman(te._bi_scores(model, dv[0]), dv[1]), "wall_time_s": wall}

    best = None
    for lr in (2e-5, 5e-5, 1e-4):
        model, res = cross_round(lr_cross=lr)
        out[f"cross_lr{lr:g}"] = res
        print(lr, res, flush=True)
        if best is None or res["dev"] > best[0]:
            best = (res["dev"], lr, te._cross_scores(model, pool))
    _, lr_cross, cross_labels = best
    best_bi = None
    for lr in (2e-5, 5e-5, 1e-4):
        res = bi_round(cross_labels, lr_bi=lr)
        out[f"bi_lr{lr:g}"] = res
        print(lr, res, flush=True)
        if best_bi is None or res["dev"] > best_bi[0]:
            best_bi = (res["dev"], lr)
    out["chosen"] = {"lr_cross": lr_cross, "lr_bi": best_bi[1]}
    out["cross_fp32"] = cross_round(lr_cross=lr_cross, amp=False)[1]
    out["bi_fp32"] = bi_round(cross_labels, lr_bi=best_bi[1], amp=False)
    out["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
