from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reprkit.cli.app import app

runner = CliRunner()


def test_list_and_config():
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 0 and "works" in r.output
    for name in ("coldbrew", "giant", "grda", "psagan", "rim", "transencoder", "deepaa", "diva",
                 "indomain", "trajshap"):  # fmt: skip
        assert name in r.output
    r = runner.invoke(app, ["coldbrew", "config", "--profile", "smoke"])
    assert r.exit_code == 0
    assert json.loads(r.output)["coldbrew"]["teacher"]["epochs"] == 40


def test_smoke_run_writes_a_valid_run_folder(tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(
        app,
        [
            "coldbrew",
            "run",
            "--dataset",
            "synthetic",
            "--seeds",
            "0,1",
            "--profile",
            "smoke",
            "--out",
            str(out),
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    for name in (
        "config.json",
        "env.json",
        "metrics.json",
        "results.md",
        "run.log",
        "accuracy_by_group.png",
    ):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "coldbrew" and m["dataset"] == "synthetic" and m["seeds"] == [0, 1]
    assert m["wall_time_s"] > 0 and m["peak_mem_mb"] > 0
    from reprkit.eval.contract import check_metrics

    assert check_metrics(m, "coldbrew") == []  # schema, ranges and DESIGN.md's rows
    rows = {(row["model"], row["metric"]): row for row in m["results"]}
    assert ("dataset", "fcr") in rows
    # the student must beat chance (1/4) clearly on isolated nodes even in the smoke profile
    assert rows[("coldbrew", "isolated_acc")]["mean"] > 0.45
    assert "| coldbrew |" in (out / "results.md").read_text()


def test_bad_arguments_fail_before_work_and_write_nothing(tmp_path):
    out = tmp_path / "run"
    for args, msg in [
        (["--dataset", "pubmed"], "dataset must be one of"),
        (["--dataset", "cora", "--seeds", "0,x"], "comma-separated integers"),
        (["--dataset", "cora", "--profile", "huge"], "profile must be one of"),
        (["--dataset", "cora", "--set", "coldbrew.teacher.lrr=1"], "did you mean"),
        (["--dataset", "cora", "--device", "tpu"], "device"),
        (
            ["--dataset", "chameleon", "--set", "split.node_split=public"],
            "needs a Planetoid dataset",
        ),
    ]:
        r = runner.invoke(app, ["coldbrew", "run", *args, "--out", str(out)])
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output, (args, r.output)
        assert not out.exists()


def test_giant_smoke_run_with_a_tiny_local_encoder(tmp_path, tiny_bert):
    out = tmp_path / "giant"
    args = ["giant", "run", "--dataset", "synthetic_text", "--seeds", "0,1", "--out", str(out)]
    args += ["--device", "cpu", "--set", f"giant.encoder.model={tiny_bert}"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert (out / "accuracy_by_features.png").is_file()
    m = json.loads((out / "metrics.json").read_text())
    rows = {(row["model"], row["metric"]): row for row in m["results"]}
    for feats in ("tfidf", "minilm", "giant", "xrlinear", "tfidf_nbr"):
        for model in ("mlp", "sage", "gcn"):
            assert len(rows[(f"{model}@{feats}", "acc")]["per_seed"]) == 2
    # topic words make the synthetic communities easy: TF-IDF features must classify well
    assert rows[("mlp@tfidf", "acc")]["mean"] > 0.8


def test_psagan_smoke_run_and_resume(tmp_path):
    out = tmp_path / "psa"
    args = ["psagan", "run", "--dataset", "synthetic_series", "--seeds", "0", "--out", str(out)]
    r = runner.invoke(app, [*args, "--device", "cpu"])
    assert r.exit_code == 0, r.output
    for name in ("samples.png", "context_fid_progress.png", "metrics.json"):
        assert (out / name).is_file(), name
    assert not (tmp_path / "psa.checkpoints").exists()  # removed once the run is written
    rows = {
        (row["model"], row["metric"]): row
        for row in json.loads((out / "metrics.json").read_text())["results"]
    }
    assert {("psagan", "context_fid"), ("wgan_gp", "context_fid")} <= set(rows)
    assert ("forecast@real+psagan", "nrmse_cold_start") in rows
    assert ("forecast@real", "nrmse_gaps") in rows and ("forecast@real", "nrmse") in rows
    r = runner.invoke(app, ["psagan", "run", "--dataset", "synthetic_series", "--resume"])
    assert r.exit_code == 2 and "resume needs out" in r.output
    r = runner.invoke(app, ["grda", "run", "--dataset", "spiral15", "--resume"])
    assert r.exit_code == 2 and "resume needs out" in r.output
    # the GANs trained in two worker processes (one torch thread each): the same numbers up to
    # float summation order, the same progress curve
    r = runner.invoke(app, [*args[:-1], str(tmp_path / "w2"), "--device", "cpu", "--workers", "2"])
    assert r.exit_code == 0, r.output
    rows2 = {
        (row["model"], row["metric"]): row
        for row in json.loads((tmp_path / "w2" / "metrics.json").read_text())["results"]
    }
    assert rows2.keys() == rows.keys()
    for k, row in rows.items():
        assert rows2[k]["per_seed"] == pytest.approx(row["per_seed"], rel=1e-3, abs=1e-4), k
    assert (tmp_path / "w2" / "context_fid_progress.png").is_file()
    r = runner.invoke(app, [*args[:-1], str(tmp_path / "w0"), "--workers", "0"])
    assert r.exit_code == 2 and "workers must be a positive integer" in r.output
    r = runner.invoke(app, ["grda", "run", "--dataset", "spiral15", "--executor", "dask"])
    assert r.exit_code == 2 and "executor must be one of" in r.output
    r = runner.invoke(app, ["grda", "run", "--dataset", "spiral15", "--ray-address", "h:1"])
    assert r.exit_code == 2 and "ray_address needs executor='ray'" in r.output


def test_cli_start_up_imports_no_heavy_library():
    """`reprkit --help` / `reprkit list` stay fast: no torch, numpy, pandas or PyG at start-up."""
    import subprocess
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from reprkit.cli.app import app; "
        "r = CliRunner().invoke(app, ['list']); assert r.exit_code == 0, r.output; "
        "print(','.join(m for m in ('torch', 'numpy', 'pandas', 'torch_geometric') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_compare_prints_two_runs_side_by_side(tmp_path):
    import csv
    import io

    for seed in ("0", "1"):
        args = ["diva", "run", "--dataset", "synthetic_blobs", "--seeds", seed,
                "--out", str(tmp_path / f"s{seed}")]  # fmt: skip
        assert runner.invoke(app, args).exit_code == 0
    r = runner.invoke(app, ["compare", str(tmp_path / "s0"), str(tmp_path / "s1")])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("| model | metric | s0 | s1 | paper |")
    assert "| diva@pairflip40 | detect_auc |" in r.output
    r = runner.invoke(
        app, ["compare", str(tmp_path / "s0"), str(tmp_path / "s1"), "--format", "csv"]
    )
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0] == ["model", "metric", "s0", "s1", "paper"] and len(rows) > 10
    r = runner.invoke(app, ["compare", str(tmp_path / "s0"), "--format", "json"])
    assert json.loads(r.output)[0]["runs"]["s0"]["per_seed"]
    r = runner.invoke(app, ["compare", str(tmp_path)])
    assert r.exit_code == 2 and "not a run folder" in r.output
