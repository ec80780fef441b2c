"""Per-unit costs measured on this machine, and the plan they give for the largest cases of
``docs/scaling.md`` (issue #31): Cold Brew on a 100M-node product graph with neighbour sampling,
Trans-Encoder on 1M pairs, RIM scoring 10M users.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/scaling_plan.py [--part coldbrew|transencoder|rim|all]

Cold Brew: a generated graph with ogbn-products' degree (25.3 directed edges per node, 100
features, 47 classes, 8 % training nodes; ``coldbrew_scale.chung_lu``) at two sizes; the bytes
of every resident tensor (features, the two CSR adjacencies, the sampler, the model and its
Adam state) are summed per node, and a teacher mini-batch step (1,024 seeds, fanouts 10/10,
the default SE + NodeNorm teacher, and with ``se="none"``) is timed at both sizes, so that
step = a + b · N separates the per-batch cost from the per-node cost (the SE table's penalty,
dense gradient and Adam update touch every row every step). Trans-Encoder: the default
students (MiniLM-L6, cross batch 16 pairs in both orders at 64 tokens, bi batch 128 at 32,
bf16 autocast) trained one epoch over STS pairs, and both scorers, timed per pair; FLOPs per
pair counted with ``torch.utils.flop_counter``. RIM: fit on generated events
(``rim_scale.events``) and ``recommend`` top-10 for every user, timed per user.

Prints JSON: the measured costs and the computed plan. Run it alone (2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coldbrew_scale import chung_lu  # noqa: E402
from rim_scale import events, peak_mb  # noqa: E402

DEGREE = 61_859_140 / 2_449_029  # ogbn-products: directed edges per node
GB = 1e9


def nbytes(*tensors: torch.Tensor) -> int:
    total = 0
    for t in tensors:
        if t.layout == torch.sparse_csr:
            total += nbytes(t.crow_indices(), t.col_indices(), t.values())
        else:
            total += t.numel() * t.element_size()
    return total


def _timed(fn, repeats: int, *args) -> float:
    fn(*args)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - start) / repeats


def _teacher_step(model, opt, gen, train_ids, sampler, x, y, t, se: str) -> None:
    """One mini-batch step of Cold Brew's teacher (as ``fit_segcn``'s mini-batch loop)."""
    seeds = train_ids[torch.randint(len(train_ids), (t.batch_size,), generator=gen)]
    n_id, sub = sampler.sample(seeds, gen)
    loss = torch.nn.functional.cross_entropy(model(x[n_id], sub, n_id)[: len(seeds)], y[seeds])
    if se != "none":
        loss = loss + t.se_reg * model.se_penalty()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _coldbrew_size(n: int, steps: int) -> dict:
    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.modules import ColdBrewStudent
    from reprkit.models.node import SEGCN, NeighbourSampler, prepare_graph

    t = TeacherConfig()
    ei = chung_lu(n, int(DEGREE * n))
    y = torch.from_numpy(np.random.default_rng(1).integers(0, 47, n))
    x = torch.randn(n, 100, generator=torch.Generator().manual_seed(2))
    graph = prepare_graph(ei, n)
    sampler = NeighbourSampler(ei, n, t.fanouts)
    data_bytes = nbytes(x, y, ei, graph.adj_t, graph.norm_adj_t, sampler.col, sampler.rowptr,
                        sampler._pos)  # fmt: skip
    row = {"nodes": n, "edges": int(ei.shape[1]), "data_bytes_per_node": data_bytes / n}
    train_ids = torch.randperm(n, generator=torch.Generator().manual_seed(3))[: n * 8 // 100]
    for se in ("first", "none"):
        torch.manual_seed(0)
        model = SEGCN(100, t.hidden, 47, n, layers=t.layers, dropout=t.dropout, se=se,
                      norm=t.norm).train()  # fmt: skip
        opt = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        gen = torch.Generator().manual_seed(4)
        row[f"step_s_se_{se}"] = _timed(
            _teacher_step, steps, model, opt, gen, train_ids, sampler, x, y, t, se
        )
        # parameters, their gradients and Adam's two moments
        row[f"train_state_bytes_per_node_se_{se}"] = 4 * nbytes(*model.parameters()) / n
    model.eval()
    with torch.no_grad():
        row["full_pass_s"] = _timed(model.embeddings, 1, x, graph)
        pool = torch.cat(model.embeddings(x, graph), dim=1)
        student = ColdBrewStudent(100, pool.shape[1], 47, pool, torch.arange(n), n_nodes=n)
        row["predict_2000_new_s"] = _timed(student.eval(), 1, torch.randn(2000, 100))
    return row


def coldbrew(sizes: tuple[int, ...], steps: int) -> dict:
    from reprkit.methods.coldbrew.config import TeacherConfig

    t = TeacherConfig()
    out: dict = {"hidden": t.hidden, "fanouts": list(t.fanouts), "batch": t.batch_size}
    rows = []
    for n in sizes:
        rows.append(_coldbrew_size(n, steps))
        print(rows[-1], file=sys.stderr, flush=True)
    out["measured"] = rows
    for se in ("first", "none"):  # step = fixed + per_node * N, through the two sizes
        (a, b), (c, d) = [(r["nodes"], r[f"step_s_se_{se}"]) for r in (rows[0], rows[-1])]
        out[f"step_s_per_node_se_{se}"] = (d - b) / (c - a)
        out[f"step_s_fixed_se_{se}"] = b - out[f"step_s_per_node_se_{se}"] * a
    big = rows[-1]
    out["full_pass_s_per_edge"] = big["full_pass_s"] / big["edges"]
    out["predict_s_per_new_node_per_pool_node"] = big["predict_2000_new_s"] / (2000 * big["nodes"])
    return out


def coldbrew_plan(m: dict, n: int = 100_000_000, processes: int = 8) -> dict:
    big = m["measured"][-1]
    data = big["data_bytes_per_node"] * n
    se_state = big["train_state_bytes_per_node_se_first"] * n
    plain_state = big["train_state_bytes_per_node_se_none"] * n
    train = 0.08 * n
    step_se, step_none = (m[f"step_s_fixed_se_{k}"] + m[f"step_s_per_node_se_{k}"] * n
                          for k in ("first", "none"))  # fmt: skip
    # each process its own 1,024 seeds: an epoch is train / (1,024 P) steps of every process
    steps = math.ceil(train / (1024 * processes))
    se_grad = n * m["hidden"] * 4  # the SE table's dense gradient, all-reduced every step
    return {
        "nodes": n,
        "processes": processes,
        "memory_per_process_gb_se": (data + se_state) / GB,
        "memory_per_process_gb_no_se": (data + plain_state) / GB,
        "step_s_se": step_se,
        "step_s_no_se": step_none,
        "steps_per_epoch": steps,
        "epoch_h_se": steps * step_se / 3600,
        "epoch_h_no_se": steps * step_none / 3600,
        "se_allreduce_gb_per_step": se_grad / GB,
        "full_pass_h_one_process": m["full_pass_s_per_edge"] * DEGREE * n / 3600,
        "predict_s_per_new_node_full_pool": m["predict_s_per_new_node_per_pool_node"] * n,
    }


def transencoder(n_pairs: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from reprkit.datasets.text import STS_SETS, load_sts
    from reprkit.methods.transencoder import TransEncoder
    from reprkit.methods.transencoder.method import _Bi

    rng = np.random.default_rng(0)
    pool = [p for name in STS_SETS for p in load_sts(name).pairs()]
    pairs = [pool[i] for i in rng.choice(len(pool), n_pairs, replace=False)]
    te = TransEncoder(cross_epochs=1.0, bi_epochs=1.0, eval_steps=0, device="cpu",
                      progress=False)  # fmt: skip
    cfg = te.config
    te.tok_, te.toks_ = te._tokenizer(te._base()), {}
    start = _Bi(te._base(), "mean")
    out: dict = {"pairs": n_pairs, "batch_cross": cfg.batch_cross, "batch_bi": cfg.batch_bi,
                 "cycles": cfg.cycles, "cross_epochs_default": 1.0, "bi_epochs_default": 10.0}  # fmt: skip
    t0 = time.perf_counter()
    labels = te._bi_scores(start, pairs)
    out["bi_score_s_per_pair"] = (time.perf_counter() - t0) / n_pairs
    t0 = time.perf_counter()
    cross = te._train_cross(pairs, labels, 0, "cross")
    out["cross_train_s_per_pair_epoch"] = (time.perf_counter() - t0) / n_pairs
    t0 = time.perf_counter()
    te._cross_scores(cross, pairs)
    out["cross_score_s_per_pair"] = (time.perf_counter() - t0) / n_pairs
    t0 = time.perf_counter()
    te._train_bi(start, pairs, labels, 0, "bi")
    out["bi_train_s_per_pair_epoch"] = (time.perf_counter() - t0) / n_pairs
    # FLOPs of one training step (forward + backward), per pair
    a = [p[0] for p in pairs[: cfg.batch_cross]]
    b = [p[1] for p in pairs[: cfg.batch_cross]]
    with FlopCounterMode(display=False) as fc:
        cross.train()
        cross(**te._tok(cross, a + b, b + a)).logits.sum().backward()
    out["cross_train_flops_per_pair"] = fc.get_total_flops() / len(a)
    with FlopCounterMode(display=False) as fc:
        start.train()
        (start(te._tok(start, a)) * start(te._tok(start, b))).sum().backward()
    out["bi_train_flops_per_pair"] = fc.get_total_flops() / len(a)
    out["params"] = sum(p.numel() for p in cross.parameters())
    out["peak_mem_mb"] = peak_mb()
    return out


def transencoder_plan(m: dict, n: int = 1_000_000, processes: int = 8) -> dict:
    ce, be, cycles = m["cross_epochs_default"], m["bi_epochs_default"], m["cycles"]
    train_s = n * (ce * m["cross_train_s_per_pair_epoch"] + be * m["bi_train_s_per_pair_epoch"])
    score_s = n * (m["cross_score_s_per_pair"] + m["bi_score_s_per_pair"])
    one = m["bi_score_s_per_pair"] * n + cycles * (train_s + score_s)  # start labels + cycles
    flops = n * cycles * (ce * m["cross_train_flops_per_pair"] + be * m["bi_train_flops_per_pair"])
    steps = n * cycles * (ce / m["batch_cross"] + be / m["batch_bi"])
    return {
        "pairs": n,
        "one_process_h": one / 3600,
        f"{processes}_processes_h": one / processes / 3600,  # training and scoring both split
        "train_flops_total": flops,
        # the FLOPs this CPU sustained in training, and what 8 GPUs would need at a sustained
        # rate per GPU (not measured here: no GPU was lent; 100 and 400 TFLOP/s bracket bf16
        # on an H100 for a 22M-parameter model at these batch sizes)
        "cpu_train_tflops_sustained": flops / (cycles * train_s) / 1e12,
        **{
            f"train_h_{processes}_gpus_at_{r}_tflops": flops / (processes * r * 1e12) / 3600
            for r in (100, 400)
        },  # fmt: skip
        "optimizer_steps_total": steps,
        "gradient_allreduce_gb_per_step": m["params"] * 4 / GB,
    }


def rim(n_users: int, n_items: int) -> dict:
    from reprkit.methods.rim import RIM

    e = events(n_users, n_items, 20)
    at = float(e.time.max()) + 1.0
    t0 = time.perf_counter()
    model = RIM(hidden=64, layers=1, epochs=1, batch_size=1024, max_len=32, val_frac=0.0)
    model.fit(e, horizon=7 * 86400.0)
    fit_s = time.perf_counter() - t0
    mem_fit = peak_mb()
    t0 = time.perf_counter()
    rec = model.recommend(np.arange(n_users), k=10, at=at, exclude_seen=True)
    score_s = time.perf_counter() - t0
    assert rec.shape == (n_users, 10)
    return {"users": n_users, "items": n_items, "events": len(e.time), "fit_s": fit_s,
            "recommend_s": score_s, "recommend_s_per_user": score_s / n_users,
            "events_bytes_per_user": 24 * len(e.time) / n_users,
            "peak_mem_mb_fit": mem_fit, "peak_mem_mb": peak_mb()}  # fmt: skip


def rim_plan(m: dict, n: int = 10_000_000, processes: int = 8) -> dict:
    return {
        "users": n,
        "one_process_h": m["recommend_s_per_user"] * n / 3600,
        f"{processes}_processes_h": m["recommend_s_per_user"] * n / processes / 3600,
        "events_gb": m["events_bytes_per_user"] * n / GB,
        "top10_output_gb": n * 10 * (8 + 4) / GB,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", default="all", choices=["all", "coldbrew", "transencoder", "rim"])
    ap.add_argument("--sizes", default="200000,800000", help="Cold Brew graph sizes (nodes)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--users", type=int, default=20_000)
    args = ap.parse_args()
    out: dict = {"threads": torch.get_num_threads()}
    start = time.perf_counter()
    if args.part in ("all", "coldbrew"):
        m = coldbrew(tuple(int(s) for s in args.sizes.split(",")), args.steps)
        out["coldbrew"] = m | {"plan": coldbrew_plan(m)}
    if args.part in ("all", "transencoder"):
        m = transencoder(args.pairs)
        out["transencoder"] = m | {"plan": transencoder_plan(m)}
    if args.part in ("all", "rim"):
        m = rim(args.users, 10_000)
        out["rim"] = m | {"plan": rim_plan(m)}
    out["wall_time_s"] = time.perf_counter() - start
    out["peak_mem_mb"] = peak_mb()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
