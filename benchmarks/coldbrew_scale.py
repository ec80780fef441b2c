"""Cold Brew at the scale of ogbn-products (2,449,029 nodes, 61,859,140 directed edges, 100
features, 47 classes) on this machine: a generated graph of that size, the mini-batch teacher,
and predicting brand-new cold nodes.

    .venv/bin/python benchmarks/coldbrew_scale.py [--nodes 2449029 --edges 61859140 --steps 20]

The graph is a Chung-Lu graph (Pareto node weights, so degrees are long-tailed) with Gaussian
class-correlated features; 8 % of nodes are training nodes (ogbn-products: 196,615). Measured:
``teacher_step_s`` (mean over ``--steps`` mini-batch steps of 1,024 nodes, fanouts 10/10, SE,
NodeNorm), ``teacher_epoch_s`` = steps per epoch × that (extrapolated, not run whole),
``full_pass_s`` (one full-graph forward: the per-epoch validation pass and the embeddings the
student fits), ``predict_100k_s`` (``predict_proba`` of new nodes from features alone, timed on
``--new-nodes`` and scaled to 100,000:
MLP1, the chunked virtual-neighbour search over every observed node's teacher embedding, MLP2;
the student is untrained — its weights do not change the time) and ``peak_mem_mb`` (peak RSS).
Prints JSON. Run it alone: another CPU-heavy job slows both several-fold.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chung_lu(n: int, e_directed: int, seed: int = 0) -> torch.Tensor:
    """Undirected edges (both directions, ≈ ``e_directed`` in all), endpoints drawn in
    proportion to Pareto weights; self loops and duplicates dropped."""
    rng = np.random.default_rng(seed)
    w = rng.pareto(2.0, n) + 1.0
    cdf = np.cumsum(w / w.sum())
    m = e_directed // 2
    src = np.searchsorted(cdf, rng.random(m)).clip(max=n - 1)
    dst = np.searchsorted(cdf, rng.random(m)).clip(max=n - 1)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    key = np.unique(np.minimum(src, dst).astype(np.int64) * n + np.maximum(src, dst))
    a, b = key // n, key % n
    return torch.from_numpy(np.stack([np.concatenate([a, b]), np.concatenate([b, a])]))


def _say(out: dict) -> None:
    """Progress on stderr: the measurements so far."""
    print({k: round(v, 2) for k, v in out.items()}, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=2_449_029)
    ap.add_argument("--edges", type=int, default=61_859_140)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--classes", type=int, default=47)
    ap.add_argument("--steps", type=int, default=20)
    # predicting is linear in the new nodes (each searches the pool on its own): the default
    # times 10,000 and reports predict_100k_s = 10 x that (a full 100k run is ~10x longer)
    ap.add_argument("--new-nodes", type=int, default=10_000)
    args = ap.parse_args()

    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.modules import ColdBrewStudent
    from reprkit.models.node import SEGCN, NeighbourSampler, prepare_graph

    out: dict[str, float] = {"threads": torch.get_num_threads()}
    n, f, c = args.nodes, args.features, args.classes
    t0 = time.perf_counter()
    ei = chung_lu(n, args.edges)
    rng = np.random.default_rng(1)
    y = torch.from_numpy(rng.integers(0, c, n))
    means = torch.from_numpy(rng.normal(size=(c, f)).astype(np.float32))
    x = 0.5 * means[y] + torch.randn(n, f, generator=torch.Generator().manual_seed(2))
    out.update(edges=int(ei.shape[1]), generate_s=time.perf_counter() - t0)
    _say(out)

    t0 = time.perf_counter()
    graph = prepare_graph(ei, n)
    sampler = NeighbourSampler(ei, n, (10, 10))
    out["prepare_s"] = time.perf_counter() - t0
    _say(out)

    t = TeacherConfig(norm="nodenorm")
    torch.manual_seed(0)
    model = SEGCN(f, t.hidden, c, n, layers=2, dropout=t.dropout, se="first", norm=t.norm)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    n_train = int(0.08 * n)
    train_ids = torch.randperm(n, generator=torch.Generator().manual_seed(3))[:n_train]
    gen = torch.Generator().manual_seed(4)
    model.train()
    times = []
    for step in range(args.steps + 1):  # the first step warms up and is not timed
        s = time.perf_counter()
        seeds = train_ids[torch.randint(n_train, (1024,), generator=gen)]
        n_id, sub = sampler.sample(seeds, gen)
        logits = model(x[n_id], sub, n_id)[: len(seeds)]
        loss = torch.nn.functional.cross_entropy(logits, y[seeds]) + t.se_reg * model.se_penalty()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step:
            times.append(time.perf_counter() - s)
    out["teacher_step_s"] = float(np.mean(times))
    out["teacher_epoch_s"] = out["teacher_step_s"] * math.ceil(n_train / 1024)
    out["peak_mem_mb_after_teacher"] = peak_mb()
    _say(out)

    model.eval()
    s = time.perf_counter()
    with torch.no_grad():
        target = torch.cat(model.embeddings(x, graph), dim=1)
    out["full_pass_s"] = time.perf_counter() - s
    _say(out)

    observed = torch.bincount(ei[0], minlength=n) > 0
    pool_ids = torch.nonzero(observed).squeeze(1)
    student = ColdBrewStudent(f, target.shape[1], c, target[pool_ids], pool_ids, n_nodes=n).eval()
    del target
    x_new = torch.randn(args.new_nodes, f, generator=torch.Generator().manual_seed(5))
    s = time.perf_counter()
    with torch.no_grad():
        proba = torch.cat(
            [torch.softmax(student(x_new[i : i + 8192]), 1) for i in range(0, len(x_new), 8192)]
        )
    out["predict_s"] = time.perf_counter() - s
    out["predict_100k_s"] = out["predict_s"] * 100_000 / args.new_nodes
    out["pool_nodes"] = int(len(pool_ids))
    out["predicted"] = int(proba.shape[0])
    out["peak_mem_mb"] = peak_mb()
    out["wall_time_s"] = sum(v for k, v in out.items() if k.endswith("_s") and k != "teacher_epoch_s"
                             and k != "teacher_step_s") + out["teacher_step_s"] * (args.steps + 1) - out["predict_100k_s"]  # fmt: skip
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
