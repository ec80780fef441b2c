"""Timestamped user–item events (for RIM): MovieLens-100K, MovieLens-1M (download only), a
synthetic generator with self-exciting users, and the RIM paper's split protocol.

MovieLens' terms forbid redistribution: the loaders read the files from ``$REPRKIT_DATA`` or
download them from the address below; nothing of them is packaged.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass

import numpy as np

from reprkit.datasets._files import RemoteFile, fetch

_ML100K = (
    "https://raw.githubusercontent.com/Karan-Malik/RestrictedBoltzmannMachine/"
    "2d918d569643ff7c0846eaf355c7e5ccb7afd5ad/ml-100k/u.data"
)
_FILES = {
    "ml100k": RemoteFile(
        "movielens_100k/u.data.gz",
        _ML100K,
        "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    ),
    # GroupLens' archive; not obtainable in this project's offline set-up (unpinned)
    "ml1m": RemoteFile(
        "movielens_1m/ml-1m.zip", "https://files.grouplens.org/datasets/movielens/ml-1m.zip", None
    ),
}


@dataclass
class Events:
    """Events sorted by time: ``user`` and ``item`` as dense ids, ``time`` in seconds."""

    user: np.ndarray  # (E,) int64
    item: np.ndarray  # (E,) int64
    time: np.ndarray  # (E,) float64
    n_users: int
    n_items: int
    name: str = ""

    def __post_init__(self) -> None:
        order = np.lexsort((self.item, self.user, self.time))
        self.user, self.item, self.time = self.user[order], self.item[order], self.time[order]


def from_columns(user, item, time, name: str = "") -> Events:
    """Events from raw ids (any hashable) and numeric timestamps; ids are made dense."""
    t = np.asarray(time)
    if not np.issubdtype(t.dtype, np.number):
        raise ValueError(f"timestamp must be numeric, got dtype {t.dtype}")
    if not np.isfinite(t.astype(np.float64)).all():
        raise ValueError("timestamp holds NaN or infinite values")
    _, u = np.unique(np.asarray(user), return_inverse=True)
    _, i = np.unique(np.asarray(item), return_inverse=True)
    return Events(
        u.astype(np.int64),
        i.astype(np.int64),
        t.astype(np.float64),
        int(u.max()) + 1,
        int(i.max()) + 1,
        name,
    )


def load_ml100k() -> Events:
    """MovieLens-100K: 100,000 ratings (every rating counts as an event) of 943 users on 1,682
    movies, 1997-09 to 1998-04."""
    with gzip.open(fetch(_FILES["ml100k"]), "rt", encoding="latin-1") as f:
        arr = np.loadtxt(f, dtype=np.int64)
    return from_columns(arr[:, 0], arr[:, 1], arr[:, 3], "ml100k")


def load_ml1m() -> Events:
    """MovieLens-1M from GroupLens' zip (download only: not staged here)."""
    with zipfile.ZipFile(fetch(_FILES["ml1m"])) as z:
        text = z.read("ml-1m/ratings.dat").decode("latin-1").replace("::", "\t")
    arr = np.loadtxt(io.StringIO(text), dtype=np.int64)
    return from_columns(arr[:, 0], arr[:, 1], arr[:, 3], "ml1m")


EVENT_DATASETS = ("ml100k", "ml1m", "synthetic_events")


def load_events(name: str) -> Events:
    """A registered event collection by name (see ``EVENT_DATASETS``)."""
    if name == "ml100k":
        return load_ml100k()
    if name == "ml1m":
        return load_ml1m()
    if name == "synthetic_events":
        return synthetic_events(n_users=400, n_items=100, base_events=12.0, seed=0)
    raise ValueError(f"dataset must be one of {list(EVENT_DATASETS)}, got {name!r}")


def synthetic_events(
    n_users: int = 200,
    n_items: int = 100,
    *,
    horizon: float = 1.0,
    span: float = 4.0,
    excite: float = 0.6,
    base_events: float = 3.0,
    seed: int = 0,
) -> Events:
    """Self-exciting users (Hawkes, one exponential kernel of time scale horizon / 2, base
    rates log-normal around ``base_events`` per user over the span) choosing items from a few taste clusters with popularity skew."""
    rng = np.random.default_rng(seed)
    n_clusters = 5
    taste = rng.integers(n_clusters, size=n_users)
    cluster = rng.integers(n_clusters, size=n_items)
    pop = rng.zipf(1.5, n_items).astype(np.float64)
    users, items, times = [], [], []
    for u in range(n_users):
        mu = float(rng.lognormal(np.log(base_events / span), 0.8))
        t = hawkes_times(mu, excite, 2.0 / horizon, span, rng)
        w_items = pop * np.where(cluster == taste[u], 8.0, 1.0)
        users += [u] * len(t)
        items += rng.choice(n_items, size=len(t), p=w_items / w_items.sum()).tolist()
        times += t.tolist()
    return Events(np.array(users), np.array(items), np.array(times), n_users, n_items, "synthetic")


def hawkes_times(
    mu: float, alpha: float, beta: float, end: float, rng: np.random.Generator
) -> np.ndarray:
    """Event times on [0, end) of a Hawkes process with one exponential kernel,
    λ(t) = μ + α β Σ exp(-β (t - t_j)), by Ogata's thinning."""
    t, events, excite = 0.0, [], 0.0  # excite: the kernel sum at time t
    while True:
        bound = mu + excite
        w = rng.exponential(1 / bound)
        t += w
        excite *= np.exp(-beta * w)
        if t >= end:
            return np.asarray(events)
        if rng.random() * bound <= mu + excite:
            events.append(t)
            excite += alpha * beta


@dataclass
class RIMSplit:
    """The RIM protocol on one group of users: history before each user's test start, targets
    in [start, start + horizon)."""

    history: Events  # training events (all users' histories of this group)
    target: np.ndarray  # (n_users, n_items) bool: events in the test window
    start: np.ndarray  # (n_users,) each user's test start time
    users: np.ndarray  # the group's user ids
    horizon: float
    after: Events | None = None  # the group's kept events from each user's test start on


def rim_split(events: Events, seed: int = 0) -> tuple[RIMSplit, RIMSplit, Events]:
    """(test group, validation group, all training events before each user's test start): keep
    the second half of each user's events; split users 50/50 at random; each user's test window starts at its first kept
    event + the median kept span over users, and lasts that span (Ma et al., ICLR 2022)."""
    e = events
    rank = np.zeros(len(e.user))
    for u in np.unique(e.user):
        idx = np.flatnonzero(e.user == u)
        rank[idx] = np.arange(1, len(idx) + 1) / len(idx)
    keep = rank > 0.5 - 1e-12
    u, i, t = e.user[keep], e.item[keep], e.time[keep]
    tmin = np.full(e.n_users, np.inf)
    tmax = np.full(e.n_users, -np.inf)
    np.minimum.at(tmin, u, t)
    np.maximum.at(tmax, u, t)
    active = np.isfinite(tmin)
    span = float(np.median((tmax - tmin)[active]))
    if span <= 0:
        raise ValueError(
            "the median span of the users' kept events is 0: timestamps are too coarse"
        )
    start = tmin + span
    rng = np.random.default_rng(seed + 888)
    ids = np.flatnonzero(active)
    in_a = np.zeros(e.n_users, dtype=bool)
    in_a[rng.choice(ids, len(ids) // 2, replace=False)] = True
    before = t < start[u]
    inside = ~before & (t < start[u] + span)
    train = Events(u[before], i[before], t[before], e.n_users, e.n_items, e.name)

    def group(mask: np.ndarray) -> RIMSplit:
        users = np.flatnonzero(mask)
        row = -np.ones(e.n_users, dtype=np.int64)
        row[users] = np.arange(len(users))
        sel = inside & mask[u]
        target = np.zeros((len(users), e.n_items), dtype=bool)
        target[row[u[sel]], i[sel]] = True
        h = before & mask[u]
        hist = Events(u[h], i[h], t[h], e.n_users, e.n_items, e.name)
        a = ~before & mask[u]
        after = Events(u[a], i[a], t[a], e.n_users, e.n_items, e.name)
        return RIMSplit(hist, target, start[users], users, span, after)

    return group(in_a), group(active & ~in_a), train
