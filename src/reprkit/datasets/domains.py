"""Multi-domain datasets whose domains are nodes of a graph (for GRDA).

Each loader returns a :class:`DomainData`: inputs ``x``, targets ``y`` (class ids, or real
vectors for regression), each sample's ``domain``, the domain graph's adjacency ``A`` (symmetric
0/1, no self loops), the source domains of the paper's task, and domain names.

* DG-15 / DG-60 (Xu et al., ICLR 2022): 2-D points; each domain is the same two-class problem
  rotated by the domain's angle, the classes pushed further apart along a spiral. The official
  pickles, and :func:`spiral_domains`, a seeded generator of the same construction.
* TPT-48: monthly average temperature of the 48 contiguous US states over 12 years; predict the
  next 6 months from the previous 6; the graph is state adjacency.
"""

from __future__ import annotations

import csv
import pickle
from dataclasses import dataclass

import numpy as np

from reprkit.datasets._files import RemoteFile, fetch

_GRDA_URL = (
    "https://github.com/Wang-ML-Lab/GRDA/raw/96800d62577b8046af3fbc9ade0a51c2b71129c1/data/{name}"
)
_VDI_URL = (
    "https://github.com/Wang-ML-Lab/VDI/raw/383f4318cb34c09846b7e19a8b460d5d557b2043/TPT-48/{path}"
)
_FILES = {
    "dg15": RemoteFile(
        "grda/toy_d15_spiral_tight_boundary.pkl",
        _GRDA_URL.format(name="toy_d15_spiral_tight_boundary.pkl"),
        "46de00f5cbb33afb315c22ce55cc127d6fead57ea09d7a578f4152c1d6900a96",
    ),
    "dg60": RemoteFile(
        "grda/toy_d60_spiral.pkl",
        _GRDA_URL.format(name="toy_d60_spiral.pkl"),
        "b3bb65f047fda93d68e641eb8ea6bd9edcc32bf38279f4409161f35b5d6a6f18",
    ),
    "temps": RemoteFile(
        "grda/tpt48/month_temp_data.pkl",
        _VDI_URL.format(path="train_data/data/month_temp_data.pkl"),
        "f996d73fd0cb4a13d9ef2015b6a2cf973dc88c0e21c368cef18c2b16c874bea4",
    ),
    "map": RemoteFile(
        "grda/tpt48/usa_map.txt",
        _VDI_URL.format(path="visualization/usa_map/usa_map.txt"),
        "93851875ccd2935f447137185a2a4785e685a7dce55fbd28b9d651bd24362313",
    ),
    "lonlat": RemoteFile(
        "grda/tpt48/longitude-latitude-normalize.csv",
        _VDI_URL.format(path="visualization/usa_map/longitude-latitude-normalize.csv"),
        "fade81a3626372b2dd787f64404d1ff349cbd3980698a4e6e86f9ec6ca063f1a",
    ),
}
# source domains of the official configs (configs/config_random_{15,60}_new.py)
DG_SOURCES = {"dg15": (0, 12, 3, 4, 14, 8), "dg60": (2, 14, 41, 23, 59, 33)}
TPT48_TASKS = ("E2W", "N2S")
# each reported task's reverse: its targets are the reported task's (labelled) sources, so a
# setting chosen on it never reads a reported target's labels
TPT48_REVERSE = {"E2W": "W2E", "N2S": "S2N"}


@dataclass
class DomainData:
    x: np.ndarray  # (N, F) float32
    y: np.ndarray  # (N,) int64 class ids, or (N, T) float32 regression targets
    domain: np.ndarray  # (N,) int64 in [0, D)
    A: np.ndarray  # (D, D) symmetric 0/1, zero diagonal
    sources: tuple[int, ...]
    name: str
    domain_names: list[str]
    pos: np.ndarray | None = None  # (D, 2) layout for plots

    @property
    def task(self) -> str:
        return "regression" if self.y.ndim == 2 else "classification"

    @property
    def targets(self) -> tuple[int, ...]:
        return tuple(d for d in range(self.A.shape[0]) if d not in self.sources)


def _from_dict(d: dict, name: str, sources: tuple[int, ...]) -> DomainData:
    dom = d["domain"].astype(np.int64)
    angle = np.asarray(d["angle"], dtype=np.float64)
    return DomainData(
        x=d["data"].astype(np.float32),
        y=d["label"].astype(np.int64),
        domain=dom,
        A=(d["A"] > 0).astype(np.float32),
        sources=sources,
        name=name,
        domain_names=[str(i) for i in range(d["A"].shape[0])],
        pos=np.stack([np.cos(angle), np.sin(angle)], 1) * (1 + angle[:, None]),
    )


def load_dg(name: str) -> DomainData:
    """DG-15 or DG-60 from the official GRDA pickles (100 points per domain)."""
    if name not in DG_SOURCES:
        raise ValueError(f"name must be one of {list(DG_SOURCES)}, got {name!r}")
    with open(fetch(_FILES[name]), "rb") as f:
        d = pickle.load(f)  # sha256-checked file: a plain dict of numpy arrays
    return _from_dict(d, name, DG_SOURCES[name])


def spiral_domains(
    n_domains: int = 15,
    per_domain: int = 100,
    *,
    max_angle: float = np.pi,
    slope: float = 0.6,
    noise: float = 0.45,
    edge_scale: float = 0.6,
    sources: tuple[int, ...] | None = None,
    seed: int = 0,
) -> DomainData:
    """DG-style data: domain k has an angle θ_k ~ U(0, max_angle); its two classes are Gaussian
    blobs (std ``noise``) at ±(1 + slope·θ_k)(cos θ_k, sin θ_k), so the decision boundary
    rotates with θ and the classes drift apart along a spiral. Domains i, j are joined with
    probability exp(-(θ_i - θ_j)² / (2 edge_scale²)). Sources default to the 40 % of domains
    with the smallest angles (targets must extrapolate)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, max_angle, n_domains)
    dom = np.repeat(np.arange(n_domains), per_domain)
    y = rng.integers(0, 2, len(dom))
    r = 1 + slope * angle[dom]
    direction = np.stack([np.cos(angle[dom]), np.sin(angle[dom])], 1)
    x = direction * (r * (1 - 2 * y))[:, None] + rng.normal(0, noise, (len(dom), 2))
    diff = angle[:, None] - angle[None, :]
    p = np.exp(-(diff**2) / (2 * edge_scale**2))
    upper = np.triu(rng.random((n_domains, n_domains)) < p, 1)
    a = (upper | upper.T).astype(np.float64)
    if sources is None:
        sources = tuple(int(i) for i in np.argsort(angle)[: max(1, int(0.4 * n_domains))])
    d = {"data": x, "label": y, "domain": dom, "A": a, "angle": angle}
    return _from_dict(d, f"spiral{n_domains}", tuple(sorted(sources)))


def load_tpt48(task: str = "E2W", seq_len: int = 6, windows: str = "lab") -> DomainData:
    """TPT-48: inputs are ``seq_len`` months of a state's temperature, targets the next
    ``seq_len``.

    ``windows="lab"`` (default; the Wang lab's TPT-48 loader, ``Wang-ML-Lab/VDI``
    ``TPT-48/data_loader/data_loader.py:67-120``): source states give every sliding window of
    2·seq_len months (133 per state), target states one per non-overlapping window (12 per
    state, evaluated); temperatures standardised with the mean and std of the source states'
    months (those any window reads) plus the target windows' *inputs* (never their outputs).
    ``"blocks"``: non-overlapping windows everywhere, standardised with the source states only.
    ``task`` E2W: the 24 easternmost states (by longitude) are sources, the 24 western ones
    targets; N2S: the 24 northernmost are sources (the paper does not publish its lists).
    W2E / S2N are their reverses (sources and targets swapped), for choosing settings.
    """
    tasks = [*TPT48_TASKS, *TPT48_REVERSE.values()]
    if task not in tasks:
        raise ValueError(f"task must be one of {tasks}, got {task!r}")
    if windows not in ("lab", "blocks"):
        raise ValueError(f"windows must be 'lab' or 'blocks', got {windows!r}")
    with open(fetch(_FILES["temps"]), "rb") as f:
        temps = pickle.load(f)  # sha256-checked: dict state -> (144,) float64
    with open(fetch(_FILES["lonlat"]), newline="", encoding="utf-8-sig") as f:
        rows = {
            r["state"]: (float(r["longitude"]), float(r["latitude"])) for r in csv.DictReader(f)
        }
    states = sorted(temps)
    index = {s: i for i, s in enumerate(states)}
    a = np.zeros((len(states), len(states)), dtype=np.float32)
    with open(fetch(_FILES["map"]), encoding="utf-8") as f:
        for line in f:
            pair = line.split()
            if len(pair) == 2 and pair[0] in index and pair[1] in index:  # DC has no data
                i, j = index[pair[0]], index[pair[1]]
                a[i, j] = a[j, i] = 1.0
    pos = np.array([rows[s] for s in states])
    # east = large longitude, north = large latitude; W2E / S2N swap sources and targets
    key = {"E2W": -pos[:, 0], "W2E": pos[:, 0], "N2S": -pos[:, 1], "S2N": pos[:, 1]}[task]
    sources = tuple(sorted(int(i) for i in np.argsort(key)[: len(states) // 2]))
    series = np.stack([np.asarray(temps[s], dtype=np.float64) for s in states])  # (48, 144)
    w, n_months = 2 * seq_len, series.shape[1]
    is_src = np.isin(np.arange(len(states)), sources)
    blocks = series[:, : n_months // w * w].reshape(len(states), -1, w)  # (48, 12, 12)
    if windows == "lab":
        # statistics: source months that windows read + target windows' inputs
        seen = [series[is_src, : n_months - seq_len].ravel(), blocks[~is_src, :, :seq_len].ravel()]
        mean, std = np.concatenate(seen).mean(), np.concatenate(seen).std()
        slide = np.lib.stride_tricks.sliding_window_view(series, w, axis=1)  # (48, 133, 12)
        per_state = [slide[d] if is_src[d] else blocks[d] for d in range(len(states))]
    else:
        mean, std = series[is_src].mean(), series[is_src].std()
        per_state = list(blocks)
    win = (np.concatenate(per_state) - mean) / std
    return DomainData(
        x=win[:, :seq_len].astype(np.float32),
        y=win[:, seq_len:].astype(np.float32),
        domain=np.repeat(np.arange(len(states)), [len(p) for p in per_state]),
        A=a,
        sources=sources,
        name=f"tpt48_{task}",
        domain_names=states,
        pos=pos,
    )


def load_domains(name: str) -> DomainData:
    """Registered multi-domain datasets: dg15, dg60, tpt48_E2W, tpt48_N2S (and their reverses
    tpt48_W2E, tpt48_S2N), spiral15."""
    if name in DG_SOURCES:
        return load_dg(name)
    if name.startswith("tpt48_"):
        return load_tpt48(name.removeprefix("tpt48_"))
    if name == "spiral15":
        return spiral_domains()
    raise ValueError(
        "dataset must be one of ['dg15', 'dg60', 'tpt48_E2W', 'tpt48_N2S', 'tpt48_W2E', "
        "'tpt48_S2N', 'spiral15'], "
        f"got {name!r}"
    )
