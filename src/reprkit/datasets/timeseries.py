"""Univariate time-series collections (for PSA-GAN): M4 Hourly, ETTh1/2, exchange rate, and a
seeded synthetic generator.

Each loader returns a :class:`SeriesData`: a ``(n_series, T)`` float array with NaN where a
series has no value (shorter series are padded at the end), the seasonal periods used for
time features, and, for M4, the official test continuation. Electricity, Solar and Traffic
(LSTNet's files) have loaders with their download address; they are not staged in this
project's offline data folder, so they only work with internet access.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reprkit.datasets._files import RemoteFile, fetch

_M4 = "https://raw.githubusercontent.com/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset/{split}/Hourly-{lower}.csv"
_ETT = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/{name}.csv"
_LSTNET = "https://github.com/laiguokun/multivariate-time-series-data/raw/7f402f185cc2435b5e66aed13a3b560ed142e023/{path}"
# sha256 of the files as their source serves them (M4 and ETT are kept gzip'd here)
_FILES = {
    "m4_train": RemoteFile(
        "timeseries/m4_hourly/Hourly-train.csv.gz",
        _M4.format(split="Train", lower="train"),
        "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
    ),
    "m4_test": RemoteFile(
        "timeseries/m4_hourly/Hourly-test.csv.gz",
        _M4.format(split="Test", lower="test"),
        "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42",
    ),
    "etth1": RemoteFile(
        "timeseries/ett/ETTh1.csv.gz",
        _ETT.format(name="ETTh1"),
        "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    ),
    "etth2": RemoteFile(
        "timeseries/ett/ETTh2.csv.gz",
        _ETT.format(name="ETTh2"),
        "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
    ),
    "exchange_rate": RemoteFile(
        "timeseries/exchange_rate/exchange_rate.txt.gz",
        _LSTNET.format(path="exchange_rate/exchange_rate.txt.gz"),
        "6a4fbb561dcdee43f071a83badbeec9223a335552278348656738b556f1c2e9d",
    ),
    # not obtainable in this project's offline set-up: pinned by address only (sha256 None)
    "electricity": RemoteFile(
        "timeseries/electricity/electricity.txt.gz",
        _LSTNET.format(path="electricity/electricity.txt.gz"),
        None,
    ),
    "solar": RemoteFile(
        "timeseries/solar/solar_AL.txt.gz",
        _LSTNET.format(path="solar-energy/solar_AL.txt.gz"),
        None,
    ),
    "traffic": RemoteFile(
        "timeseries/traffic/traffic.txt.gz", _LSTNET.format(path="traffic/traffic.txt.gz"), None
    ),
}
# LSTNet matrices: rows are time steps, columns series; (frequency's periods)
_LSTNET_SEASONS = {
    "electricity": (24, 168),
    "solar": (144, 1008),  # 10-minute data
    "traffic": (24, 168),
    "exchange_rate": (7, 365),
}
DATASETS = (
    "m4_hourly",
    "etth1",
    "etth2",
    "exchange_rate",
    "electricity",
    "solar",
    "traffic",
    "synthetic_series",
)


@dataclass
class SeriesData:
    values: np.ndarray  # (n_series, T) float32; NaN = missing or past the end of a series
    name: str
    seasons: tuple[int, ...]  # periods (in steps) of the positional time features
    test: np.ndarray | None = None  # (n_series, horizon): the official continuation, if any
    names: list[str] | None = None

    @property
    def lengths(self) -> np.ndarray:
        """Observed length of each series (up to its last non-missing value)."""
        obs = ~np.isnan(self.values)
        last = obs.shape[1] - np.argmax(obs[:, ::-1], axis=1)
        return np.where(obs.any(1), last, 0)


def time_features(start: torch.Tensor, length: int, seasons: torch.Tensor) -> torch.Tensor:
    """(B, length, 2·len(seasons)) sine/cosine of the position within each seasonal period for
    windows starting at ``start`` (B,), positions counted from the start of the series (M4 has
    no timestamps here, so positions stand in). The one definition the GAN and the forecaster
    share."""
    pos = (start[:, None] + torch.arange(length, device=start.device)).float()
    ang = 2 * torch.pi * pos[:, :, None] / seasons.to(pos.device).float()
    return torch.cat([torch.sin(ang), torch.cos(ang)], -1)


def _read_m4(path) -> tuple[list[str], np.ndarray]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    width = max(len(r) - 1 for r in rows)
    out = np.full((len(rows), width), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        vals = [float(v) for v in r[1:] if v != ""]
        out[i, : len(vals)] = vals
    return [r[0] for r in rows], out


def load_m4_hourly() -> SeriesData:
    """M4 Hourly: 414 series (700 or 960 observed hours) and the 48-hour test continuation."""
    names, train = _read_m4(fetch(_FILES["m4_train"]))
    _, test = _read_m4(fetch(_FILES["m4_test"]))
    return SeriesData(train, "m4_hourly", (24, 168), test=test, names=names)


def load_ett(name: str = "etth1") -> SeriesData:
    """ETTh1 / ETTh2: the 7 hourly columns (6 loads and oil temperature) as 7 series."""
    if name not in ("etth1", "etth2"):
        raise ValueError(f"name must be 'etth1' or 'etth2', got {name!r}")
    with gzip.open(fetch(_FILES[name]), "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float32).T
    return SeriesData(values, name, (24, 168), names=rows[0][1:])


def load_lstnet(name: str) -> SeriesData:
    """LSTNet's matrices (time × series): exchange_rate (staged here), electricity, solar,
    traffic (download only: not in this project's offline data)."""
    if name not in _LSTNET_SEASONS:
        raise ValueError(f"name must be one of {list(_LSTNET_SEASONS)}, got {name!r}")
    with gzip.open(fetch(_FILES[name]), "rt", encoding="utf-8") as f:
        values = np.loadtxt(io.StringIO(f.read()), delimiter=",", dtype=np.float32).T
    return SeriesData(values, name, _LSTNET_SEASONS[name])


def load_series(name: str) -> SeriesData:
    """A registered collection by name (see ``DATASETS``)."""
    if name == "m4_hourly":
        return load_m4_hourly()
    if name in ("etth1", "etth2"):
        return load_ett(name)
    if name in _LSTNET_SEASONS:
        return load_lstnet(name)
    if name == "synthetic_series":
        return synthetic_series()
    raise ValueError(f"dataset must be one of {list(DATASETS)}, got {name!r}")


def synthetic_series(
    n_series: int = 32,
    length: int = 512,
    *,
    period: int = 24,
    noise: float = 0.1,
    seed: int = 0,
) -> SeriesData:
    """Seasonal + trend + noise per series: level ~ U(1, 5), daily shape with a random phase and
    amplitude, a small linear trend, Gaussian noise relative to the level (all positive)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)[None, :]
    level = rng.uniform(1, 5, (n_series, 1))
    amp = rng.uniform(0.2, 0.6, (n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    trend = rng.normal(0, 0.3, (n_series, 1)) * t / length
    season = amp * np.sin(2 * np.pi * t / period + phase)
    values = level * (1 + season + trend + rng.normal(0, noise, (n_series, length)))
    return SeriesData(values.astype(np.float32), "synthetic_series", (period, 7 * period))


def as_series_array(
    series: Any,
    *,
    item_col: str | None = None,
    time_col: str | None = None,
    target_col: str | None = None,
    with_ids: bool = False,
) -> Any:
    """A ``(n_series, T)`` float32 array (NaN = missing) from an array (numpy or torch), a list
    of 1-D arrays of any lengths, a wide DataFrame (one float column per series; a datetime
    index is put in time order) or a long one (columns ``item_col``, ``time_col``,
    ``target_col``; default names ``item_id``, ``timestamp``, ``target``). ``with_ids``: also
    return the series' names (column names, item ids, or positions)."""
    ids: Any = None
    if hasattr(series, "columns"):  # pandas
        given = (item_col, time_col, target_col)
        named = all(c is not None for c in given)  # the user named a long frame's columns
        if any(c is not None for c in given) and not named:
            raise ValueError("a long frame needs all three of item_col=, time_col=, target_col=")
        long_cols = list(given) if named else ["item_id", "timestamp", "target"]
        item_col, time_col, target_col = long_cols
        if set(long_cols) <= set(series.columns):
            wide = series.pivot_table(
                index=time_col, columns=item_col, values=target_col, aggfunc="first", dropna=False
            ).sort_index()
            ids = np.asarray(wide.columns)
            series = wide
        elif named:
            missing = [c for c in long_cols if c not in series.columns]
            raise ValueError(
                f"series is missing the column(s) {missing}; it has {list(series.columns)[:10]}"
            )
        else:
            not_float = [c for c in series.columns if series[c].dtype.kind != "f"]
            if not_float:
                raise ValueError(
                    f"series: a wide frame (one column per series) must hold float columns, but "
                    f"{not_float[:5]} are {series[not_float[0]].dtype}. A long frame (one row per "
                    "item and time)? name its columns: item_col=, time_col=, target_col=. A wide "
                    "one of integers? pass df.astype(float)"
                )
            if series.index.dtype.kind == "M" and not series.index.is_monotonic_increasing:
                series = series.sort_index()  # rows in time order, whatever order they came in
            ids = np.asarray(series.columns)
        arr = series.to_numpy(dtype=np.float64).T
    elif isinstance(series, (list, tuple)) and series and np.ndim(series[0]) == 1:
        if len({len(s) for s in series}) > 1:  # ragged: pad with NaN at the end
            width = max(len(s) for s in series)
            arr = np.full((len(series), width), np.nan)
            for i, s in enumerate(series):
                arr[i, : len(s)] = _numeric(s)
        else:
            arr = _numeric(series)
    else:
        arr = _numeric(series.detach().cpu().numpy() if hasattr(series, "detach") else series)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"series must be (n_series, T), got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError("series holds infinite values")
    arr = arr.astype(np.float32)
    if with_ids:
        return arr, (np.arange(len(arr)) if ids is None else ids)
    return arr


def _numeric(x: Any) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"series must hold numbers only ({e})") from None


def to_gluonts(
    values: Any,
    *,
    freq: str = "h",
    start: str = "2000-01-01 00:00",
    offsets: Any = None,
    item_ids: Any = None,
) -> Any:
    """A GluonTS ``ListDataset`` of the series (e.g. PSA-GAN's synthetic windows), to train any
    GluonTS model on them. Row ``i`` starts ``offsets[i]`` steps after ``start`` (default 0);
    trailing NaN padding is dropped. Needs ``pip install 'reprkit[gluonts]'``."""
    try:
        import pandas as pd
        from gluonts.dataset.common import ListDataset
    except ImportError as e:
        raise ImportError("to_gluonts needs GluonTS: pip install 'reprkit[gluonts]'") from e
    arr = as_series_array(values)
    n = len(arr)
    offs = np.zeros(n, dtype=np.int64) if offsets is None else np.asarray(offsets, dtype=np.int64)
    ids = [str(i) for i in range(n)] if item_ids is None else [str(i) for i in item_ids]
    if offs.shape != (n,) or len(ids) != n:
        raise ValueError(f"offsets and item_ids must have one entry per series ({n})")
    base = pd.Period(start, freq=freq)
    lengths = SeriesData(arr, "", (1,)).lengths
    return ListDataset(
        [
            {"target": arr[i, : lengths[i]], "start": base + int(offs[i]), "item_id": ids[i]}
            for i in range(n)
        ],
        freq=freq,
    )
