"""GIANT's headline experiment: which node features serve downstream node classifiers best.

Node features from the same raw texts (TF-IDF, frozen MiniLM, GIANT-XRT = MiniLM fine-tuned on
neighbourhood prediction, GIANT XR-Linear = a linear map of TF-IDF trained the same way) are fed
to the same downstream models (MLP, GraphSAGE, GCN), each early-stopped on validation accuracy
over random 60/20/20 splits of the labelled nodes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scipy.sparse as sp
import torch
from sklearn.preprocessing import normalize

from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.progress import progress_bar
from reprkit.core.seed import check_run_args, seeded
from reprkit.datasets.graphs import random_node_split
from reprkit.datasets.text_graphs import load_text_graph
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.giant.config import EncoderConfig, FinetuneConfig, GiantConfig
from reprkit.methods.giant.encoders import TransformerEncoder, encode
from reprkit.methods.giant.method import GiantXRT, tfidf_vectorizer
from reprkit.methods.giant.tree import neighbour_labels
from reprkit.models.node import (
    MLP,
    SAGE,
    SEGCN,
    accuracy,
    fit_node_classifier,
    prepare_graph,
    sparse_if_helpful,
)
from reprkit.models.text import default_model_path

DATASETS = ("cora_text", "synthetic_text", "ogbn_arxiv")
# tfidf_nbr is a diagnostic, not a method: each node's TF-IDF next to the mean TF-IDF of its
# neighbours, i.e. what a perfect one-hop neighbour predictor could add to the text (read from
# the graph, so the MLP on it is no longer graph-free)
FEATURES = ("tfidf", "minilm", "giant", "xrlinear", "tfidf_nbr")
MODELS = ("mlp", "sage", "gcn")

_SRC = "GIANT (ICLR 2022) Table 2, quoted: ogbn data cannot be downloaded here"
# Quoted, never compared with cora_text: (dataset, model, features) -> test accuracy
PAPER_OGB: dict[tuple[str, str, str], float] = {
    ("ogbn-arxiv", "mlp", "ogb"): 0.5550,
    ("ogbn-arxiv", "mlp", "giant"): 0.7306,
    ("ogbn-arxiv", "sage", "ogb"): 0.7149,
    ("ogbn-arxiv", "sage", "giant"): 0.7435,
    ("ogbn-products", "mlp", "ogb"): 0.6106,
    ("ogbn-products", "mlp", "giant"): 0.8049,
    ("ogbn-papers100M", "mlp", "ogb"): 0.4724,
    ("ogbn-papers100M", "mlp", "giant"): 0.6110,
}


@dataclass(frozen=True)
class DownstreamConfig:
    """The node classifiers every feature type goes through (same settings for all)."""

    hidden: int = 256
    layers: int = 2
    dropout: float = 0.5
    lr: float = 0.01
    weight_decay: float = 5e-4
    epochs: int = 500
    patience: int = 50
    train_frac: float = 0.6
    val_frac: float = 0.2


def _xrlinear_default() -> GiantConfig:
    return GiantConfig(
        encoder=EncoderConfig(kind="linear"),
        finetune=FinetuneConfig(epochs=5, batch_size=64, lr_encoder=1e-3),
    )


@dataclass(frozen=True)
class GiantExperimentConfig:
    giant: GiantConfig = field(default_factory=GiantConfig)
    xrlinear: GiantConfig = field(default_factory=_xrlinear_default)
    features: tuple[str, ...] = FEATURES
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)

    def validate(self) -> None:
        unknown = [f for f in self.features if f not in FEATURES]
        check(
            not unknown and len(self.features) > 0,
            f"features must be a subset of {list(FEATURES)}, got {list(self.features)}",
        )
        check(self.xrlinear.encoder.kind == "linear", "xrlinear.encoder.kind must be 'linear'")
        d = self.downstream
        check(
            0 < d.train_frac < 1 and 0 < d.val_frac < 1 and d.train_frac + d.val_frac < 1,
            "downstream.train_frac and val_frac must be in (0, 1) with a sum below 1",
        )
        for name in ("hidden", "layers", "epochs", "patience"):
            check(getattr(d, name) >= 1, f"downstream.{name} must be >= 1")
        self.giant.validate()
        self.xrlinear.validate()


PROFILES: dict[str, dict[str, object]] = {
    # seconds-long, for CI and trying things out: tiny fine-tuning budget
    "smoke": {
        "giant.finetune.epochs": 1,
        "giant.encoder.max_length": 32,
        "xrlinear.finetune.epochs": 1,
        "downstream.epochs": 50,
    },
    "paper": {},
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> GiantExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(GiantExperimentConfig(), PROFILES, profile, overrides)


def _standardize(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per column over all nodes (no labels involved)."""
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-6)


def build_features(
    name: str, cfg: GiantExperimentConfig, data, texts: list[str], device, progress
) -> tuple[torch.Tensor, dict[str, Any]]:
    """One feature matrix (N, d) from the texts (and, for GIANT, the graph), plus facts."""
    if name in ("tfidf", "tfidf_nbr"):
        t = cfg.giant.tfidf
        x = tfidf_vectorizer(t, min(t.min_df, len(texts))).fit_transform(texts).tocsr()
        if name == "tfidf_nbr":
            y, _ = neighbour_labels(data.edge_index.numpy(), data.num_nodes, None)
            x = sp.hstack([x, normalize(y, norm="l1") @ x]).tocsr()
        return torch.from_numpy(x.toarray()), {"dim": x.shape[1]}
    if name == "minilm":
        e = cfg.giant.encoder
        enc = TransformerEncoder.from_path(e.model or default_model_path(), texts, e.max_length)
        return _standardize(encode(enc.to(device), n=len(texts))), {"dim": enc.dim}
    gcfg = cfg.giant if name == "giant" else cfg.xrlinear
    model = GiantXRT(gcfg, device=device, progress=progress).fit(data, texts)
    feats = model.transform(texts)
    return _standardize(feats), {
        "dim": feats.shape[1],
        "tree_sizes": model.tree_sizes_,
        "xr_last_loss": [round(v, 4) for v in model.stats_.last_loss],
        "xr_steps": model.stats_.steps,
    }


def split_for(data, d: DownstreamConfig, seed: int, labelled: torch.Tensor):
    """(train, val, test) masks: the dataset's own split when it has one (ogbn-arxiv's time
    split), else a seeded random split of the labelled nodes."""
    if hasattr(data, "train_mask"):
        return data.train_mask, data.val_mask, data.test_mask
    return random_node_split(data.num_nodes, d.train_frac, d.val_frac, seed, among=labelled)


def downstream_accuracy(
    model_name: str, x: torch.Tensor, data, train, val, test, d: DownstreamConfig, seed: int, device
) -> tuple[float, float]:
    """Test and validation accuracy of one downstream model, early-stopped on validation."""
    n_classes = int(data.y.max()) + 1
    y = data.y.clamp_min(0).to(device)  # unlabelled nodes (-1) are in no mask
    graph = (
        prepare_graph(data.edge_index, data.num_nodes).to(device) if model_name != "mlp" else None
    )
    with seeded(seed):
        if model_name == "mlp":
            model = MLP(x.shape[1], d.hidden, n_classes, layers=d.layers, dropout=d.dropout)
        elif model_name == "sage":
            model = SAGE(x.shape[1], d.hidden, n_classes, layers=d.layers, dropout=d.dropout)
        else:
            model = SEGCN(
                x.shape[1],
                d.hidden,
                n_classes,
                data.num_nodes,
                layers=d.layers,
                dropout=d.dropout,
                se="none",
            )
        model = model.to(device)
        x = x.to(device)
        fit_node_classifier(
            model, x, graph, y, train.to(device), val.to(device), d, desc=model_name
        )
        with torch.no_grad():
            logits = model(sparse_if_helpful(x), graph)
    return accuracy(logits, y, test.to(device)), accuracy(logits, y, val.to(device))


def run(
    dataset: str = "cora_text",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
) -> Path:
    """Run the feature comparison and write its run folder; returns the folder's path."""
    seeds = check_run_args(dataset, DATASETS, seeds)
    cfg = resolve_config(profile, overrides)
    dev = resolve_device(device)
    data, texts = load_text_graph(dataset)
    rec = RunRecorder(
        "giant",
        dataset,
        profile,
        seeds,
        config_to_dict(cfg),
        out,
        dev,
        title="GIANT-XRT: node features from raw text",
    )

    def body(rec: RunRecorder) -> None:
        labelled = data.y >= 0
        results: dict[tuple[str, str], list[float]] = defaultdict(list)
        for feat in progress_bar(cfg.features, desc="features", progress=progress):
            start = time.perf_counter()
            x, facts = build_features(feat, cfg, data, texts, dev, progress)
            secs = round(time.perf_counter() - start, 1)
            log.info("features %s: %s, %.1f s", feat, facts, secs)
            rec.note(f"features `{feat}`: {facts}, built in {secs} s")
            for seed in seeds:
                tr, va, te = split_for(data, cfg.downstream, seed, labelled)
                for m in MODELS:
                    acc, val_acc = downstream_accuracy(
                        m, x, data, tr, va, te, cfg.downstream, seed, dev
                    )
                    results[(f"{m}@{feat}", "acc")].append(acc)
                    results[(f"{m}@{feat}", "val_acc")].append(val_acc)
        for (model, metric), values in results.items():
            rec.add(model, metric, values)
        split = (
            "the dataset's own split (fixed)"
            if hasattr(data, "train_mask")
            else f"the random {cfg.downstream.train_frac:.0%}/{cfg.downstream.val_frac:.0%}/rest "
            "split of the labelled nodes"
        )
        rec.note(
            "Features are computed once (seed of the giant config); the seeds vary "
            f"{split} and the downstream initialisation. Early stopping on validation accuracy."
        )
        rec.note(
            "Paper numbers (ogbn-arxiv / products / papers100M) are quoted, not reproduced: the raw "
            "OGB texts cannot be downloaded on these machines. "
            + "; ".join(f"{d} {m}@{f}: {100 * v:.2f}" for (d, m, f), v in PAPER_OGB.items())
            + f" ({_SRC})."
        )
        rec.plot("accuracy_by_features.png", lambda p: plot_features(rec, p))

    return rec.run(body)


def plot_features(rec: RunRecorder, path: Path) -> None:
    """Grouped bars: test accuracy of each downstream model on each feature type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = {(r.model, r.metric): r.as_json() for r in rec.rows}
    feats = list(dict.fromkeys(k[0].split("@")[1] for k in rows))
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(MODELS)
    for i, m in enumerate(MODELS):
        r = [rows[(f"{m}@{f}", "acc")] for f in feats]
        xs = np.arange(len(feats)) + (i - len(MODELS) / 2 + 0.5) * width
        ax.bar(
            xs,
            [100 * v["mean"] for v in r],
            width,
            yerr=[100 * (v["std"] or 0) for v in r],
            label=m,
            capsize=3,
        )
    ax.set_xticks(np.arange(len(feats)), feats)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"GIANT on {rec.dataset}: accuracy by node features ({len(rec.seeds)} seeds)")
    ax.legend()
    lo = min(100 * v["mean"] for v in rows.values())
    ax.set_ylim(max(0, lo - 15), 100)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
