"""Side-by-side check of our GIANT-XRT against libpecos's own XR-Transformer on cora_text.

libpecos pins numpy<2 and scipy<1.14, so its fit runs in its own environment
(``benchmarks/giant_pecos_venv.sh`` makes ``.venv-pecos``) and this script passes data through
files. Three steps, the first and last in our environment:

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/giant_vs_pecos.py export /tmp/gp
    .venv-pecos/bin/python benchmarks/giant_pecos_fit.py /tmp/gp
    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/giant_vs_pecos.py evaluate /tmp/gp

``export`` writes the texts and the kept edges of fit seed 0 (the same 10 % held out as the
experiment's fit seed 0) and our settings; ``evaluate`` runs the experiment's downstream MLP /
GraphSAGE / GCN on libpecos's features over split seeds 0-4 and prints JSON with the test
accuracies and the linear CKA / mean cosine to the frozen MiniLM. Compare with the
``mlp@giant`` fit-seed-0 values in the notes of ``reprkit giant run --dataset cora_text --seeds
0,1,2,3,4 --profile paper``. Run it alone: another CPU-heavy job slows both several-fold.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from reprkit.datasets.text_graphs import load_text_graph
from reprkit.eval.metrics import linear_cka, mean_cosine
from reprkit.methods.giant.experiment import (
    build_features,
    evaluate_features,
    holdout_edges,
    resolve_config,
    split_for,
    standardize,
)
from reprkit.models.text import default_model_path


def export(out: Path) -> None:
    cfg = resolve_config("paper")
    data, texts = load_text_graph("cora_text")
    kept, _ = holdout_edges(data.edge_index, data.num_nodes, cfg.holdout, cfg.fit_seeds[0])
    out.mkdir(parents=True, exist_ok=True)
    (out / "texts.txt").write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n")
    np.save(out / "kept_edges.npy", kept.numpy())
    g = cfg.giant
    settings = {
        "model_dir": default_model_path(),
        "n_nodes": data.num_nodes,
        "steps": g.finetune.steps,
        "batch_size": g.finetune.batch_size,
        "lr": g.finetune.lr,
        "warmup_steps": int(round(g.finetune.warmup * g.finetune.steps)),
        "topk": g.finetune.topk,
        "max_length": g.encoder.max_length,
        "branching": g.tree.branching,
        "max_leaf_size": g.tree.max_leaf_size,
        "max_degree": g.tree.max_degree,
        "seed": cfg.fit_seeds[0],
    }
    (out / "settings.json").write_text(json.dumps(settings, indent=1))
    print(f"wrote {out}: {data.num_nodes} texts, {kept.shape[1]} kept directed edges")


def evaluate(out: Path) -> None:
    cfg = resolve_config("paper")
    data, texts = load_text_graph("cora_text")
    raw = torch.from_numpy(np.load(out / "pecos_emb.npy")).float()
    frozen, _ = build_features("minilm", cfg, data, texts, torch.device("cpu"))
    labelled = data.y >= 0
    seeds = list(range(5))
    splits = [split_for(data, cfg.downstream, seed, labelled) for seed in seeds]
    start = time.perf_counter()
    rows = evaluate_features("pecos_xrt", standardize(raw), data, seeds, splits,
                             cfg.downstream, torch.device("cpu"))  # fmt: skip
    acc = {row: [round(a, 4) for a in test] for row, (test, _) in rows.items()}
    pecos = json.loads((out / "pecos_fit.json").read_text())
    print(
        json.dumps(
            {
                "split_seeds": list(range(5)),
                "test_acc": acc,
                "mean": {row: round(float(np.mean(v)), 4) for row, v in acc.items()},
                "cka_to_frozen": round(linear_cka(frozen.numpy(), raw.numpy()), 4),
                "cosine_to_frozen": round(mean_cosine(frozen.numpy(), raw.numpy()), 4),
                "pecos_fit": pecos,
                "evaluate_s": round(time.perf_counter() - start, 1),
            },
            indent=1,
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["export", "evaluate"])
    p.add_argument("folder", type=Path)
    a = p.parse_args()
    (export if a.step == "export" else evaluate)(a.folder)


if __name__ == "__main__":
    main()
