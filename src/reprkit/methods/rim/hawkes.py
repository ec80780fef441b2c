"""A Hawkes process with fixed exponential kernels, fitted by penalised maximum likelihood
(our own fitter: ``tick``'s learners crash on Python 3.11).

Intensity of a user after events ``t_1 < t_2 < ...``:
``λ(t) = μ + Σ_k α_k β_k Σ_{t_j < t} exp(-β_k (t - t_j))`` with decays ``β_k`` fixed
(default ``1 / logspace(-6, 1)`` in horizon units, as the paper) and ``θ = (μ, α) >= 0``
shared by all users. The log-likelihood is concave in θ: it is linear in θ inside the log and
in the compensator, so L-BFGS-B with bounds finds the optimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize


def default_decays(n: int = 8) -> np.ndarray:
    """β_k = 1 / logspace(-6, 1): time scales from 1e-6 to 10 horizons."""
    return 1.0 / np.logspace(-6, 1, n)


def _event_features(t: np.ndarray, decays: np.ndarray) -> np.ndarray:
    """(n_events, 1 + K): 1 and β_k Σ_{j<i} exp(-β_k (t_i - t_j)) for each event i."""
    out = np.ones((len(t), 1 + len(decays)))
    r = np.zeros(len(decays))
    for i in range(1, len(t)):
        r = np.exp(-decays * (t[i] - t[i - 1])) * (r + 1.0)
        out[i, 1:] = decays * r
    if len(t):
        out[0, 1:] = 0.0
    return out


def _compensator(t: np.ndarray, start: float, end: float, decays: np.ndarray) -> np.ndarray:
    """(1 + K,) ∫_start^end of each channel given the events ``t`` (all before ``end``); the
    self-excitation of events inside [start, end) counts from their own time."""
    if len(t) == 0:
        return np.concatenate([[end - start], np.zeros(len(decays))])
    lo = np.maximum(start - t, 0.0)[:, None]
    hi = (end - t)[:, None]
    exc = (np.exp(-decays * lo) - np.exp(-decays * np.maximum(hi, 0))).sum(0)
    return np.concatenate([[end - start], exc])


class Hawkes:
    """``fit(sequences, end)`` on event times (one array per user, in horizon units), then
    ``expected_count(history, start, horizon)``: the expected number of events in
    [start, start + horizon) from the history alone (no excitation by future events)."""

    def __init__(self, decays: Sequence[float] | None = None, l2: float = 1e-3) -> None:
        self.decays = np.asarray(default_decays() if decays is None else decays, dtype=np.float64)
        if self.decays.ndim != 1 or (self.decays <= 0).any():
            raise ValueError(f"decays must be positive, got {self.decays}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.l2 = l2

    def fit(self, sequences: Sequence[np.ndarray], start: Sequence[float], end: Sequence[float]):
        """Each user observed on [start_u, end_u) with events ``sequences[u]`` (sorted)."""
        feats, comp = [], np.zeros(1 + len(self.decays))
        for t, a, b in zip(sequences, start, end, strict=True):
            t = np.asarray(t, dtype=np.float64)
            if len(t) and (np.any(np.diff(t) < 0) or t[0] < a or t[-1] >= b):
                raise ValueError("event times must be sorted and inside [start, end)")
            feats.append(_event_features(t, self.decays))
            comp += _compensator(t, a, b, self.decays)
        x = np.concatenate(feats) if feats else np.zeros((0, 1 + len(self.decays)))
        if len(x) == 0:
            raise ValueError("no events to fit")
        n = len(x)

        def negll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            lam = np.maximum(x @ theta, 1e-12)
            f = -(np.log(lam).sum() - comp @ theta) / n + self.l2 * (theta[1:] ** 2).sum()
            g = -(x.T @ (1 / lam) - comp) / n
            g[1:] += 2 * self.l2 * theta[1:]
            return f, g

        theta0 = np.full(1 + len(self.decays), 1e-3)
        theta0[0] = n / max(comp[0], 1e-12)
        res = minimize(negll, theta0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * len(theta0))
        self.mu_, self.alpha_ = float(res.x[0]), res.x[1:]
        return self

    def expected_count(self, history: np.ndarray, start: float, horizon: float) -> float:
        t = np.asarray(history, dtype=np.float64)
        t = t[t < start]
        c = _compensator(t, start, start + horizon, self.decays)
        return float(self.mu_ * c[0] + self.alpha_ @ c[1:])
