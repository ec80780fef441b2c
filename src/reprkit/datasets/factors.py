"""Images generated from known factors (for the in-domain generalization benchmark).

``FactorData``: images uint8 ``(N, C, H, W)``, factor value indices int64 ``(N, F)`` (the
lattice position of each factor), the factor values float64 ``(N, F)``, names, which factors are
categorical (never split), and the paper's per-factor hold-out ratio for the dataset.

* ``dsprites``: the staged full factorial grid on a coarser lattice (3 shapes × 6 scales × 10
  orientations × 16 × 16 positions = 46,080 real dSprites images; every 4th orientation and every
  2nd position of the official 40 / 32 / 32) — results on it are not on the paper's finer grid;
* ``dsprites_subset``: 20,000 random images of the official set (not a grid: no systematic splits);
* ``dsprites_official``: the official 737,280-image file (downloaded when missing);
* ``shapes3d``: the official 3dshapes.h5 (480,000 RGB images; needs ``h5py``; downloaded when
  missing, unpinned: never seen here);
* ``mpi3d_toy``: the official MPI3D toy file (1,036,800 RGB images; downloaded when missing,
  unpinned: never seen here);
* ``synthetic_dsprites``: a procedural renderer (square / ellipse / heart × scale × orientation
  × position) for users without the file and for tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from reprkit.datasets._files import RemoteFile, fetch

_NMA = "https://raw.githubusercontent.com/colleenjg/neuromatch_ssl_tutorial/130380eb77e46a993489d7c6c89d0c9ee8ce3ed3/dsprites/"
_FILES = {
    "dsprites": RemoteFile(
        "dsprites/dsprites_downsampled.npz",
        _NMA + "dsprites_downsampled.npz",
        "8a632f70c0dbd279dd771854981a3de945b2448eddbd9b2af59fb83e8728f871",
    ),
    "dsprites_subset": RemoteFile(
        "dsprites/dsprites_subset.npz",
        _NMA + "dsprites_subset.npz",
        "32e7cb03fbab06c521df18877073c8d8508877ccecf27d98a9815fa2d4856567",
    ),
    "dsprites_official": RemoteFile(
        "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        "https://github.com/google-deepmind/dsprites-dataset/raw/master/"
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        None,  # not seen here (too large to stage): unpinned
    ),
    "shapes3d": RemoteFile(
        "shapes3d/3dshapes.h5", "https://storage.googleapis.com/3d-shapes/3dshapes.h5", None
    ),
    "mpi3d_toy": RemoteFile(
        "mpi3d/mpi3d_toy.npz",
        "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/mpi3d_toy.npz",
        None,
    ),
}
FACTOR_DATASETS = (*_FILES, "synthetic_dsprites")
DSPRITES_FACTORS = ("shape", "scale", "orientation", "pos_x", "pos_y")
# grid order of the official files (the last factor varies fastest)
SHAPES3D_FACTORS = {"floor_hue": 10, "wall_hue": 10, "object_hue": 10, "scale": 8, "shape": 4,
                    "orientation": 15}  # fmt: skip
MPI3D_FACTORS = {"object_color": 6, "object_shape": 6, "object_size": 2, "camera_height": 3,
                 "background_color": 3, "horizontal_axis": 40, "vertical_axis": 40}  # fmt: skip


@dataclass
class FactorData:
    images: torch.Tensor  # uint8 (N, 1, H, W)
    factors: np.ndarray  # int64 (N, F): value index of each factor
    values: np.ndarray  # float64 (N, F)
    names: tuple[str, ...]
    name: str = ""
    categorical: tuple[str, ...] = ("shape",)  # not split, not regressed
    ratio: float = 0.2  # the paper's per-factor hold-out ratio (dSprites 0.2)

    def split_columns(self) -> list[int]:
        return [i for i, n in enumerate(self.names) if n not in self.categorical]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.factors.max(0) + 1)


def load_factor_images(name: str) -> FactorData:
    """One of ``FACTOR_DATASETS``."""
    if name not in FACTOR_DATASETS:
        raise ValueError(f"name must be one of {list(FACTOR_DATASETS)}, got {name!r}")
    if name == "synthetic_dsprites":
        return render_dsprites()
    if name == "shapes3d":
        return _shapes3d(fetch(_FILES[name]))
    if name == "mpi3d_toy":
        with np.load(fetch(_FILES[name])) as z:
            images = torch.from_numpy(z["images"]).permute(0, 3, 1, 2)
        idx = _grid_indices(MPI3D_FACTORS, len(images))
        return FactorData(images, idx, idx.astype(np.float64), tuple(MPI3D_FACTORS), name,
                          categorical=("object_color", "object_shape"), ratio=0.1)  # fmt: skip
    with np.load(fetch(_FILES[name]), allow_pickle=True, encoding="latin1") as z:
        imgs, cls, vals = z["imgs"], z["latents_classes"], z["latents_values"]
    if cls.shape[1] == 6:  # the official file keeps the constant colour latent first
        cls, vals = cls[:, 1:], vals[:, 1:]
    images = torch.from_numpy(imgs.astype(np.uint8) * 255).unsqueeze(1)
    return FactorData(images, cls.astype(np.int64), vals.astype(np.float64), DSPRITES_FACTORS, name)


def _grid_indices(sizes: dict[str, int], n: int) -> np.ndarray:
    if int(np.prod(list(sizes.values()))) != n:
        raise ValueError(f"expected {np.prod(list(sizes.values()))} images in grid order, got {n}")
    return np.stack(np.unravel_index(np.arange(n), tuple(sizes.values())), 1).astype(np.int64)


def _shapes3d(path) -> FactorData:
    try:
        import h5py
    except ImportError as e:
        raise ImportError("shapes3d needs h5py: pip install 'reprkit[image]'") from e
    with h5py.File(path, "r") as f:
        images = torch.from_numpy(np.asarray(f["images"])).permute(0, 3, 1, 2)
        values = np.asarray(f["labels"], dtype=np.float64)
    idx = _grid_indices(SHAPES3D_FACTORS, len(images))
    return FactorData(images, idx, values, tuple(SHAPES3D_FACTORS), "shapes3d", ratio=0.15)


def render_dsprites(
    size: int = 32,
    scales: int = 3,
    orientations: int = 4,
    positions: int = 4,
) -> FactorData:
    """A full factorial grid of white shapes on black: 3 shapes (square, ellipse, heart) ×
    ``scales`` (0.5–1) × ``orientations`` (0–2π, endpoint excluded) × ``positions``² (centre in
    [0.25, 0.75] of the side), like dSprites on a small canvas."""
    if size < 8 or min(scales, orientations, positions) < 1:
        raise ValueError("need size >= 8 and at least one value per factor")
    sc = np.linspace(0.5, 1.0, scales)
    orient = np.linspace(0, 2 * np.pi, orientations, endpoint=False)
    pos = np.linspace(0.25, 0.75, positions)
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
    idx = np.array(
        list(
            itertools.product(
                range(3), range(scales), range(orientations), range(positions), range(positions)
            )
        )  # fmt: skip
    )
    imgs = np.zeros((len(idx), size, size), dtype=np.uint8)
    for n, (s, k, o, px, py) in enumerate(idx):
        r = 0.18 * sc[k]
        dx, dy = (xx - pos[px]) / r, (yy - pos[py]) / r
        c, si = np.cos(orient[o]), np.sin(orient[o])
        u, v = c * dx + si * dy, -si * dx + c * dy
        if s == 0:
            mask = (abs(u) <= 0.8) & (abs(v) <= 0.8)
        elif s == 1:
            mask = (u / 1.0) ** 2 + (v / 0.55) ** 2 <= 1
        else:
            h, w = -v * 1.1, u * 1.1
            mask = (w**2 + h**2 - 1) ** 3 - w**2 * h**3 <= 0
        imgs[n] = mask * 255
    values = np.stack([idx[:, 0], sc[idx[:, 1]], orient[idx[:, 2]], pos[idx[:, 3]],
                       pos[idx[:, 4]]], 1).astype(np.float64)  # fmt: skip
    return FactorData(
        torch.from_numpy(imgs).unsqueeze(1), idx.astype(np.int64), values, DSPRITES_FACTORS,
        "synthetic_dsprites",
    )  # fmt: skip
