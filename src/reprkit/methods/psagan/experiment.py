"""PSA-GAN's headline experiment: Context-FID of synthetic windows, ablations, a WGAN-GP
baseline on the same data path, and forecasting with synthetic data in a cold-start setting.

* Context-FID: one TS2Vec-style encoder per dataset and length, trained on real training
  windows with a fixed seed (the same yardstick for every model and seed). The last
  ``holdout`` of every series is never trained on; the reference windows come from there, and
  every synthetic set is generated with the reference windows' conditioning (series, start).
  Anchors in every table: ``real`` (other held-out windows: the floor), ``real_train``
  (training windows: the cost of the shift between the training and held-out parts),
  ``noise_matched``
  (white noise with each reference window's own mean and std), ``seasonal_profile`` (each
  reference window's own mean daily profile, repeated: an oracle that sees the window) and
  ``seasonal_train`` (each series' mean day over its training part, at the window's phase: a
  trivial generator with the GAN's information). Besides ``context_fid``:
  ``context_fjd`` (conditional: Fréchet joint distance with an embedding of each window's
  series and start; ``real_shuffled`` = real windows given other windows' conditioning) and
  the per-position bias (mean generated − real per time step, in window-std), split into
  ``level_bias`` (its mean over the steps: an offset the whole window shares, e.g. the shift
  between the training and held-out parts) and ``max_abs_bias`` (the largest |bias − its
  mean| over the steps: the shape, where edge artefacts show).
* Forecasting (``forecast_settings``): ``cold_start`` (``cold_fraction`` of the series keep only
  their last ``cold_keep`` values) and ``gaps`` (stretches of missing values); a PSA-GAN is
  trained on the reduced data, and a DeepAR-style GRU on real windows only, or on real plus
  synthetic windows of the scored series. NRMSE on the first ``horizon`` values of the test
  continuation (M4), or of the last ``horizon`` values held out of every series (others).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.timeseries import SeriesData, load_series, time_features
from reprkit.eval.context_fid import ContextFID, position_bias
from reprkit.eval.metrics import paired_text
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.psagan.config import PSAGANConfig
from reprkit.methods.psagan.forecast import ForecastConfig, Forecaster, nrmse
from reprkit.methods.psagan.method import PSAGAN, Windows

DATASETS = ("m4_hourly", "etth1", "exchange_rate", "synthetic_series")
# model name -> config changes (the paper's ablation rows and the baseline)
MODELS: dict[str, dict[str, Any]] = {
    "psagan": {},
    "psagan_noattn": {"attention": False},
    "psagan_nomoment": {"moment_weight": 0.0},
    "psagan_noprogressive": {"progressive": False},
    "psagan_nofade": {"fade_in": False},
    # the standard WGAN-GP recipe (Gulrajani et al., 2017, Algorithm 1): 5 critic steps per
    # generator step, Adam lr 1e-4, betas (0, 0.9); the same number of generator steps
    "wgan_gp": {"variant": "wgan_gp", "d_steps": 5, "lr": 1e-4, "betas": (0.0, 0.9)},
}
# rows every Context-FID table gets; real_train: training windows against the held-out
# reference (what the train/held-out shift alone costs a generator that copies the training data)
ANCHORS = ("real", "real_train", "noise_matched", "seasonal_profile", "seasonal_train")
SETTINGS = ("cold_start", "gaps")  # forecasting with synthetic data
_SRC = "PSA-GAN (ICLR 2022) Table 1 (Context-FID, PSA-GAN)"
PAPER = {("m4_hourly", 64): 0.152, ("m4_hourly", 128): 0.174}


@dataclass(frozen=True)
class PSAGANExperimentConfig:
    psagan: PSAGANConfig = field(default_factory=PSAGANConfig)
    lengths: tuple[int, ...] = (64, 128)
    models: tuple[str, ...] = (
        "psagan", "psagan_noattn", "psagan_nomoment", "psagan_noprogressive", "wgan_gp"
    )  # fmt: skip
    holdout: float = 0.2  # the last fraction of every series: reference windows only
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
        check(0 < self.holdout < 1, f"holdout must be in (0, 1), got {self.holdout}")
        check(
            self.psagan.context_length == 0,
            "the experiment scores unconditional windows: psagan.context_length must be 0",
        )
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
    # CPU budget (no GPU was lent): length 64 only and 40 epochs of 50 batches (2,000 generator
    # steps), so that 5 models x 5 seeds + the cold-start forecasting fit in 90 minutes on 2
    # cores (sized from 2-epoch timings: 0.07 s a generator step at full length, 0.16 s for
    # WGAN-GP's 5 critic steps)
    "paper": {"lengths": (64,), "forecast_settings": ("cold_start",), "psagan.epochs": 40},
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
    engine: Engine | None = None,
) -> Path:
    """Train every model at every length and seed; write the run folder. ``resume``: continue
    an interrupted run in ``out`` from its checkpoints. A parallel ``engine`` (local worker
    processes or Ray, core/cells.py): the GANs are trained first, each a cell, on the CPU, then
    scored in this process as before."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    engine = (engine or Engine()).validate()
    cfg = resolve_config(profile, overrides)
    dev = resolve_device(device)
    if engine.parallel and dev.type != "cpu":
        raise ValueError(
            f"parallel training (workers > 1 or Ray) runs on the CPU; got device {dev} "
            "(use --device cpu)"
        )
    data = load_series(dataset)
    held = int((np.round(cfg.holdout * data.lengths)).max())
    if max(cfg.lengths) > held:
        raise ValueError(
            f"{dataset}: the held-out part (holdout={cfg.holdout}) of the longest series has "
            f"about {held} values, fewer than length {max(cfg.lengths)}; raise holdout"
        )
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
        biases: dict[str, np.ndarray] = {}
        train_values, held_values = holdout_split(data.values, cfg.holdout)
        trained = _train_all(data, train_values, cfg, seeds, ckpt_dir, engine, progress)
        for length in cfg.lengths:
            first = length == cfg.lengths[0]
            yard = Yardstick(train_values, held_values, data.seasons, length, cfg)
            results: dict[str, dict[str, list[float]]] = {}  # name -> metric -> per seed
            for name in ANCHORS:
                anchors = [yard.anchor(name, seed) for seed in seeds]
                _collect(results, name, [yard.evaluate(*a) for a in anchors])
                if first:
                    biases[name] = np.mean([yard.bias(a[0]) for a in anchors], 0)
            results["real_shuffled"] = {"context_fjd": [yard.shuffled_fjd(s) for s in seeds]}
            if first:
                samples["real"] = yard.ref[0][:4]
            for name in cfg.models:
                per_seed, secs, bias_per_seed = [], 0.0, []
                for seed in seeds:
                    gcfg, track, ckpt = _model_job(cfg, length, name, seed, seeds, ckpt_dir)
                    gan, curve, s = _train(train_values, data.seasons, gcfg, yard, track, ckpt, dev, progress, trained.get(ckpt))  # fmt: skip
                    fake = yard.generate(gan)
                    per_seed.append(yard.evaluate(fake))
                    bias_per_seed.append(yard.bias(fake))
                    log.info("%s len %d %s seed %d: %s", dataset, length, name, seed, per_seed[-1])
                    secs += s
                    if curve:
                        curves[name] = curve
                    if first and seed == seeds[0]:
                        samples[name] = fake[:4]
                _collect(results, name, per_seed)
                if first:
                    biases[name] = np.mean(bias_per_seed, 0)
                rec.note(f"{name}@{length}: {secs / len(seeds):.1f} s per seed to train")
            for name, row in results.items():
                for metric, vals in row.items():
                    _add_row(rec, dataset, length, cfg.lengths[0], name, metric, vals)
            if len(seeds) > 1:
                rec.note(_paired_note(results, length))
        for setting in cfg.forecast_settings:
            _forecasting(rec, data, cfg, seeds, dev, progress, ckpt_dir, setting)
        rec.note(
            f"Context-FID: TS2Vec-style encoder (ours, eval/context_fid.py: width 320, timestamp "
            f"masking) trained per dataset and length on {cfg.n_eval} real training windows, "
            f"seed 0; the last {cfg.holdout:.0%} of every series is held out of training and "
            "gives the reference windows; windows scaled by their series' mean absolute value "
            "over the training part. The paper's encoder and scaling differ in detail, so "
            "compare rows within this table (between the `real` floor and the trivial "
            "generators); the paper's value is shown for scale. context_fjd: Fréchet joint "
            "distance with each window's conditioning (its series' mean training-window "
            "embedding and the phase of its start), `real_shuffled` = held-out real windows "
            "paired with other windows' conditioning. Per-position bias b_t = mean generated − "
            "mean real at step t, in units of the real windows' std: level_bias = mean of b_t, "
            "max_abs_bias = max |b_t − level_bias| (the shape: edge artefacts; a level offset, "
            "such as the training → held-out shift that a copy of the training windows also "
            "shows, is not an edge artefact and is reported apart)."
        )
        rec.plot("samples.png", lambda p: plot_samples(samples, p))
        rec.plot("position_bias.png", lambda p: plot_bias(biases, p))
        if curves:
            rec.plot("context_fid_progress.png", lambda p: plot_curves(curves, p))

    return rec.run(body)


METRICS = ("context_fid", "context_fjd", "max_abs_bias", "level_bias")


def _collect(results: dict, name: str, per_seed: list[dict[str, float]]) -> None:
    """Per-seed score dicts of one row -> ``results[name][metric]`` lists."""
    results[name] = {m: [d[m] for d in per_seed] for m in METRICS}


def _add_row(rec, dataset, length, first_length, name, metric, vals) -> None:
    """One row; lengths after the first are named ``name@length``; the paper's value on
    psagan's Context-FID."""
    paper = PAPER.get((dataset, length)) if (name, metric) == ("psagan", "context_fid") else None
    rec.add(
        name if length == first_length else f"{name}@{length}",
        metric,
        vals,
        paper=paper,
        source=_SRC if paper is not None else None,
        higher_is_better=False,
    )


def holdout_split(values: np.ndarray, frac: float) -> tuple[np.ndarray, np.ndarray]:
    """(training part, held-out part) of (n_series, T) values: the last ``frac`` of every
    series' observed range is NaN in the first and the only observed part of the second
    (positions are kept, so a window's start means the same in both)."""
    train, held = values.copy(), np.full_like(values, np.nan)
    for i, row in enumerate(values):
        idx = np.flatnonzero(~np.isnan(row))
        if len(idx) == 0:
            continue
        cut = idx[0] + int(round((1 - frac) * (idx[-1] + 1 - idx[0])))
        train[i, cut:] = np.nan
        held[i, cut:] = values[i, cut:]
    return train, held


class Yardstick:
    """Everything a synthetic set is scored against at one length: the encoder (trained on
    training windows), the held-out reference windows and their conditioning, the anchors."""

    def __init__(self, train_values, held_values, seasons, length, cfg) -> None:
        g = cfg.psagan
        self.train = Windows(train_values, length, 0, g.max_missing)
        held = Windows(held_values, length, 0, 0.0, scale=self.train.scale)
        self.fid = ContextFID(seed=0, steps=cfg.fid_steps).fit(
            self.train.real(cfg.n_eval, 10_000)[0]
        )
        self.ref = held.real(cfg.n_eval, seed=20_000)  # (windows, series, start)
        self.floor = held.real(cfg.n_eval, seed=20_001)
        self.train_draw = self.train.real(cfg.n_eval, seed=20_002)
        self.seasons, self.n_eval = seasons, cfg.n_eval
        self.desc = self._series_descriptors()

    def _series_descriptors(self, per_series: int = 8) -> np.ndarray:
        """Each series' mean embedding over ``per_series`` of its training windows, normalised."""
        w = self.train
        gen = torch.Generator().manual_seed(40_000)
        n = len(w.scale)
        desc = np.zeros((n, self.fid.dim))
        for i in range(n):
            starts = w.starts[w.series == i]
            if len(starts) == 0:
                continue
            pick = starts[torch.randint(len(starts), (per_series,), generator=gen)]
            desc[i] = self.fid.embed(w.get(torch.full_like(pick, i), pick, w.length).numpy()).mean(
                0
            )
        return desc / max(np.linalg.norm(desc, axis=1).mean(), 1e-12)

    def cond(self, series: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Conditioning embedding of windows: [series descriptor, phase of the start]."""
        phase = time_features(torch.as_tensor(start), 1, torch.tensor(self.seasons))[:, 0].numpy()
        phase = phase / np.sqrt(len(self.seasons))  # unit norm, as the descriptors
        return np.hstack([self.desc[series], phase])

    def generate(self, gan: PSAGAN) -> np.ndarray:
        """The model's windows with the reference windows' series and start (scaled)."""
        return gan.sample(series=self.ref[1], start=self.ref[2],
                          generator=torch.Generator().manual_seed(30_000), scaled=True)  # fmt: skip

    def anchor(self, name: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(windows, their conditioning embedding; None: the reference windows') of an anchor."""
        ref = self.ref[0]
        if name == "real":  # other held-out windows, with their own conditioning
            return self.floor[0], self.cond(*self.floor[1:])
        if name == "real_train":  # training windows, with their own conditioning
            return self.train_draw[0], self.cond(*self.train_draw[1:])
        if name == "noise_matched":
            rng = np.random.default_rng(seed)
            noise = rng.standard_normal(ref.shape)
            return ref.mean(1, keepdims=True) + ref.std(1, keepdims=True) * noise, None
        if name == "seasonal_train":
            return self._train_profile(), None
        return seasonal_profile(ref, int(self.seasons[0])), None

    def _train_profile(self) -> np.ndarray:
        """Each reference window's series' mean day (scaled, by phase of the first season)
        over the series' training part, at the window's phases."""
        w, period = self.train, int(self.seasons[0])
        prof = np.zeros((len(w.scale), period))
        for i, n in enumerate(w.lengths):
            x, phase = w.data[i, :n].numpy(), np.arange(n) % period
            prof[i] = [x[phase == p].mean() if (phase == p).any() else x.mean()
                       for p in range(period)]  # fmt: skip
        series, start = self.ref[1], self.ref[2]
        return prof[series[:, None], (start[:, None] + np.arange(self.ref[0].shape[1])) % period]

    def evaluate(self, fake: np.ndarray, cond: np.ndarray | None = None) -> dict[str, float]:
        """The three scores of a synthetic set (``cond``: its conditioning when it is not the
        reference windows')."""
        if not np.isfinite(fake).all():
            return dict.fromkeys(METRICS, float("nan"))
        b = self.bias(fake)
        return {
            "context_fid": self.fid.score(self.ref[0], fake),
            "context_fjd": self.fid.score_joint(self.ref[0], fake, self.cond(*self.ref[1:]), cond),
            "max_abs_bias": float(np.abs(b - b.mean()).max()),
            "level_bias": float(b.mean()),
        }  # fmt: skip

    def bias(self, fake: np.ndarray) -> np.ndarray:
        return position_bias(self.ref[0], fake)

    def shuffled_fjd(self, seed: int) -> float:
        """Held-out real windows given other windows' conditioning: what ignoring it costs."""
        perm = np.random.default_rng(seed).permutation(self.n_eval)
        cond = self.cond(self.floor[1][perm], self.floor[2][perm])
        return self.fid.score_joint(self.ref[0], self.floor[0], self.cond(*self.ref[1:]), cond)


def seasonal_profile(windows: np.ndarray, period: int) -> np.ndarray:
    """Each window replaced by its own mean seasonal profile (the mean over its periods of
    each phase), repeated: a trivial generator that knows every reference window."""
    length = windows.shape[1]
    phase = np.arange(length) % period
    prof = np.stack([windows[:, phase == p].mean(1) for p in range(min(period, length))], 1)
    return prof[:, phase]


def _paired_note(results: dict[str, dict[str, list[float]]], length: int) -> str:
    """Paired per-seed differences of psagan's Context-FID against every other row: mean ±
    std, paired t-test p, seeds where psagan is lower."""
    ours = results["psagan"]["context_fid"]
    parts = []
    for name, row in results.items():
        other = row.get("context_fid")
        if name == "psagan" or other is None or np.isnan(ours).any() or np.isnan(other).any():
            continue
        parts.append(f"psagan - {name} {paired_text(ours, other, higher_is_better=False)}")
    return (
        f"Context-FID at length {length}, paired per-seed differences (mean ± std, two-sided "
        "paired t-test p, seeds where psagan is lower): " + "; ".join(parts)
    )


# relative cost of one training job per unit of length (2-epoch timings, 2 cores): the
# longest jobs go to the workers first
_COST = {"wgan_gp": 5.4, "psagan_noprogressive": 2.6, "psagan": 2.4, "psagan_nomoment": 2.2}


def _model_job(cfg, length, name, seed, seeds, ckpt_dir):
    """(GAN config, progress-curve interval or 0, checkpoint) of one table model."""
    gcfg = replace(cfg.psagan, length=length, seed=seed, **MODELS[name])
    track = cfg.curve_every if length == cfg.lengths[0] and seed == seeds[0] else 0
    return gcfg, track, ckpt_dir / f"{length}_{name}_seed{seed}.pt"


def _forecast_length(cfg) -> int | None:
    """The shortest trained length that holds a forecaster window (context + horizon)."""
    f = cfg.forecaster
    return min((n for n in cfg.lengths if n >= f.context + f.horizon), default=None)


def _train_all(data, train_values, cfg, seeds, ckpt_dir, engine, progress) -> dict:
    """With a parallel ``engine``: train every GAN of the run (the table's and the forecasting
    settings') to its checkpoint, each a cell; {checkpoint: (seconds, snapshots)}. The scoring
    loop then loads each finished checkpoint instead of training."""
    if not engine.parallel:
        return {}
    jobs = []  # (cost, job)
    for length in cfg.lengths:
        for name in cfg.models:
            for seed in seeds:
                gcfg, track, ckpt = _model_job(cfg, length, name, seed, seeds, ckpt_dir)
                jobs.append((_COST.get(name, 1.0) * length, (train_values, data.seasons, gcfg, ckpt, track)))  # fmt: skip
    length = _forecast_length(cfg)
    for setting in cfg.forecast_settings if length is not None else ():
        for seed in seeds:
            values = forecast_split(data, cfg, seed, setting)[0]
            gcfg = replace(cfg.psagan, length=length, seed=seed)
            ckpt = ckpt_dir / f"{setting}_{length}_seed{seed}.pt"
            jobs.append((_COST["psagan"] * length, (values, data.seasons, gcfg, ckpt, 0)))
    cells = [Cell(Path(job[3]).stem, _worker_fit, job, cost) for cost, job in jobs]
    done = run_cells(cells, engine, desc="GANs", progress=progress)
    return {job[3]: res for (_, job), res in zip(jobs, done, strict=True)}


def _fit_job(values, seasons, gcfg, ckpt, snapshot_every, device="cpu", progress=False):
    """Train one GAN to ``ckpt`` (resuming from it): (model, seconds, [(epoch, state)]) with
    the networks' state every ``snapshot_every`` epochs at full length (the progress curve)."""
    snaps: list[tuple[int, dict]] = []

    def on_epoch(epoch: int, m: PSAGAN) -> None:
        at_full = m.stage_at(epoch)[0] == m.config.n_blocks
        if snapshot_every and at_full and (epoch + 1) % snapshot_every == 0:
            snaps.append((epoch + 1, copy.deepcopy(m.nets_.state_dict())))

    start = time.perf_counter()
    gan = PSAGAN(gcfg, device=device, progress=progress).fit(
        values, seasons=seasons, checkpoint=ckpt, on_epoch=on_epoch
    )
    return gan, time.perf_counter() - start, snaps


def _worker_fit(values, seasons, gcfg, ckpt, snapshot_every):
    """``_fit_job`` in a worker: the model stays in its checkpoint."""
    return _fit_job(values, seasons, gcfg, ckpt, snapshot_every)[1:]


def _train(values, seasons, gcfg, yard, track_every, ckpt, dev, progress, trained=None):
    """Fit one GAN (resuming from ``ckpt``), or load it when ``trained`` = (seconds,
    snapshots) says a worker did; (model, Context-FID curve, seconds). ``track_every`` > 0:
    Context-FID every that many epochs once at full length."""
    if trained is None:
        gan, secs, snaps = _fit_job(values, seasons, gcfg, ckpt, track_every, dev, progress)
    else:
        secs, snaps = trained
        gan = PSAGAN(gcfg, device=dev, progress=False).fit(values, seasons=seasons, checkpoint=ckpt)
    final = copy.deepcopy(gan.nets_.state_dict())
    curve = []
    for epoch, state in snaps:
        gan.nets_.load_state_dict(state)
        curve.append((epoch, yard.evaluate(yard.generate(gan))["context_fid"]))
    gan.nets_.load_state_dict(final)
    return gan, curve, secs


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
    length = _forecast_length(cfg)
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
    if len(seeds) > 1:
        diff = paired_text(res["real+psagan"], res["real_only"], higher_is_better=False)
        rec.note(
            f"Forecasting ({setting}): NRMSE of real+psagan - real only, paired per seed "
            f"(mean ± std, paired t-test p; seeds where lower): {diff}"
        )
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


def plot_bias(biases: dict[str, np.ndarray], path: Path) -> None:
    """Mean generated − real value per time step (window-std units, mean over seeds), level
    (the mean over the steps) removed: what ``max_abs_bias`` measures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, b) in enumerate(biases.items()):
        style = {"c": "k", "lw": 1.5} if name == "real" else {"c": f"C{i}", "lw": 1}
        ax.plot(b - b.mean(), label=f"{name} (level {b.mean():+.2f})", **style)
    ax.axhline(0, c="grey", lw=0.5)
    for y in (-0.2, 0.2):
        ax.axhline(y, c="grey", lw=0.5, ls=":")
    ax.set_xlabel("time step in the window")
    ax.set_ylabel("mean generated − real, level removed (window-std)")
    ax.set_title("per-position bias against the held-out reference windows")
    ax.legend(fontsize=7, ncol=2)
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
