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
from reprkit.methods.rim.hawkes import Hawkes, HawkesPoisson, default_decays
from reprkit.methods.rim.matching import dual_match, greedy_match, online_match, round_dual

CITATION = """@inproceedings{ma2022bridging,
  title={Bridging Recommendation and Marketing via Recurrent Intensity Modeling},
  author={Ma, Yifei and Liu, Ge and Deoras, Anoop},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


PAD, START = 0, 1  # token ids; item i is token i + 2


class _Sequence(nn.Module):
    """Next-item logits after every prefix (rime's word-language-model GRU: tied item
    embeddings, uniform ±0.1 init, no dropout; or a causal Transformer). Tokens: 0 padding,
    1 start, item i = i + 2; sequences are padded on the right."""

    def __init__(self, n_items: int, cfg: RIMConfig, log_pop: torch.Tensor | None = None) -> None:
        super().__init__()
        h = cfg.hidden
        self.emb = nn.Embedding(n_items + 2, h, padding_idx=PAD)
        nn.init.uniform_(self.emb.weight, -0.1, 0.1)
        # paper: rime starts the output bias at 0; log item popularity (the popularity model) is
        # a start the GRU can only improve on (issue #23)
        self.bias = nn.Parameter(torch.zeros(n_items) if log_pop is None else log_pop.clone())
        if cfg.sequence == "gru":
            self.rnn = nn.GRU(h, h, cfg.layers, batch_first=True)
        else:
            self.pos = nn.Embedding(cfg.max_len + 1, h)
            layer = nn.TransformerEncoderLayer(h, 2, 2 * h, dropout=0.1, batch_first=True)
            self.rnn = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)

    def forward(
        self, seq: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(hidden states (B, T, H), the GRU's last hidden state or None); :meth:`logits`
        turns hidden states into next-item logits (only where they are needed: padding is
        most of a batch of users' sequences)."""
        x = self.emb(seq)
        if isinstance(self.rnn, nn.GRU):
            h, hidden = self.rnn(x, hidden)
        else:  # right padding: the causal mask alone keeps padding out of real positions
            n = seq.shape[1]
            x = x + self.pos(torch.arange(n, device=seq.device))
            causal = torch.triu(torch.ones(n, n, dtype=torch.bool, device=seq.device), 1)
            h, hidden = self.rnn(x, mask=causal), None
        return h, hidden

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.emb.weight[2:].T + self.bias  # tied output embedding

    def last_logits(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, n_items) logits after each sequence's last real token."""
        h = self.forward(seq)[0]
        return self.logits(h[torch.arange(len(seq)), lengths - 1])


def _token_rows(seqs: list[np.ndarray], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (n, L) tokens ``[START] + items + 2`` of the last ``max_len`` items of each
    sequence, and their lengths (rime: one sequence per user, truncated at 256)."""
    rows = [np.concatenate([[START], q[-max_len:] + 2]) if len(q) else np.array([START])
            for q in seqs]  # fmt: skip
    lengths = np.array([len(r) for r in rows])
    out = np.full((len(rows), lengths.max()), PAD, dtype=np.int64)
    for r, row in enumerate(rows):
        out[r, : len(row)] = row
    return torch.from_numpy(out), torch.from_numpy(lengths)


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
        hp_users: Any = None,
        hp_at: Any = None,
        hp_counts: Any = None,
    ) -> RIM:
        """``events``: a DataFrame with user, item and time columns (named by ``user_col``,
        ``item_col``, ``time_col``; ids of any hashable type; times numeric or datetimes; extra
        columns are ignored) or :class:`~reprkit.datasets.interactions.Events`. ``horizon``: the
        length of the future window the intensity counts events in (the times' unit, or a
        ``pd.Timedelta`` when the times are datetimes). ``observed_until``: the end of the
        observation, one time for all users or one per user (in ``users_`` order; default: the
        last event overall), for the Hawkes likelihood; users with ``inf`` are left out of it.
        Intensities are expected counts per ``horizon``, whatever the unit.

        ``intensity="hp"`` (Hawkes-Poisson) is calibrated on users' true counts in windows
        [``hp_at``, ``hp_at`` + horizon): ``hp_users`` (raw ids, e.g. held-out validation
        users) with ``hp_at`` (one time or one per user) and ``hp_counts`` (their numbers of
        events in the windows; default: counted in ``events``); default:
        every user with a finite observation end and an event before its last horizon, at
        ``observed_until - horizon``."""
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
        if cfg.intensity in ("hawkes", "hp"):
            # each user from its first event to the end of its observation; users observed
            # without end (observed_until = inf) stay out, as rime leaves out users without a
            # test start (``models/hawkes.py``, "training users must have finite time")
            groups = [(u, idx) for u, idx in enumerate(_by_user(e))
                      if len(idx) and np.isfinite(end[u])]  # fmt: skip
            if not groups:
                raise ValueError("the Hawkes fit needs users with a finite observed_until")
            seqs = [e.time[idx] / self.horizon_ for _, idx in groups]
            ends = end[[u for u, _ in groups]] / self.horizon_
            if np.any(ends <= [q[-1] for q in seqs]):
                raise ValueError("observed_until must be after each user's last event")
            self.hawkes_ = Hawkes(default_decays(cfg.n_decays), cfg.l2, cfg.hawkes_control)
            self.hawkes_.fit(seqs, ends)
        if cfg.intensity == "hp":
            self._fit_hp(hp_users, hp_at, hp_counts, end)
        self.seq_ = self._fit_sequence(e) if cfg.sequence != "pop" else None
        return self

    def _fit_hp(self, users: Any, at: Any, counts: Any, end: np.ndarray) -> None:
        """Hawkes-Poisson weights from true counts in the calibration windows."""
        e, h = self.events_, self.horizon_
        if users is None:
            first = np.array([e.time[idx[0]] if len(idx) else np.inf for idx in _by_user(e)])
            u = np.flatnonzero(np.isfinite(end) & (first < end - h))
            t = end[u] - h
            if len(u) == 0:
                raise ValueError(
                    "intensity='hp' needs calibration users: none has an event before its last "
                    "horizon; pass hp_users= and hp_at="
                )
        else:
            if at is None:
                raise ValueError("hp_users needs hp_at (their window starts)")
            u = self._dense(users, self.users_, "users", "error")
            t = self._at(at, len(u))
        states = np.stack([self.hawkes_.state(e.time[self._history(a, b)] / h, b / h)
                           for a, b in zip(u, t, strict=True)])  # fmt: skip
        if counts is None or users is None:
            counts = np.array([np.sum((e.time[idx] >= b) & (e.time[idx] < b + h))
                               for idx, b in zip((_by_user(e)[a] for a in u), t, strict=True)])  # fmt: skip
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (len(u),) or not np.isfinite(counts).all() or (counts < 0).any():
            raise ValueError(f"hp_counts must be {len(u)} counts >= 0, got shape {counts.shape}")
        if counts.sum() == 0:
            raise ValueError("intensity='hp': the calibration windows hold no events")
        self.hp_ = HawkesPoisson(self.config.l2).fit(states, counts)

    def _fit_sequence(self, e: Events) -> _Sequence:
        """rime's recipe (``models/rnn.py``): one sequence per user (last ``max_len`` items),
        ``val_frac`` of the users held out, Adagrad lr 0.1 (eps 1e-3), the learning rate x0.25
        after 4 epochs without a better held-out loss (then the best state is reloaded), the
        best epoch kept; the GRU backpropagates through ``bptt`` steps at a time."""
        cfg = self.config
        tokens, lengths = _token_rows([e.item[idx] for idx in _by_user(e) if len(idx)], cfg.max_len)
        gen = torch.Generator().manual_seed(cfg.seed)
        order = torch.randperm(len(tokens), generator=gen)
        n_val = int(round(cfg.val_frac * len(tokens))) if len(tokens) >= 5 else 0
        val, train = order[:n_val], order[n_val:]
        with seeded(cfg.seed):
            log_pop = torch.log(torch.as_tensor(self.item_pop_, dtype=torch.float32))
            model = _Sequence(e.n_items, cfg, log_pop if cfg.pop_bias_init else None)
            model = model.to(self.device)
            lr = cfg.lr_transformer if cfg.sequence == "transformer" else cfg.lr
            opt = (
                torch.optim.Adagrad(model.parameters(), lr=lr, eps=1e-3)
                if cfg.optimizer == "adagrad"
                else torch.optim.Adam(model.parameters(), lr=lr)
            )
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.25, patience=4)
            best, best_state = float("inf"), None
            self.sequence_curve_ = []
            for _ in progress_bar(range(cfg.epochs), desc="sequence", progress=self.progress):
                model.train()
                for idx in train[torch.randperm(len(train), generator=gen)].split(cfg.batch_size):
                    self._train_batch(model, opt, tokens[idx, : int(lengths[idx].max())])
                loss = _sequence_nll(model, tokens[val] if n_val else tokens[train], self.device)
                self.sequence_curve_.append(loss)
                lr_now = opt.param_groups[0]["lr"]
                if loss < best:
                    best = loss
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                sched.step(loss)
                if opt.param_groups[0]["lr"] < lr_now and best_state is not None:
                    model.load_state_dict(best_state)  # rime's _ReduceLRLoadCkpt
            if best_state is not None:
                model.load_state_dict(best_state)
        self.sequence_val_nll_ = best
        return model.eval()

    def _train_batch(self, model: _Sequence, opt, batch: torch.Tensor) -> None:
        """One pass over a batch: next-token NLL, padding ignored; the GRU carries its hidden
        state (detached) across windows of ``bptt`` steps, the Transformer takes it whole."""
        batch = batch.to(self.device)
        inp, tgt = batch[:, :-1], batch[:, 1:] - 2  # targets as item ids; padding -> -2
        step = self.config.bptt if self.config.sequence == "gru" else inp.shape[1]
        hidden = None
        for a in range(0, inp.shape[1], step):
            h, hidden = model(inp[:, a : a + step], hidden)
            y = tgt[:, a : a + step]
            mask = y >= 0
            if not mask.any():
                break
            loss = nnf.cross_entropy(model.logits(h[mask]), y[mask])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            hidden = hidden.detach() if hidden is not None else None

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
        if kind == "hawkes" and not hasattr(self, "hawkes_"):
            raise ValueError("kind 'hawkes' needs a RIM fitted with intensity 'hawkes' or 'hp'")
        if kind == "hp" and not hasattr(self, "hp_"):
            raise ValueError("kind 'hp' needs a RIM fitted with intensity 'hp'")
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
            elif kind == "hp":
                out[r] = float(self.hp_.predict(self.hawkes_.state(times, now)[None])[0])
            elif cfg.hawkes_predict == "intensity":  # rime: λ at the window start
                out[r] = self.hawkes_.intensity(times, now)
            else:
                out[r] = self.hawkes_.expected_count(times, now, 1.0)
        return out

    @torch.no_grad()
    def _item_probs(self, users: np.ndarray, at: np.ndarray) -> np.ndarray:
        """p(y | x): (n, n_items) next-item probabilities given each user's history."""
        if self.seq_ is None:
            return np.tile(self.item_pop_, (len(users), 1))
        hist = [self.events_.item[self._history(u, t)] for u, t in zip(users, at, strict=True)]
        tokens, lengths = _token_rows(hist, self.config.max_len)
        out = []
        for a in range(0, len(tokens), 512):
            rows, n = tokens[a : a + 512], lengths[a : a + 512]
            rows = rows[:, : int(n.max())].to(self.device)
            out.append(torch.softmax(self.seq_.last_logits(rows, n.to(self.device)), -1).cpu())
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
        self,
        users: Any,
        k: int,
        at: Any,
        *,
        exclude_seen: bool = False,
        unknown: str = "cold",
        chunk: int = 2048,
    ) -> np.ndarray:
        """ItemRec: (n_users, k) raw item ids, best first. Users are scored ``chunk`` at a time:
        memory holds one chunk × items block, never the whole users × items matrix."""
        self._check_fitted()
        n_items = len(self.items_)
        if not 1 <= k <= n_items:
            raise ValueError(f"k must be in [1, {n_items}] (the catalogue), got {k}")
        u, t = self._users_at(users, at, unknown)
        out = np.empty((len(u), k), dtype=np.int64)
        for a in progress_bar(range(0, len(u), chunk), desc="recommend", progress=self.progress):
            uu, tt = u[a : a + chunk], t[a : a + chunk]
            s = self._user_intensity(uu, tt, self.config.intensity)[:, None] * self._item_probs(
                uu, tt
            )
            if exclude_seen:
                s[self._seen(uu, tt)] = -np.inf
            out[a : a + chunk] = _top(s, k, axis=1)
        return self.items_[out]

    def audience(
        self, items: Any, c: int, at: Any, *, users: Any = None, chunk: int = 2048
    ) -> np.ndarray:
        """UserRec: (n_items, c) raw user ids (among ``users``, default all known), best first.
        Users are scored ``chunk`` at a time and each item keeps its running top ``c``."""
        self._check_fitted()
        users = self.users_ if users is None else np.atleast_1d(np.asarray(users))
        if not 1 <= c <= len(users):
            raise ValueError(f"c must be in [1, {len(users)}] (the candidate users), got {c}")
        cols = self._dense(items, self.items_, "items", "error")
        u, t = self._users_at(users, at, "cold")
        best_s = np.full((0, len(cols)), -np.inf)
        best_i = np.zeros((0, len(cols)), dtype=np.int64)
        for a in progress_bar(range(0, len(u), chunk), desc="audience", progress=self.progress):
            uu, tt = u[a : a + chunk], t[a : a + chunk]
            lam = self._user_intensity(uu, tt, self.config.intensity)
            s = lam[:, None] * self._item_probs(uu, tt)[:, cols]
            best_s = np.concatenate([best_s, s])
            best_i = np.concatenate(
                [best_i, np.repeat(np.arange(a, a + len(uu))[:, None], len(cols), 1)]
            )
            keep = _top(best_s, min(c, len(best_s)), axis=0)
            best_s = np.take_along_axis(best_s, keep, 0)
            best_i = np.take_along_axis(best_i, keep, 0)
        return users[best_i.T]

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
        return self._seen(u, t)

    def _seen(self, u: np.ndarray, t: np.ndarray) -> np.ndarray:
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
            state["hawkes"] = self.hawkes_.coef_.tolist()
        if hasattr(self, "hp_"):
            state["hp"] = self.hp_.w_.tolist()
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
            self.seq_ = _Sequence(n_items, cfg).to(self.device)  # the bias comes with the state
            self.seq_.load_state_dict(state["seq"])
            self.seq_.eval()
        if "hawkes" in state:
            self.hawkes_ = Hawkes(default_decays(cfg.n_decays), cfg.l2, cfg.hawkes_control)
            self.hawkes_.set_coef(state["hawkes"])
        if "hp" in state:
            self.hp_ = HawkesPoisson(cfg.l2)
            self.hp_.w_ = np.asarray(state["hp"])


@torch.no_grad()
def _sequence_nll(model: _Sequence, tokens: torch.Tensor, device, chunk: int = 256) -> float:
    """Mean next-item NLL per real token of right-padded rows (whole sequences at once)."""
    model.eval()
    total, n = 0.0, 0
    for rows in tokens.split(chunk):
        rows = rows.to(device)
        h = model(rows[:, :-1])[0]
        y = rows[:, 1:] - 2
        mask = y >= 0
        total += float(nnf.cross_entropy(model.logits(h[mask]), y[mask], reduction="sum"))
        n += int(mask.sum())
    model.train()
    return total / max(n, 1)


def _top(s: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Indices of the ``k`` largest entries along ``axis``, best first (ties: lower index)."""
    if k < s.shape[axis]:
        part = np.argpartition(-s, k - 1, axis=axis)
        part = part[:, :k] if axis == 1 else part[:k]
        # re-sort the candidates; a stable sort on (score, index) keeps ties in index order
        part = np.sort(part, axis=axis)
    else:
        part = np.broadcast_to(
            np.arange(s.shape[axis]).reshape((1, -1) if axis else (-1, 1)), s.shape
        )
    vals = np.take_along_axis(s, part, axis)
    return np.take_along_axis(part, np.argsort(-vals, axis=axis, kind="stable"), axis)


def _by_user(e: Events) -> list[np.ndarray]:
    """Indices of each user's events, in time order (cached on the Events object)."""
    cached = getattr(e, "_groups", None)
    if cached is None:
        order = np.argsort(e.user, kind="stable")  # events are time-sorted: stays in time order
        cuts = np.searchsorted(e.user[order], np.arange(1, e.n_users))
        cached = np.split(order, cuts)
        e._groups = cached
    return cached
