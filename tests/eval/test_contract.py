"""Every experiment's smoke run keeps the metrics.json contract (schema, ranges, DESIGN.md rows)."""

from __future__ import annotations

import json

import pytest

from reprkit.core import registry
from reprkit.eval.contract import REQUIRED, check_metrics
from tests.conftest import make_tiny_bert

SYNTHETIC = {
    "coldbrew": "synthetic",
    "giant": "synthetic_text",
    "grda": "spiral15",
    "psagan": "synthetic_series",
    "rim": "synthetic_events",
    "transencoder": "synthetic_pairs",
    "deepaa": "synthetic_images",
    "diva": "synthetic_blobs",
    "indomain": "synthetic_dsprites",
    "trajshap": "synthetic_interaction",
}


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """One tiny random BERT whose vocabulary covers both text generators (no download)."""
    from reprkit.datasets.text import synthetic_pairs
    from reprkit.datasets.text_graphs import synthetic_text_graph

    pairs = synthetic_pairs(200, seed=0)
    texts = pairs.a + pairs.b + synthetic_text_graph(seed=0)[1]
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_contract"), texts)


def test_every_method_declares_its_rows_and_has_a_synthetic_dataset():
    assert set(REQUIRED) == set(registry.methods()) == set(SYNTHETIC)
    for name, ds in SYNTHETIC.items():
        assert ds in registry.methods()[name].datasets


@pytest.mark.parametrize("method", sorted(SYNTHETIC))
def test_smoke_run_keeps_the_metrics_contract(method, tmp_path, tiny_encoder):
    over = {}
    if method == "giant":
        over = {"giant.encoder.model": tiny_encoder}
    if method == "transencoder":
        over = {"transencoder.base_model": tiny_encoder}
    run = registry.methods()[method].load_experiment().run
    out = run(SYNTHETIC[method], seeds=[0, 1], profile="smoke", overrides=over,
              out=tmp_path / method, progress=False)  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert check_metrics(metrics, method) == []


def test_the_contract_check_finds_problems():
    good = {"method": "grda", "dataset": "d", "profile": "smoke", "seeds": [0],
            "wall_time_s": 1.0, "peak_mem_mb": 1.0, "notes": [], "results": []}  # fmt: skip
    row = {"model": "grda", "metric": "target_acc", "mean": 1.5, "std": 0.0, "per_seed": [1.5],
           "higher_is_better": True, "paper": None, "paper_source": None}  # fmt: skip
    problems = check_metrics(good | {"results": [row, row | {"model": "Bad Name"}]})
    assert any("outside [0, 1]" in p for p in problems)
    assert any("short lowercase" in p for p in problems)
    assert any("('dann', 'target_acc')" in p for p in problems)
    assert check_metrics({"method": "grda"})[0].startswith("missing key")
    # a row may carry its own seeds (e.g. feature-extractor fits): per_seed follows them
    own = row | {"mean": 0.5, "per_seed": [0.5, 0.5], "seeds": [0, 1]}
    assert not any("per-seed values" in p for p in check_metrics(good | {"results": [own]}))
    bad = own | {"seeds": [0, 1, 2]}
    assert any(
        "2 per-seed values for 3 seeds" in p for p in check_metrics(good | {"results": [bad]})
    )


def test_paired_difference_counts_wins_in_the_right_direction():
    from reprkit.eval.metrics import paired_difference

    mean, std, wins = paired_difference([0.9, 0.8, 0.7], [0.8, 0.85, 0.6])
    assert abs(mean - 0.05) < 1e-12 and wins == 2 and std > 0
    assert paired_difference([1.0, 2.0], [2.0, 3.0], higher_is_better=False)[2] == 2  # MSE
    with pytest.raises(ValueError, match="equally long"):
        paired_difference([1.0], [1.0, 2.0])
