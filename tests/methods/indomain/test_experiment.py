"""The in-domain experiment end to end on the rendered grid (smoke profile)."""

from __future__ import annotations

import json

import pytest

from reprkit.methods.indomain import experiment


def test_smoke_run_reports_every_model_and_split(tmp_path):
    out = experiment.run("synthetic_dsprites", seeds=[0], profile="smoke", out=tmp_path / "r")
    m = json.loads((out / "metrics.json").read_text())
    models = {r["model"] for r in m["results"]}
    assert models == {"mlp", "conv"}
    metrics = {r["metric"] for r in m["results"]}
    assert {f"r2_{k}" for k in experiment.KINDS} <= metrics
    assert {"r2_random_with_orientation", "r2_extrapolation_orientation", "reach_scale"} <= metrics
    assert (out / "extrapolation_pred_vs_true.png").exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="ratio must be in"):
        experiment.run("synthetic_dsprites", seeds=[0], profile="smoke", overrides={"ratio": 0})
    with pytest.raises(ValueError, match="models must be a subset"):
        experiment.run("synthetic_dsprites", seeds=[0], profile="smoke",
                       overrides={"models": "vit"})  # fmt: skip
