"""Time per training step: our GCN (Cold Brew's teacher code, CSR propagation and CSR input)
against a plain two-layer PyG ``GCNConv`` model, side by side in one process on Cora.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/coldbrew_gcn_speed.py [--steps 200]

Both: hidden 128, dropout 0.5, Adam, full batch, row-normalised features, the same training
nodes. Prints JSON with ``wall_time_s`` per step of each, their ratio and ``peak_mem_mb``.
Run it alone: another CPU-heavy job distorts the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv

from reprkit.datasets.graphs import load_graph, random_node_split, row_normalize
from reprkit.models.node import SEGCN, prepare_graph, sparse_if_helpful


class PygGCN(nn.Module):
    def __init__(self, f: int, h: int, c: int) -> None:
        super().__init__()
        self.c1, self.c2 = GCNConv(f, h, cached=True), GCNConv(h, c, cached=True)

    def forward(self, x, ei):
        x = F.dropout(F.relu(self.c1(x, ei)), 0.5, self.training)
        return self.c2(x, ei)


def per_step(step, n: int) -> float:
    for _ in range(5):  # warm-up
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    data = load_graph("cora")
    x, y, n = row_normalize(data.x), data.y, data.num_nodes
    train, _, _ = random_node_split(n, 0.2, 0.2, 0)
    torch.manual_seed(0)

    ours = SEGCN(x.shape[1], 128, int(y.max()) + 1, n, se="none", norm="none")
    graph, xs = prepare_graph(data.edge_index, n), sparse_if_helpful(x)
    opt_a = torch.optim.Adam(ours.parameters(), lr=0.01, weight_decay=5e-4)

    def step_ours() -> None:
        opt_a.zero_grad()
        F.cross_entropy(ours(xs, graph)[train], y[train]).backward()
        opt_a.step()

    pyg = PygGCN(x.shape[1], 128, int(y.max()) + 1)
    opt_b = torch.optim.Adam(pyg.parameters(), lr=0.01, weight_decay=5e-4)

    def step_pyg() -> None:
        opt_b.zero_grad()
        F.cross_entropy(pyg(x, data.edge_index)[train], y[train]).backward()
        opt_b.step()

    ours.train()
    pyg.train()
    a, b = per_step(step_ours, args.steps), per_step(step_pyg, args.steps)
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "wall_time_s_per_step_reprkit": a,
        "wall_time_s_per_step_pyg_gcnconv": b,
        "speedup_pyg_over_reprkit": b / a,
        "peak_mem_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
