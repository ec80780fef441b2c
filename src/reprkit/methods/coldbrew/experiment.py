"""Cold Brew's headline experiment: strict cold start on Cora / CiteSeer / heterophilous graphs.

Isolated nodes (chosen by degree) lose every edge; Cold Brew and the baselines train on the rest
of the graph with the same train / validation / test nodes and are selected on validation
accuracy only. Reported: accuracy on the isolated, tail and head test nodes and overall, and the
dataset's Feature Contribution Ratio.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import Data

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.graphs import PLANETOID, load_graph, random_node_split, row_normalize
from reprkit.eval.metrics import feature_contribution_ratio
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.coldbrew import baselines
from reprkit.methods.coldbrew.config import DATASETS, PROFILES, ColdBrewExperimentConfig
from reprkit.methods.coldbrew.method import ColdBrew
from reprkit.methods.coldbrew.splits import degree_groups, isolate
from reprkit.models.node import accuracy, choose_metric, prepare_graph, score

GROUPS = ("isolated", "tail", "head")
RAW = ("se_row_norm", "xw_row_norm", "vn_distinct")  # diagnostics in their own units
MODELS = ("coldbrew", "coldbrew_paper", "teacher", "gcn", "sage", "mlp", "graphmlp", "glnn", "lp")

_T3 = "Cold Brew (ICLR 2022) Table 3, isolation split"
_OVERALL = "Cold Brew (ICLR 2022), overall accuracy of GCN vs GCN+SE"
_FCR = "Cold Brew (ICLR 2022), FCR"
# (dataset, model, metric) -> (paper value as a fraction, source)
PAPER: dict[tuple[str, str, str], tuple[float, str]] = {
    ("cora", "coldbrew_paper", "isolated_acc"): (0.6962, _T3),
    ("cora", "gcn", "isolated_acc"): (0.5802, _T3),
    ("cora", "sage", "isolated_acc"): (0.6602, _T3),
    ("cora", "mlp", "isolated_acc"): (0.6840, _T3),
    ("cora", "graphmlp", "isolated_acc"): (0.6500, _T3),
    ("cora", "gcn_full", "overall_acc"): (0.8489, _OVERALL),
    ("cora", "teacher_full", "overall_acc"): (0.8696, _OVERALL),
    ("cora", "dataset", "fcr"): (0.3286, _FCR),
    ("citeseer", "coldbrew_paper", "isolated_acc"): (0.5317, _T3),
    ("citeseer", "mlp", "isolated_acc"): (0.5326, _T3),
    ("citeseer", "gcn", "isolated_acc"): (0.4709, _T3),
    ("citeseer", "dataset", "fcr"): (0.6339, _FCR),
    ("chameleon", "coldbrew_paper", "isolated_acc"): (0.6228, _T3),
    ("chameleon", "graphmlp", "isolated_acc"): (0.6354, _T3),
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> ColdBrewExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(ColdBrewExperimentConfig(), PROFILES, profile, overrides)


def _node_split(data: Data, cfg: ColdBrewExperimentConfig, seed: int) -> tuple[torch.Tensor, ...]:
    if cfg.split.node_split == "public":
        return data.train_mask, data.val_mask, data.test_mask
    split_masks = getattr(data, "split_masks", None)
    if split_masks is not None:  # heterophilous graphs: the standard Geom-GCN split seed % 10
        k = seed % split_masks[0].shape[0]
        return tuple(m[k] for m in split_masks)
    return random_node_split(data.num_nodes, cfg.split.train_frac, cfg.split.val_frac, seed)


def run_seed(
    data: Data,
    cfg: ColdBrewExperimentConfig,
    seed: int,
    device: torch.device,
    progress: bool | None = False,
) -> dict[tuple[str, str], float]:
    """One seed of the experiment; returns {(model, metric): value}."""
    n, y = data.num_nodes, data.y.to(device)
    n_classes = int(data.y.max()) + 1
    # row sums are only a scale for non-negative (bag-of-words) features
    norm_x = cfg.split.normalize_features and bool((data.x >= 0).all())
    x = (row_normalize(data.x) if norm_x else data.x).to(device)
    s = cfg.split
    groups = degree_groups(
        data.edge_index,
        n,
        mode=s.mode,
        isolated_frac=s.isolated_frac,
        tail_frac=s.tail_frac,
        head_frac=s.head_frac,
        seed=seed,
    )
    observed_ei = isolate(data.edge_index, groups["isolated"])
    train, val, test = (m.to(device) for m in _node_split(data, cfg, seed))
    g_obs = prepare_graph(observed_ei, n).to(device)
    g_full = prepare_graph(data.edge_index, n).to(device)
    t, b = cfg.coldbrew.teacher, cfg.baselines
    kw = {"seed": seed, "progress": progress}

    observed = torch.zeros(n, dtype=torch.bool, device=device)
    observed[observed_ei.flatten().to(device)] = True
    timings: dict[str, float] = {}
    scores: dict[str, torch.Tensor] = {}

    def timed(name: str, fn: Any) -> torch.Tensor:
        start = time.perf_counter()
        scores[name] = fn()
        timings[name] = round(time.perf_counter() - start, 2)
        return scores[name]

    cb = ColdBrew(dataclasses.replace(cfg.coldbrew, seed=seed), device=device, progress=progress)
    obs_data = Data(x=x.cpu(), edge_index=observed_ei, y=y.cpu(), train_mask=train.cpu())
    ids = torch.arange(n)
    timed("coldbrew", lambda: cb.fit(obs_data, val=val.cpu()).predict_proba(x, node_ids=ids))
    if 0.0 in cb.candidates_:  # the paper's label-only MLP2, on the same teacher and MLP1
        scores["coldbrew_paper"] = cb.predict_proba(x, node_ids=ids, soft_label_weight=0.0)
    else:
        paper_cfg = dataclasses.replace(
            cfg.coldbrew, seed=seed,
            student=dataclasses.replace(cfg.coldbrew.student, soft_label_weight=(0.0,)),
        )  # fmt: skip
        paper_cb = ColdBrew(paper_cfg, device=device, progress=progress).fit(
            obs_data, val=val.cpu()
        )
        scores["coldbrew_paper"] = paper_cb.predict_proba(x, node_ids=ids)
    for name in ("coldbrew", "coldbrew_paper"):
        scores[name] = torch.from_numpy(scores[name]).to(device)
    teacher_proba = cb.teacher_predict_proba(Data(x=x.cpu(), edge_index=observed_ei))
    scores["teacher"] = torch.from_numpy(teacher_proba).to(device)
    metric = cb.metric_  # every baseline is early-stopped and selected on the same score
    kw = {**kw, "metric": metric}
    timed("gcn", lambda: baselines.gcn(x, g_obs, y, train, val, teacher=t, **kw))
    timed("sage", lambda: baselines.sage(x, g_obs, y, train, val, teacher=t, **kw))
    timed("mlp", lambda: baselines.mlp(x, y, train, val, cfg=b, **kw))
    timed("graphmlp", lambda: baselines.graphmlp(x, g_obs, y, train, val, cfg=b, **kw))
    # GLNN as fair as Cold Brew's MLP2: Cold Brew's teacher, the same soft-label grid, the same
    # distillation nodes and the same validation choice
    s_cfg = cfg.coldbrew.student
    distill = train | observed if s_cfg.distill_on == "observed" else train
    timed(
        "glnn",
        lambda: baselines.glnn(
            x, y, train, val, scores["teacher"].clamp_min(1e-12).log(), distill, cfg=b,
            weights=s_cfg.soft_label_weight, **kw,
        ),
    )  # fmt: skip
    timed("lp", lambda: baselines.lp(g_obs, y, train, cfg=b))

    out: dict[tuple[str, str], float] = {}
    for model in MODELS:
        for g in GROUPS:
            out[(model, f"{g}_acc")] = accuracy(scores[model], y, groups[g].to(device) & test)
        out[(model, "overall_acc")] = accuracy(scores[model], y, test)
        out[(model, "val_acc")] = accuracy(scores[model], y, val)  # what selection can see
        if n_classes == 2:  # binary (often imbalanced) graphs: ROC-AUC of the second class
            for g in GROUPS:
                m = groups[g].to(device) & test
                out[(model, f"{g}_auc")] = score("roc_auc", _logits(scores[model][m]), y[m])
            out[(model, "overall_auc")] = score("roc_auc", _logits(scores[model][test]), y[test])

    # FCR on the full graph (no node isolated): GCN vs MLP vs label propagation, overall test acc
    timed("gcn_full", lambda: baselines.gcn(x, g_full, y, train, val, teacher=t, **kw))
    timed(
        "teacher_full",
        lambda: baselines.gcn(x, g_full, y, train, val, teacher=t, se=t.se, norm=t.norm, **kw),
    )
    timed("lp_full", lambda: baselines.lp(g_full, y, train, cfg=b))
    for model in ("gcn_full", "teacher_full", "lp_full"):
        out[(model, "overall_acc")] = accuracy(scores[model], y, test)
        out[(model, "val_acc")] = accuracy(scores[model], y, val)
    out[("dataset", "fcr")] = feature_contribution_ratio(
        out[("gcn_full", "overall_acc")],
        out[("mlp", "overall_acc")],
        out[("lp_full", "overall_acc")],
    )
    # diagnostics: how much the structural embeddings weigh, and whether the virtual neighbours
    # of the isolated test nodes are many distinct nodes that share their label
    out[("teacher", "se_row_norm")] = cb.se_row_norm_
    out[("teacher", "xw_row_norm")] = cb.xw_row_norm_
    iso_test = torch.nonzero(groups["isolated"].to(device) & test).squeeze(1).cpu()
    if len(iso_test):
        nb, _ = cb.neighbours(x[iso_test.to(device)], node_ids=iso_test)
        nb_t = torch.from_numpy(nb)
        out[("coldbrew", "vn_distinct")] = float(len(torch.unique(nb_t)))
        y_cpu = y.cpu()
        out[("coldbrew", "vn_label_agree")] = float(
            (y_cpu[nb_t] == y_cpu[iso_test][:, None]).float().mean()
        )
    counts = {g: int((groups[g].to(device) & test).sum()) for g in GROUPS}
    log.info(
        "seed %d: test nodes per group %s; isolated acc %s; seconds %s",
        seed,
        counts,
        {m: round(out[(m, "isolated_acc")], 4) for m in MODELS},
        timings,
    )
    return out


def _logits(p: torch.Tensor) -> torch.Tensor:
    """Scores that are probabilities (rows summing to 1) as logits, for :func:`score`."""
    return p.clamp_min(1e-12).log() if bool((p >= 0).all()) else p


def run(
    dataset: str = "cora",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Run the experiment and write its run folder; returns the folder's path. Each seed is a
    cell run on ``engine`` (default: serially in this process; core/cells.py).

    Everything is checked (dataset, seeds, profile, overrides, device, output folder, data file)
    before any training starts.
    """
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    engine = (engine or Engine()).validate()
    if cfg.split.node_split == "public" and dataset not in PLANETOID:
        raise ValueError(
            f"split.node_split='public' needs a Planetoid dataset {list(PLANETOID)}, got {dataset!r}"
        )
    dev = resolve_device(device)
    data = load_graph(dataset)
    rec = RunRecorder(
        "coldbrew",
        dataset,
        profile,
        seeds,
        config_to_dict(cfg),
        out,
        dev,
        title="Cold Brew: strict cold start",
    )

    ckpt = rec.checkpoints(resume)  # finished cells, for --resume

    def body(rec: RunRecorder) -> None:
        per_seed: dict[tuple[str, str], list[float]] = defaultdict(list)
        cells = [Cell(f"seed={seed}", run_seed, (data, cfg, seed, dev)) for seed in seeds]
        for result in run_cells(
            cells, engine, checkpoints=ckpt, desc=f"coldbrew/{dataset}", progress=progress
        ):
            for key, v in result.items():
                per_seed[key].append(v)
        for (model, metric), values in per_seed.items():
            paper = PAPER.get((dataset, model, metric))
            rec.add(
                model,
                metric,
                values,
                paper=paper[0] if paper else None,
                source=paper[1] if paper else None,
                fraction=metric not in RAW,
            )
        rec.note(
            f"Degree groups: mode={cfg.split.mode}; isolated nodes lose all their edges before "
            "training (strict cold start); accuracies are on test nodes of each group."
        )
        if cfg.split.node_split == "public":
            rec.note("Node split: Planetoid's public split (the same for every seed).")
        elif getattr(data, "split_masks", None) is not None:
            rec.note("Node split: the standard Geom-GCN split number (seed mod 10).")
        else:
            rec.note(
                f"Node split: random {cfg.split.train_frac:.0%} train / {cfg.split.val_frac:.0%} "
                "validation / rest test per seed (the official code trains on Cora's first 600 "
                "nodes, has no validation set and selects the teacher on test accuracy)."
            )
        labelled = data.y[data.y >= 0]
        metric = choose_metric(cfg.coldbrew.selection, labelled, int(labelled.max()) + 1)
        rec.note(
            f"Model selection and early stopping use the validation {metric} only (selection="
            f"{cfg.coldbrew.selection!r}; MLP1: validation MSE), for Cold Brew and every baseline; "
            "`val_acc` is reported so that settings can be compared on validation data with --set."
        )
        rec.note(
            "`*_full` rows are trained on the full graph (nothing isolated); FCR uses gcn_full, mlp "
            "and lp_full overall accuracy. coldbrew = the MLP2 soft-label weight kept on validation "
            "from coldbrew.student.soft_label_weight; coldbrew_paper = weight 0 (the paper's "
            "label-only MLP2) on the same teacher and MLP1. glnn distils the same teacher on the "
            "same nodes with the same weight grid and validation choice; graphmlp picks its "
            "contrastive weight from baselines.graphmlp_weights (choices per seed in run.log). "
            "Diagnostics: teacher se_row_norm / xw_row_norm = mean row norm of the first layer's "
            "structural embedding / of XW; coldbrew vn_distinct / vn_label_agree = distinct "
            "virtual neighbours used by the isolated test nodes / fraction sharing their label."
        )
        rec.plot("accuracy_by_group.png", lambda p: plot_groups(rec, p))

    return rec.run(body)


def plot_groups(rec: RunRecorder, path: Path) -> None:
    """Grouped bars: accuracy of each model on isolated / tail / head / overall test nodes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = {(r.model, r.metric): r for r in rec.rows}
    metrics = [f"{g}_acc" for g in GROUPS] + ["overall_acc"]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / len(MODELS)
    for i, model in enumerate(MODELS):
        summary = [rows[(model, m)].as_json() for m in metrics]
        means = [100 * (r["mean"] if r["mean"] is not None else np.nan) for r in summary]
        stds = [100 * (r["std"] or 0.0) for r in summary]
        xs = np.arange(len(metrics)) + (i - len(MODELS) / 2 + 0.5) * width
        ax.bar(
            xs,
            means,
            width,
            yerr=stds,
            label=model,
            capsize=2,
            color="black" if model == "coldbrew" else None,
        )
        paper = rows[(model, "isolated_acc")].paper
        if paper is not None:
            ax.plot([xs[0]], [paper * 100], marker="*", color="red", markersize=9, zorder=5)
    ax.set_xticks(np.arange(len(metrics)), [m.replace("_acc", "") for m in metrics])
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        f"Cold Brew on {rec.dataset}: accuracy by node group ({len(rec.seeds)} seeds; red * = paper)"
    )
    ax.legend(ncol=4, fontsize=8, loc="lower right")
    ax.set_ylim(0, 100)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
