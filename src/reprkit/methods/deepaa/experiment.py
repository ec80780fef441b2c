"""Deep AutoAugment's headline experiment: search a policy on the training images, then train
a fresh network with it and with every baseline augmentation, all on the same budget.

Per seed: ``DeepAutoAugment`` searches on the dataset's training images (all of them: its own
disjoint pre-train / search / validation split inside them, as the official code; the test
images are never seen), then one network per augmentation is trained on the ``n_train``
training images for ``train.epochs`` and scored once on the test images (no early stopping, no
model selection). DeepAA's policies (ours and the authors' released one, ``deepaa_official``)
are used alone, as the official training code does; RandAugment, TrivialAugment and AutoAugment
run after crop+flip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.io import atomic_write_json
from reprkit.core.seed import check_run_args, seeded
from reprkit.datasets.images import ImageData, load_images, released_deepaa_policy
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.deepaa.config import DeepAAConfig, TrainConfig
from reprkit.methods.deepaa.method import DeepAutoAugment
from reprkit.methods.deepaa.nets import BASELINES, accuracy, baseline, train_classifier
from reprkit.methods.deepaa.ops import ENTRIES, RANGES
from reprkit.methods.deepaa.policy import AugmentPolicy

DATASETS = ("cifar10_subset", "cifar10", "cifar100", "synthetic_images")
AUGMENTATIONS = (*BASELINES, "deepaa_official", "deepaa")
_SRC = "DeepAA (ICLR 2022) Table 1, as quoted in issue #8 (the paper's tables are not readable offline here)"
PAPER_NOTE = (
    "Paper (WRN-28-10, full data, 200 epochs): CIFAR-10 DeepAA 97.56 ± 0.14, CIFAR-100 "
    "84.02 ± 0.18; ImageNet ResNet-50 78.30 vs TrivialAugment-Wide 78.07, AutoAugment / "
    f"RandAugment 77.6. Source: {_SRC}. Not comparable with the small-network, small-budget "
    "numbers above."
)


@dataclass(frozen=True)
class DeepAAExperimentConfig:
    search: DeepAAConfig = field(default_factory=DeepAAConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=30, batch_size=64, lr=0.05)
    )
    n_train: int = 2000  # class-balanced training images (drawn once, seed 0); 0 = all
    augmentations: tuple[str, ...] = AUGMENTATIONS
    official_policy: int = 1  # which released CIFAR policy is the row deepaa_official (1 or 2)

    def validate(self) -> None:
        bad = [a for a in self.augmentations if a not in AUGMENTATIONS]
        check(
            not bad and self.augmentations,
            f"augmentations must be a subset of {list(AUGMENTATIONS)}, got {list(self.augmentations)}",
        )
        check(self.n_train >= 0, f"n_train must be >= 0, got {self.n_train}")
        check(
            self.official_policy in (1, 2),
            f"official_policy must be 1 or 2, got {self.official_policy}",
        )
        self.search.validate()
        self.train.validate()


PROFILES: dict[str, dict[str, object]] = {
    "smoke": {
        "n_train": 0,
        "search.layers": 2,
        "search.steps": 2,
        "search.tasks": 2,
        "search.val_per_task": 4,
        "search.jvp_draws": 1,
        "search.net.epochs": 1,
        "search.net.batch_size": 32,
        "train.epochs": 1,
        "train.batch_size": 32,
    },
    # 2 cores: ResNet-8 (width 16) trained on a 2,000-image reduced set, 30 epochs (about 1.5
    # min a run); the search (library defaults): 4 layers x 40 steps of 8 tasks (~9 min)
    "cpu": {},
    # the paper-scale setting for a GPU (not run here: no GPU lent): all 10,000 images,
    # ResNet-20, the official search (6 layers, 16 tasks, 4 x 139 stack draws, 16 JVP draws;
    # 512 of the official 1,024 steps per layer)
    "paper": {
        "n_train": 0,
        "search.layers": 6,
        "search.steps": 512,
        "search.tasks": 16,
        "search.grad_draws": 4,
        "search.jvp_draws": 16,
        "search.net.blocks": 3,
        "search.net.epochs": 45,
        "search.net.batch_size": 128,
        "search.net.lr": 0.1,
        "train.blocks": 3,
        "train.epochs": 100,
        "train.batch_size": 128,
        "train.lr": 0.1,
    },
}


def resolve_config(
    profile: str = "cpu", overrides: Mapping[str, Any] | None = None
) -> DeepAAExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(DeepAAExperimentConfig(), PROFILES, profile, overrides)


def balanced_subset(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Indices of ``n`` images with the classes as equal as possible (all when n = 0 or more)."""
    if n == 0 or n >= len(labels):
        return torch.arange(len(labels))
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per = n // len(classes)
    parts = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        parts.append(idx[torch.randperm(len(idx), generator=gen)[:per]])
    return torch.sort(torch.cat(parts)).values


def run(
    dataset: str = "cifar10_subset",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "cpu",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Search and train for every seed; write the run folder. ``resume``: continue an
    interrupted run in ``out`` (finished searches and trainings are read back). Each seed is a
    cell run on ``engine`` (default: serially; core/cells.py)."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    engine = (engine or Engine()).validate()
    cfg = resolve_config(profile, overrides)
    dev = resolve_device(device)
    data = load_images(dataset)
    keep = balanced_subset(data.y_train, cfg.n_train, 0)
    x, y = data.x_train[keep], data.y_train[keep]
    official = (
        AugmentPolicy.from_official(released_deepaa_policy(cfg.official_policy))
        if "deepaa_official" in cfg.augmentations
        else None
    )
    rec = RunRecorder(
        "deepaa", dataset, profile, seeds, config_to_dict(cfg), out, dev,
        title="Deep AutoAugment: test accuracy after training with each augmentation",
    )  # fmt: skip
    ckpt = rec.checkpoints(resume)

    def body(rec: RunRecorder) -> None:
        acc: dict[str, list[float]] = {a: [] for a in cfg.augmentations}
        secs: dict[str, list[float]] = {a: [] for a in cfg.augmentations}
        policies: dict[int, AugmentPolicy] = {}
        history: list[list[float]] = []
        search_s: list[float] = []
        net_acc: list[dict] = []
        cells = [Cell(f"seed={seed}", run_seed, (data, x, y, cfg, seed, dev, ckpt, official))
                 for seed in seeds]  # fmt: skip
        for seed, r in zip(seeds, run_cells(cells, engine, desc=f"deepaa/{dataset}",
                                            progress=progress), strict=True):  # fmt: skip
            if r["saved"] is not None:
                policies[seed], search_s = r["policy"], [*search_s, r["saved"]["seconds"]]
                history = history or r["saved"]["history"]
                net_acc.append(r["saved"].get("search_net_acc", {}))
            for aug in cfg.augmentations:
                acc[aug].append(r["acc"][aug])
                secs[aug].append(r["secs"][aug])
        for aug in cfg.augmentations:
            rec.add(aug, "test_acc", acc[aug])
        if search_s:
            rec.add("deepaa", "search_time_s", search_s, higher_is_better=False, fraction=False)
        for aug in cfg.augmentations:
            rec.note(f"{aug}: {sum(secs[aug]) / len(seeds):.0f} s per training run")
        t = cfg.train
        rec.note(
            f"Training: ResNet-{6 * t.blocks + 2} (width {t.width}) from scratch on {len(x)} "
            f"training images of {dataset} (class-balanced, drawn once), {t.epochs} epochs, "
            f"batch {t.batch_size}, SGD+Nesterov lr {t.lr} cosine, wd {t.weight_decay}; test "
            f"accuracy on all {len(data.x_test)} test images after the last epoch."
        )
        if dataset == "cifar10_subset":
            rec.note(
                "cifar10_subset is decoded from JPEG copies of CIFAR-10 images: compare the "
                "rows with each other, do not quote them as CIFAR-10 accuracy."
            )
        if policies:
            s = cfg.search
            n = len(data.x_train)
            rec.note(
                f"Search: {sum(search_s) / len(search_s):.0f} s per seed; {s.layers} layers x "
                f"{s.steps} steps of {s.tasks} tasks (one search image + {s.val_per_task} "
                f"validation images of its class), {len(ENTRIES)} entries; layers >= 2: "
                f"{s.grad_draws} x {len(ENTRIES)} stack draws, {s.jvp_draws} JVP draws; Adam lr "
                f"{s.effective_policy_lr:.3g} on the logits (identity's starts at "
                f"{s.init_identity_logit:g}). Search "
                f"net ResNet-{6 * s.net.blocks + 2} pre-trained {s.net.epochs} epochs with "
                f"crop+flip+cutout on {s.pretrain_fraction:.0%} of the {n} training images; "
                f"tasks use the other images (search {1 - s.pretrain_fraction - s.val_fraction:.0%}"
                f", validation {s.val_fraction:.0%}), never seen by the network."
            )
            for seed, acc in zip(seeds, net_acc, strict=False):
                if acc:
                    rec.note(
                        f"search net seed {seed}: accuracy {acc['pretrain']:.3f} on its own "
                        f"pre-training images, {acc['search']:.3f} on the search images"
                    )
            first = policies[seeds[0]]
            for k in range(first.n_layers):
                top = ", ".join(f"{op}({_mag(v)}) {q:.3f}" for op, v, q in first.top(k, 4))
                rec.note(f"policy seed {seeds[0]} layer {k + 1}: {top}")
            for seed, pol in policies.items():
                rec.plot(f"policy_seed{seed}.json", pol.save)
            rec.plot("augmented_samples.png", lambda p: plot_samples(data, first, p))
            rec.plot("policy_layers.png", lambda p: plot_policy(first, history, p))
            if official is not None:
                rec.plot(
                    "policy_vs_official.png",
                    lambda p: plot_vs_official(list(policies.values()), official, p),
                )
        rec.note(PAPER_NOTE)

    return rec.run(body)


def _mag(v: float | None) -> str:
    return "" if v is None else f"{v:.3g}"


def _once(path: Path, compute: Callable[[], dict]) -> dict:
    """``compute()`` timed and written to ``path`` (atomically), or read back if an earlier
    attempt finished it."""
    if path.exists():
        return json.loads(path.read_text())
    start = time.perf_counter()
    out = compute() | {"seconds": time.perf_counter() - start}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, out)
    return out


def run_seed(data, x, y, cfg, seed, dev, ckpt: Path, official) -> dict[str, Any]:
    """One seed's cell: the search (if ``deepaa`` is among the rows), then one training per
    augmentation; {"policy", "saved" (the search's checkpoint) or None, "acc", "secs"}."""
    out: dict[str, Any] = {"policy": None, "saved": None, "acc": {}, "secs": {}}
    if "deepaa" in cfg.augmentations:
        out["policy"], out["saved"] = _search(data, cfg, seed, dev, False, ckpt)
    for aug in cfg.augmentations:
        use = official if aug == "deepaa_official" else out["policy"]
        a, sec = _train(x, y, data, cfg, aug, use, seed, dev, False, ckpt)
        out["acc"][aug], out["secs"][aug] = a, sec
        log.info("seed %d %s: test acc %.4f (%.0f s)", seed, aug, a, sec)
    return out


def _search(data: ImageData, cfg, seed, dev, progress, ckpt: Path):
    """The seed's policy and its checkpoint (history, seconds, search-net accuracy)."""

    def compute() -> dict:
        s = replace(cfg.search, seed=seed)
        m = DeepAutoAugment(s, device=dev, progress=progress).fit(data.x_train, data.y_train)
        return {
            "policy": m.policy_.to_dict(),
            "history": m.history_,
            "search_net_acc": m.search_net_acc_,
        }

    saved = _once(ckpt / f"policy_seed{seed}.json", compute)
    log.info("search seed %d: %.0f s", seed, saved["seconds"])
    return AugmentPolicy.from_dict(saved["policy"]), saved


def _train(x, y, data: ImageData, cfg, aug, policy, seed, dev, progress, ckpt: Path):
    """(test accuracy, seconds) of one training run."""

    def compute() -> dict:
        augment = policy if aug.startswith("deepaa") else baseline(aug)
        with seeded(10_000 + seed) as (gen, _):
            net = train_classifier(
                x, y, data.n_classes, cfg.train, augment, gen,
                device=dev, progress=progress, desc=f"{aug} seed {seed}",
            )  # fmt: skip
        return {"acc": accuracy(net, data.x_test, data.y_test)}

    saved = _once(ckpt / f"train_{aug}_seed{seed}.json", compute)
    return saved["acc"], saved["seconds"]


def plot_samples(data: ImageData, policy: AugmentPolicy, path: Path, n: int = 8) -> None:
    """Test images (top row) and six draws of the policy for each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gen = torch.Generator().manual_seed(0)
    imgs = data.x_test[:: max(1, len(data.x_test) // n)][:n]
    rows = [imgs] + [policy(imgs, gen) for _ in range(6)]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.25 * len(rows)), squeeze=False)
    for r, batch in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            img = batch[c].permute(1, 2, 0).numpy()
            ax.imshow(img.squeeze(), cmap="gray" if img.shape[2] == 1 else None)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel("original" if r == 0 else f"draw {r}", fontsize=8)
    fig.suptitle("test images augmented by the found DeepAA policy", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def op_mass(policy: AugmentPolicy) -> torch.Tensor:
    """``(layers, ops)``: each layer's probability per op, summed over magnitudes."""
    ops = list(RANGES)
    per_op = torch.zeros(policy.n_layers, len(ops), dtype=torch.float64)
    for j, (op, _) in enumerate(ENTRIES):
        per_op[:, ops.index(op)] += policy.probs[:, j]
    return per_op


def plot_vs_official(ours: list[AugmentPolicy], official: AugmentPolicy, path: Path) -> None:
    """Per-layer op mass: our searched policies (mean over seeds) beside the released one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = torch.stack([op_mass(p) for p in ours]).mean(0).numpy()
    theirs = op_mass(official).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), sharey=False)
    for ax, m, title in (
        (axes[0], mine, f"ours (mean of {len(ours)} seeds)"),
        (axes[1], theirs, "released (official policy_DeepAA_cifar)"),
    ):
        im = ax.imshow(m, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(RANGES)))
        ax.set_xticklabels(list(RANGES), rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(m)))
        ax.set_yticklabels([f"layer {k + 1}" for k in range(len(m))], fontsize=8)
        ax.set_title(title, fontsize=10)
        for (r, c), q in np.ndenumerate(m):
            if q >= 0.05:
                ax.text(c, r, f"{q:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if q > 0.5 else "white")  # fmt: skip
    fig.colorbar(im, ax=axes, fraction=0.02, label="probability (summed over magnitudes)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_policy(policy: AugmentPolicy, history: list[list[float]], path: Path) -> None:
    """Each layer's probability per op (summed over magnitudes), and the search objective."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = list(RANGES)
    per_op = op_mass(policy).numpy()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 1]})
    w = 0.8 / policy.n_layers
    for k in range(policy.n_layers):
        ax.bar(np.arange(len(ops)) + (k - (policy.n_layers - 1) / 2) * w, per_op[k], w,
               label=f"layer {k + 1}")  # fmt: skip
    ax.set_xticks(np.arange(len(ops)))
    ax.set_xticklabels(ops, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("probability (summed over magnitudes)")
    ax.legend(fontsize=8)
    ax.set_title("found policy (first seed)")
    for k, h in enumerate(history):
        ax2.plot(h, label=f"layer {k + 1}")
    ax2.set_xlabel("search step")
    ax2.set_ylabel("mean cosine of the tasks' gradients")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
