"""Cold Brew's teacher, one change at a time, on validation data of seeds not reported (100-102).

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/coldbrew_teacher_trace.py [--dataset cora]

Each row trains the teacher (GCN + structural embeddings) on the full graph with the paper
profile's split rule and prints the validation accuracy (mean over the seeds), the first layer's
mean SE row norm and XW row norm. It chose the defaults of ``coldbrew.teacher`` (#24).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import torch

from reprkit.core.seed import seeded
from reprkit.datasets.graphs import load_graph, random_node_split, row_normalize
from reprkit.methods.coldbrew.config import TeacherConfig
from reprkit.methods.coldbrew.method import fit_segcn
from reprkit.models.node import accuracy, prepare_graph, sparse_if_helpful

VARIANTS: dict[str, dict] = {
    "plain GCN (se none, norm none)": {"se": "none", "norm": "none"},
    "official SE: randn, Frobenius 32, pairnorm": {},
    "official SE, no norm": {"norm": "none"},
    "official SE, nodenorm": {"norm": "nodenorm"},
    "SE zeros, Frobenius 32, pairnorm": {"se_init": "zeros"},
    "SE zeros, no norm": {"se_init": "zeros", "norm": "none"},
    "official SE, pairnorm, official schedule (lr 0.005, 1500 epochs, patience 100)": {
        "lr": 0.005, "epochs": 1500, "patience": 100,
    },
    "official SE, no norm, official schedule": {
        "norm": "none", "lr": 0.005, "epochs": 1500, "patience": 100,
    },
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="cora")
    ap.add_argument("--seeds", default="100,101,102")
    args = ap.parse_args()
    data = load_graph(args.dataset)
    x = row_normalize(data.x)
    graph = prepare_graph(data.edge_index, data.num_nodes)
    out = {}
    for name, change in VARIANTS.items():
        t = dataclasses.replace(TeacherConfig(), **change)
        accs, se, xw = [], [], []
        for seed in map(int, args.seeds.split(",")):
            train, val, _ = random_node_split(data.num_nodes, 0.2, 0.2, seed)
            with seeded(seed):
                m = fit_segcn(x, graph, data.y, train, val, t, se=t.se)
            m.eval()
            with torch.no_grad():
                accs.append(accuracy(m(sparse_if_helpful(x), graph), data.y, val))
                xw.append(float(m.lins[0](x).norm(dim=1).mean()))
            se.append(m.se_row_norm())
        mean = lambda v: round(sum(v) / len(v), 4)  # noqa: E731
        out[name] = {"val_acc": mean(accs), "se_row_norm": mean(se), "xw_row_norm": mean(xw)}
        print(json.dumps({name: out[name]}), flush=True)


if __name__ == "__main__":
    main()
