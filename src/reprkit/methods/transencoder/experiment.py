"""Trans-Encoder's headline experiment: unsupervised STS, transductive as in the paper.

The unlabelled pool is the sentence pairs of the 7 STS sets (STS12-16, STS-B test, SICK-R test;
``per_set`` of each, the same pairs for every seed and row) and the test pairs are that pool:
the paper trains on the test pairs without their labels. STS-B dev (``n_dev`` pairs) only
chooses the cycle. Metric: Spearman of cosine (bi) or score (cross) with the gold scores, per set
and averaged over the sets (shown × 100).

Settings: self-distillation from each start in ``starts`` (poolings of the base model; by
default the supervised mean-pooled MiniLM, what a user of MiniLM gets, and its weaker [CLS]-pooled
view, a start the method can improve on), and a mutual run whose students are
``transencoder.pooling`` + ``mutual``. Rows (DESIGN.md): ``start`` (no training),
``start_as_cross`` (the base as a cross-encoder with a fresh head), ``bi`` / ``cross`` (the
cycle chosen on dev), ``bi@c1`` … per cycle, ``mutual_bi`` / ``mutual_cross``; rows of a start
other than ``transencoder.pooling`` carry ``@cls_start`` (``bi@cls_start.c1`` for a cycle).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.text import STS_SETS, PairData, load_sts, synthetic_pairs
from reprkit.eval.metrics import spearman
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.transencoder.config import POOLINGS, TransEncoderConfig, parse_student
from reprkit.methods.transencoder.method import TransEncoder, best_cycle
from reprkit.models.text import check_model_dir, default_model_path

DATASETS = ("sts", "synthetic_pairs")
_SRC = (
    "Trans-Encoder official README (amzn/trans-encoder), 7-set STS average, from an "
    "unsupervised SimCSE-BERT-base start (76.21), not from MiniLM"
)
# (row, metric) -> the paper's value (Trans-Encoder-BERT-base, self-distillation)
PAPER = {("bi", "sts_avg"): 0.8041, ("cross", "sts_avg"): 0.7990}
PAPER_ALL = (
    "Paper (official README, 7-set avg): SimCSE-BERT-base 76.21 -> bi 80.41 / cross 79.90; "
    "SimCSE-RoBERTa-base 76.10 -> 80.47 / 81.15; SimCSE-BERT-large 78.42 -> 82.65 / 82.52; "
    "SimCSE-RoBERTa-large 78.92 -> 82.93 / 82.93."
)


@dataclass(frozen=True)
class TransEncoderExperimentConfig:
    transencoder: TransEncoderConfig = field(default_factory=TransEncoderConfig)
    per_set: int = 0  # pairs of each set in the pool (= the test pairs); 0 = every pair
    n_dev: int = 0  # STS-B dev pairs that choose checkpoints and cycles; 0 = all 1,500
    # self-distillation from each of these start poolings of the base model; the rows of
    # transencoder.pooling have the plain names, the others a "@<pooling>_start" suffix
    starts: tuple[str, ...] = ("mean", "cls")
    # cycles of each start's run, in the order of starts; () = transencoder.cycles for each
    start_cycles: tuple[int, ...] = ()
    # the mutual run's extra students beside transencoder.pooling (see TransEncoderConfig);
    # () = no mutual run
    mutual: tuple[str, ...] = ("cls",)
    mutual_cycles: int = 0  # cycles of the mutual run; 0 = transencoder.cycles

    def validate(self) -> None:
        check(self.per_set >= 0, f"per_set must be >= 0, got {self.per_set}")
        check(self.n_dev >= 0, f"n_dev must be >= 0, got {self.n_dev}")
        check(self.mutual_cycles >= 0, f"mutual_cycles must be >= 0, got {self.mutual_cycles}")
        bad = [p for p in self.starts if p not in POOLINGS]
        check(not bad and len(set(self.starts)) == len(self.starts),
              f"starts must hold distinct poolings from {list(POOLINGS)}, got {self.starts}")  # fmt: skip
        check(
            not self.start_cycles
            or (len(self.start_cycles) == len(self.starts) and min(self.start_cycles) >= 0),
            f"start_cycles must be () or one cycle count >= 0 per start {list(self.starts)}, "
            f"got {self.start_cycles}",
        )
        check(
            self.transencoder.pooling in self.starts,
            f"transencoder.pooling {self.transencoder.pooling!r} must be one of starts "
            f"{list(self.starts)} (its rows have the plain names)",
        )
        check(
            not self.transencoder.mutual,
            "set the experiment's mutual, not transencoder.mutual (the self runs have none)",
        )
        replace(self.transencoder, mutual=self.mutual).validate()


PROFILES: dict[str, dict[str, object]] = {
    # any local BERT-family model: tests pass a tiny random one via transencoder.base_model
    "smoke": {
        "transencoder.cycles": 2,
        "transencoder.cross_epochs": 0.5,
        "transencoder.bi_epochs": 0.5,
        "transencoder.batch_cross": 8,
        "transencoder.batch_bi": 8,
        "transencoder.max_length": 16,
        "transencoder.max_length_bi": 16,
        "per_set": 40,
        "n_dev": 20,
        "mutual_cycles": 1,
    },
    # 2 cores, <= 45 min for 3 seeds (budget measurements: docs/methods/transencoder.md):
    # 80 pairs per set; per round >= 250 cross steps and 1 bi epoch at batch 8 (issue #27's
    # mechanism check); 2 cycles from the [CLS] start, 1 from the mean start and in the mutual
    # run; learning rates chosen on seed 100's dev (cross 2e-5 / 5e-5 / 1e-4: 41.9 / 76.0 / 75.9);
    # cross steps on STS-B dev from the [CLS] start's labels, cross seed 1 (the run's cross seeds
    # are 1000 and up): 224 / 280 / 350 / 448 steps -> 35.3 / 60.8 / 73.0 / 74.4; 350 is the most
    # that keeps 3 seeds within 45 minutes
    "cpu": {
        "transencoder.cross_epochs": 5.0,  # 350 steps over 560 pairs at batch 8
        "transencoder.bi_epochs": 1.0,
        "transencoder.batch_cross": 8,
        "transencoder.batch_bi": 8,
        "transencoder.lr_cross": 5e-5,
        "per_set": 80,
        "n_dev": 300,
        "start_cycles": (1, 2),
        "mutual_cycles": 1,
    },
    # the official pool and budget (every pair of the 7 sets, 3 cycles, cross 1 epoch at 16
    # pairs x 2 orders, bi 10 epochs at 128, lr 2e-5 / 5e-5): a GPU's work
    "paper": {},
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
    engine: Engine | None = None,
) -> Path:
    """Self- and mutual distillation on every seed; write the run folder. ``resume``: continue
    an interrupted run in ``out`` from its per-cycle checkpoints."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    engine = (engine or Engine()).validate()
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

    def body(rec: RunRecorder) -> None:
        runs = _runs(cfg)
        hist: dict[str, list[list[dict]]] = {name: [] for name in runs}
        on_cycle = functools.partial(test_scores, sets, bounds)
        cells = [
            Cell(f"seed={seed}/{name}", fit_run,
                 (replace(tcfg, seed=seed), dev_, pool, dev, on_cycle,
                  ckpt_dir / f"{name}_seed{seed}.pt"))
            for seed in seeds for name, (tcfg, _) in runs.items()
        ]  # fmt: skip
        results = iter(run_cells(cells, engine, desc=f"transencoder/{dataset}", progress=progress))
        for seed in seeds:
            for name in runs:
                history = next(results)
                hist[name].append(history)
                log.info(
                    "seed %d %s: %s", seed, name,
                    "; ".join(f"c{h['cycle']} bi {h['bi_avg']:.4f} cross {h['cross_avg']:.4f}"
                              for h in history),
                )  # fmt: skip
        _report(rec, sets, runs, hist)
        rec.note(
            f"Pool = test pairs: {cfg.per_set or 'all'} pairs per set ({len(pool)} in all, drawn "
            f"once with seed 0); STS-B dev: {len(dev)} pairs, used only to choose the checkpoint "
            "inside a round and the cycle (the first best among trained cycles; cycle 0, the "
            "start, is never a candidate). Seeds change the cross heads' initialisation and "
            "the batch order; the start rows are deterministic."
        )
        rec.note(PAPER_ALL)
        rec.plot("cycles.png", lambda p: plot_cycles(_curves(runs, hist), p))

    return rec.run(body)


def test_scores(sets, bounds, cycle: int, view: TransEncoder, scores: dict[str, np.ndarray]):
    """Spearman per set of this cycle's pool scores (the pool is the test pairs)."""
    row = {}
    for kind, sc in scores.items():
        per = [
            spearman(sc[a:b], d.score)
            for (a, b), d in zip(_spans(bounds), sets.values(), strict=True)
        ]
        row |= {f"{kind}_{name}": v for name, v in zip(sets, per, strict=True)}
        row[f"{kind}_avg"] = float(np.mean(per))
    return row


def fit_run(tcfg: TransEncoderConfig, device, pool, dev, on_cycle, checkpoint: Path) -> list:
    """One (seed, run) cell: fit the Trans-Encoder on the pool (resuming from ``checkpoint``);
    its per-cycle history."""
    m = TransEncoder(tcfg, device=device, progress=False)
    m.fit(pool, dev=(dev.pairs(), dev.score), on_cycle=on_cycle, checkpoint=checkpoint)
    return m.history_


# a run's students: (key suffix in history, setting of its rows, row prefix)
Student = tuple[str, str, str]


def _runs(cfg: TransEncoderExperimentConfig) -> dict[str, tuple[TransEncoderConfig, list[Student]]]:
    """The self-distillation run of each start and the mutual run, with their students."""
    default = cfg.transencoder.pooling
    cycles = cfg.start_cycles or [cfg.transencoder.cycles] * len(cfg.starts)
    runs = {
        f"self_{p}": (
            replace(cfg.transencoder, pooling=p, cycles=c),
            [("", "" if p == default else f"{p}_start", "")],
        )
        for p, c in zip(cfg.starts, cycles, strict=True)
    }
    if cfg.mutual:
        cycles = cfg.mutual_cycles or cfg.transencoder.cycles
        tcfg = replace(cfg.transencoder, mutual=cfg.mutual, cycles=cycles)
        students = [("", "", "mutual_")]
        students += [(f"_{k}", _setting(spec), "mutual_") for k, spec in enumerate(cfg.mutual, 1)]
        runs["mutual"] = (tcfg, students)
    return runs


def _setting(spec: str) -> str:
    """Row setting of a mutual student: ``cls_start``, or ``<model folder>_cls_start``."""
    pooling, path = parse_student(spec)
    name = f"{Path(path).name}_{pooling}_start" if path else f"{pooling}_start"
    return re.sub(r"[^a-z0-9_.\-]", "-", name.lower())


def model_name(base: str, setting: str = "", cycle: int | None = None) -> str:
    """DESIGN.md's names: ``bi``, ``bi@cls_start`` (a start other than the default),
    ``bi@c1`` / ``bi@cls_start.c1`` (one cycle)."""
    tags = [t for t in (setting, "" if cycle is None else f"c{cycle}") if t]
    return base + ("@" + ".".join(tags) if tags else "")


def _spans(bounds: np.ndarray) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _report(rec: RunRecorder, sets, runs, hist) -> None:
    """Per run and student: the start (self runs), each cycle and the dev-chosen cycle, per set
    and averaged."""
    metrics = [*sets, "avg"]

    def add(model: str, key: str, rows: list[dict]) -> None:
        for k in metrics:
            paper = PAPER.get((model, _metric_name(k)))
            rec.add(model, _metric_name(k), [r[f"{key}_{k}"] for r in rows], paper=paper,
                    source=_SRC if paper is not None else None)  # fmt: skip

    for name, (_, students) in runs.items():
        h = hist[name]
        for sfx, setting, prefix in students:
            if not prefix:  # a self run: its start (and, by default, the untrained cross)
                add(model_name("start", setting), "bi", [r[0] for r in h])
                if not setting:
                    add("start_as_cross", "cross", [r[0] for r in h])
            for cycle in range(1, len(h[0])):
                for kind in ("bi", "cross"):
                    add(
                        model_name(prefix + kind, setting, cycle), kind + sfx, [r[cycle] for r in h]
                    )
            chosen = {
                kind: [best_cycle(r, f"dev_{kind}{sfx}") for r in h] for kind in ("bi", "cross")
            }
            for kind in ("bi", "cross"):
                add(model_name(prefix + kind, setting), kind + sfx,
                    [r[c] for r, c in zip(h, chosen[kind], strict=True)])  # fmt: skip
            label = model_name(prefix + "bi/cross", setting)
            rec.note(
                f"{label}: STS-B dev Spearman × 100 per cycle (mean over seeds), bi / cross: "
                + "; ".join(_dev_cell(h, c, sfx) for c in range(len(h[0])))
                + ". Cycles chosen on dev per seed: "
                + ", ".join(
                    f"bi c{b} / cross c{c}"
                    for b, c in zip(chosen["bi"], chosen["cross"], strict=True)
                )  # fmt: skip
                + "."
            )


def _dev_cell(h: list[list[dict]], cycle: int, sfx: str) -> str:
    bi = 100 * np.mean([r[cycle][f"dev_bi{sfx}"] for r in h])
    cross = [r[cycle].get(f"dev_cross{sfx}") for r in h]
    if cycle == 0:  # the untrained head (the first student's only)
        return f"c0 (start) {bi:.2f}" + (
            f" / untrained {100 * np.mean(cross):.2f}" if None not in cross else ""
        )
    return f"c{cycle} {bi:.2f} / {100 * np.mean(cross):.2f}"


def _curves(runs, hist) -> dict[str, tuple[list[list[dict]], str]]:
    """Plot label -> (per-seed histories, the student's key suffix)."""
    return {
        model_name(prefix.rstrip("_") or "self", setting): (hist[name], sfx)
        for name, (_, students) in runs.items()
        for sfx, setting, prefix in students
    }


def plot_cycles(curves: dict[str, tuple[list[list[dict]], str]], path: Path) -> None:
    """Dev and test (7-set average) Spearman per cycle, mean ± std over seeds, per run and
    student (solid: bi-encoder, dashed: cross-encoder from cycle 1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True)
    n_cycles = 1
    for i, (label, (runs, sfx)) in enumerate(curves.items()):
        color = f"C{i}"
        for kind, style in (("bi", "-"), ("cross", "--")):
            for ax, key in zip(axes, (f"dev_{kind}{sfx}", f"{kind}{sfx}_avg"), strict=True):
                cycles = [
                    h["cycle"] for h in runs[0] if key in h and h["cycle"] >= (kind == "cross")
                ]
                v = 100 * np.array([[h[key] for h in r if h["cycle"] in cycles] for r in runs])
                mean, std = v.mean(0), v.std(0)
                ax.plot(cycles, mean, style, color=color, marker="o", label=f"{label} {kind}")
                ax.fill_between(cycles, mean - std, mean + std, color=color, alpha=0.12)
                n_cycles = max(n_cycles, len(runs[0]))
    axes[0].set_title("STS-B dev (chooses checkpoints and cycles)")
    axes[1].set_title("test: average over the sets")
    for ax in axes:
        ax.set_xlabel("cycle (0 = the start; cross from cycle 1)")
        ax.set_xticks(range(n_cycles))
    axes[0].set_ylabel("Spearman × 100")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _metric_name(k: str) -> str:
    """``sts_avg``, ``sts12`` … ``stsb``, ``sickr`` (Spearman); other sets ``spearman_<set>``."""
    if k == "avg":
        return "sts_avg"
    return k if k.startswith(("sts", "sick")) else f"spearman_{k}"
