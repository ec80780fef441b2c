"""Pedestrian / agent trajectories cut into prediction scenes.

A ``Scenes`` holds ``S`` scenes of one target agent and up to ``A - 1`` neighbours, in metres,
relative to the target's last observed position (the origin of each scene):

* ``past`` float32 ``(S, A, T_obs, 2)``: slot 0 is the target, then neighbours nearest first;
  absent slots are zeros;
* ``present`` bool ``(S, A)``: which slots hold an agent (slot 0 always);
* ``future`` float32 ``(S, T_pred, 2)``: the target's next positions.

Sources:

* ``eth_ucy``: the five ETH/UCY scenes in the Social-GAN text files (``frame ped x y``, 2.5 Hz)
  with the standard leave-one-scene-out protocol — ``load_eth_ucy(scene, part)``: ``test`` is
  the held-out scene's full recording, ``train`` / ``val`` are the ``*_train`` / ``*_val`` files of
  every other recording (zara03 and uni_examples only ever train). A window is 8 observed + 12
  predicted frames, stride one frame; targets are agents present in all 20 frames, neighbours
  agents present in all 8 observed frames.
* ``synthetic_interaction``: leader–follower scenes where the target repeats its leader's
  velocity with a delay and the leader turns during the observed window, so the target's turn
  can only be foreseen from the leader's past, plus distractors walking independently (stands
  in for the paper's SportVU basketball data, which is not available here).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np

from reprkit.core.validate import as_array
from reprkit.datasets._files import RemoteFile, fetch

OBS, PRED = 8, 12
_SRC = (
    "https://raw.githubusercontent.com/abduallahmohamed/Social-STGCNN/"
    "333d3a57b4d2705e129b21aefefa09c79b2b9ae1/datasets/raw/"
)
_SHA = {
    "all_data/biwi_eth": "cf8d3fd342a15f409ebc2a1fc76b91a0f06390bd21f1e11410f3859331ab082b",
    "all_data/biwi_hotel": "9caa771bb9153d6b809dd0916b6f86761b641e6bbb15e766c1de3133fbbb7fcf",
    "all_data/crowds_zara01": "1147a1962a09abfb86f28c6cddcac862e095a0cf129b3016385b69eacdd09d85",
    "all_data/crowds_zara02": "8a649d0f8c9ae75c87c4d23a85f892786b0aa30266e996c7be03e69dafff22ff",
    "all_data/students001": "a6d87f278d94136fe39b8be91555487a29ac77259ae403b9dba2d5c18caf7b5b",
    "all_data/students003": "e25798b660634330aa89f8bb259425de720e84d0873902726c1d1f4ccff21d6c",
    "train/biwi_eth_train": "7905d1337f8466c3ebcd80e8264158209370e939774a371d215491256128407e",
    "train/biwi_hotel_train": "f3f485043273e3d972efd73770df0021ec7d3d5135f60d2e2ca5809f68d6f104",
    "train/crowds_zara01_train": "5b2ff1a334f4b3e8595e0ee898874b1795561db7bde97e90cbc4a1382c8c3d56",
    "train/crowds_zara02_train": "9fd606341135d7d211c3af259c9eb2c25e4c7035efc43d3007ceeef6f954b247",
    "train/crowds_zara03_train": "d38a0a6cd1e24adadbb3b15cac97b747e5c6ace2c59d457d805f38a4d91d5a03",
    "train/students001_train": "f41a0a63301e1c15104205c4a1540db477ddc3330ee2801a976d7b9fc238a63e",
    "train/students003_train": "85fe6324e9a0b94acb21617eb0331f543fe5ebf0caee1e253794bca554f35daf",
    "train/uni_examples_train": "06866bea5c2f589094473371e9fb6b653c7af95e5f748434bc1024544c5e1c7a",
    "val/biwi_eth_val": "ed19f8ee52e024788658d70060c1452b991aa506b78ea649c74f79e075ad20b9",
    "val/biwi_hotel_val": "5c6026c5c6feb81295187e2e063d86197344428811ac2ae98a45bdfb5dfa79ed",
    "val/crowds_zara01_val": "d5212e4e3289aa44365e5ce34a476ef2a4208c89bd6a29204ece097c7f33c157",
    "val/crowds_zara02_val": "361949e5655814680e1185bdd23344932f7b6ccc0d7120c34b523495d0fc69f8",
    "val/crowds_zara03_val": "60d464e21fd3851fab146ec3b35d0db4155b3c057f4b46050336eac59314f0f5",
    "val/students001_val": "dc8f3147820e80642903041b017292eb03ea5df81ffd2974b47a725d8ffeb394",
    "val/students003_val": "b7aa6dcedba0e9036272dc363e2a25e6bb80d7485d75dcb3fff918ce01b10e24",
    "val/uni_examples_val": "436dfa865ffab37957e928e227a1b6cc836ab0e6b7652abbf5d06cdf5638dee4",
}
ETH_UCY = {
    "eth": ("biwi_eth",),
    "hotel": ("biwi_hotel",),
    "univ": ("students001", "students003"),
    "zara1": ("crowds_zara01",),
    "zara2": ("crowds_zara02",),
}
_RECORDINGS = ("biwi_eth", "biwi_hotel", "crowds_zara01", "crowds_zara02", "crowds_zara03",
               "students001", "students003", "uni_examples")  # fmt: skip
PARTS = ("train", "val", "test")


@dataclass
class Scenes:
    past: np.ndarray  # float32 (S, A, T_obs, 2), relative to the target's last observed position
    present: np.ndarray  # bool (S, A)
    future: np.ndarray  # float32 (S, T_pred, 2)
    name: str = ""

    def __post_init__(self) -> None:
        """numpy or torch, any float dtype in; float32 positions and a bool ``present`` out.
        ``present`` may be bool or 0/1 numbers (int or float); other values are refused."""
        self.past = as_array(self.past, "past", kind="fiu", finite=False).astype(np.float32)
        self.future = as_array(self.future, "future", kind="fiu", finite=False).astype(np.float32)
        m = as_array(self.present, "present", kind="biuf", finite=False)
        if m.dtype.kind != "b":
            if not np.isin(m, (0, 1)).all():
                raise ValueError("present must be bool or 0/1 (agent in the slot or not)")
            m = m.astype(bool)
        self.present = m

    def __len__(self) -> int:
        return len(self.past)

    def subset(self, idx) -> Scenes:
        return Scenes(self.past[idx], self.present[idx], self.future[idx], self.name)

    def without_neighbours(self) -> Scenes:
        present = np.zeros_like(self.present)
        present[:, 0] = True
        return Scenes(self.past * present[:, :, None, None], present, self.future, self.name)


def _remote(key: str) -> RemoteFile:
    return RemoteFile(f"eth_ucy/{key}.txt.gz", f"{_SRC}{key}.txt", _SHA.get(key))


def read_recording(key: str) -> np.ndarray:
    """Rows ``frame ped x y`` (float64) of one Social-GAN file, e.g. ``"all_data/biwi_eth"``."""
    with gzip.open(fetch(_remote(key)), "rt") as f:
        rows = np.loadtxt(f, dtype=np.float64, ndmin=2)
    if rows.shape[1] != 4:
        raise ValueError(f"{key}: expected 4 columns (frame ped x y), got {rows.shape[1]}")
    return rows


def scenes_from_rows(rows: np.ndarray, max_neighbours: int = 6, name: str = "") -> Scenes:
    """Cut one recording (rows ``frame ped x y``) into 8 + 12-frame windows (stride one frame)."""
    frames, fi = np.unique(rows[:, 0], return_inverse=True)
    peds, pi = np.unique(rows[:, 1], return_inverse=True)
    pos = np.full((len(frames), len(peds), 2), np.nan)
    pos[fi, pi] = rows[:, 2:4]
    past, present, future = [], [], []
    for s in range(len(frames) - OBS - PRED + 1):
        win = pos[s : s + OBS + PRED]
        full = ~np.isnan(win).any((0, 2))
        seen = ~np.isnan(win[:OBS]).any((0, 2))
        for t in np.flatnonzero(full):
            origin = win[OBS - 1, t]
            others = np.flatnonzero(seen & (np.arange(len(peds)) != t))
            dist = np.linalg.norm(win[OBS - 1, others] - origin, axis=1)
            others = others[np.argsort(dist, kind="stable")][:max_neighbours]
            p = np.zeros((1 + max_neighbours, OBS, 2))
            p[: 1 + len(others)] = win[:OBS, [t, *others]].transpose(1, 0, 2) - origin
            m = np.zeros(1 + max_neighbours, dtype=bool)
            m[: 1 + len(others)] = True
            past.append(p)
            present.append(m)
            future.append(win[OBS:, t] - origin)
    if not past:
        return _empty(max_neighbours, name)
    return Scenes(np.array(past, np.float32), np.array(present), np.array(future, np.float32),
                  name)  # fmt: skip


def _empty(max_neighbours: int, name: str) -> Scenes:
    a = 1 + max_neighbours
    return Scenes(np.zeros((0, a, OBS, 2), np.float32), np.zeros((0, a), bool),
                  np.zeros((0, PRED, 2), np.float32), name)  # fmt: skip


def concat(parts: list[Scenes], name: str = "") -> Scenes:
    return Scenes(np.concatenate([p.past for p in parts]),
                  np.concatenate([p.present for p in parts]),
                  np.concatenate([p.future for p in parts]), name)  # fmt: skip


def load_eth_ucy(scene: str, part: str, max_neighbours: int = 6) -> Scenes:
    """The leave-one-scene-out ``part`` ("train", "val", "test") for held-out ``scene``."""
    if scene not in ETH_UCY:
        raise ValueError(f"scene must be one of {list(ETH_UCY)}, got {scene!r}")
    if part not in PARTS:
        raise ValueError(f"part must be one of {list(PARTS)}, got {part!r}")
    if part == "test":
        keys = [f"all_data/{r}" for r in ETH_UCY[scene]]
    else:
        keys = [f"{part}/{r}_{part}" for r in _RECORDINGS if r not in ETH_UCY[scene]]
    return concat([scenes_from_rows(read_recording(k), max_neighbours) for k in keys],
                  f"eth_ucy/{scene}/{part}")  # fmt: skip


def synthetic_interaction(
    n: int = 2000,
    seed: int = 0,
    max_neighbours: int = 6,
    delay: int = 4,
    noise: float = 0.02,
) -> Scenes:
    """Leader–follower scenes: the target's velocity at step t is the leader's at t - ``delay``;
    the leader turns by 45–120 degrees at a random observed step (2–7), so for most scenes the
    target's turn lies in the future and only the leader's past tells it. 0–4 distractors walk
    at constant velocity; neighbours are sorted nearest first as in the real data."""
    if n < 1 or not 1 <= delay < OBS or max_neighbours < 1:
        raise ValueError("need n >= 1, 1 <= delay < 8 and max_neighbours >= 1")
    rng = np.random.default_rng(seed)
    steps = OBS + PRED
    speed = rng.uniform(0.35, 0.6, n)  # metres per 0.4 s step
    heading = rng.uniform(0, 2 * np.pi, n)
    turn_at = rng.integers(2, OBS, n)
    turn = rng.uniform(np.pi / 4, 2 * np.pi / 3, n) * rng.choice([-1, 1], n)
    t = np.arange(steps)
    ang = heading[:, None] + turn[:, None] * (t[None] >= turn_at[:, None])
    lead_v = speed[:, None, None] * np.stack([np.cos(ang), np.sin(ang)], -1)  # (n, steps, 2)
    lead = np.cumsum(lead_v, 1) + rng.uniform(-5, 5, (n, 1, 2))
    follow_v = np.concatenate([np.repeat(lead_v[:, :1], delay, 1), lead_v[:, :-delay]], 1)
    start = lead[:, 0] - delay * lead_v[:, 0]  # on the leader's path, `delay` steps behind
    follow = start[:, None] + np.cumsum(follow_v, 1) - follow_v[:, :1]
    k = rng.integers(0, min(4, max_neighbours - 1) + 1, n)
    d_v = rng.uniform(0.2, 0.6, (n, 4, 1, 1)) * _unit(rng.uniform(0, 2 * np.pi, (n, 4)))[:, :, None]
    d_pos = follow[:, None, OBS - 1 : OBS] + rng.uniform(-4, 4, (n, 4, 1, 2))
    distract = d_pos + d_v * (t[None, None, :, None] - (OBS - 1))
    agents = np.concatenate([follow[:, None], lead[:, None], distract], 1)
    agents = agents + rng.normal(0, noise, agents.shape)
    origin = agents[:, 0, OBS - 1]
    rel = agents - origin[:, None, None]
    past = np.zeros((n, 1 + max_neighbours, OBS, 2))
    present = np.zeros((n, 1 + max_neighbours), dtype=bool)
    for i in range(n):
        idx = np.arange(1, 2 + k[i])
        idx = idx[np.argsort(np.linalg.norm(rel[i, idx, OBS - 1], axis=1), kind="stable")]
        past[i, : 1 + len(idx)] = rel[i, [0, *idx], :OBS]
        present[i, : 1 + len(idx)] = True
    return Scenes(past.astype(np.float32), present, rel[:, 0, OBS:].astype(np.float32),
                  "synthetic_interaction")  # fmt: skip


def _unit(angle: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(angle), np.sin(angle)], -1)


def check_scenes(scenes: Scenes, obs_needed: int = 2) -> None:
    """Clear errors for scenes a model cannot take: NaN / inf, too few observed steps, bad
    shapes."""
    if not isinstance(scenes, Scenes):
        raise TypeError(
            f"scenes must be a Scenes(past, present, future), got {type(scenes).__name__}"
        )
    p, m, f = scenes.past, scenes.present, scenes.future
    if p.ndim != 4 or p.shape[-1] != 2 or m.shape != p.shape[:2]:
        raise ValueError(f"scenes.past must be (S, A, T_obs, 2) with present (S, A); got "
                         f"{p.shape} and {m.shape}")  # fmt: skip
    if f.ndim != 3 or f.shape[0] != p.shape[0] or f.shape[-1] != 2:
        raise ValueError(f"scenes.future must be (S, T_pred, 2), got {f.shape}")
    if p.shape[2] < obs_needed:
        raise ValueError(f"scenes have {p.shape[2]} observed steps, the model needs {obs_needed}")
    bad = ~np.isfinite(p).all((1, 2, 3)) | ~np.isfinite(f).all((1, 2))
    if bad.any():
        raise ValueError(f"scenes contain NaN/inf positions (first bad scene: "
                         f"{int(np.flatnonzero(bad)[0])}); drop or fill them first")  # fmt: skip
    if len(m) and not m[:, 0].all():
        raise ValueError("scenes.present[:, 0] (the target) must be True for every scene")
