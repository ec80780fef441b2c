"""The trajshap experiment end to end (smoke profile) and its argument checks."""

from __future__ import annotations

import json

import pytest

from reprkit.methods.trajshap import experiment


def test_smoke_run_reports_every_model(tmp_path):
    out = experiment.run("synthetic_interaction", seeds=[0], profile="smoke", out=tmp_path / "r")
    m = json.loads((out / "metrics.json").read_text())
    rows = {(r["model"], r["metric"]) for r in m["results"]}
    for model in ("cv", "lstm", "social"):
        for metric in (
            "ade",
            "fde",
            "ade_no_neighbors",
            "phi_neighbor_mean",
            *experiment.ATTRIBUTIONS,
        ):
            assert (model, metric) in rows
        assert (f"{model}@random_removal", "phi_social") in rows
    assert ("estimator_banzhaf", "mae_vs_exact") in rows
    exact = [r for r in m["results"] if r["model"] == "estimator_exact"]
    assert all(r["mean"] < 1e-5 for r in exact if r["metric"] != "seconds")
    assert (out / "attributions.png").exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset must be one of"):
        experiment.run("sportvu", seeds=[0], profile="smoke")
    with pytest.raises(ValueError, match="models must be a subset"):
        experiment.run("synthetic_interaction", seeds=[0], profile="smoke",
                       overrides={"models": "transformer"})  # fmt: skip
