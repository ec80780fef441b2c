"""The Trans-Encoder experiment end to end on synthetic pairs with a tiny random BERT."""

import json

import pytest

from reprkit.datasets.text import synthetic_pairs
from reprkit.methods.transencoder.experiment import load_benchmark, resolve_config, run
from tests.conftest import make_tiny_bert, shared_file

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = synthetic_pairs(200, seed=0).a + synthetic_pairs(200, seed=1).b
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_sts_bert"), texts)


def test_smoke_run_reports_every_row_and_resumes(tmp_path, tiny):
    over = {"transencoder.base_model": tiny}
    out = run("synthetic_pairs", [0, 1], "smoke", over, out=tmp_path / "te", progress=False)
    m = json.loads((out / "metrics.json").read_text())
    rows = {(r["model"], r["metric"]): r for r in m["results"]}
    for row in ("start", "start_as_cross", "bi@c1", "cross@c2", "bi", "cross", "start@cls_start",
                "bi@cls_start", "cross@cls_start.c2", "mutual_bi@c1", "mutual_bi",
                "mutual_cross", "mutual_bi@cls_start", "mutual_cross@cls_start.c1"):  # fmt: skip
        assert len(rows[(row, "sts_avg")]["per_seed"]) == 2, row
    # the start is deterministic; the paper's number sits beside the dev-chosen rows
    assert len(set(rows[("start", "spearman_synthetic")]["per_seed"])) == 1
    assert rows[("bi", "sts_avg")]["paper"] == pytest.approx(0.8041)
    assert (out / "cycles.png").is_file() and not (tmp_path / "te.checkpoints").exists()
    assert ("start_as_cross@cls_start", "sts_avg") not in rows  # one untrained cross
    assert any("Cycles chosen on dev" in n for n in m["notes"])
    assert any(n.startswith("mutual_bi/cross@cls_start: STS-B dev") for n in m["notes"])
    with pytest.raises(ValueError, match="resume needs out"):
        run("synthetic_pairs", [0], "smoke", over, resume=True)


def test_bad_arguments_fail_before_work(tmp_path):
    with pytest.raises(ValueError, match="transencoder.base_model must be a local"):
        run("synthetic_pairs", [0], "smoke", {"transencoder.base_model": str(tmp_path)})
    with pytest.raises(ValueError, match="dataset must be one of"):
        run("sts17", [0], "smoke")
    with pytest.raises(ValueError, match="set the experiment's mutual"):
        resolve_config("smoke", {"transencoder.mutual": ("cls",)})
    with pytest.raises(ValueError, match="must be one of starts"):
        resolve_config("smoke", {"starts": ("cls",)})
    with pytest.raises(ValueError, match="per_set must be >= 0"):
        resolve_config("smoke", {"per_set": -1})
    assert not list(tmp_path.iterdir())


def test_the_sts_pool_is_a_fixed_subsample_of_each_set():
    shared_file("sts")
    sets, dev = load_benchmark("sts", 30, 40)
    assert list(sets) == ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr"]
    assert all(len(d) == 30 for d in sets.values()) and len(dev) == 40
    again, _ = load_benchmark("sts", 30, 40)
    assert again["sts14"].a == sets["sts14"].a
