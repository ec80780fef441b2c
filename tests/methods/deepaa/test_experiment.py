"""The DeepAA experiment end to end on synthetic images (smoke profile)."""

from __future__ import annotations

import json

import pytest

from reprkit.methods.deepaa import experiment
from reprkit.methods.deepaa.policy import AugmentPolicy

pytest.importorskip("kornia")


def test_smoke_run_writes_results_policy_and_plots(tmp_path):
    out = experiment.run("synthetic_images", seeds=[0], profile="smoke", out=tmp_path / "r",
                         overrides={"augmentations": "none,cropflip,deepaa"})  # fmt: skip
    names = {p.name for p in out.iterdir()}
    assert {"results.md", "metrics.json", "env.json", "policy_seed0.json"} <= names
    assert {"augmented_samples.png", "policy_layers.png"} <= names
    m = json.loads((out / "metrics.json").read_text())
    assert [(r["model"], r["metric"]) for r in m["results"]] == [
        ("none", "test_acc"),
        ("cropflip", "test_acc"),
        ("deepaa", "test_acc"),
        ("deepaa", "search_time_s"),
    ]
    assert AugmentPolicy.load(out / "policy_seed0.json").n_layers == 2
    assert not (tmp_path / "r.checkpoints").exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset must be one of"):
        experiment.run("mnist", seeds=[0], profile="smoke")
    with pytest.raises(ValueError, match="augmentations must be a subset"):
        experiment.run("synthetic_images", seeds=[0], profile="smoke",
                       overrides={"augmentations": "mixup"})  # fmt: skip
    with pytest.raises(ValueError, match="resume needs out"):
        experiment.run("synthetic_images", seeds=[0], profile="smoke", resume=True)


def test_resume_reads_back_finished_runs(tmp_path):
    ckpt = tmp_path / "r.checkpoints"
    ckpt.mkdir()
    (ckpt / "train_none_seed0.json").write_text('{"acc": 0.123, "seconds": 1.0}')
    out = experiment.run("synthetic_images", seeds=[0], profile="smoke", out=tmp_path / "r",
                         overrides={"augmentations": "none"}, resume=True)  # fmt: skip
    m = json.loads((out / "metrics.json").read_text())
    assert m["results"][0]["per_seed"] == [0.123]


def test_released_policy_row_and_comparison_plot(tmp_path):
    from reprkit.datasets._files import data_root

    root = data_root()
    if root is None or not (root / "deepaa_policies").exists():
        pytest.skip("the released policies are staged under REPRKIT_DATA/deepaa_policies")
    out = experiment.run("synthetic_images", seeds=[0], profile="smoke", out=tmp_path / "r",
                         overrides={"augmentations": "deepaa_official,deepaa"})  # fmt: skip
    m = json.loads((out / "metrics.json").read_text())
    assert [r["model"] for r in m["results"]][:2] == ["deepaa_official", "deepaa"]
    assert (out / "policy_vs_official.png").stat().st_size > 0
    assert "search net seed 0: accuracy" in (out / "results.md").read_text()
