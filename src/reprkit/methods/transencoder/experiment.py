"""Trans-Encoder's headline experiment: unsupervised STS, transductive as in the paper.

The unlabelled pool is the sentence pairs of the 7 STS sets (STS12-16, STS-B test, SICK-R test;
``per_set`` of each, the same pairs for every seed and row) and the test pairs are that pool:
the paper trains on the test pairs without their labels. STS-B dev (``n_dev`` pairs) only
chooses the cycle. Metric: Spearman of cosine (bi) or score (cross) with the gold scores, per set
and averaged over the sets (shown × 100).

Rows (named ``start``, ``start_as_cross``, ``bi``, ``cross`` in metrics.json): ``start_bi``
(MiniLM, no training), ``untrained_cross`` (MiniLM as a cross-encoder with a
fresh head: why distillation is needed), ``self_{bi,cross}@c{k}`` per cycle, ``self_{bi,cross}``
(the cycle chosen on dev), ``mutual_{bi,cross}`` (students of poolings ``mean`` + ``mutual``
trained on their averaged labels; their first student reported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.text import STS_SETS, PairData, load_sts, synthetic_pairs
from reprkit.eval.metrics import spearman
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.transencoder.config import POOLINGS, TransEncoderConfig
from reprkit.methods.transencoder.method import TransEncoder
from reprkit.models.text import check_model_dir, default_model_path

DATASETS = ("sts", "synthetic_pairs")
_SRC = (
    "Trans-Encoder official README (amzn/trans-encoder), 7-set STS average, from an "
    "unsupervised SimCSE-BERT-base start (76.21), not from MiniLM"
)
# (row, metric) -> the paper's value (Trans-Encoder-BERT-base, self-distillation)
PAPER = {("self_bi", "spearman_avg"): 0.8041, ("self_cross", "spearman_avg"): 0.7990}
PAPER_ALL = (
    "Paper (official README, 7-set avg): SimCSE-BERT-base 76.21 -> bi 80.41 / cross 79.90; "
    "SimCSE-RoBERTa-base 76.10 -> 80.47 / 81.15; SimCSE-BERT-large 78.42 -> 82.65 / 82.52; "
    "SimCSE-RoBERTa-large 78.92 -> 82.93 / 82.93."
)


@dataclass(frozen=True)
class TransEncoderExperimentConfig:
    transencoder: TransEncoderConfig = field(default_factory=TransEncoderConfig)
    per_set: int = 0  # pairs of each set in the pool (= the test pairs); 0 = every pair
    n_dev: int = 0  # STS-B dev pairs that choose the cycle; 0 = all 1,500
    mutual: tuple[str, ...] = ("cls",)  # the mutual run's extra students; () = no mutual run
    mutual_cycles: int = 0  # cycles of the mutual run; 0 = transencoder.cycles

    def validate(self) -> None:
        check(self.per_set >= 0, f"per_set must be >= 0, got {self.per_set}")
        check(self.n_dev >= 0, f"n_dev must be >= 0, got {self.n_dev}")
        check(self.mutual_cycles >= 0, f"mutual_cycles must be >= 0, got {self.mutual_cycles}")
        bad = [p for p in self.mutual if p not in POOLINGS]
        check(not bad, f"mutual must hold poolings from {list(POOLINGS)}, got {bad}")
        check(
            not self.transencoder.mutual,
            "set the experiment's mutual, not transencoder.mutual (the self run has none)",
        )
        self.transencoder.validate()


PROFILES: dict[str, dict[str, object]] = {
    # any local BERT-family model: tests pass a tiny random one via transencoder.base_model
    "smoke": {
        "transencoder.cycles": 2,
        "transencoder.cross_steps": 4,
        "transencoder.bi_steps": 4,
        "transencoder.batch_size": 8,
        "transencoder.max_length": 16,
        "transencoder.max_length_bi": 16,
        "per_set": 40,
        "n_dev": 20,
    },
    # 2 cores, <= 45 min for 3 seeds (budget measurements: README): 120 pairs per set,
    # self-distillation 2 cycles, mutual 1 cycle (one cycle of one student: about 3.5 min)
    "cpu": {
        "transencoder.cycles": 2,
        "transencoder.cross_steps": 90,
        "transencoder.bi_steps": 40,
        "transencoder.batch_size": 16,
        "per_set": 120,
        "n_dev": 300,
        "mutual_cycles": 1,
    },
    "paper": {},  # every pair of the 7 sets, 3 cycles of 300 + 300 steps, batch 32
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> TransEncoderExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(TransEncoderExperimentConfig(), PROFILES, profile, overrides)


def load_benchmark(dataset: str, per_set: int, n_dev: int) -> tuple[dict[str, PairData], PairData]:
    """({set: its pairs (``per_set`` drawn with a fixed seed, 0 = all)}, dev pairs)."""
    if dataset == "synthetic_pairs":
        sets = {"synthetic": synthetic_pairs(per_set or 200, seed=0)}
        return sets, synthetic_pairs(n_dev or 100, seed=1)
    sets = {name: _subsample(load_sts(name), per_set) for name in STS_SETS}
    return sets, _subsample(load_sts("stsb", "dev"), n_dev)


def _subsample(d: PairData, n: int) -> PairData:
    if not n or n >= len(d):
        return d
    idx = np.sort(np.random.default_rng(0).choice(len(d), n, replace=False))
    return PairData(
        [d.a[i] for i in idx],
        [d.b[i] for i in idx],
        d.score[idx],
        [d.subset[i] for i in idx],
        d.name,
    )


def run(
    dataset: str = "sts",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
) -> Path:
    """Self- and mutual distillation on every seed; write the run folder. ``resume``: continue
    an interrupted run in ``out`` from its per-cycle checkpoints."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    dev_ = resolve_device(device)
    # a bad base model fails before any work
    check_model_dir(cfg.transencoder.base_model or default_model_path(), "transencoder.base_model")
    sets, dev = load_benchmark(dataset, cfg.per_set, cfg.n_dev)
    rec = RunRecorder(
        "transencoder",
        dataset,
        profile,
        seeds,
        config_to_dict(cfg),
        out,
        dev_,
        title="Trans-Encoder: unsupervised STS (Spearman × 100)",
    )
    ckpt_dir = rec.checkpoints(resume)
    pool = [p for d in sets.values() for p in d.pairs()]
    bounds = np.cumsum([0, *(len(d) for d in sets.values())])

    def test_scores(cycle: int, view: TransEncoder, scores: dict[str, np.ndarray]) -> dict:
        """Spearman per set of this cycle's pool scores (the pool is the test pairs)."""
        row = {}
        for kind, s in scores.items():
            per = [
                spearman(s[a:b], d.score)
                for (a, b), d in zip(_spans(bounds), sets.values(), strict=True)
            ]
            row |= {f"{kind}_{name}": v for name, v in zip(sets, per, strict=True)}
            row[f"{kind}_avg"] = float(np.mean(per))
        return row

    def body(rec: RunRecorder) -> None:
        runs = {"self": cfg.transencoder}
        if cfg.mutual:
            cycles = cfg.mutual_cycles or cfg.transencoder.cycles
            runs["mutual"] = replace(cfg.transencoder, mutual=cfg.mutual, cycles=cycles)
        hist: dict[str, list[list[dict]]] = {name: [] for name in runs}
        chosen: dict[str, list[dict[str, int]]] = {name: [] for name in runs}
        for seed in seeds:
            for name, tcfg in runs.items():
                m = TransEncoder(replace(tcfg, seed=seed), device=dev_, progress=progress)
                m.fit(
                    pool,
                    dev=(dev.pairs(), dev.score),
                    on_cycle=test_scores,
                    checkpoint=ckpt_dir / f"{name}_seed{seed}.pt",
                )
                hist[name].append(m.history_)
                chosen[name].append(m.best_cycle_)
                log.info(
                    "seed %d %s: %s", seed, name,
                    "; ".join(f"c{h['cycle']} bi {h['bi_avg']:.4f} cross {h['cross_avg']:.4f}"
                              for h in m.history_),
                )  # fmt: skip
        _report(rec, sets, hist, chosen)
        rec.note(
            f"Pool = test pairs: {cfg.per_set or 'all'} pairs per set ({len(pool)} in all, drawn "
            f"once with seed 0); STS-B dev: {len(dev)} pairs, used only to choose the cycle "
            "(a later cycle never replaces a better earlier one). Seeds change the cross heads' "
            "initialisation and the batch order; start_bi is deterministic."
        )
        rec.note(PAPER_ALL)
        rec.plot("cycles.png", lambda p: plot_cycles(hist, p))

    return rec.run(body)


def _spans(bounds: np.ndarray) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _report(rec: RunRecorder, sets, hist, chosen) -> None:
    """Rows of the start, each cycle and the dev-chosen cycle (per set and averaged)."""
    metrics = [*sets, "avg"]

    def add(row: str, kind: str, rows: list[dict]) -> None:
        for k in metrics:
            paper = PAPER.get((row, f"spearman_{k}"))
            rec.add(
                _row_name(row),
                _metric_name(k),
                [r[f"{kind}_{k}"] for r in rows],
                paper=paper,
                source=_SRC if paper is not None else None,
            )

    first = hist["self"]
    add("start_bi", "bi", [h[0] for h in first])
    add("untrained_cross", "cross", [h[0] for h in first])
    for name, runs in hist.items():
        for cycle in range(1, len(runs[0])):
            for kind in ("bi", "cross"):
                add(f"{name}_{kind}@c{cycle}", kind, [h[cycle] for h in runs])
        rec.note(
            f"{name}: STS-B dev Spearman × 100 per cycle (mean over seeds), bi / cross: "
            + "; ".join(
                f"c{c} {100 * np.mean([h[c]['dev_bi'] for h in runs]):.2f} / "
                f"{100 * np.mean([h[c]['dev_cross'] for h in runs]):.2f}"
                for c in range(len(runs[0]))
            )
            + " (cross at c0: the untrained head)."
        )
    for name, runs in hist.items():
        for kind in ("bi", "cross"):
            picked = [h[c[kind]] for h, c in zip(runs, chosen[name], strict=True)]
            add(f"{name}_{kind}", kind, picked)
        rec.note(
            f"{name}: cycles chosen on dev per seed: "
            + ", ".join(f"bi c{c['bi']} / cross c{c['cross']}" for c in chosen[name])
            + "."
        )


def plot_cycles(hist: dict[str, list[list[dict]]], path: Path) -> None:
    """Dev and test (7-set average) Spearman per cycle, mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    low = [np.inf, np.inf]  # the untrained cross (near 0) stays off the y range
    for name, runs in hist.items():
        cycles = [h["cycle"] for h in runs[0]]
        for kind, style in (("bi", "-"), ("cross", "--")):
            for i, (ax, key) in enumerate(zip(axes, (f"dev_{kind}", f"{kind}_avg"), strict=True)):
                v = 100 * np.array([[h[key] for h in r] for r in runs])
                mean, std = v.mean(0), v.std(0)
                label = f"{name} {kind}"
                if kind == "cross":
                    label += f" (untrained: {mean[0]:.1f})"
                    cycles_, mean, std = cycles[1:], mean[1:], std[1:]
                else:
                    cycles_ = cycles
                ax.plot(cycles_, mean, style, marker="o", label=label)
                ax.fill_between(cycles_, mean - std, mean + std, alpha=0.15)
                low[i] = min(low[i], float((mean - std).min()) if len(mean) else np.inf)
    axes[0].set_title("dev (chooses the cycle)")
    axes[1].set_title("test: average over the sets")
    for ax in axes:
        ax.set_xlabel("cycle (0 = the start)")
        ax.set_xticks(range(max(len(r[0]) for r in hist.values())))
    for ax, lo in zip(axes, low, strict=True):
        if np.isfinite(lo):
            ax.set_ylim(bottom=lo - 2)
    axes[0].set_ylabel("Spearman × 100")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _row_name(row: str) -> str:
    """DESIGN.md's model names: ``start``, ``start_as_cross``, ``bi``, ``cross`` (self-distilled),
    ``mutual_bi``, ``mutual_cross``; a cycle is a ``@c<k>`` suffix."""
    base, at, cycle = row.partition("@")
    base = {"start_bi": "start", "untrained_cross": "start_as_cross"}.get(base, base)
    return base.removeprefix("self_") + at + cycle


def _metric_name(k: str) -> str:
    """``sts_avg``, ``sts12`` … ``stsb``, ``sickr`` (Spearman); other sets ``spearman_<set>``."""
    if k == "avg":
        return "sts_avg"
    return k if k.startswith(("sts", "sick")) else f"spearman_{k}"
