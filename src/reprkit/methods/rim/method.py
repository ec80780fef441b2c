"""RIM (Ma et al., ICLR 2022): recurrent intensity modelling, ``λ(x, y) = λ(x) · p(y | x)``.

``p(y | x)`` is a next-item model over the user's item sequence (GRU or causal Transformer with
tied item embeddings; ``pop``: item popularity); ``λ(x)`` is the user's expected number of
events in the next horizon (Hawkes, Hawkes-Poisson, EMA of past events, the user's past rate, or
a constant). The product scores every (user, item) pair in both directions: ItemRec (items per
user), UserRec (users per item, "audience"), and constrained matching between the two.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from reprkit.core.base import BaseEstimator
from reprkit.core.progress import progress_bar
from reprkit.core.seed import seeded
from reprkit.core.validate import as_duration, as_times, lookup
from reprkit.datasets.interactions import Events, from_columns
from reprkit.methods.rim.config import INTENSITIES, RIMConfig
from reprkit.methods.rim.hawkes import Hawkes, _compensator, default_decays
from reprkit.methods.rim.matching import dual_match, greedy_match, online_match, round_dual

CITATION = """@inproceedings{ma2022bridging,
  title={Bridging Recommendation and Marketing via Recurrent Intensity Modeling},
  author={Ma, Yifei and Liu, Ge and Deoras, Anoop},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


class _Sequence(nn.Module):
    """Next-item logits after every prefix; items are shifted by one (0 = padding / start)."""

    def __init__(self, n_items: int, cfg: RIMConfig) -> None:
        super().__init__()
        h = cfg.hidden
        self.emb = nn.Embedding(n_items + 1, h, padding_idx=0)
        self.bias = nn.Parameter(torch.zeros(n_items))
        if cfg.sequence == "gru":
            self.rnn = nn.GRU(h, h, cfg.layers, batch_first=True)
        else:
            self.pos = nn.Embedding(cfg.max_len + 1, h)
            layer = nn.TransformerEncoderLayer(h, 2, 2 * h, dropout=0.1, batch_first=True)
            self.rnn = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        x = self.emb(seq)
        if isinstance(self.rnn, nn.GRU):
            h = self.rnn(x)[0]
        else:
            n = seq.shape[1]
            x = x + self.pos(torch.arange(n, device=seq.device))
            causal = torch.triu(torch.ones(n, n, dtype=torch.bool, device=seq.device), 1)
            h = self.rnn(x, mask=causal, src_key_padding_mask=seq == 0)
        return h @ self.emb.weight[1:].T + self.bias  # tied output embedding


def _as_events(
    events: Any, user_col: str, item_col: str, time_col: str
) -> tuple[Events, np.ndarray, np.ndarray, bool]:
    """Events, the raw user and item ids (position = dense id), and whether the times were
    datetimes (then converted to seconds since the epoch)."""
    if isinstance(events, Events):
        return events, np.arange(events.n_users), np.arange(events.n_items), False
    if not hasattr(events, "columns"):
        raise TypeError(
            f"events must be a pandas DataFrame or an Events object, got {type(events).__name__}"
        )
    cols = {"user_col": user_col, "item_col": item_col, "time_col": time_col}
    missing = {k: v for k, v in cols.items() if v not in events.columns}
    if missing:
        raise ValueError(
            f"events is missing the column(s) {sorted(missing.values())} "
            f"({', '.join(f'{k}={v!r}' for k, v in missing.items())}); it has "
            f"{list(events.columns)[:10]}: name yours with user_col=, item_col=, time_col="
        )
    if len(events) == 0:
        raise ValueError("events is empty")
    user, item = events[user_col].to_numpy(), events[item_col].to_numpy()
    for name in (user_col, item_col):
        if events[name].isna().any():
            raise ValueError(f"events[{name!r}] holds missing ids (NaN/None)")
    times, dt = as_times(events[time_col], f"events[{time_col!r}]")
    e = from_columns(user, item, times)  # Events sorts by time
    return e, np.unique(user), np.unique(item), dt


class RIM(BaseEstimator):
    """Score users × items by intensity; recommend, find audiences, match under constraints.

    Example:
        >>> rim = RIM().fit(df, horizon=7 * 86400)                     # doctest: +SKIP
        >>> rim.recommend(["alice"], k=10, at=t0)                        # doctest: +SKIP
        >>> rim.audience(["movie_1"], c=100, at=t0)                      # doctest: +SKIP
    """

    name = "rim"
    config_cls = RIMConfig

    def fit(
        self,
        events: Any,
        *,
        horizon: Any,
        observed_until: Any = None,
        user_col: str = "user",
        item_col: str = "item",
        time_col: str = "timestamp",
    ) -> RIM:
        """``events``: a DataFrame with user, item and time columns (named by ``user_col``,
        ``item_col``, ``time_col``; ids of any hashable type; times numeric or datetimes; extra
        columns are ignored) or :class:`~reprkit.datasets.interactions.Events`. ``horizon``: the
        length of the future window the intensity counts events in (the times' unit, or a
        ``pd.Timedelta`` when the times are datetimes). ``observed_until``: the end of the
        observation, one time for all users or one per user (in ``users_`` order; default: the
        last event overall), for the Hawkes likelihood. Intensities are expected counts per
        ``horizon``, whatever the unit."""
        cfg = self.config
        e, users, items, dt = _as_events(events, user_col, item_col, time_col)
        self.horizon_ = as_duration(horizon, "horizon", datetimes=dt)
        if observed_until is None:
            # paper: the observation ends at the last event; a millionth of a horizon later so
            # that it is strictly after it at any timestamp scale (1e-9 vanished at 1.7e9 s)
            end = np.full(e.n_users, e.time.max() + 1e-6 * self.horizon_)
        else:
            end, _ = as_times(observed_until, "observed_until", allow_inf=True)
            if len(end) == 1:
                end = np.full(e.n_users, end[0])
            elif len(end) != e.n_users:
                raise ValueError(
                    f"observed_until must be one time or one per user ({e.n_users}), got {len(end)}"
                )
        self.users_, self.items_, self.datetimes_ = users, items, dt
        self.events_ = e
        self.fitted_ = True
        self.item_pop_ = np.bincount(e.item, minlength=e.n_items) + 1.0
        self.item_pop_ /= self.item_pop_.sum()
        if cfg.intensity in ("hawkes", "hawkes_poisson"):
            # each user from its first event to the end of its observation
            groups = [(u, idx) for u, idx in enumerate(_by_user(e)) if len(idx)]
            seqs = [e.time[idx] / self.horizon_ for _, idx in groups]
            ends = end[[u for u, _ in groups]] / self.horizon_
            if np.any(ends <= [q[-1] for q in seqs]):
                raise ValueError("observed_until must be after each user's last event")
            self.hawkes_ = Hawkes(default_decays(cfg.n_decays), cfg.l2).fit(
                seqs, [q[0] for q in seqs], ends
            )
        self.seq_ = self._fit_sequence(e) if cfg.sequence != "pop" else None
        return self

    def _fit_sequence(self, e: Events) -> _Sequence:
        cfg = self.config
        n = cfg.max_len
        rows = []
        for idx in _by_user(e):
            items = e.item[idx] + 1
            for end in range(len(items), 0, -n):  # chunks of at most n targets, newest first
                tgt = items[max(0, end - n) : end]
                inp = np.concatenate(
                    [[items[end - len(tgt) - 1] if end - len(tgt) > 0 else 0], tgt[:-1]]
                )
                row = np.zeros((2, n), dtype=np.int64)
                row[0, n - len(inp) :], row[1, n - len(tgt) :] = inp, tgt
                rows.append(row)
        data = torch.from_numpy(np.stack(rows))  # (R, 2, n): input and target, 0 = padding
        with seeded(cfg.seed):
            model = _Sequence(e.n_items, cfg).to(self.device)
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
            gen = torch.Generator().manual_seed(cfg.seed)
            for _ in progress_bar(range(cfg.epochs), desc="sequence", progress=self.progress):
                model.train()
                for idx in torch.randperm(len(data), generator=gen).split(cfg.batch_size):
                    inp, tgt = data[idx, 0].to(self.device), data[idx, 1].to(self.device)
                    logits = model(inp)
                    mask = tgt > 0
                    loss = nnf.cross_entropy(logits[mask], tgt[mask] - 1)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        return model.eval()

    # -- scoring ------------------------------------------------------------------------------

    def _dense(self, ids: Any, known: np.ndarray, what: str, unknown: str) -> np.ndarray:
        """Dense ids of raw ids; unknown ones -> -1 (cold start) or an error."""
        pos, found = lookup(ids, known, what)
        if not found.all() and unknown == "error":
            ids = np.atleast_1d(np.asarray(ids))
            hint = (
                " (or score them from an empty history: unknown='cold')" if what == "users" else ""
            )
            raise ValueError(f"unknown {what}: {ids[~found][:5].tolist()}{hint}")
        return np.where(found, pos, -1)

    def _at(self, at: Any, n: int) -> np.ndarray:
        t, dt = as_times(at, "at")
        if dt != getattr(self, "datetimes_", False):
            raise TypeError(
                "at must be "
                + ("a datetime" if dt is False else "a number")
                + " like the timestamps the model was fitted on"
            )
        if len(t) not in (1, n):
            raise ValueError(f"at must be one time or one per user ({n}), got {len(t)}")
        return np.broadcast_to(t, (n,)).copy()

    def _history(self, user: int, at: float) -> np.ndarray:
        """Indices (time order) of a dense user's events before ``at``; none for cold (-1)."""
        if user < 0:
            return np.zeros(0, dtype=np.int64)
        idx = _by_user(self.events_)[user]
        return idx[self.events_.time[idx] < at]

    def _user_intensity(self, users: np.ndarray, at: np.ndarray, kind: str) -> np.ndarray:
        """Expected events of each (dense, -1 = cold) user in [at, at + horizon)."""
        cfg, e, h = self.config, self.events_, self.horizon_
        if kind not in INTENSITIES:
            raise ValueError(f"kind must be one of {list(INTENSITIES)}, got {kind!r}")
        if kind.startswith("hawkes") and not hasattr(self, "hawkes_"):
            raise ValueError(f"kind {kind!r} needs a RIM fitted with a Hawkes intensity")
        out = np.zeros(len(users))
        for r, (u, t) in enumerate(zip(users, at, strict=True)):
            times = e.time[self._history(u, t)] / h
            now = t / h
            if kind == "constant":
                out[r] = 1.0
            elif kind == "ema":
                out[r] = np.exp(-np.log(2) * (now - times) / cfg.ema_half_life).sum()
            elif kind == "user_pop":
                out[r] = (len(times) + 1) / (now - times[0] + 1 if len(times) else 1.0)
            else:
                c = _compensator(times, now, now + 1.0, self.hawkes_.decays)
                mu = self.hawkes_.mu_
                if kind == "hawkes_poisson" and len(times):
                    # the user's own rate, shrunk to the population's by one horizon of prior
                    mu = (len(times) + mu) / (now - times[0] + 1.0)
                out[r] = mu * c[0] + self.hawkes_.alpha_ @ c[1:]
        return out

    @torch.no_grad()
    def _item_probs(self, users: np.ndarray, at: np.ndarray) -> np.ndarray:
        """p(y | x): (n, n_items) next-item probabilities given each user's history."""
        if self.seq_ is None:
            return np.tile(self.item_pop_, (len(users), 1))
        n = self.config.max_len
        seqs = np.zeros((len(users), n), dtype=np.int64)
        for r, (u, t) in enumerate(zip(users, at, strict=True)):
            seq = np.concatenate([[0], self.events_.item[self._history(u, t)] + 1])[-n:]
            seqs[r, n - len(seq) :] = seq
        out = []
        for chunk in torch.from_numpy(seqs).split(512):
            out.append(torch.softmax(self.seq_(chunk.to(self.device))[:, -1], -1).cpu())
        return torch.cat(out).numpy()

    def _users_at(self, users: Any, at: Any, unknown: str) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        if unknown not in ("cold", "error"):
            raise ValueError(f"unknown must be 'cold' or 'error', got {unknown!r}")
        u = self._dense(users, self.users_, "users", unknown)
        return u, self._at(at, len(u))

    def scores(self, users: Any, at: Any, *, unknown: str = "cold") -> np.ndarray:
        """(n_users, n_items) intensities λ(x) · p(y | x) at time ``at`` (one timestamp or one
        per user), for all items in ``items_`` order. ``unknown="cold"`` scores unseen users
        from an empty history; ``"error"`` refuses them."""
        u, t = self._users_at(users, at, unknown)
        return self._user_intensity(u, t, self.config.intensity)[:, None] * self._item_probs(u, t)

    def user_intensity(
        self, users: Any, at: Any, *, kind: str | None = None, unknown: str = "cold"
    ) -> np.ndarray:
        """λ(x): each user's expected number of events in [at, at + horizon). ``kind``: another
        intensity than the configured one (the Hawkes kinds need a Hawkes fit), e.g. to compare
        intensities over one fitted sequence model."""
        u, t = self._users_at(users, at, unknown)
        return self._user_intensity(u, t, kind or self.config.intensity)

    def item_probs(self, users: Any, at: Any, *, unknown: str = "cold") -> np.ndarray:
        """p(y | x): (n_users, n_items) next-item probabilities given each user's history."""
        u, t = self._users_at(users, at, unknown)
        return self._item_probs(u, t)

    def intensity(self, users: Any, items: Any, at: Any, *, unknown: str = "cold") -> np.ndarray:
        """(n_users, n_items) intensities for the given items."""
        cols = self._dense(items, self.items_, "items", "error")
        return self.scores(users, at, unknown=unknown)[:, cols]

    def recommend(
        self, users: Any, k: int, at: Any, *, exclude_seen: bool = False, unknown: str = "cold"
    ) -> np.ndarray:
        """ItemRec: (n_users, k) raw item ids, best first."""
        self._check_fitted()
        n_items = len(self.items_)
        if not 1 <= k <= n_items:
            raise ValueError(f"k must be in [1, {n_items}] (the catalogue), got {k}")
        s = self.scores(users, at, unknown=unknown)
        if exclude_seen:
            s = np.where(self.seen(users, at), -np.inf, s)
        return self.items_[np.argsort(-s, axis=1, kind="stable")[:, :k]]

    def audience(self, items: Any, c: int, at: Any, *, users: Any = None) -> np.ndarray:
        """UserRec: (n_items, c) raw user ids (among ``users``, default all known), best first."""
        self._check_fitted()
        users = self.users_ if users is None else np.atleast_1d(np.asarray(users))
        if not 1 <= c <= len(users):
            raise ValueError(f"c must be in [1, {len(users)}] (the candidate users), got {c}")
        s = self.intensity(users, items, at)  # (n_users, n_items)
        return users[np.argsort(-s, axis=0, kind="stable")[:c].T]

    def match(
        self,
        users: Any,
        items: Any,
        at: Any,
        *,
        max_per_user: int,
        min_exposure_per_item: int,
        online: bool = False,
        item_duals: np.ndarray | None = None,
        solver: str = "dual",
    ) -> np.ndarray:
        """(n_users, n_items) 0/1 matching that maximises the total intensity with at most
        ``max_per_user`` items per user and at least ``min_exposure_per_item`` users per item.
        Offline: ``solver`` "dual" (the entropy-regularised dual on these users, rounded by
        :func:`~reprkit.methods.rim.matching.round_dual`: exposure targets first, then every
        user fills its ``max_per_user``) or "greedy" (pairs by score, item capacity
        ``min_exposure_per_item``, as the paper's greedy baseline)
        ``online=True``: users arrive one by one and take their best items by score + the
        ``item_duals`` fitted beforehand on other (validation) users by :meth:`fit_item_duals`."""
        s = self.intensity(users, items, at)
        if online:
            if item_duals is None:
                raise ValueError("online matching needs item_duals (see fit_item_duals)")
            return online_match(s, item_duals, max_per_user)
        if solver == "greedy":
            return greedy_match(s, max_per_user, min_exposure_per_item)
        if solver != "dual":
            raise ValueError(f"solver must be 'dual' or 'greedy', got {solver!r}")
        pi = dual_match(s, max_per_user, min_exposure_per_item)[0]
        return round_dual(pi, max_per_user, min_exposure_per_item)

    def fit_item_duals(
        self, users: Any, items: Any, at: Any, *, max_per_user: int, min_exposure_per_item: float
    ) -> np.ndarray:
        """Item duals from the offline dual on these (validation) users; scale
        ``min_exposure_per_item`` to their number."""
        s = self.intensity(users, items, at)
        return dual_match(s, max_per_user, min_exposure_per_item)[2]

    def seen(self, users: Any, at: Any) -> np.ndarray:
        """(n_users, n_items) bool: the pairs in each user's history before ``at``."""
        u, t = self._users_at(users, at, "cold")
        seen = np.zeros((len(u), len(self.items_)), dtype=bool)
        for r, (uu, tt) in enumerate(zip(u, t, strict=True)):
            seen[r, self.events_.item[self._history(uu, tt)]] = True
        return seen

    # -- persistence --------------------------------------------------------------------------

    def _get_state(self) -> dict[str, Any]:
        e = self.events_
        state = {
            "user": torch.from_numpy(e.user),
            "item": torch.from_numpy(e.item),
            "time": torch.from_numpy(e.time),
            "n": [e.n_users, e.n_items],
            "users": self.users_.tolist(),
            "items": self.items_.tolist(),
            "horizon": self.horizon_,
            "datetimes": self.datetimes_,
            "item_pop": torch.from_numpy(self.item_pop_),
            "seq": self.seq_.state_dict() if self.seq_ is not None else None,
        }
        if hasattr(self, "hawkes_"):
            state["hawkes"] = [self.hawkes_.mu_, *self.hawkes_.alpha_.tolist()]
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        cfg = self.config
        n_users, n_items = state["n"]
        self.events_ = Events(
            state["user"].numpy(), state["item"].numpy(), state["time"].numpy(), n_users, n_items
        )
        self.users_, self.items_ = np.asarray(state["users"]), np.asarray(state["items"])
        self.horizon_, self.item_pop_ = state["horizon"], state["item_pop"].numpy()
        self.datetimes_ = bool(state.get("datetimes", False))
        self.seq_ = None
        if state["seq"] is not None:
            self.seq_ = _Sequence(n_items, cfg).to(self.device)
            self.seq_.load_state_dict(state["seq"])
            self.seq_.eval()
        if "hawkes" in state:
            self.hawkes_ = Hawkes(default_decays(cfg.n_decays), cfg.l2)
            self.hawkes_.mu_ = state["hawkes"][0]
            self.hawkes_.alpha_ = np.asarray(state["hawkes"][1:])


def _by_user(e: Events) -> list[np.ndarray]:
    """Indices of each user's events, in time order (cached on the Events object)."""
    cached = getattr(e, "_groups", None)
    if cached is None:
        order = np.argsort(e.user, kind="stable")  # events are time-sorted: stays in time order
        cuts = np.searchsorted(e.user[order], np.arange(1, e.n_users))
        cached = np.split(order, cuts)
        e._groups = cached
    return cached
