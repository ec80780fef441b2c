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
    with pytest.raises(ValueError, match="not a reprkit run"), atomic_dir(tmp_path):
        pass
    assert (tmp_path / "precious.txt").exists()


def test_a_model_save_never_replaces_a_run_folder_and_the_reverse(tmp_path):
    run, model = tmp_path / "run", tmp_path / "model"
    with atomic_dir(run) as t:
        (t / "config.json").write_text("{}")
        (t / "metrics.json").write_text("{}")
    with atomic_dir(model, kind="model") as t:
        (t / "config.json").write_text("{}")
        (t / "state.pt").write_text("")
    with pytest.raises(ValueError, match="holds a reprkit run"), atomic_dir(run, kind="model"):
        pass
    with pytest.raises(ValueError, match="holds a reprkit model"), atomic_dir(model):
        pass
    assert (run / "metrics.json").exists() and (model / "state.pt").exists()
    with atomic_dir(run) as t:  # a run replaces a run
        (t / "metrics.json").write_text("{}")


def test_stale_temp_folders_of_a_killed_writer_are_cleaned(tmp_path):
    final = tmp_path / "out"
    dead = tmp_path / ".out.999999999.abc.tmp"  # no such pid
    dead.mkdir()
    other = tmp_path / ".other.999999999.abc.tmp"
    other.mkdir()
    with atomic_dir(final) as t:
        (t / "metrics.json").write_text("{}")
    assert not dead.exists() and other.exists() and (final / "metrics.json").exists()


def test_unwritable_out_names_the_users_path(tmp_path):
    import os

    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "sub" / "out"  # a file in the way: fails for root too
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        target = ro / "out"
    with pytest.raises(ValueError, match=f"cannot write '{target}'"), atomic_dir(target):
        pass


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


def test_warmup_linear_rises_then_decays_to_zero():
    from reprkit.core.train import warmup_linear

    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=1.0)
    sched = warmup_linear(opt, steps=10, warmup=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:3] == [0.5, 1.0, 1.0] and lrs[-1] == 0.125 and opt.param_groups[0]["lr"] == 0.0
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:], strict=False))
