"""A Hawkes process with fixed exponential kernels and a control channel, fitted by penalised
maximum likelihood (our own fitter: ``tick``'s learners crash on Python 3.11).

RIM (Ma et al., ICLR 2022, Sec. 4 "Hawkes" and the official ``rime/models/hawkes.py``): each
user's clock starts at its first event ``t_0``. That event is a *control* event (the user's
window opens with a burst that the baseline would otherwise have to absorb); the later events
``t_1 < t_2 < ...`` are the data. Intensity of the data channel at ``t > t_0``:

``λ(t) = μ + Σ_k α_k β_k Σ_{0 < t_j < t} exp(-β_k (t - t_j)) + Σ_k γ_k β_k exp(-β_k (t - t_0))``

with decays ``β_k`` fixed (``1 / logspace(-6, 1, 50)`` in horizon units, as rime) and
``θ = (μ, α, γ) >= 0`` shared by all users. ``control=False`` drops the γ terms and models the
first event too (our earlier Hawkes). The log-likelihood is concave in θ (linear inside the log
and in the compensator), so L-BFGS-B with bounds finds the optimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize


def default_decays(n: int = 50) -> np.ndarray:
    """β_k = 1 / logspace(-6, 1, n): time scales from 1e-6 to 10 horizons (rime's 50)."""
    return 1.0 / np.logspace(-6, 1, n)


def _event_features(t: np.ndarray, decays: np.ndarray, control: bool) -> np.ndarray:
    """(n_modelled, 1 + K [+ K]): the features of λ at each modelled event: 1, the excitation
    β_k Σ_{j<i} exp(-β_k (t_i - t_j)) by earlier data events, and (``control``) the control
    excitation β_k exp(-β_k (t_i - t_0)). With ``control`` the first event is not modelled."""
    k = len(decays)
    out = np.ones((len(t), 1 + k))
    r = np.zeros(k)
    first = 1 if control else 0  # index of the first data event
    for i in range(first + 1, len(t)):
        r = np.exp(-decays * (t[i] - t[i - 1])) * (r + 1.0)
        out[i, 1:] = decays * r
    out[: first + 1, 1:] = 0.0
    if not control:
        return out
    ctrl = decays * np.exp(-decays * (t[:, None] - t[0]))
    return np.hstack([out, ctrl])[1:]


def _compensator(
    t: np.ndarray, start: float, end: float, decays: np.ndarray, control: bool
) -> np.ndarray:
    """(1 + K [+ K],) ∫_start^end of each channel given the events ``t`` (the first is the
    control event when ``control``); events inside [start, end) excite from their own time."""
    data = t[1:] if control and len(t) else t
    lo = np.maximum(start - data, 0.0)[:, None]
    hi = np.maximum(end - data, 0.0)[:, None]
    exc = (np.exp(-decays * lo) - np.exp(-decays * hi)).sum(0)
    out = [[end - start], exc]
    if control:
        if len(t):
            out.append(np.exp(-decays * (start - t[0])) - np.exp(-decays * (end - t[0])))
        else:
            out.append(np.zeros(len(decays)))
    return np.concatenate(out)


def _state(t: np.ndarray, at: float, decays: np.ndarray, control: bool) -> np.ndarray:
    """(1 + K [+ K],) the features of λ(at) given the events ``t`` (all before ``at``); an
    empty history gives the baseline alone."""
    data = t[1:] if control and len(t) else t
    out = [[1.0], (decays * np.exp(-decays * (at - data)[:, None])).sum(0)]
    if control:
        out.append(decays * np.exp(-decays * (at - t[0])) if len(t) else np.zeros(len(decays)))
    return np.concatenate(out)


class Hawkes:
    """``fit(sequences, end)`` on event times (one array per user, in horizon units, each user
    observed from its first event to ``end``), then ``intensity(history, at)`` (λ at ``at``,
    rime's prediction), ``expected_count(history, start, horizon)`` (∫ λ over the window, no
    excitation by future events) or ``state(history, at)`` (the features of λ(at), which
    Hawkes-Poisson reweights)."""

    def __init__(
        self, decays: Sequence[float] | None = None, l2: float = 1e-3, control: bool = True
    ) -> None:
        self.decays = np.asarray(default_decays() if decays is None else decays, dtype=np.float64)
        if self.decays.ndim != 1 or (self.decays <= 0).any():
            raise ValueError(f"decays must be positive, got {self.decays}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.l2, self.control = l2, control

    @property
    def coef_(self) -> np.ndarray:
        """θ = (μ, α_1..K [, γ_1..K])."""
        return np.concatenate([[self.mu_], self.alpha_, self.gamma_ if self.control else []])

    def fit(self, sequences: Sequence[np.ndarray], end: Sequence[float]) -> Hawkes:
        """Each user observed on [first event, end_u) with events ``sequences[u]`` (sorted)."""
        feats, comp = [], 0.0
        for t, b in zip(sequences, end, strict=True):
            t = np.asarray(t, dtype=np.float64)
            if len(t) == 0:
                continue
            if np.any(np.diff(t) < 0) or t[-1] >= b:
                raise ValueError("event times must be sorted and before the end of observation")
            feats.append(_event_features(t, self.decays, self.control))
            comp = comp + _compensator(t, t[0], b, self.decays, self.control)
        x = np.concatenate(feats) if feats else np.zeros((0, 1))
        if len(x) == 0:
            raise ValueError("no events to fit")
        n = len(x)

        def negll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            lam = np.maximum(x @ theta, 1e-12)
            f = -(np.log(lam).sum() - comp @ theta) / n + self.l2 * (theta[1:] ** 2).sum()
            g = -(x.T @ (1 / lam) - comp) / n
            g[1:] += 2 * self.l2 * theta[1:]
            return f, g

        theta0 = np.full(x.shape[1], 1e-3)
        theta0[0] = n / max(comp[0], 1e-12)
        res = minimize(negll, theta0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * len(theta0))
        self.set_coef(res.x)
        return self

    def set_coef(self, theta: Sequence[float]) -> Hawkes:
        theta = np.asarray(theta, dtype=np.float64)
        k = len(self.decays)
        if len(theta) != 1 + k * (2 if self.control else 1):
            raise ValueError(
                f"expected {1 + k * (1 + self.control)} coefficients, got {len(theta)}"
            )
        self.mu_, self.alpha_ = float(theta[0]), theta[1 : 1 + k]
        self.gamma_ = theta[1 + k :] if self.control else np.zeros(0)
        return self

    def state(self, history: np.ndarray, at: float) -> np.ndarray:
        t = np.asarray(history, dtype=np.float64)
        return _state(t[t < at], at, self.decays, self.control)

    def intensity(self, history: np.ndarray, at: float) -> float:
        return float(self.state(history, at) @ self.coef_)

    def expected_count(self, history: np.ndarray, start: float, horizon: float) -> float:
        t = np.asarray(history, dtype=np.float64)
        t = t[t < start]
        return float(
            _compensator(t, start, start + horizon, self.decays, self.control) @ self.coef_
        )


class HawkesPoisson:
    """RIM's Hawkes-Poisson (rime ``models/hawkes_poisson.py``): ``λ(x) = h(x) · softplus(w)``
    with ``h`` the Hawkes state features at the window start (:meth:`Hawkes.state`: constant,
    data-channel and control-channel excitations) and ``w`` fitted by Poisson likelihood on
    users' true counts in their own windows (validation users, never the test users), with an
    L2 penalty ``l2 / 2 · |softplus(w)|²`` as rime."""

    def __init__(self, l2: float = 1e-3) -> None:
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.l2 = l2

    def fit(self, states: np.ndarray, counts: np.ndarray) -> HawkesPoisson:
        h, y = np.asarray(states, dtype=np.float64), np.asarray(counts, dtype=np.float64)
        if h.ndim != 2 or len(h) != len(y) or len(y) == 0:
            raise ValueError(f"states (n, F) and counts (n,) must match, got {h.shape}, {y.shape}")
        if (y < 0).any():
            raise ValueError("counts must be >= 0")

        def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
            w, dw = np.logaddexp(0, x), 1 / (1 + np.exp(-x))  # softplus and its derivative
            lam = h @ w
            f = -(y * np.log(1e-10 + lam) - lam).mean() + self.l2 / 2 * (w**2).sum()
            g = (h.T @ (1 - y / (1e-10 + lam)) / len(y) + self.l2 * w) * dw
            return f, g

        self.w_ = np.logaddexp(0, minimize(loss, np.zeros(h.shape[1]), jac=True).x)
        return self

    def predict(self, states: np.ndarray) -> np.ndarray:
        return np.asarray(states, dtype=np.float64) @ self.w_
