"""Every experiment's smoke run keeps the metrics.json contract (schema, ranges, DESIGN.md rows)."""

from __future__ import annotations

import inspect
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
        params = inspect.signature(registry.methods()[name].load_experiment().run).parameters
        assert {"resume", "engine"} <= set(params), name  # the CLI passes both to every run


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs shared by the module's runs (None without the ray extra)."""
    try:
        import ray
    except ImportError:
        yield None
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _values(out):
    return {  # an undefined value (written as null) as NaN
        (r["model"], r["metric"]): [float("nan") if v is None else v for v in r["per_seed"]]
        for r in json.loads((out / "metrics.json").read_text())["results"]
    }


@pytest.fixture
def one_thread():
    """torch on one thread, as each Ray task: float summation order is then the same."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TIMINGS = {"seconds", "attr_s_per_1k", "search_time_s"}


@pytest.mark.parametrize("method", sorted(SYNTHETIC))
def test_smoke_run_keeps_the_metrics_contract(
    method, tmp_path, tiny_encoder, local_ray, one_thread
):
    """Serial, then the same run as Ray tasks (2 workers, 1 thread each; core/cells.py): the
    contract holds and every result but the timings equals the serial run's, up to float
    summation order (Ray also runs numpy's BLAS on one thread: RIM's Hawkes fits move by 3e-5)."""
    from reprkit.core.cells import Engine

    over = {}
    if method == "giant":
        over = {"giant.encoder.model": tiny_encoder}
    if method == "transencoder":
        over = {"transencoder.base_model": tiny_encoder}
    run = registry.methods()[method].load_experiment().run
    args = dict(seeds=[0, 1], profile="smoke", overrides=over, device="cpu", progress=False)
    out = run(SYNTHETIC[method], out=tmp_path / method, **args)
    metrics = json.loads((out / "metrics.json").read_text())
    assert check_metrics(metrics, method) == []
    if local_ray is None:
        pytest.skip("serial vs Ray needs the ray extra")
    serial = _values(out)
    other = _values(run(SYNTHETIC[method], out=tmp_path / "ray", engine=Engine("ray", 2), **args))
    assert other.keys() == serial.keys()
    for k, v in serial.items():
        if k[1] not in TIMINGS:
            assert other[k] == pytest.approx(v, rel=1e-4, abs=1e-6, nan_ok=True), k


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
