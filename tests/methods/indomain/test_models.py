"""Ada-GVAE's pairs and training, and the loaders of the official Shapes3D / MPI3D files (on
small fake files with the same layout)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reprkit.datasets import factors as fmod
from reprkit.datasets.factors import load_factor_images, render_dsprites
from reprkit.methods.indomain.models import pair_partners, train_model
from reprkit.methods.indomain.splits import make_split


def test_pair_partners_differ_in_one_factor_and_stay_in_training_set():
    grid = render_dsprites(size=16, scales=2, orientations=3, positions=3).factors
    train, _ = make_split(grid, "extrapolation", 0.3, 0, [1, 2, 3, 4])
    f = grid[train]
    idx = np.arange(len(f))
    partner = pair_partners(f, idx, np.random.default_rng(0))
    diff = (f[partner] != f[idx]).sum(1)
    assert set(np.unique(diff)) <= {0, 1}
    assert (diff == 1).mean() > 0.5  # most pairs are real pairs
    assert partner.min() >= 0 and partner.max() < len(f)


def test_ada_gvae_trains_and_needs_factors():
    d = render_dsprites(size=16, scales=2, orientations=2, positions=2)
    x = d.images.float() / 255
    y = torch.rand(len(x), 3)
    gen = torch.Generator().manual_seed(0)
    net = train_model("ada_gvae", x, y, steps=6, batch_size=8, factors=d.factors, gen=gen)
    with torch.no_grad():
        assert net(x).shape == (len(x), 3)
    with pytest.raises(ValueError, match="ada_gvae needs factors"):
        train_model("ada_gvae", x, y, steps=6, batch_size=8, gen=gen)


def test_rgb_images_go_through_every_family():
    x, y = torch.rand(16, 3, 16, 16), torch.rand(16, 2)
    f = np.stack(np.unravel_index(np.arange(16), (4, 4)), 1)
    for name in ("mlp", "conv4", "resnet", "ada_gvae"):
        gen = torch.Generator().manual_seed(0)
        net = train_model(name, x, y, steps=6, batch_size=8, factors=f, gen=gen)
        with torch.no_grad():
            assert net(x).shape == (16, 2)


def test_shapes3d_and_mpi3d_loaders_read_the_official_layout(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    monkeypatch.setenv("REPRKIT_DATA", str(tmp_path))
    small = {"floor_hue": 2, "wall_hue": 1, "object_hue": 1, "scale": 2, "shape": 2,
             "orientation": 3}  # fmt: skip
    monkeypatch.setattr(fmod, "SHAPES3D_FACTORS", small)
    n = 24
    idx = np.stack(np.unravel_index(np.arange(n), tuple(small.values())), 1)
    (tmp_path / "shapes3d").mkdir()
    with h5py.File(tmp_path / "shapes3d/3dshapes.h5", "w") as f:
        f["images"] = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones(
            (1, 8, 8, 3), np.uint8
        )
        f["labels"] = idx * 0.5
    d = load_factor_images("shapes3d")
    assert d.images.shape == (n, 3, 8, 8) and int(d.images[5, 2, 0, 0]) == 5
    np.testing.assert_array_equal(d.factors, idx)
    assert d.names[d.split_columns()[0]] == "floor_hue" and "shape" not in [
        d.names[i] for i in d.split_columns()]  # fmt: skip
    assert d.ratio == 0.15

    small = {"object_color": 2, "object_shape": 2, "object_size": 1, "camera_height": 1,
             "background_color": 1, "horizontal_axis": 3, "vertical_axis": 2}  # fmt: skip
    monkeypatch.setattr(fmod, "MPI3D_FACTORS", small)
    (tmp_path / "mpi3d").mkdir()
    np.savez(tmp_path / "mpi3d/mpi3d_toy.npz", images=np.zeros((24, 8, 8, 3), np.uint8))
    d = load_factor_images("mpi3d_toy")
    assert d.images.shape == (24, 3, 8, 8) and d.ratio == 0.1
    assert [d.names[i] for i in d.split_columns()] == [
        "object_size",
        "camera_height",
        "background_color",
        "horizontal_axis",
        "vertical_axis",
    ]
    np.savez(tmp_path / "mpi3d/mpi3d_toy.npz", images=np.zeros((23, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="grid order"):
        load_factor_images("mpi3d_toy")
