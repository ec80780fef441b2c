"""PSA-GAN's headline experiment: Context-FID of synthetic windows, ablations, a WGAN-GP
baseline on the same data path, and forecasting with synthetic data in a cold-start setting.

* Context-FID: one TS2Vec-style encoder per dataset and length, trained on real windows with a
  fixed seed (the same yardstick for every model and seed); real and synthetic sets of
  ``n_eval`` windows share their conditioning (series and start of each window).
* Forecasting (``forecast_settings``): ``cold_start`` (``cold_fraction`` of the series keep only
  their last ``cold_keep`` values) and ``gaps`` (stretches of missing values); a PSA-GAN is
  trained on the reduced data, and a DeepAR-style GRU on real windows only, or on real plus
  synthetic windows of the scored series. NRMSE on the first ``horizon`` values of the test
  continuation (M4), or of the last ``horizon`` values held out of every series (others).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.timeseries import SeriesData, load_series
from reprkit.eval.context_fid import ContextFID
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.psagan.config import PSAGANConfig
from reprkit.methods.psagan.forecast import ForecastConfig, Forecaster, nrmse
from reprkit.methods.psagan.method import PSAGAN, Windows

DATASETS = ("m4_hourly", "etth1", "exchange_rate", "synthetic_series")
# model name -> config changes (the paper's ablation rows and the baseline)
MODELS: dict[str, dict[str, Any]] = {
    "psagan": {},
    "psagan_no_attention": {"attention": False},
    "psagan_no_moment": {"moment_weight": 0.0},
    "psagan_no_fade": {"fade_in": False},
    "wgan_gp": {"variant": "wgan_gp"},
}
SETTINGS = ("cold_start", "gaps")  # forecasting with synthetic data
_SRC = "PSA-GAN (ICLR 2022) Table 1 (Context-FID, PSA-GAN)"
PAPER = {("m4_hourly", 64): 0.152, ("m4_hourly", 128): 0.174}


@dataclass(frozen=True)
class PSAGANExperimentConfig:
    psagan: PSAGANConfig = field(default_factory=PSAGANConfig)
    lengths: tuple[int, ...] = (64, 128)
    models: tuple[str, ...] = ("psagan", "psagan_no_attention", "psagan_no_moment", "wgan_gp")
    n_eval: int = 1000  # windows per Context-FID set
    fid_steps: int = 600  # encoder training steps
    curve_every: int = 5  # epochs between Context-FID points of the progress plot (seed 0)
    forecast_settings: tuple[str, ...] = ("cold_start", "gaps")  # () for none
    cold_fraction: float = 0.5
    cold_keep: int = 72
    gap_fraction: float = 0.5
    gap_length: int = 48
    n_synthetic: int = 4000
    forecaster: ForecastConfig = field(default_factory=ForecastConfig)

    def validate(self) -> None:
        bad = [m for m in self.models if m not in MODELS]
        check(
            not bad and self.models,
            f"models must be a subset of {list(MODELS)}, got {list(self.models)}",
        )
        check(len(self.lengths) > 0, "lengths must not be empty")
        for n in self.lengths:
            replace(self.psagan, length=n).validate()
        check(self.n_eval >= 10, f"n_eval must be >= 10, got {self.n_eval}")
        bad = [x for x in self.forecast_settings if x not in SETTINGS]
        check(not bad, f"forecast_settings must be a subset of {list(SETTINGS)}, got {bad}")
        check(
            0 <= self.gap_fraction < 1, f"gap_fraction must be in [0, 1), got {self.gap_fraction}"
        )
        check(self.gap_length >= 1, f"gap_length must be >= 1, got {self.gap_length}")
        check(
            0 < self.cold_fraction <= 1,
            f"cold_fraction must be in (0, 1], got {self.cold_fraction}",
        )
        f = self.forecaster
        check(
            self.cold_keep >= f.context + f.horizon,
            f"cold_keep must be >= forecaster.context + forecaster.horizon, got {self.cold_keep}",
        )
        self.psagan.validate()


PROFILES: dict[str, dict[str, object]] = {
    "smoke": {
        "lengths": (32,),
        "models": ("psagan", "wgan_gp"),
        "psagan.epochs": 4,
        "psagan.epochs_per_block": 1,
        "psagan.batches_per_epoch": 5,
        "n_eval": 64,
        "fid_steps": 20,
        "curve_every": 2,
        "n_synthetic": 64,
        "cold_keep": 24,
        "gap_length": 8,
        "forecaster.steps": 20,
        "forecaster.context": 16,
        "forecaster.horizon": 8,
    },
    # CPU budget (no GPU was lent): length 64 only, so that the whole profile (4 models x 3
    # seeds + the cold-start forecasting) fits in about an hour on 2 cores
    "paper": {"lengths": (64,), "forecast_settings": ("cold_start",)},
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> PSAGANExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(PSAGANExperimentConfig(), PROFILES, profile, overrides)


def run(
    dataset: str = "m4_hourly",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
) -> Path:
    """Train every model at every length and seed; write the run folder. ``resume``: continue
    an interrupted run in ``out`` from its checkpoints."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    cfg = resolve_config(profile, overrides)
    dev = resolve_device(device)
    data = load_series(dataset)
    too_short = max(cfg.lengths) > int(data.lengths.max())
    if too_short:
        raise ValueError(f"{dataset} series are shorter than length {max(cfg.lengths)}")
    rec = RunRecorder(
        "psagan",
        dataset,
        profile,
        seeds,
        config_to_dict(cfg),
        out,
        dev,
        title="PSA-GAN: synthetic time series",
        fractions=False,
    )
    ckpt_dir = rec.checkpoints(resume)

    def body(rec: RunRecorder) -> None:
        samples: dict[str, np.ndarray] = {}
        curves: dict[str, list[tuple[int, float]]] = {}
        for length in cfg.lengths:
            # the yardstick: one encoder per dataset and length, one reference set
            win = Windows(data.values, length, cfg.psagan.context_length, cfg.psagan.max_missing)
            fid = ContextFID(seed=0, steps=cfg.fid_steps).fit(win.real(cfg.n_eval, 10_000)[0])
            ref = win.real(cfg.n_eval, seed=20_000)
            first = length == cfg.lengths[0]
            for name in cfg.models:
                scores, secs = [], 0.0
                for seed in seeds:
                    gcfg = replace(cfg.psagan, length=length, seed=seed, **MODELS[name])
                    track = cfg.curve_every if first and seed == seeds[0] else 0
                    ckpt = ckpt_dir / f"{length}_{name}_seed{seed}.pt"
                    gan, score, curve, s = _train(data, gcfg, fid, ref, track, ckpt, dev, progress)
                    log.info(
                        "%s len %d %s seed %d: Context-FID %.4f", dataset, length, name, seed, score
                    )
                    scores.append(score)
                    secs += s
                    if curve:
                        curves[name] = curve
                    if first and seed == seeds[0]:
                        gen = torch.Generator().manual_seed(0)
                        samples[name] = gan.sample(
                            series=ref[1][:4], start=ref[2][:4], generator=gen, scaled=True
                        )
                paper = PAPER.get((dataset, length)) if name == "psagan" else None
                rec.add(
                    name if length == cfg.lengths[0] else f"{name}@{length}",
                    "context_fid",
                    scores,
                    paper=paper,
                    source=_SRC if paper is not None else None,
                    higher_is_better=False,
                )
                rec.note(f"{name}@{length}: {secs / len(seeds):.1f} s per seed to train")
            if first:
                samples["real"] = ref[0][:4]
        for setting in cfg.forecast_settings:
            _forecasting(rec, data, cfg, seeds, dev, progress, ckpt_dir, setting)
        rec.note(
            "Context-FID: TS2Vec-style encoder (ours, see eval/context_fid.py) trained per dataset "
            f"and length on {cfg.n_eval} real windows, seed 0; windows scaled by their series' "
            "mean absolute value. The paper's encoder and scaling differ in detail, so compare "
            "models within this table first; the paper's value is shown for scale."
        )
        rec.plot("samples.png", lambda p: plot_samples(samples, p))
        if curves:
            rec.plot("context_fid_progress.png", lambda p: plot_curves(curves, p))

    return rec.run(body)


def _score(gan: PSAGAN, fid: ContextFID, ref: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """Context-FID of the model's windows conditioned as the reference windows were drawn."""
    fake = gan.sample(
        series=ref[1], start=ref[2], generator=torch.Generator().manual_seed(30_000), scaled=True
    )
    return fid.score(ref[0], fake) if np.isfinite(fake).all() else float("nan")


def _train(data, gcfg, fid, ref, track_every, ckpt, dev, progress):
    """Fit one GAN (resuming from ``ckpt``); (model, Context-FID, progress curve, seconds).
    ``track_every`` > 0: Context-FID every that many epochs once at full length."""
    curve: list[tuple[int, float]] = []

    def on_epoch(epoch: int, m: PSAGAN) -> None:
        at_full = m.stage_at(epoch)[0] == m.config.n_blocks
        if track_every and at_full and (epoch + 1) % track_every == 0:
            curve.append((epoch + 1, _score(m, fid, ref)))

    start = time.perf_counter()
    gan = PSAGAN(gcfg, device=dev, progress=progress).fit(
        data.values, seasons=data.seasons, checkpoint=ckpt, on_epoch=on_epoch
    )
    secs = time.perf_counter() - start
    score = curve[-1][1] if curve and curve[-1][0] == gcfg.epochs else _score(gan, fid, ref)
    return gan, score, curve, secs


def forecast_split(data: SeriesData, cfg: PSAGANExperimentConfig, seed: int, setting: str):
    """The reduced training data of a forecasting setting: (values, ids of the series scored,
    test (n, horizon), start of each series' forecast context).

    ``cold_start``: ``cold_fraction`` of the series keep only their last ``cold_keep`` values.
    ``gaps``: every series loses ``gap_fraction`` of its history in stretches of
    ``gap_length`` (its last context is kept)."""
    f = cfg.forecaster
    values, lengths = data.values.copy(), data.lengths.copy()
    if data.test is not None:
        test = data.test[:, : f.horizon]
    else:  # hold out the last `horizon` values of every series
        test = np.stack([values[i, n - f.horizon : n] for i, n in enumerate(lengths)])
        for i, n in enumerate(lengths):
            values[i, n - f.horizon :] = np.nan
        lengths = lengths - f.horizon
    rng = np.random.default_rng(seed)
    if setting == "cold_start":
        k = max(1, int(cfg.cold_fraction * len(values)))
        scored = np.sort(rng.choice(len(values), k, replace=False))
        for i in scored:
            values[i, : lengths[i] - cfg.cold_keep] = np.nan
    else:
        scored = np.arange(len(values))
        for i, n in enumerate(lengths):
            free = n - f.context  # the last context stays observed
            for _ in range(int(cfg.gap_fraction * free / cfg.gap_length)):
                a = int(rng.integers(0, max(free - cfg.gap_length, 1)))
                values[i, a : a + cfg.gap_length] = np.nan
    return values, scored, test, lengths - f.context


def _forecasting(rec, data, cfg, seeds, dev, progress, ckpt_dir, setting: str) -> None:
    f = cfg.forecaster
    w = f.context + f.horizon
    length = min((n for n in cfg.lengths if n >= w), default=None)
    if length is None:
        rec.note(f"forecasting skipped: no trained length >= context + horizon = {w}")
        return
    res: dict[str, list[float]] = {"real_only": [], "real+psagan": []}
    for seed in seeds:
        values, scored, test, ctx_start = forecast_split(data, cfg, seed, setting)
        gcfg = replace(cfg.psagan, length=length, seed=seed)
        ckpt = ckpt_dir / f"{setting}_{length}_seed{seed}.pt"
        gan = PSAGAN(gcfg, device=dev, progress=progress).fit(
            values, seasons=data.seasons, checkpoint=ckpt
        )
        real, starts = _all_windows(values, w)  # every fully observed window of length w
        gen = torch.Generator().manual_seed(seed)
        ids = scored[torch.randint(len(scored), (cfg.n_synthetic,), generator=gen).numpy()]
        room = np.maximum(data.lengths[ids] - length, 0) + 1
        syn_start = (np.random.default_rng(seed).random(len(ids)) * room).astype(np.int64)
        syn = gan.sample(series=ids, start=syn_start, generator=gen)[:, :w]
        ctx = np.stack([values[i, s : s + f.context] for i, s in enumerate(ctx_start)])
        for name, (wins, st) in {
            "real_only": (real, starts),
            "real+psagan": (np.concatenate([real, syn]), np.concatenate([starts, syn_start])),
        }.items():
            model = Forecaster(f, seed=seed).fit(wins, st, data.seasons)
            pred = model.predict(ctx[scored], ctx_start[scored])
            res[name].append(nrmse(pred, test[scored]))
            log.info("forecast %s %s seed %d: NRMSE %.4f", setting, name, seed, res[name][-1])
    for name, vals in res.items():
        model = f"forecast@{name.removesuffix('_only')}"  # DESIGN.md: forecast@real, forecast@real+psagan
        rec.add(model, f"nrmse_{setting}", vals, higher_is_better=False)
        if setting == cfg.forecast_settings[0]:  # the headline setting also under the plain name
            rec.add(model, "nrmse", vals, higher_is_better=False)
    what = (
        f"{cfg.cold_fraction:.0%} of series cold (last {cfg.cold_keep} values kept), scored on "
        "the cold series"
        if setting == "cold_start"
        else f"{cfg.gap_fraction:.0%} of each history removed in stretches of {cfg.gap_length}"
    )
    rec.note(
        f"Forecasting ({setting}): {what}; GRU trained {f.steps} steps on windows of {w} "
        f"({f.context} context + {f.horizon} horizon); +psagan adds {cfg.n_synthetic} PSA-GAN "
        f"windows of the scored series (GAN length {length}, trained on the reduced data only)."
    )


def _all_windows(values: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    wins, starts = [], []
    for row in values:
        ok = ~np.isnan(row)
        idx = np.flatnonzero(ok)
        if len(idx) < w:
            continue
        for s in range(idx[0], idx[-1] - w + 2, max(1, w // 4)):
            seg = row[s : s + w]
            if not np.isnan(seg).any():
                wins.append(seg)
                starts.append(s)
    return np.stack(wins), np.asarray(starts)


def plot_samples(samples: dict[str, np.ndarray], path: Path) -> None:
    """Real windows next to each model's synthetic windows with the same conditioning."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["real"] + [n for n in samples if n != "real"]
    fig, axes = plt.subplots(
        len(names), 4, figsize=(12, 1.8 * len(names)), sharex=True, squeeze=False
    )
    for r, name in enumerate(names):
        for c in range(4):
            ax = axes[r, c]
            ax.plot(samples[name][c], lw=1, c="k" if name == "real" else "C0")
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle("scaled windows: real (top) and synthetic with the same series and start")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(curves: dict[str, list[tuple[int, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, pts in curves.items():
        e, v = zip(*pts, strict=True)
        ax.plot(e, v, marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (at full length)")
    ax.set_ylabel("Context-FID (log)")
    ax.legend()
    ax.set_title("Context-FID during training (seed 0)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
