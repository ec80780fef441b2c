"""The in-domain generalization experiment: every model family on every systematic split.

Per split kind and seed: the split of the factor grid (``make_split``; random draws its test set
with the seed), a model trained on the training part (targets: the split factors' values
normalised to [0, 1] over the grid), R² per factor on the test part (variance over the grid).
Categorical factors (dSprites / Shapes3D shape, MPI3D colour and shape) are not split and not
predicted. The headline ``r2_<split>`` leaves orientation out (ill-posed for symmetric shapes);
``r2_<split>_with_orientation`` keeps it. Every model gets the same number of gradient steps on
every split.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reprkit.core.cells import Cell, Engine, per_process, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args, seeded
from reprkit.datasets.factors import load_factor_images
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.indomain.models import MODELS, train_model
from reprkit.methods.indomain.splits import (
    KINDS,
    composition_bands,
    extrapolation_reach,
    make_split,
    predict,
    r2_per_factor,
)

DATASETS = ("dsprites", "synthetic_dsprites", "shapes3d", "mpi3d_toy")
PAPER_NOTE = (
    "Paper (Schott et al., ICLR 2022; extrapolation R² leaderboard, as quoted in issue #10 — the "
    "paper could not be opened offline): dSprites PCL 66.7 %, DenseNet121 64.4 %; Shapes3D "
    "ResNet-101 67.8 %; MPI3D ImageNet-21k ResNet-50 54.1 %; every model family scores "
    "random > composition > interpolation > extrapolation. The dSprites grid here is coarser "
    "(10 orientations, 16 x 16 positions instead of 40, 32 x 32) and images are downsampled."
)


@dataclass(frozen=True)
class InDomainExperimentConfig:
    models: tuple[str, ...] = MODELS
    kinds: tuple[str, ...] = KINDS
    ratio: float | None = None  # per-factor hold-out ratio; None: the paper's for the dataset
    size: int = 32  # images are average-pooled to size x size (64 = the originals)
    # gradient steps per model, equal across splits (official: a fixed number of iterations);
    # 324 = 3 epochs over a 30 % training part of the staged 46,080-image grid at batch 128
    steps: int = 324
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 4.0

    def validate(self) -> None:
        bad = [m for m in self.models if m not in MODELS]
        check(not bad and self.models, f"models must be a subset of {list(MODELS)}, got {bad}")
        bad = [k for k in self.kinds if k not in KINDS]
        check(not bad and self.kinds, f"kinds must be a subset of {list(KINDS)}, got {bad}")
        check(
            self.ratio is None or 0 < self.ratio < 1, f"ratio must be in (0, 1), got {self.ratio}"
        )
        check(self.size in (16, 32, 64), f"size must be 16, 32 or 64, got {self.size}")
        check(self.steps >= 1, f"steps must be >= 1, got {self.steps}")


PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"size": 16, "steps": 4, "models": ("mlp", "conv4")},
    "cpu": {},
    "paper": {"size": 64, "steps": 2160},  # 20 epochs over a 30 % training part
}


def resolve_config(
    profile: str = "cpu", overrides: Mapping[str, Any] | None = None
) -> InDomainExperimentConfig:
    return resolve_profile(InDomainExperimentConfig(), PROFILES, profile, overrides)


@dataclass(frozen=True)
class Prepared:
    """A factor-image dataset pooled and normalised for the experiment."""

    data: Any  # FactorImages
    x: torch.Tensor  # pooled images in [0, 1]
    targets: torch.Tensor  # split factors normalised to [0, 1] over the grid
    cols: list[int]  # the split factors' columns
    names: list[str]
    keep: list[int]  # the factors in the headline (orientation left out)


@per_process(maxsize=2)
def prepare(dataset: str, size: int) -> Prepared:
    """Load, pool to ``size`` and normalise once per process and data folder (every cell of a
    run reuses it)."""
    data = load_factor_images(dataset)
    cols = data.split_columns()
    names = [data.names[i] for i in cols]
    keep = [i for i, n in enumerate(names) if n != "orientation"]
    k = max(1, data.images.shape[-1] // size)  # pooled in chunks: Shapes3D / MPI3D are big
    x = torch.cat([F.avg_pool2d(c.float() / 255, k) for c in data.images.split(8192)])
    grid = data.values[:, cols]
    lo, hi = grid.min(0), grid.max(0)
    targets = torch.from_numpy((grid - lo) / np.where(hi > lo, hi - lo, 1.0)).float()
    return Prepared(data, x, targets, cols, names, keep)


def run_cell(
    dataset: str, cfg: InDomainExperimentConfig, model: str, kind: str, seed: int, scatter: bool
) -> dict[str, Any]:
    """One (model, split, seed) cell: {"per": {metric: value}, "secs", "fraction" (the split's
    test share), "scatter": (true, predicted, training targets) or None}."""
    p = prepare(dataset, cfg.size)
    ratio = cfg.ratio or p.data.ratio
    train, test = make_split(p.data.factors, kind, ratio, seed, p.cols)
    start = time.perf_counter()
    with seeded(seed) as (gen, _):
        net = train_model(
            model, p.x[train], p.targets[train], steps=cfg.steps, batch_size=cfg.batch_size,
            lr=cfg.lr, beta=cfg.beta, factors=p.data.factors[train], gen=gen, progress=False,
        )  # fmt: skip
    secs = time.perf_counter() - start
    pred = predict(net, p.x[test])
    r2 = r2_per_factor(pred, p.targets[test].numpy(), p.targets.numpy())
    per = {f"r2_{name}": float(v) for name, v in zip(p.names, r2, strict=True)}
    # the headline: without orientation (ill-posed under the shapes' symmetries)
    per["r2_mean"] = float(r2[p.keep].mean())
    if len(p.keep) < len(p.names):
        per["r2_with_orientation"] = float(r2.mean())
    shown = None
    if kind == "extrapolation":
        reach = extrapolation_reach(pred, p.targets[test], p.targets[train])
        per |= {f"reach_{name}": float(v) for name, v in zip(p.names, reach, strict=True)}
        per["reach_no_orientation"] = float(reach[p.keep].mean())
        if scatter:
            pick = np.random.default_rng(0).choice(len(pred), min(2000, len(pred)), replace=False)
            shown = (p.targets[test][pick].numpy(), pred[pick], p.targets[train].numpy())
    log.info("%s %s seed %d: R² %.3f", model, kind, seed, r2.mean())
    return {"per": per, "secs": secs, "fraction": float(test.mean()), "scatter": shown}


def run(
    dataset: str = "dsprites",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "cpu",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Train every model family on every split and seed; write the run folder. Each (model,
    split, seed) is a cell run on ``engine`` (default: serially; core/cells.py)."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    engine = (engine or Engine()).validate()
    p = prepare(dataset, cfg.size)
    ratio = cfg.ratio or p.data.ratio
    rec = RunRecorder(
        "indomain", dataset, profile, seeds, config_to_dict(cfg), out, resolve_device(device),
        title="In-domain generalization: test R² per split and model family",
    )  # fmt: skip

    ckpt = rec.checkpoints(resume)  # finished cells, for --resume

    def body(rec: RunRecorder) -> None:
        cells = [
            Cell(f"{model}/{kind}/seed={seed}", run_cell,
                 (dataset, cfg, model, kind, seed, kind == "extrapolation" and seed == seeds[0]),
                 cost=MODEL_COST.get(model, 1.0))
            for model in cfg.models for kind in cfg.kinds for seed in seeds
        ]  # fmt: skip
        results = iter(
            run_cells(
                cells, engine, checkpoints=ckpt, desc=f"indomain/{dataset}", progress=progress
            )
        )
        scatter: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        fractions: dict[str, float] = {}
        for model in cfg.models:
            for kind in cfg.kinds:
                per: dict[str, list[float]] = {}
                secs = 0.0
                for _ in seeds:
                    res = next(results)
                    fractions[kind] = res["fraction"]
                    secs += res["secs"]
                    for metric, v in res["per"].items():
                        per.setdefault(metric, []).append(v)
                    if res["scatter"] is not None:
                        scatter[model] = res["scatter"]
                for metric, vals in per.items():
                    rec.add(ROW_NAMES[model], _metric_name(metric, kind), vals)
                rec.note(f"{model}/{kind}: {secs / len(seeds):.0f} s per seed to train")
        names, keep = p.names, p.keep
        rec.note(
            f"Images average-pooled to {cfg.size}x{cfg.size}; {cfg.steps} gradient steps per "
            f"model on every split, batch {cfg.batch_size}, Adam lr {cfg.lr}, MSE on normalised "
            f"factors; hold-out ratio {ratio} per split factor ({', '.join(names)}); "
            f"{', '.join(p.data.categorical)} kept in both parts. Test fraction of the grid per "
            "split: " + ", ".join(f"{k} {v:.3f}" for k, v in fractions.items()) + "."
        )
        if "composition" in cfg.kinds:
            rec.note(_shortcut_note(p.data.factors, p.cols, names, ratio, p.targets.numpy()))
        if len(keep) < len(names):
            rec.note(
                "r2_<split> is the mean R² over the split factors without orientation "
                "(dSprites' orientation is ill-posed: a square turned by 90 degrees is itself); "
                "r2_<split>_with_orientation includes it, r2_<split>_orientation is its own."
            )
        rec.note(PAPER_NOTE)
        if scatter:
            rec.plot("extrapolation_pred_vs_true.png", lambda q: plot_scatter(scatter, names, q))

    return rec.run(body)


# relative training cost per family (the CPU profile's seconds per seed): longest first
MODEL_COST = {"resnet": 42.0, "ada_gvae": 26.0, "beta_vae": 15.0, "conv4": 6.0, "mlp": 2.0}


def _shortcut_note(factors, cols, names, ratio, targets) -> str:
    """Composition's shortcut, per split factor: the training images whose other split factors
    all lie above their bands (as every test image's do) have this one inside its band, by
    construction — a rule a model can learn ("others high => this one low") that is wrong on
    every test image. Reports their share of the training set and the test R² of following
    the rule (predicting the band's mean) beside the training mean's."""
    train, test = make_split(factors, "composition", ratio, 0, cols)
    sizes = factors.max(0) + 1
    bands = composition_bands(sizes, cols, ratio)
    above = [~np.isin(factors[:, c], b) for c, b in zip(cols, bands, strict=True)]
    mean = np.broadcast_to(targets[train].mean(0), targets[test].shape)
    parts = []
    for j, name in enumerate(names):
        others = np.logical_and.reduce([a for i, a in enumerate(above) if i != j] or [train])
        if not len(bands[j]) or not (train & others).any():
            continue
        rule = mean.copy()
        rule[:, j] = targets[train & others, j].mean()
        r2_rule, r2_mean = (r2_per_factor(p, targets[test], targets)[j] for p in (rule, mean))
        parts.append(
            f"{name} ({(train & others).sum() / train.sum():.0%} of training images; test R² "
            f"of the rule {r2_rule:.2f}, of the training mean {r2_mean:.2f})"
        )
    return (
        "Composition shortcut: training images whose other split factors all lie above their "
        "bands have this one inside its band, so 'others high => this one low' fits training "
        "and fails on every test image: " + ("; ".join(parts) or "none") + "."
    )


def plot_scatter(scatter, names, path: Path) -> None:
    """Predicted vs true per factor on the extrapolation test set; grey: the training range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(scatter)
    fig, axes = plt.subplots(len(models), len(names), figsize=(3 * len(names), 2.8 * len(models)),
                             squeeze=False)  # fmt: skip
    for r, m in enumerate(models):
        true, pred, train = scatter[m]
        for c, name in enumerate(names):
            ax = axes[r, c]
            ax.axvspan(train[:, c].min(), train[:, c].max(), color="0.9")
            ax.scatter(true[:, c], pred[:, c], s=2, alpha=0.3)
            ax.plot([0, 1], [0, 1], "k--", lw=0.8)
            ax.set_title(f"{m}: {name}", fontsize=8)
            ax.set_xlim(-0.05, 1.05)
            ax.set_ylim(-0.2, 1.2)
    fig.supxlabel("true (normalised); grey = values seen in training")
    fig.supylabel("predicted")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# DESIGN.md's model names (short lowercase words) for the families of ``models.MODELS``
ROW_NAMES = {"mlp": "mlp", "conv4": "conv", "resnet": "resnet", "beta_vae": "betavae",
             "ada_gvae": "adagvae"}  # fmt: skip


def _metric_name(metric: str, kind: str) -> str:
    """``r2_<split>`` (mean over the factors but orientation), ``r2_<split>_<factor>``,
    ``r2_<split>_with_orientation``;
    ``reach_*`` (extrapolation only) keep their names."""
    if metric == "r2_mean":
        return f"r2_{kind}"
    if metric.startswith("r2_"):
        return f"r2_{kind}_{metric[3:]}"
    return metric
