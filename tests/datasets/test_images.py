"""Image datasets: the staged CIFAR-10 subset, the official releases' offline error, and the
synthetic generator."""

import pytest
import torch

from reprkit.datasets.images import load_images, synthetic_images
from tests.conftest import shared_file


def test_cifar10_subset_is_class_balanced_uint8_chw():
    shared_file("cifar10_subset/cifar10_subset_uint8.npz")
    d = load_images("cifar10_subset")
    assert d.x_train.shape == (10_000, 3, 32, 32) and d.x_test.shape == (2_000, 3, 32, 32)
    assert d.x_train.dtype == torch.uint8 and d.y_train.dtype == torch.int64
    assert torch.bincount(d.y_train).tolist() == [1000] * 10
    assert torch.bincount(d.y_test).tolist() == [200] * 10
    assert d.class_names[0] == "airplane" and d.n_classes == 10
    # real photographs: every channel spans most of the range, images differ
    assert d.x_train.float().std() > 40 and not torch.equal(d.x_train[0], d.x_train[1])


def test_official_releases_say_where_to_put_the_file_when_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("REPRKIT_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="cs.toronto.edu/~kriz/cifar-100-python.tar.gz"):
        load_images("cifar100")
    with pytest.raises(ValueError, match="name must be one of"):
        load_images("imagenet")


def test_synthetic_images_are_seeded_and_balanced():
    a, b = synthetic_images(seed=3), synthetic_images(seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert a.x_train.shape == (200, 3, 16, 16) and a.x_train.dtype == torch.uint8
    assert torch.bincount(torch.cat([a.y_train, a.y_test])).tolist() == [75] * 4
    # the class is visible: per-class mean colours differ
    means = torch.stack([a.x_train[a.y_train == c].float().mean((0, 2, 3)) for c in range(4)])
    assert torch.cdist(means, means).add(torch.eye(4) * 1e3).min() > 5
    with pytest.raises(ValueError, match="n_classes >= 2"):
        synthetic_images(n_classes=1)


def test_official_release_parser_on_a_fake_archive(monkeypatch, tmp_path):
    """The python-pickle layout (5 data batches + test batch + meta), 2 images per batch."""
    import io
    import pickle
    import tarfile

    import numpy as np

    from reprkit.datasets import images

    def add(tar, name, obj):
        raw = pickle.dumps(obj)
        info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))

    path = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for i in range(1, 6):
            data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
            add(tar, f"data_batch_{i}", {b"data": data, b"labels": [i, i + 1]})
        add(tar, "test_batch", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 9]})
        add(tar, "batches.meta", {b"label_names": [f"c{k}".encode() for k in range(10)]})
    monkeypatch.setenv("REPRKIT_DATA", str(tmp_path))
    fake = images.RemoteFile(images._OFFICIAL["cifar10"].relpath, "https://example.org", None)
    monkeypatch.setitem(images._OFFICIAL, "cifar10", fake)
    d = load_images("cifar10")
    assert d.x_train.shape == (10, 3, 32, 32) and d.y_train.tolist()[:4] == [1, 2, 2, 3]
    assert d.y_test.tolist() == [0, 9] and d.class_names[9] == "c9"
