"""Shapley values of the players of a trajectory-prediction scene (Makansi et al., ICLR 2022).

Players: the target's own past, every neighbour, and (by default) a random neighbour taken from
another scene — the paper's sanity check: a model that uses neighbours sensibly should give it
about nothing. ``matched_null=True`` injects as many random neighbours as the scene has real
ones (at least one): the null for statistics over a scene's neighbours, such as the largest
credit. ``keep_past=True`` plays the game without the past as a player: it is always kept (the
"past kept" game, where neighbours cannot stand in for a missing past). A coalition is the set of
players kept; a removed player is

* ``removal="zero"``: dropped (a neighbour is marked absent; the target's past becomes zeros,
  i.e. standing still at the origin), or
* ``removal="random"``: replaced by a real agent's past drawn afresh from another scene at
  every evaluation (as the official code draws a fresh real neighbour each time); the slot is
  then present.

The value of a coalition is the model's performance on the target, ``-minADE`` over its K
samples (``value="performance"``; positive attribution = the player lowers the error), or how
close its output stays to the output with every player, ``-mean ||f(S) - f(all)||``
(``value="output"``). Estimators: ``exact`` (all 2^n coalitions; Shapley weights),
``permutation`` (``n_samples`` random orders per scene, antithetic: half of them the others
reversed; standard error over the pairs), and
``banzhaf`` — each other player kept with probability 1/2, as in the paper's code, which
estimates the Banzhaf value (no efficiency) rather than the Shapley value; kept for comparison.

Slots that hold no agent in a scene are not players there: their attribution is 0 and
``active`` is False. Game-level estimators take a batched value function
``v(coalitions bool (S, C, n)) -> (S, C)`` and can be used for any game.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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
    v: ValueFn,
    n: int,
    n_scenes: int,
    n_samples: int,
    rng: np.random.Generator,
    antithetic: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean marginal contributions over ``n_samples`` orders per scene. ``antithetic``: the
    second half of the orders are the first half reversed (as shap's PermutationExplainer
    walks each order forwards and backwards); the standard error is then taken over the
    pairs."""
    half = (n_samples + 1) // 2 if antithetic else n_samples
    perms = np.argsort(rng.random((n_scenes, half, n)), -1)
    if antithetic:
        perms = np.concatenate([perms, perms[:, :, ::-1]], 1)[:, :n_samples]
    rank = np.argsort(perms, -1)  # position of each player in its order
    coal = rank[:, :, None, :] < np.arange(n + 1)[None, None, :, None]  # prefixes, (S, M, n+1, n)
    vals = v(coal.reshape(n_scenes, -1, n)).reshape(n_scenes, n_samples, n + 1)
    contrib = np.zeros((n_scenes, n_samples, n))
    np.put_along_axis(contrib, perms, np.diff(vals, axis=2), axis=2)
    if antithetic and n_samples % 2 == 0:  # pairs are the independent units
        return contrib.mean(1), _stderr((contrib[:, :half] + contrib[:, half:]) / 2, 1)
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


def stand_in_index(
    pool_scene: np.ndarray, sc: np.ndarray, draw: np.ndarray, n: int, seed: int
) -> np.ndarray:
    """(rows, n) indices into the pool of real agents (``pool_scene``: each one's scene): for
    each row's scene ``sc``, stand-in draw number ``draw`` and player, an agent of another scene,
    uniformly (a counter-based hash: the same (scene, draw, player) gets the same agent in any
    batch)."""
    key = ((sc.astype(np.uint64) * np.uint64(1_000_003) + draw.astype(np.uint64))[:, None]
           * np.uint64(n) + np.arange(n, dtype=np.uint64))  # fmt: skip
    key = key + np.uint64(seed) * np.uint64(0x632BE59BD9B4E019)
    idx = (_splitmix(key) % np.uint64(len(pool_scene))).astype(np.int64)
    if (pool_scene != pool_scene[0]).any():  # redraw the agents of the row's own scene
        for k in range(1, 200):
            same = pool_scene[idx] == sc[:, None]
            if not same.any():
                break
            idx[same] = (_splitmix(key[same] + np.uint64(k)) % np.uint64(len(pool_scene))).astype(
                np.int64
            )
    return idx


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 of uint64 keys (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _stderr(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.shape[axis]
    return x.std(axis, ddof=1) / np.sqrt(m) if m > 1 else np.full(x.mean(axis).shape, np.nan)


@dataclass
class Attribution:
    phi: np.ndarray  # (S, n) attribution per scene and player
    stderr: np.ndarray  # (S, n) standard error (0 for exact)
    active: np.ndarray  # bool (S, n): the player exists in the scene
    players: tuple[str, ...]  # "past", "neighbour 1", ..., "random neighbour 1", ...
    v_all: np.ndarray  # (S,) value with every player
    v_none: np.ndarray  # (S,) value with none

    def social(self) -> np.ndarray:
        """Sum of the real neighbours' attributions per scene."""
        return self.phi[:, self._slots("neighbour")].sum(1)

    def strongest(self, kind: str = "neighbour") -> np.ndarray:
        """The largest attribution per scene among its real neighbours (``kind="random"``: its
        injected random neighbours); NaN where it has none (the paper's "social" statistic)."""
        return self._reduce(kind, np.max, -np.inf)

    def neighbour_mean(self, kind: str = "neighbour") -> np.ndarray:
        """The mean attribution per scene over its real (or random) neighbours; NaN if none."""
        return self._reduce(kind, np.mean, np.nan)

    def _reduce(self, kind: str, fn, fill: float) -> np.ndarray:
        cols = self._slots(kind)
        act = self.active[:, cols]
        out = np.full(len(self.phi), np.nan)
        for k in np.flatnonzero(act.any(1)):
            out[k] = fn(self.phi[k, cols][act[k]])
        return out

    def _slots(self, kind: str) -> list[int]:
        if kind not in ("neighbour", "random"):
            raise ValueError(f"kind must be 'neighbour' or 'random', got {kind!r}")
        return [i for i, p in enumerate(self.players) if p.startswith(kind)]


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
        matched_null: bool = False,
        keep_past: bool = False,
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
        self.matched_null, self.keep_past = matched_null, keep_past
        self.batch_size, self.progress = batch_size, progress

    def attribute(self, scenes: Scenes) -> Attribution:
        v, players, names = self.game(scenes)
        s, n = players.shape
        if self.estimator == "exact" and n > 16:
            raise ValueError(f"exact enumeration of {n} players is too large; use permutation")
        rng = np.random.default_rng(self.seed + 1)
        if self.estimator == "exact":  # one stand-in draw per scene
            phi, se = exact(v, n, s)
        elif self.estimator == "permutation":  # one draw per order: columns (order, prefix)
            phi, se = permutation(partial(v, draw_of=lambda col: col // (n + 1)), n, s,
                                  self.n_samples, rng)  # fmt: skip
        else:  # one draw per (player, sample): columns (player, without / with, sample)
            m = self.n_samples
            phi, se = banzhaf(partial(v, draw_of=lambda col: col // (2 * m) * m + col % m), n, s,
                              m, rng)  # fmt: skip
        ends = v(np.stack([np.ones((s, n), bool), np.zeros((s, n), bool)], 1))
        return Attribution(np.where(players, phi, 0.0), np.where(players, se, 0.0), players,
                           names, ends[:, 0], ends[:, 1])  # fmt: skip

    def game(self, scenes: Scenes):
        """The game of every scene: ``(v, players, names)``. ``v(coal, draw_of=None, idx=None)``
        maps coalitions (S, C, n) bool of the scenes ``idx`` (default all) to their values
        (S, C); ``draw_of(columns)`` numbers the stand-in draw of each coalition column under
        random removal (the coalitions one marginal contribution compares share it, as the
        official code copies one randomised scene and removes the player from the copy; default:
        one draw per scene). ``players`` (S, n): which slots are players in each scene."""
        check_scenes(scenes, getattr(self.model, "obs_len", 2))
        injects = self.random_neighbour or self.matched_null
        if len(scenes) < 2 and (injects or self.removal == "random"):
            raise ValueError("need at least 2 scenes: random neighbours / donors come from others")
        past, present = self._players(scenes, np.random.default_rng(self.seed))
        players = present.copy()
        players[:, 0] &= not self.keep_past  # a kept past is not a player
        n = present.shape[1]
        past_t, present_t = torch.from_numpy(past), torch.from_numpy(present)
        future = torch.from_numpy(scenes.future)
        self._check_output(past_t[:2], present_t[:2], future[:2])
        # every real agent of the scenes: the stand-ins of random removal
        pool_scene, pool_slot = np.nonzero(scenes.present)
        pool = torch.from_numpy(scenes.past[pool_scene, pool_slot])
        full = predict(self.model, past_t, present_t, self.batch_size) if self.value == "output" \
            else None  # fmt: skip

        def v(coal: np.ndarray, draw_of=None, idx=None) -> np.ndarray:
            which = np.arange(len(players)) if idx is None else np.asarray(idx)
            c = coal.shape[1]
            out = np.empty((len(which), c))
            flat = out.reshape(-1)
            rows = np.arange(len(which) * c)
            chunks = range(0, len(rows), self.batch_size)
            for i in progress_bar(chunks, progress=self.progress, desc="coalitions"):
                r = rows[i : i + self.batch_size]
                sc, keep = which[r // c], torch.from_numpy(coal.reshape(-1, n)[r])
                keep = keep | ~torch.from_numpy(players[sc])  # non-players are always kept
                stand_in = None
                if self.removal == "random":
                    draw = np.zeros(len(r), int) if draw_of is None else draw_of(r % c)
                    idx_ = stand_in_index(pool_scene, sc, draw, n, self.seed)
                    stand_in = pool[torch.from_numpy(idx_)]
                flat[r] = self._value(past_t, present_t, future, full, sc, stand_in, keep)
            return out

        names = ["past", *[f"neighbour {j}" for j in range(1, scenes.present.shape[1])]]
        names += [f"random neighbour {j}" for j in range(1, n - len(names) + 1)]
        return v, players, tuple(names)

    def _players(self, scenes: Scenes, rng: np.random.Generator):
        """Pasts and presence with the injected random neighbours appended: one per scene, or
        (``matched_null``) as many as the scene has real neighbours, at least one."""
        past, present = scenes.past, scenes.present
        if not (self.random_neighbour or self.matched_null):
            return past, present.copy()
        s = len(past)
        count = np.maximum(present[:, 1:].sum(1), 1) if self.matched_null else np.ones(s, int)
        pool = [(i, j) for i, j in zip(*np.nonzero(present[:, 1:]), strict=True)]
        pool = [(i, j + 1) for i, j in pool] or [(i, 0) for i in range(s)]
        pool_scene = np.array([i for i, _ in pool])
        single = len(set(pool_scene.tolist())) == 1
        width = int(count.max())
        extra = np.zeros((s, width, *past.shape[2:]), past.dtype)
        for k in range(s):  # neighbours of other scenes, uniformly
            pick = rng.integers(len(pool), size=count[k])
            for q in range(count[k]):
                while pool_scene[pick[q]] == k and not single:
                    pick[q] = rng.integers(len(pool))
                extra[k, q] = past[pool[pick[q]]]
        return (np.concatenate([past, extra], 1),
                np.concatenate([present, np.arange(width) < count[:, None]], 1))  # fmt: skip

    @torch.no_grad()
    def _check_output(self, past, present, future) -> None:
        out = self.model(past, present)
        if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != len(past) or \
                out.shape[2:] != future.shape[1:]:  # fmt: skip
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"model must return (B, K, {future.shape[1]}, 2) futures for "
                             f"(B, A, T, 2) pasts; got {got} for B={len(past)}")  # fmt: skip

    @torch.no_grad()
    def _value(self, past, present, future, full, sc, stand_in, keep) -> np.ndarray:
        p, m = past[sc].clone(), present[sc].clone()
        drop = ~keep & m  # only players that exist can be removed
        if stand_in is None:  # zero removal
            p[drop] = 0
            m[:, 1:] &= ~drop[:, 1:]
        else:  # random removal: a real agent of another scene stands in (present)
            p[drop] = stand_in[drop]
        pred = self.model(p, m)
        if self.value == "performance":
            return -displacement(pred, future[sc])[0].numpy()
        return -(pred - full[sc]).norm(dim=-1).mean((1, 2)).numpy()
