"""Constrained user–item matching (Ma et al., ICLR 2022, Section 4): maximise the total score
``Σ s_ij π_ij`` with at most ``max_per_user`` items per user and at least
``min_exposure_per_item`` users per item, ``0 <= π <= 1``.

* :func:`greedy_match`: pairs by descending score, taken while both sides have room.
* :func:`dual_match`: the entropy-regularised dual. ``π_ij = σ((s_ij − u_i + v_j) / ε)`` with
  ``u >= 0`` (user capacity) and ``v >= 0`` (item exposure) found by alternating vectorised
  safeguarded Newton solves; ``ε`` is annealed from ``eps_start`` to ``eps_end`` (relative to the score range).
* :func:`round_dual`: a 0/1 assignment from the soft one (exposure targets first).
* :func:`online_match`: item duals ``v`` fitted on validation users, then each arriving user
  alone takes its top items by ``s + v`` (at most ``max_per_user``, only those above 0 after its
  own dual).
* :func:`lp_match`: the exact linear programme (SciPy HiGHS), for small problems and tests.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.special import expit


def _check(scores: np.ndarray, max_per_user: float, min_exposure: float) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.size == 0 or not np.isfinite(s).all():
        raise ValueError(f"scores must be a finite (users, items) matrix, got shape {s.shape}")
    n_users, n_items = s.shape
    if max_per_user <= 0 or max_per_user > n_items:
        raise ValueError(f"max_per_user must be in (0, {n_items}] (the items), got {max_per_user}")
    if min_exposure < 0 or min_exposure > n_users:
        raise ValueError(
            f"min_exposure_per_item must be in [0, {n_users}] (the users), got {min_exposure}"
        )
    if n_users * max_per_user < n_items * min_exposure - 1e-9:
        raise ValueError(
            f"infeasible: {n_users} users x {max_per_user} < {n_items} items x {min_exposure}"
        )
    return s


def greedy_match(scores, max_per_user: int, min_exposure_per_item: int) -> np.ndarray:
    """0/1 assignment: pairs in descending score while the user has room and the item is
    below its exposure target (each item gets at most ``min_exposure_per_item`` users)."""
    s = _check(scores, max_per_user, min_exposure_per_item)
    order = np.argsort(-s, axis=None, kind="stable")
    users, items = np.unravel_index(order, s.shape)
    left_u = np.full(s.shape[0], max_per_user)
    left_i = np.full(s.shape[1], min_exposure_per_item)
    out = np.zeros(s.shape, dtype=bool)
    for u, i in zip(users, items, strict=True):
        if left_u[u] and left_i[i]:
            out[u, i] = True
            left_u[u] -= 1
            left_i[i] -= 1
    return out


def _dual(
    base: np.ndarray,
    target: np.ndarray,
    eps: float,
    axis: int,
    sign: int,
    hi: float,
    x0: np.ndarray,
    iters: int,
    tol: float,
) -> np.ndarray:
    """Per row (axis=1) or column (axis=0): x >= 0 with Σ σ((base + sign·x) / ε) = target, or 0
    where x = 0 already satisfies the constraint (sign -1: a cap, sign +1: a minimum).
    Safeguarded Newton from ``x0`` (the previous solution): a step that leaves the bracket
    known to hold the root is replaced by bisection; stops when every count is within ``tol``."""

    def count(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # σ(z) = (1 + tanh(z / 2)) / 2 in float32: several times faster than expit in float64
        shift = (x[:, None] if axis == 1 else x[None, :]).astype(np.float32)
        t = np.tanh((base + sign * shift) * np.float32(0.5 / eps))
        n = base.shape[axis]
        count = 0.5 * (n + t.sum(axis, dtype=np.float64))
        slope = 0.25 * (n - (t * t).sum(axis, dtype=np.float64)) * sign / eps
        return count, slope

    lo, up = np.zeros_like(target), np.full_like(target, hi)
    f0 = count(lo)[0] - target
    active = sign * f0 < 0  # cap exceeded, or minimum not reached
    x = np.where(active, np.clip(x0, 0, hi), 0.0)
    for _ in range(iters):
        f, df = count(x)
        f -= target
        if np.all(~active | (np.abs(f) <= tol)):
            break
        short = sign * f < 0  # x must grow
        lo, up = np.where(short, x, lo), np.where(short, up, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - f / df
        ok = np.isfinite(step) & (step > lo) & (step < up)
        x = np.where(active, np.where(ok, step, (lo + up) / 2), 0.0)
    return x


def dual_match(
    scores,
    max_per_user: float,
    min_exposure_per_item: float,
    *,
    eps_start: float = 1.0,
    eps_end: float = 1e-4,
    anneal_steps: int = 8,
    sweeps: int = 5,
    max_sweeps: int = 20,
    iters: int = 50,
    tol: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(π, u, v): the soft assignment and the user and item duals at the final ε.
    ``sweeps`` alternations per ε, then at the last ε up to ``max_sweeps`` until the user
    caps hold again after the item update (within ``10 · tol``)."""
    s = _check(scores, max_per_user, min_exposure_per_item)
    n_users, n_items = s.shape
    span = float(s.max() - s.min()) or 1.0
    u, v = np.zeros(n_users), np.zeros(n_items)
    k = np.full(n_users, float(max_per_user))
    c = np.full(n_items, float(min_exposure_per_item))
    s32 = s.astype(np.float32)
    schedule = span * np.geomspace(eps_start, eps_end, anneal_steps)
    for step, eps in enumerate(schedule):
        hi = 3 * span + 50 * eps  # bounds both duals: |v| <= span, u <= span + max v
        last = step == len(schedule) - 1
        for _ in range(max_sweeps if last else sweeps):
            u = _dual(s32 + v[None, :].astype(np.float32), k, eps, 1, -1, hi, u, iters, tol)
            v = _dual(s32 - u[:, None].astype(np.float32), c, eps, 0, 1, hi, v, iters, tol)
            pi = expit((s - u[:, None] + v[None, :]) / eps)
            if last and (pi.sum(1) - k).max() <= 10 * tol:  # the users' caps still hold
                break
    return pi, u, v


def round_dual(pi: np.ndarray, max_per_user: int, min_exposure_per_item: float) -> np.ndarray:
    """0/1 assignment from a soft one: pairs in descending π while the user has room and the
    item is below its exposure target (ties in the scores leave π fractional, so this keeps the
    targets where the scores alone would not), then each user's remaining room goes to its
    largest π."""
    a = greedy_match(pi, max_per_user, int(min_exposure_per_item))
    room = max_per_user - a.sum(1)
    rest = np.argsort(-np.where(a, -np.inf, pi), axis=1, kind="stable")
    take = np.arange(pi.shape[1])[None, :] < room[:, None]
    rows = np.repeat(np.arange(pi.shape[0]), pi.shape[1]).reshape(pi.shape)
    a[rows[take], rest[take]] = True
    return a


def online_match(scores, item_duals: np.ndarray, max_per_user: int) -> np.ndarray:
    """0/1 assignment of arriving users given fitted item duals: each user takes up to
    ``max_per_user`` items with the largest ``s + v`` (ties broken by item order)."""
    s = np.asarray(scores, dtype=np.float64)
    v = np.asarray(item_duals, dtype=np.float64)
    if s.ndim != 2 or v.shape != (s.shape[1],):
        raise ValueError(f"item_duals must have one value per item ({s.shape[1]}), got {v.shape}")
    if not 0 < max_per_user <= s.shape[1]:
        raise ValueError(f"max_per_user must be in (0, {s.shape[1]}], got {max_per_user}")
    top = np.argsort(-(s + v[None, :]), axis=1, kind="stable")[:, :max_per_user]
    out = np.zeros(s.shape, dtype=bool)
    np.put_along_axis(out, top, True, axis=1)
    return out


def lp_match(scores, max_per_user: float, min_exposure_per_item: float) -> tuple[np.ndarray, float]:
    """Exact LP optimum (π, objective) with SciPy's HiGHS; for small problems."""
    s = _check(scores, max_per_user, min_exposure_per_item)
    n_users, n_items = s.shape
    rows = sparse.kron(sparse.eye(n_users), np.ones((1, n_items)))  # Σ_j π_ij <= K
    cols = sparse.kron(np.ones((1, n_users)), sparse.eye(n_items))  # -Σ_i π_ij <= -C
    a = sparse.vstack([rows, -cols]).tocsr()
    b = np.concatenate([np.full(n_users, max_per_user), np.full(n_items, -min_exposure_per_item)])
    res = linprog(-s.ravel(), A_ub=a, b_ub=b, bounds=(0, 1), method="highs")
    if res.status != 0:
        raise ValueError(f"the LP failed: {res.message}")
    return res.x.reshape(s.shape), float(-res.fun)
