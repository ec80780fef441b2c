"""How much do trajectory models use the other agents? (Makansi et al., ICLR 2022)

Per dataset, model and seed: best-of-K ADE / FDE on the test scenes with and without
neighbours, then Shapley attributions (permutation estimator, ``-minADE`` value, players = the
target's past, every neighbour and a random neighbour from another scene) on a seeded sample of
test scenes: mean attribution of the past, of the strongest neighbour, of all neighbours
together (social) and of the random neighbour. ETH/UCY runs the leave-one-scene-out protocol
over its five scenes and averages the scenes (per seed); models are selected on the validation
files only. Finally exact vs permutation vs Banzhaf estimates of the social model (first seed)
on a few scenes: mean absolute error against exact, and the efficiency gap.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reprkit.core.cells import Cell, Engine, per_process, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args, seeded
from reprkit.datasets.trajectories import ETH_UCY, Scenes, load_eth_ucy, synthetic_interaction
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.trajshap.models import MODELS, evaluate, train
from reprkit.methods.trajshap.shapley import ESTIMATORS, ShapleyAttribution

DATASETS = ("eth_ucy", "synthetic_interaction")
# the plot's bars: past, strongest real / injected random neighbour, mean real / random one
ATTRIBUTIONS = ("phi_past", "phi_social", "phi_random_max", "phi_neighbor_mean", "phi_random")
_SOURCE = "Makansi et al., ICLR 2022 (Trajectron++ on ETH-UCY, as quoted in issue #11)"
ROW_NAMES = {"constant_velocity": "cv"}  # DESIGN.md's model names

PAPER = {  # social model rows of eth_ucy: Trajectron++ with -> without neighbours
    "ade": 0.30, "fde": 0.51, "ade_no_neighbors": 0.31, "fde_no_neighbors": 0.52,
}  # fmt: skip
PAPER_NOTE = (
    "Paper (Makansi et al., 'You mostly walk alone', ICLR 2022; numbers as quoted in issue #11, "
    "the paper could not be opened offline): minADE/minFDE with -> without neighbours: "
    "Trajectron++ ETH-UCY 0.30/0.51 -> 0.31/0.52, SportVU 4.86/5.31 -> 6.62/8.98; Social-STGCNN "
    "ETH-UCY 0.45/0.76 -> 0.45/0.76. On ETH-UCY the social attribution is about zero and about "
    "equal to the random neighbour's. SportVU is not available here: synthetic_interaction "
    "(leader-follower) stands in for interaction-rich data, so its numbers are not comparable."
)


@dataclass(frozen=True)
class TrajShapExperimentConfig:
    models: tuple[str, ...] = MODELS
    scenes: tuple[str, ...] = tuple(ETH_UCY)  # held-out ETH/UCY scenes
    k: int = 20  # best-of-K
    hidden: int = 64
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    max_per_epoch: int = 8000  # training windows drawn per epoch
    n_synthetic: int = 4000  # synthetic training scenes (+ a quarter each for val and test)
    n_attr: int = 1000  # test scenes attributed per model and seed (split over ETH/UCY scenes)
    n_samples: int = 32  # permutations per scene
    removals: tuple[str, ...] = ("zero", "random")  # the first is the headline
    compare_scenes: int = 100  # scenes for exact vs permutation vs Banzhaf

    def validate(self) -> None:
        bad = [m for m in self.models if m not in MODELS]
        check(not bad and self.models, f"models must be a subset of {list(MODELS)}, got {bad}")
        bad = [s for s in self.scenes if s not in ETH_UCY]
        check(not bad and self.scenes, f"scenes must be a subset of {list(ETH_UCY)}, got {bad}")
        check(self.k >= 1 and self.epochs >= 1, "k and epochs must be >= 1")
        check(self.n_attr >= 2, f"n_attr must be >= 2, got {self.n_attr}")
        check(self.n_samples >= 2, f"n_samples must be >= 2, got {self.n_samples}")
        bad = [r for r in self.removals if r not in ("zero", "random")]
        check(not bad and self.removals, f"removals must be a subset of [zero, random], got {bad}")


PROFILES: dict[str, dict[str, object]] = {
    "smoke": {"epochs": 1, "max_per_epoch": 256, "hidden": 16, "k": 5, "n_synthetic": 200,
              "n_attr": 20, "n_samples": 4, "compare_scenes": 6, "scenes": ("zara1",)},
    "cpu": {},
    "paper": {"epochs": 50, "max_per_epoch": 100_000, "hidden": 128, "n_samples": 128},
}  # fmt: skip


# relative cost of one cell per model (training + attribution): longest first
MODEL_COST = {"social": 4.0, "lstm": 2.0, "constant_velocity": 0.5}


def resolve_config(
    profile: str = "cpu", overrides: Mapping[str, Any] | None = None
) -> TrajShapExperimentConfig:
    return resolve_profile(TrajShapExperimentConfig(), PROFILES, profile, overrides)


def _splits(dataset: str, cfg: TrajShapExperimentConfig, seed: int):
    """[(name, train, val, test)]: the held-out ETH/UCY scenes, or one synthetic draw."""
    if dataset == "eth_ucy":
        return [(s, *(load_eth_ucy(s, p) for p in ("train", "val", "test"))) for s in cfg.scenes]
    n = cfg.n_synthetic
    data = synthetic_interaction(n + n // 2, seed=10_000 + seed)
    q = n // 4
    return [("synthetic", data.subset(slice(0, n)), data.subset(slice(n, n + q)),
             data.subset(slice(n + q, n + 2 * q)))]  # fmt: skip


def splits_for(dataset: str, cfg: TrajShapExperimentConfig, seed: int):
    """:func:`_splits`, once per process, data folder and split (ETH/UCY: the same files for
    every seed)."""
    return _cached_splits(dataset, cfg, 0 if dataset == "eth_ucy" else seed)


_cached_splits = per_process(maxsize=4)(_splits)


def run_cell(
    dataset: str, cfg: TrajShapExperimentConfig, seed: int, model_name: str, part: int
) -> dict[str, Any]:
    """One (seed, model, held-out part) cell: train, measure and attribute; {"name": the part,
    "row": {metric: value}, "compare": the estimators' comparison (social model, first part)
    or None}."""
    splits = splits_for(dataset, cfg, seed)
    name, tr, va, te = splits[part]
    per_part = max(2, cfg.n_attr // len(splits))
    with seeded(seed) as (gen, _):
        model = train(
            model_name, tr, va, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
            k=cfg.k, hidden=cfg.hidden, max_per_epoch=cfg.max_per_epoch, gen=gen, progress=False,
        )  # fmt: skip
    row = _measure(model, te, per_part, cfg, seed)
    log.info("%s %s seed %d: ADE %.3f, social %.4f, random %.4f", model_name, name, seed,
             row["ade"], row["phi_social"], row["phi_random"])  # fmt: skip
    compare = _compare(model, te, cfg, seed) if model_name == "social" and part == 0 else None
    return {"name": name, "row": row, "compare": compare}


def run(
    dataset: str = "eth_ucy",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "cpu",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Train, measure and attribute every model on every seed (and held-out scene); write the
    run folder. Each (seed, model, scene) is a cell run on ``engine`` (default: serially;
    core/cells.py)."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    engine = (engine or Engine()).validate()
    rec = RunRecorder(
        "trajshap", dataset, profile, seeds, config_to_dict(cfg), out, resolve_device("cpu"),
        title="Trajectory prediction: ADE/FDE with and without neighbours, Shapley attributions",
        fractions=False,
    )  # fmt: skip
    parts = len(splits_for(dataset, cfg, seeds[0]))  # loads (and checks) the files first

    ckpt = rec.checkpoints(resume)  # finished cells, for --resume

    def body(rec: RunRecorder) -> None:
        res: dict[str, dict[str, list[float]]] = {m: {} for m in cfg.models}
        per_scene: dict[str, list[float]] = {}
        compare: dict[str, dict[str, list[float]]] = {}
        cells = [Cell(f"seed={seed}/{m}/{part}", run_cell, (dataset, cfg, seed, m, part),
                      cost=MODEL_COST.get(m, 1.0))
                 for seed in seeds for m in cfg.models for part in range(parts)]  # fmt: skip
        results = iter(
            run_cells(
                cells, engine, checkpoints=ckpt, desc=f"trajshap/{dataset}", progress=progress
            )
        )
        for _seed in seeds:
            for model_name in cfg.models:
                vals: dict[str, list[float]] = {}
                for _ in range(parts):
                    r = next(results)
                    for metric, v in r["row"].items():
                        vals.setdefault(metric, []).append(v)
                    per_scene.setdefault(f"{model_name}/{r['name']}", []).append(r["row"]["ade"])
                    for est, m in (r["compare"] or {}).items():
                        for metric, v in m.items():
                            compare.setdefault(est, {}).setdefault(metric, []).append(v)
                for metric, v in vals.items():  # mean over held-out scenes
                    res[model_name].setdefault(metric, []).append(float(np.nanmean(v)))
        for model_name, metrics in res.items():
            for key, v in metrics.items():
                metric, _, setting = key.partition("@")
                row_name = ROW_NAMES.get(model_name, model_name) + (
                    f"@{setting}" if setting else ""
                )
                paper = PAPER.get(metric) if dataset == "eth_ucy" and row_name == "social" else None
                rec.add(row_name, metric, v, paper=paper, source=_SOURCE if paper else None,
                        higher_is_better=metric.startswith("phi"),
                        fraction=False)  # fmt: skip
        for est, metrics in compare.items():
            for metric, v in metrics.items():
                rec.add(f"estimator_{est}", metric, v, higher_is_better=False, fraction=False)
        if dataset == "eth_ucy":
            rec.note("Best-of-K ADE per held-out scene (mean over seeds): " + "; ".join(
                f"{k} {np.mean(v):.3f}" for k, v in per_scene.items()))  # fmt: skip
        rec.note(
            f"Attribution: value -minADE (best of {cfg.k}), permutation estimator with "
            f"{cfg.n_samples} orders per scene, {cfg.n_attr} test scenes per model and seed; "
            f"removal '{cfg.removals[0]}' (models as named) and "
            + ", ".join(f"'{r}' (models <name>@{r}_removal)" for r in cfg.removals[1:])
            + "; models <name>@…past_kept: the game without the past as a player (always kept). "
            "Every game injects as many random neighbours (real agents of other scenes) as the "
            "scene has real ones, at least one: the matched null. Over the scenes with at least "
            "one real neighbour: phi_social = the largest real neighbour's attribution (the "
            "paper's 'social'), phi_random_max = the largest injected random one's; "
            "phi_neighbor_mean / phi_random = the mean over a scene's real / random neighbours; "
            "null_gap_max / null_gap_mean = the per-scene real − null difference (mean, _se its "
            "standard error over scenes), null_sd_* = the null's spread over scenes; "
            "phi_neighbors_sum: all real neighbours together; attr_s_per_1k: seconds to "
            "attribute 1,000 scenes in the first game (2 CPU threads)."
        )
        rec.note(PAPER_NOTE)
        rec.plot(
            "attributions.png",
            lambda p: plot_bars(res, p, f"{dataset}, removal '{cfg.removals[0]}'"),
        )

    return rec.run(body)


def _measure(model, test: Scenes, n_attr: int, cfg, seed: int) -> dict[str, float]:
    ade, fde = evaluate(model, test)
    ade0, fde0 = evaluate(model, test.without_neighbours())
    pick = np.random.default_rng(seed).choice(len(test), min(n_attr, len(test)), replace=False)
    row = {"ade": ade, "fde": fde, "ade_no_neighbors": ade0, "fde_no_neighbors": fde0}
    for removal in cfg.removals:
        for keep_past in (False, True):
            start = time.perf_counter()
            att = ShapleyAttribution(model, removal=removal, n_samples=cfg.n_samples, seed=seed,
                                     matched_null=True, keep_past=keep_past,
                                     progress=False).attribute(test.subset(np.sort(pick)))  # fmt: skip
            secs = time.perf_counter() - start
            # the first removal holds the plain row; others become a model suffix
            # (@random_removal), the past-kept game another (@past_kept)
            tags = [f"{removal}_removal"] if removal != cfg.removals[0] else []
            tags += ["past_kept"] if keep_past else []
            tag = "@" + ".".join(tags) if tags else ""
            row |= {f"{k}{tag}": v for k, v in _summary(att).items()}
            if not tag:
                row["attr_s_per_1k"] = secs * 1000 / len(pick)
    return row


def _summary(att) -> dict[str, float]:
    """Mean attributions over the scenes; neighbour statistics over the scenes with at least
    one real neighbour, each beside its matched null (as many injected random neighbours)."""
    has = ~np.isnan(att.strongest())  # the scenes with a real neighbour
    out = {"phi_past": float(att.phi[:, 0].mean()),
           "phi_neighbors_sum": float(att.social().mean())}  # fmt: skip
    stats = {
        "phi_social": att.strongest(),  # the paper's: max over a scene's neighbours
        "phi_random_max": att.strongest("random"),
        "phi_neighbor_mean": att.neighbour_mean(),
        "phi_random": att.neighbour_mean("random"),
    }
    for name, values in stats.items():
        out[name] = float(values[has].mean()) if has.any() else float("nan")
    # per-scene real − matched null: its mean and the spread of the null over the scenes
    for real, null, key in (("phi_social", "phi_random_max", "max"),
                            ("phi_neighbor_mean", "phi_random", "mean")):  # fmt: skip
        gap = (stats[real] - stats[null])[has]
        out[f"null_gap_{key}"] = float(gap.mean()) if has.any() else float("nan")
        out[f"null_gap_{key}_se"] = (
            float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else float("nan")
        )
        out[f"null_sd_{key}"] = float(stats[null][has].std()) if has.any() else float("nan")
    return out


def _compare(model, test: Scenes, cfg, seed: int) -> dict[str, dict[str, float]]:
    """Exact vs permutation vs Banzhaf on ``compare_scenes`` test scenes."""
    pick = np.random.default_rng(seed + 1).choice(
        len(test), min(cfg.compare_scenes, len(test)), replace=False
    )
    scenes = test.subset(np.sort(pick))
    out, ref = {}, None
    for est in ESTIMATORS:
        start = time.perf_counter()
        att = ShapleyAttribution(model, removal=cfg.removals[0], estimator=est,
                                 n_samples=cfg.n_samples, seed=seed,
                                 progress=False).attribute(scenes)  # fmt: skip
        secs = time.perf_counter() - start
        ref = att if est == "exact" else ref
        gap = np.abs(att.phi.sum(1) - (att.v_all - att.v_none)).mean()
        out[est] = {
            "mae_vs_exact": float(np.abs(att.phi - ref.phi)[att.active].mean()),
            "efficiency_gap": float(gap),
            "seconds": secs,
        }
    return out


def plot_bars(res: dict[str, dict[str, list[float]]], path: Path, what: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(res)
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.2), squeeze=False,
                             sharey=True)  # fmt: skip
    labels = ["past", "strongest\nneighbour", "strongest\nrandom", "mean\nneighbour",
              "mean\nrandom"]  # fmt: skip
    for ax, m in zip(axes[0], models, strict=True):
        mean = [np.mean(res[m][a]) for a in ATTRIBUTIONS]
        std = [np.std(res[m][a]) for a in ATTRIBUTIONS]
        ax.bar(labels, mean, yerr=std, color=["C0", "C1", "C3", "C2", "C3"], capsize=3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(m, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].set_ylabel("Shapley value of -minADE (m)")
    fig.suptitle(f"{what}: what the prediction uses (mean ± std over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
