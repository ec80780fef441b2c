"""GIANT's headline experiment: which node features serve downstream node classifiers best.

Node features from the same raw texts (TF-IDF, frozen MiniLM, GIANT-XRT = MiniLM fine-tuned on
neighbourhood prediction, GIANT XR-Linear = a linear map of TF-IDF trained the same way) are fed
to the same downstream models (MLP, GraphSAGE, GCN), each early-stopped on validation accuracy
over random 60/20/20 splits of the labelled nodes (the run's seeds). The fitted features are
fitted once per ``fit_seeds`` entry, each on the graph less a held-out share of its edges, and
every split is evaluated with every fit. Diagnostics: how far fine-tuning moved the encoder
(linear CKA, mean cosine to the frozen MiniLM) and whether it learned the self-supervised task
(precision@k of the clusters of the held-out edges).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.preprocessing import normalize

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args, seeded
from reprkit.datasets.graphs import random_node_split
from reprkit.datasets.text_graphs import load_text_graph
from reprkit.eval.metrics import linear_cka, mean_cosine, paired_difference
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.giant.config import EncoderConfig, FinetuneConfig, GiantConfig
from reprkit.methods.giant.encoders import TransformerEncoder, encode
from reprkit.methods.giant.method import GiantXRT, tfidf_vectorizer
from reprkit.methods.giant.tree import neighbour_labels
from reprkit.methods.giant.xr import (
    cluster_precision,
    fit_linear_head,
    oracle_precision,
    scores,
)
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
FITTED = ("giant", "xrlinear")  # features fitted on the graph (once per fit seed)
MODELS = ("mlp", "sage", "gcn")
PRECISION_K = (1, 5)

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
        finetune=FinetuneConfig(steps=200, batch_size=64, lr=1e-3),
    )


@dataclass(frozen=True)
class GiantExperimentConfig:
    giant: GiantConfig = field(default_factory=GiantConfig)  # GIANT-XRT (its seed: fit_seeds)
    xrlinear: GiantConfig = field(default_factory=_xrlinear_default)  # ours: linear encoder
    features: tuple[str, ...] = FEATURES  # feature types compared
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)  # node classifiers
    fit_seeds: tuple[int, ...] = (0, 1)  # one GIANT / XR-Linear fit per seed; every split sees all
    # share of the undirected edges hidden from fine-tuning: the held-out edges of the
    # neighbourhood-prediction diagnostic (0 = fit on the whole graph, no diagnostic)
    holdout: float = 0.1

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
        check(
            len(self.fit_seeds) >= 1 and all(s >= 0 for s in self.fit_seeds),
            f"fit_seeds must be one or more seeds >= 0, got {list(self.fit_seeds)}",
        )
        check(0 <= self.holdout < 1, f"holdout must be in [0, 1), got {self.holdout}")
        self.giant.validate()
        self.xrlinear.validate()


PROFILES: dict[str, dict[str, object]] = {
    # seconds-long, for CI and trying things out: tiny fine-tuning budget
    "smoke": {
        "giant.finetune.steps": 4,
        "giant.encoder.max_length": 32,
        "xrlinear.finetune.steps": 10,
        "downstream.epochs": 50,
        "fit_seeds": (0,),
    },
    # CPU (2 cores, <= 45 min on cora_text): the official schedule at a CPU budget of updates
    # (finetune.steps = 100 per level, the default)
    "paper": {},
    # CPU with time to spare (~70 min on 2 cores): 300 steps per level, where the held-out
    # precision and the MLP gain clearly rise (fit seed 100, split seeds 100-104; docs)
    "long": {"giant.finetune.steps": 300},
    # a GPU: the same recipe with the step budget of published XR-Transformer parameter files
    "gpu": {"giant.finetune.steps": 2000},
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> GiantExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(GiantExperimentConfig(), PROFILES, profile, overrides)


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per column over all nodes (no labels involved)."""
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-6)


def build_features(
    name: str, cfg: GiantExperimentConfig, data, texts: list[str], device
) -> tuple[torch.Tensor, dict[str, Any]]:
    """One unfitted feature matrix (N, d) from the texts: ``tfidf``, ``tfidf_nbr`` or
    ``minilm`` (raw, not standardised), plus facts."""
    if name in ("tfidf", "tfidf_nbr"):
        t = cfg.giant.tfidf
        x = tfidf_vectorizer(t, min(t.min_df, len(texts))).fit_transform(texts).tocsr()
        if name == "tfidf_nbr":
            y, _ = neighbour_labels(data.edge_index.numpy(), data.num_nodes, None)
            x = sp.hstack([x, normalize(y, norm="l1") @ x]).tocsr()
        return torch.from_numpy(x.toarray()), {"dim": x.shape[1]}
    e = cfg.giant.encoder
    enc = TransformerEncoder.from_path(e.model or default_model_path(), texts, e.max_length)
    return encode(enc.to(device), n=len(texts)), {"dim": enc.dim}


def holdout_edges(
    edge_index: torch.Tensor, n: int, frac: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held out) edge indices, both directions of each undirected edge: a seeded
    ``frac`` share of the undirected edges is held out."""
    ei = edge_index.cpu()
    pairs = torch.unique(torch.sort(ei, dim=0).values, dim=1)  # each undirected edge once
    pairs = pairs[:, pairs[0] != pairs[1]]
    perm = torch.randperm(pairs.shape[1], generator=torch.Generator().manual_seed(seed))
    n_out = int(round(frac * pairs.shape[1]))
    out, kept = pairs[:, perm[:n_out]], pairs[:, perm[n_out:]]

    def both(p: torch.Tensor) -> torch.Tensor:
        return torch.cat([p, p.flip(0)], 1)

    return both(kept), both(out)


def neighbourhood_diagnostics(
    model: GiantXRT,
    name: str,
    frozen: torch.Tensor | sp.csr_matrix,
    tuned: torch.Tensor,
    kept: torch.Tensor,
    held: torch.Tensor,
    n: int,
) -> dict[tuple[str, str], float]:
    """Did fine-tuning learn the self-supervised task, and how far did the encoder move?

    At the finest fine-tuned tree level: precision@k of the clusters that hold each node's
    held-out neighbours, ranked by a linear head fitted on the kept edges over the unfitted
    input (``frozen+head``: the frozen MiniLM for ``giant``; ``tfidf+head``: the TF-IDF rows for
    ``xrlinear``), by the fitted encoder with its own head (``<name>``) and with a head refitted
    the same way (``<name>+refit``); the floor ``prior`` ranks clusters by how many kept edges
    they hold, the ceiling ``oracle`` ranks the true clusters first (``prior_xrlinear``,
    ``oracle_xrlinear`` on xrlinear's tree). ``train_cluster_p1``: the
    same on the kept edges (fit, not generalisation). Drift (dense ``frozen`` only): linear CKA
    and mean cosine of frozen vs fitted embeddings of all nodes.
    """
    lvl, head, tree = model.stats_.levels[-1], model.heads_[-1], model.tree_
    y_kept, rows = neighbour_labels(kept.numpy(), n, model.config.tree.max_degree)
    counts = tree.counts(y_kept[rows], lvl)
    true = tree.relevant(neighbour_labels(held.numpy(), n, None)[0], lvl)
    ev = np.flatnonzero(np.diff(true.indptr) > 0)
    true = true[ev]
    base = "tfidf+head" if sp.issparse(frozen) else "frozen+head"
    heads = {
        base: (frozen, fit_linear_head(frozen[rows], counts, None)),
        name: (tuned, head),
        f"{name}+refit": (tuned, fit_linear_head(tuned[rows], counts, None)),
    }
    prior = torch.from_numpy(np.asarray(counts.sum(0)).ravel()).expand(len(ev), -1).float()
    fitted = tree.relevant(y_kept[rows], lvl)
    out: dict[tuple[str, str], float] = {}
    for k in PRECISION_K:
        for row, (emb, h) in heads.items():
            out[(row, f"cluster_p{k}")] = cluster_precision(scores(emb[ev], h), true, k)
        tag = "" if name == "giant" else f"_{name}"  # one floor / ceiling row per feature type
        out[(f"prior{tag}", f"cluster_p{k}")] = cluster_precision(prior, true, k)
        out[(f"oracle{tag}", f"cluster_p{k}")] = oracle_precision(true, k)
    for row, (emb, h) in heads.items():
        out[(row, "train_cluster_p1")] = cluster_precision(scores(emb[rows], h), fitted, 1)
    if not sp.issparse(frozen):
        out[(name, "cka")] = linear_cka(frozen.numpy(), tuned.numpy())
        out[(name, "cosine")] = mean_cosine(frozen.numpy(), tuned.numpy())
    out[(name, "heldout_nodes")] = float(len(ev))
    return out


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


def evaluate_features(
    feat: str, x: torch.Tensor, data, seeds: Sequence[int], splits, d: DownstreamConfig, device
) -> dict[str, tuple[list[float], list[float]]]:
    """``{"<model>@<feat>": (test accuracies, validation accuracies)}`` of every downstream
    model on the features ``x``, one value per (seed, split)."""
    out = {}
    for m in MODELS:
        pairs = [
            downstream_accuracy(m, x, data, *split, d, seed, device)
            for seed, split in zip(seeds, splits, strict=True)
        ]
        out[f"{m}@{feat}"] = ([p[0] for p in pairs], [p[1] for p in pairs])
    return out


def _needs_frozen(cfg: GiantExperimentConfig) -> bool:
    """Whether the frozen MiniLM is a row, or the reference of a fitted encoder's diagnostics."""
    fitted = [cfg.giant if f == "giant" else cfg.xrlinear for f in cfg.features if f in FITTED]
    diag = cfg.holdout > 0 and any(g.encoder.kind != "linear" for g in fitted)
    return "minilm" in cfg.features or diag


def feature_cell(feat, cfg, data, texts, dev, seeds, splits, frozen) -> dict[str, Any]:
    """One unfitted feature set (``tfidf``, ``tfidf_nbr``, ``minilm``): build it (the MiniLM's
    is ``frozen``, built once by the run) and evaluate every downstream model on every split."""
    if feat == "minilm":
        (x, secs), facts = frozen, {"dim": frozen[0].shape[1]}
        x = standardize(x)
    else:
        start = time.perf_counter()
        x, facts = build_features(feat, cfg, data, texts, dev)
        secs = round(time.perf_counter() - start, 1)
    log.info("features %s built in %.1f s", feat, secs)
    return {
        "note": f"features `{feat}`: {facts}, built in {secs} s",
        "rows": evaluate_features(feat, x, data, seeds, splits, cfg.downstream, dev),
    }


def fit_cell(feat, f, cfg, data, texts, dev, seeds, splits, frozen) -> dict[str, Any]:
    """One fitted feature set (``giant``, ``xrlinear``) at fit seed ``f``: hold out edges, fit,
    transform, the neighbourhood diagnostics on the held-out edges, and every downstream model
    on every split."""
    kept, held = holdout_edges(data.edge_index, data.num_nodes, cfg.holdout, f)
    gcfg = replace(cfg.giant if feat == "giant" else cfg.xrlinear, seed=f)
    start = time.perf_counter()
    model = GiantXRT(gcfg, device=dev, progress=False).fit(kept, texts)
    secs = round(time.perf_counter() - start, 1)
    log.info("features %s built in %.1f s", feat, secs)
    raw = model.transform(texts)
    st = model.stats_
    note = (
        f"features `{feat}` (fit seed {f}, {held.shape[1] // 2} of the undirected "
        f"edges held out): dim {raw.shape[1]}, tree {model.tree_sizes_}, encoder "
        f"fine-tuned on levels {st.levels} ({st.steps} updates), last loss per level "
        f"{[round(v, 4) for v in st.last_loss]}, built in {secs} s"
    )
    diag = {}
    if cfg.holdout > 0:
        linear = model.config.encoder.kind == "linear"  # its input: the TF-IDF rows
        ref = model.vectorizer_.transform(texts) if linear else frozen[0]
        diag = neighbourhood_diagnostics(model, feat, ref, raw, kept, held, data.num_nodes)
    rows = evaluate_features(feat, standardize(raw), data, seeds, splits, cfg.downstream, dev)
    return {"note": note, "diag": diag, "rows": rows}


def run(
    dataset: str = "cora_text",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Run the feature comparison and write its run folder; returns the folder's path. Each
    feature set (and each fit seed of a fitted one) is a cell run on ``engine`` (default:
    serially; core/cells.py)."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    engine = (engine or Engine()).validate()
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

    ckpt = rec.checkpoints(resume)  # finished cells, for --resume

    def body(rec: RunRecorder) -> None:
        labelled = data.y >= 0
        splits = [split_for(data, cfg.downstream, seed, labelled) for seed in seeds]
        results: dict[tuple[str, str], list[float]] = defaultdict(list)
        per_fit: dict[str, list[list[float]]] = defaultdict(list)  # mlp@giant -> fits x splits
        diagnostics: dict[tuple[str, str], list[float]] = defaultdict(list)
        # the raw frozen MiniLM embeddings, built once here when a row or a diagnostic needs them
        frozen = None
        if _needs_frozen(cfg):
            start = time.perf_counter()
            frozen = build_features("minilm", cfg, data, texts, dev)[0]
            frozen = (frozen, round(time.perf_counter() - start, 1))
        common = (cfg, data, texts, dev, seeds, splits, frozen)
        cells = []
        for feat in cfg.features:
            if feat not in FITTED:
                cells.append(Cell(feat, feature_cell, (feat, *common)))
            else:
                cells += [Cell(f"{feat}/fit={f}", fit_cell, (feat, f, *common), cost=10.0)
                          for f in cfg.fit_seeds]  # fmt: skip
        done = iter(run_cells(cells, engine, checkpoints=ckpt, desc="features", progress=progress))
        for feat in cfg.features:
            if feat not in FITTED:
                r = next(done)
                rec.note(r["note"])
                for row, (acc, val) in r["rows"].items():
                    results[(row, "acc")], results[(row, "val_acc")] = acc, val
                continue
            fits = []
            for _ in cfg.fit_seeds:
                r = next(done)
                rec.note(r["note"])
                for key, v in r["diag"].items():
                    diagnostics[key].append(v)
                fits.append(r["rows"])
            for row in fits[0]:
                for i, metric in enumerate(("acc", "val_acc")):
                    by_fit = np.array([fit[row][i] for fit in fits])  # (fits, splits)
                    results[(row, metric)] = by_fit.mean(0).tolist()
                    if metric == "acc":
                        per_fit[row] = by_fit.tolist()
        for (model, metric), values in results.items():
            rec.add(model, metric, values)
        for (model, metric), values in diagnostics.items():
            frac = "cluster_p" in metric or metric == "cka"
            rec.add(model, metric, values, seeds=cfg.fit_seeds, fraction=frac)
        split = (
            "the dataset's own split (fixed)"
            if hasattr(data, "train_mask")
            else f"the random {cfg.downstream.train_frac:.0%}/{cfg.downstream.val_frac:.0%}/rest "
            "split of the labelled nodes"
        )
        rec.note(
            f"The run's seeds vary {split} and the downstream initialisation; the fitted features "
            f"(giant, xrlinear) are fitted once per fit seed {list(cfg.fit_seeds)} and their rows "
            "hold, per split, the mean over the fits. Diagnostic rows (cka, cosine, cluster_p*) "
            "carry the fit seeds as their own seeds. Early stopping on validation accuracy."
        )
        for row, by_fit in per_fit.items():
            rec.note(f"{row} test accuracy per fit seed x split: {np.round(by_fit, 4).tolist()}")
        rec.note(_paired_note(results))
        rec.note(
            "Paper numbers (ogbn-arxiv / products / papers100M) are quoted, not reproduced: the raw "
            "OGB texts cannot be downloaded on these machines. "
            + "; ".join(f"{d} {m}@{f}: {100 * v:.2f}" for (d, m, f), v in PAPER_OGB.items())
            + f" ({_SRC})."
        )
        rec.plot("accuracy_by_features.png", lambda p: plot_features(rec, p))

    return rec.run(body)


def _paired_note(results: dict[tuple[str, str], list[float]]) -> str:
    """Per-split paired differences (test accuracy, percentage points) of the fitted features
    against the frozen MiniLM and TF-IDF, for every downstream model: the evidence for any
    "GIANT beats X"."""
    parts = []
    for m in MODELS:
        for a in FITTED:
            for b in ("minilm", "tfidf"):
                ra, rb = results.get((f"{m}@{a}", "acc")), results.get((f"{m}@{b}", "acc"))
                if ra and rb:
                    mean, sd, wins = paired_difference(ra, rb)
                    parts.append(
                        f"{m}@{a} - {m}@{b} {100 * mean:+.2f} ± {100 * sd:.2f} ({wins}/{len(ra)})"
                    )
    return (
        "Paired per-split differences of test accuracy in percentage points (mean ± std over "
        "splits, splits where the first is better): " + "; ".join(parts)
    )


def plot_features(rec: RunRecorder, path: Path) -> None:
    """Grouped bars: test accuracy of each downstream model on each feature type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = {(r.model, r.metric): r.as_json() for r in rec.rows if "@" in r.model}
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
