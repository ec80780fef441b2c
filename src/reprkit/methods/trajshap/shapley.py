"""Shapley values of the players of a trajectory-prediction scene (Makansi et al., ICLR 2022).

Players: the target's own past, every neighbour, and (by default) a random neighbour taken from
another scene — the paper's sanity check: a model that uses neighbours sensibly should give it
about nothing. A coalition is the set of players kept; a removed player is

* ``removal="zero"``: dropped (a neighbour is marked absent; the target's past becomes zeros,
  i.e. standing still at the origin), or
* ``removal="random"``: replaced by the same slot of a random other scene (fixed per scene,
  so the game is deterministic; a donor slot that is empty leaves the neighbour absent).

The value of a coalition is the model's performance on the target, ``-minADE`` over its K
samples (``value="performance"``; positive attribution = the player lowers the error), or how
close its output stays to the output with every player, ``-mean ||f(S) - f(all)||``
(``value="output"``). Estimators: ``exact`` (all 2^n coalitions; Shapley weights),
``permutation`` (``n_samples`` random orders per scene; standard error over them), and
``banzhaf`` — each other player kept with probability 1/2, as in the paper's code, which
estimates the Banzhaf value (no efficiency) rather than the Shapley value; kept for comparison.

Slots that hold no agent in a scene are not players there: their attribution is 0 and
``active`` is False. Game-level estimators take a batched value function
``v(coalitions bool (S, C, n)) -> (S, C)`` and can be used for any game.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np
import torch
from torch import nn

from reprkit.core.progress import progress_bar
from reprkit.datasets.trajectories import Scenes, check_scenes
from reprkit.methods.trajshap.models import displacement, predict

ESTIMATORS = ("exact", "permutation", "banzhaf")
ValueFn = Callable[[np.ndarray], np.ndarray]


def all_coalitions(n: int) -> np.ndarray:
    """(2^n, n) bool; row c holds the players of bitmask c."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)


def exact(v: ValueFn, n: int, n_scenes: int) -> tuple[np.ndarray, np.ndarray]:
    masks = all_coalitions(n)
    vals = v(np.broadcast_to(masks, (n_scenes, *masks.shape)))  # (S, 2^n)
    size = masks.sum(1)
    w = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.zeros((n_scenes, n))
    for i in range(n):
        without = np.flatnonzero(~masks[:, i])
        phi[:, i] = (vals[:, without | (1 << i)] - vals[:, without]) @ w[size[without]]
    return phi, np.zeros_like(phi)


def permutation(
    v: ValueFn, n: int, n_scenes: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    perms = np.argsort(rng.random((n_scenes, n_samples, n)), -1)
    rank = np.argsort(perms, -1)  # position of each player in its order
    coal = rank[:, :, None, :] < np.arange(n + 1)[None, None, :, None]  # prefixes, (S, M, n+1, n)
    vals = v(coal.reshape(n_scenes, -1, n)).reshape(n_scenes, n_samples, n + 1)
    contrib = np.zeros((n_scenes, n_samples, n))
    np.put_along_axis(contrib, perms, np.diff(vals, axis=2), axis=2)
    return contrib.mean(1), _stderr(contrib, 1)


def banzhaf(
    v: ValueFn, n: int, n_scenes: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    others = rng.random((n_scenes, n, n_samples, n)) < 0.5
    eye = np.eye(n, dtype=bool)[None, :, None, :]
    without, with_i = others & ~eye, others | eye
    vals = v(np.concatenate([without, with_i], 2).reshape(n_scenes, -1, n))
    vals = vals.reshape(n_scenes, n, 2, n_samples)
    marg = vals[:, :, 1] - vals[:, :, 0]  # (S, n, M)
    return marg.mean(-1), _stderr(marg, -1)


def _stderr(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.shape[axis]
    return x.std(axis, ddof=1) / np.sqrt(m) if m > 1 else np.full(x.mean(axis).shape, np.nan)


@dataclass
class Attribution:
    phi: np.ndarray  # (S, n) attribution per scene and player
    stderr: np.ndarray  # (S, n) standard error (0 for exact)
    active: np.ndarray  # bool (S, n): the player exists in the scene
    players: tuple[str, ...]  # "past", "neighbour 1", ..., "random neighbour"
    v_all: np.ndarray  # (S,) value with every player
    v_none: np.ndarray  # (S,) value with none

    def social(self) -> np.ndarray:
        """Sum of the real neighbours' attributions per scene."""
        return self.phi[:, self._neighbours()].sum(1)

    def strongest(self) -> np.ndarray:
        """The largest real-neighbour attribution per scene (NaN without neighbours)."""
        nb = self._neighbours()
        phi = np.where(self.active[:, nb], self.phi[:, nb], -np.inf)
        best = phi.max(1) if nb else np.full(len(self.phi), -np.inf)
        return np.where(np.isfinite(best), best, np.nan)

    def _neighbours(self) -> list[int]:
        return [i for i, p in enumerate(self.players) if p.startswith("neighbour")]


class ShapleyAttribution:
    """``ShapleyAttribution(model).attribute(scenes)``: per-scene attributions (see module)."""

    def __init__(
        self,
        model: nn.Module,
        value: str = "performance",
        removal: str = "zero",
        estimator: str = "permutation",
        n_samples: int = 32,
        seed: int = 0,
        random_neighbour: bool = True,
        batch_size: int = 8192,
        progress: bool | None = None,
    ) -> None:
        if not callable(model):
            raise TypeError(f"model must be callable(past, present), got {type(model).__name__}")
        for arg, val, ok in [("value", value, ("performance", "output")),
                             ("removal", removal, ("zero", "random")),
                             ("estimator", estimator, ESTIMATORS)]:  # fmt: skip
            if val not in ok:
                raise ValueError(f"{arg} must be one of {list(ok)}, got {val!r}")
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model, self.value, self.removal, self.estimator = model, value, removal, estimator
        self.n_samples, self.seed, self.random_neighbour = n_samples, seed, random_neighbour
        self.batch_size, self.progress = batch_size, progress

    def attribute(self, scenes: Scenes) -> Attribution:
        check_scenes(scenes, getattr(self.model, "obs_len", 2))
        if len(scenes) < 2 and (self.random_neighbour or self.removal == "random"):
            raise ValueError("need at least 2 scenes: random neighbours / donors come from others")
        rng = np.random.default_rng(self.seed)
        past, present = self._players(scenes, rng)
        s, n = present.shape
        if self.estimator == "exact" and n > 16:
            raise ValueError(f"exact enumeration of {n} players is too large; use permutation")
        past_t, present_t = torch.from_numpy(past), torch.from_numpy(present)
        future = torch.from_numpy(scenes.future)
        self._check_output(past_t[:2], present_t[:2], future[:2])
        donor = (np.arange(s) + rng.integers(1, s, s)) % s if s > 1 else np.zeros(s, int)
        full = predict(self.model, past_t, present_t, self.batch_size) if self.value == "output" \
            else None  # fmt: skip

        def v(coal: np.ndarray) -> np.ndarray:
            c = coal.shape[1]
            out = np.empty((s, c))
            flat = out.reshape(-1)
            rows = np.arange(s * c)
            chunks = range(0, len(rows), self.batch_size)
            for i in progress_bar(chunks, progress=self.progress, desc="coalitions"):
                r = rows[i : i + self.batch_size]
                sc, keep = r // c, torch.from_numpy(coal.reshape(-1, n)[r])
                flat[r] = self._value(past_t, present_t, future, full, sc, donor[sc], keep)
            return out

        if self.estimator == "exact":
            phi, se = exact(v, n, s)
        elif self.estimator == "permutation":
            phi, se = permutation(v, n, s, self.n_samples, rng)
        else:
            phi, se = banzhaf(v, n, s, self.n_samples, rng)
        ends = v(np.stack([np.ones((s, n), bool), np.zeros((s, n), bool)], 1))
        names = ["past", *[f"neighbour {j}" for j in range(1, scenes.present.shape[1])]]
        if self.random_neighbour:
            names.append("random neighbour")
        return Attribution(np.where(present, phi, 0.0), np.where(present, se, 0.0), present,
                           tuple(names), ends[:, 0], ends[:, 1])  # fmt: skip

    def _players(self, scenes: Scenes, rng: np.random.Generator):
        past, present = scenes.past, scenes.present
        if not self.random_neighbour:
            return past, present.copy()
        s = len(past)
        pool = [(i, j) for i, j in zip(*np.nonzero(present[:, 1:]), strict=True)]
        pool = [(i, j + 1) for i, j in pool] or [(i, 0) for i in range(s)]
        pool_scene = np.array([i for i, _ in pool])
        single = len(set(pool_scene.tolist())) == 1
        pick = rng.integers(len(pool), size=s)
        for k in range(s):  # a neighbour of another scene, uniformly
            while pool_scene[pick[k]] == k and not single:
                pick[k] = rng.integers(len(pool))
        extra = np.stack([past[pool[p][0], pool[p][1]] for p in pick])
        return (np.concatenate([past, extra[:, None]], 1),
                np.concatenate([present, np.ones((s, 1), bool)], 1))  # fmt: skip

    @torch.no_grad()
    def _check_output(self, past, present, future) -> None:
        out = self.model(past, present)
        if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != len(past) or \
                out.shape[2:] != future.shape[1:]:  # fmt: skip
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"model must return (B, K, {future.shape[1]}, 2) futures for "
                             f"(B, A, T, 2) pasts; got {got} for B={len(past)}")  # fmt: skip

    @torch.no_grad()
    def _value(self, past, present, future, full, sc, dn, keep) -> np.ndarray:
        p, m = past[sc].clone(), present[sc].clone()
        drop = ~keep & m  # only players that exist can be removed
        if self.removal == "zero":
            p[drop] = 0
            m[:, 1:] &= ~drop[:, 1:]
        else:
            p[drop] = past[dn][drop]
            m[:, 1:] = torch.where(drop[:, 1:], present[dn][:, 1:], m[:, 1:])
        pred = self.model(p, m)
        if self.value == "performance":
            return -displacement(pred, future[sc])[0].numpy()
        return -(pred - full[sc]).norm(dim=-1).mean((1, 2)).numpy()
