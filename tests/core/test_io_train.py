from __future__ import annotations

import pytest
import torch

from reprkit.core.device import resolve_device
from reprkit.core.io import atomic_dir
from reprkit.core.seed import seeded
from reprkit.core.train import Steps, fit_loop


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "half.json").write_text("{")
        raise RuntimeError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_foreign_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("x")
    with pytest.raises(ValueError, match="not a reprkit output"), atomic_dir(tmp_path):
        pass
    assert (tmp_path / "precious.txt").exists()


def test_seeded_is_deterministic_and_restores_global_state():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    with seeded(0):
        a = torch.rand(3)
    after = torch.rand(1)
    with seeded(0):
        b = torch.rand(3)
    assert torch.equal(a, b) and torch.equal(before, after)
    with pytest.raises(ValueError, match="non-negative integer"), seeded(-1):
        pass


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ValueError):
        resolve_device("tpu")


def test_fit_loop_keeps_best_validation_weights():
    w = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        w.weight.fill_(0.0)
    # the loss pushes the weight up forever; the score prefers weight == 1
    fit_loop(
        w,
        lambda: -w.weight.sum(),
        lambda: -abs(w.weight.item() - 1.0),
        Steps(lr=0.1, weight_decay=0.0, epochs=100, patience=5),
    )
    assert abs(w.weight.item() - 1.0) < 0.15
