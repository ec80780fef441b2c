"""Training throughput of Trans-Encoder's two students against sentence-transformers' own
``CrossEncoder.fit`` / ``SentenceTransformer.fit``, side by side in one process, on the same
pairs, batch, lengths, learning rate and schedule (MiniLM, CPU).

    .venv/bin/pip install -e '.[text,bench]'   # sentence-transformers' fit needs accelerate
    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/transencoder_throughput.py \
        [--pairs 256] [--batch-cross 8] [--batch-bi 16] [--repeats 2]

Cross-encoder: each pair in both orders, ``batch_cross`` pairs per step (= ``2 * batch_cross``
examples per step for sentence-transformers, whose data loader holds both orders), max length
64, BCE with logits. Bi-encoder: ``batch_bi`` pairs per step, max length 32, MSE of the cosine
(``CosineSimilarityLoss``). One epoch each; every call (model load and set-up included) is
timed, the faster of ``--repeats`` kept. Labels: the start bi-encoder's cosines, as in cycle 1.
Ours runs with bf16 autocast (``amp``, the default) and again in fp32, the precision
sentence-transformers' ``fit`` uses on CPU. Prints JSON: ``pairs_per_s`` of each, the ratios
(``*_speed_ratio``: theirs' time / ours' with bf16; ``*_speed_ratio_fp32``: both fp32) and
``peak_mem_mb``. Run it
alone: another CPU-heavy job distorts the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from dataclasses import replace

import numpy as np
import torch

from reprkit.datasets.text import STS_SETS, load_sts
from reprkit.methods.transencoder import TransEncoder
from reprkit.methods.transencoder.method import _Bi
from reprkit.models.text import default_model_path


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--batch-cross", type=int, default=8)
    ap.add_argument("--batch-bi", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from sentence_transformers import CrossEncoder, InputExample, SentenceTransformer, losses
    from sentence_transformers import models as st_models
    from torch.utils.data import DataLoader

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pool = [p for name in STS_SETS for p in load_sts(name).pairs()]
    pairs = [pool[i] for i in rng.choice(len(pool), args.pairs, replace=False)]
    base = str(default_model_path())
    te = TransEncoder(cross_epochs=1.0, bi_epochs=1.0, batch_cross=args.batch_cross,
                      batch_bi=args.batch_bi, eval_steps=0, device="cpu", progress=False)  # fmt: skip
    te.tok_, te.toks_ = te._tokenizer(te._base()), {}
    start = _Bi(te._base(), "mean")
    labels = te._bi_scores(start, pairs)
    steps = {k: te.config.steps(k, len(pairs)) for k in ("cross", "bi")}
    cfg = te.config

    def ours_cross() -> None:
        te._train_cross(pairs, labels, 0, "cross")

    def ours_bi() -> None:
        te._train_bi(start, pairs, labels, 0, "bi")

    def fp32(fn):  # ours without bf16 autocast: the same precision as sentence-transformers'
        def run() -> None:
            te.config = replace(cfg, amp=False)
            try:
                fn()
            finally:
                te.config = cfg

        return run

    labelled = list(zip(pairs, labels.tolist(), strict=True))
    one_order = [InputExample(texts=[a, b], label=y) for (a, b), y in labelled]
    both_orders = one_order + [InputExample(texts=[b, a], label=y) for (a, b), y in labelled]

    def theirs_cross() -> None:
        model = CrossEncoder(base, num_labels=1, max_length=cfg.max_length, device="cpu")
        loader = DataLoader(both_orders, shuffle=True, batch_size=2 * args.batch_cross)
        model.fit(train_dataloader=loader, epochs=1, optimizer_params={"lr": cfg.lr_cross},
                  warmup_steps=math.ceil(0.1 * len(loader)), show_progress_bar=False)  # fmt: skip

    def theirs_bi() -> None:
        word = st_models.Transformer(base, max_seq_length=cfg.max_length_bi)
        pool_ = st_models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(modules=[word, pool_, st_models.Normalize()], device="cpu")
        loader = DataLoader(one_order, shuffle=True, batch_size=args.batch_bi)
        model.fit(train_objectives=[(loader, losses.CosineSimilarityLoss(model))], epochs=1,
                  optimizer_params={"lr": cfg.lr_bi}, warmup_steps=0,
                  show_progress_bar=False)  # fmt: skip

    out: dict[str, object] = {
        "pairs": len(pairs),
        "steps": steps,
        "batch_cross_pairs": args.batch_cross,
        "batch_bi_pairs": args.batch_bi,
        "threads": torch.get_num_threads(),
    }
    for kind, ours, theirs in (("cross", ours_cross, theirs_cross), ("bi", ours_bi, theirs_bi)):
        t_ours, t_theirs = best_time(ours, args.repeats), best_time(theirs, args.repeats)
        out[f"{kind}_wall_time_s"] = {"reprkit": t_ours, "sentence_transformers": t_theirs}
        out[f"{kind}_pairs_per_s"] = {
            "reprkit": len(pairs) / t_ours,
            "sentence_transformers": len(pairs) / t_theirs,
        }
        out[f"{kind}_speed_ratio"] = t_theirs / t_ours  # > 1: ours is faster
        t_fp32 = best_time(fp32(ours), args.repeats)
        out[f"{kind}_wall_time_s"]["reprkit_fp32"] = t_fp32
        out[f"{kind}_speed_ratio_fp32"] = t_theirs / t_fp32  # both in fp32
    out["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
