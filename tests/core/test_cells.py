"""The cell engine: order, names, failures, checkpoints and resume; local processes and Ray give
the serial run's results."""

from __future__ import annotations

import json

import pytest

from reprkit.core.cells import Cell, Engine, run_cells


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def count_calls(x: int, log: str) -> int:
    with open(log, "a") as f:
        f.write(f"{x}\n")
    return x + 100


def test_serial_and_processes_return_results_in_cell_order():
    cells = [Cell(f"c{i}", square, (i,), cost=i) for i in range(5)]
    assert run_cells(cells) == [0, 1, 4, 9, 16]
    assert run_cells(cells, Engine(workers=2)) == [0, 1, 4, 9, 16]


def test_bad_engines_and_duplicate_names_fail_before_any_work():
    with pytest.raises(ValueError, match="executor must be one of"):
        Engine("dask").validate()
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        Engine(workers=0).validate()
    with pytest.raises(ValueError, match="ray_address needs executor='ray'"):
        Engine(ray_address="1.2.3.4:6379").validate()
    with pytest.raises(ValueError, match="cell names must be unique"):
        run_cells([Cell("a", square, (1,)), Cell("a", square, (2,))])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_cell_fails_the_run_with_its_name(workers):
    cells = [Cell(f"seed={i}", fail_on_three, (i,)) for i in range(5)]
    with pytest.raises(RuntimeError, match=r"cell 'seed=3' failed: ValueError: three is not"):
        run_cells(cells, Engine(workers=workers))


def test_checkpoints_let_resume_skip_finished_cells(tmp_path):
    log = tmp_path / "calls.txt"
    cells = [Cell(f"s/{i}", count_calls, (i, str(log))) for i in range(3)]
    assert run_cells(cells, checkpoints=tmp_path / "ck") == [100, 101, 102]
    assert len(list((tmp_path / "ck").glob("cell-*.pt"))) == 3
    (tmp_path / "ck" / "cell-s_1.pt").unlink()  # as if the run stopped before cell 1 finished
    assert run_cells(cells, checkpoints=tmp_path / "ck") == [100, 101, 102]
    assert log.read_text().split() == ["0", "1", "2", "1"]  # only cell 1 ran again


def _rows(out):
    return {  # an undefined value (written as null) as NaN
        (r["model"], r["metric"]): [float("nan") if v is None else v for v in r["per_seed"]]
        for r in json.loads((out / "metrics.json").read_text())["results"]
    }


@pytest.mark.parametrize("method,dataset", [("diva", "synthetic_blobs")])
def test_ray_and_processes_give_the_serial_metrics(method, dataset, tmp_path):
    """Serial vs two local processes vs a local Ray with 2 CPUs (one thread per task), on the
    smoke profile: the same rows and values up to float summation order (every method under
    Ray: tests/eval/test_contract.py)."""
    from reprkit.core import registry

    run = registry.methods()[method].load_experiment().run
    args = dict(dataset=dataset, seeds=[0, 1], profile="smoke", device="cpu")
    serial = _rows(run(**args, out=tmp_path / "serial"))
    engines = {"procs": Engine(workers=2)}
    try:
        import ray  # noqa: F401

        engines["ray"] = Engine("ray", workers=2)
    except ImportError:
        pass
    for name, engine in engines.items():
        other = _rows(run(**args, out=tmp_path / name, engine=engine))
        assert other.keys() == serial.keys(), name
        for k, v in serial.items():
            assert other[k] == pytest.approx(v, rel=1e-6, abs=1e-9, nan_ok=True), (name, k)


def test_ray_names_a_failing_cell():
    pytest.importorskip("ray")
    cells = [Cell(f"seed={i}", fail_on_three, (i,)) for i in range(4)]
    with pytest.raises(RuntimeError, match=r"cell 'seed=3' failed: ValueError"):
        run_cells(cells, Engine("ray", workers=2))


def test_an_interrupted_experiment_resumes_from_its_finished_cells(tmp_path, monkeypatch):
    """A cell fails: the run fails naming it and writes nothing; ``resume`` runs only the
    missing cells and gives the uninterrupted run's results."""
    from reprkit.methods.diva import experiment

    args = dict(seeds=[0, 1], profile="smoke", out=tmp_path / "r")
    full = _rows(experiment.run("synthetic_blobs", **{**args, "out": tmp_path / "full"}))
    real = experiment.run_cell
    calls = []

    def failing(x, y, setting, seed, cfg):
        if (setting, seed) == ("imbalance", 1):
            raise ValueError("disk full")
        return real(x, y, setting, seed, cfg)

    monkeypatch.setattr(experiment, "run_cell", failing)
    with pytest.raises(RuntimeError, match=r"cell 'imbalance/seed=1' failed: ValueError: disk"):
        experiment.run("synthetic_blobs", **args)
    assert not (tmp_path / "r").exists()
    assert len(list((tmp_path / "r.checkpoints").glob("cell-*.pt"))) == 3

    def counting(*a):
        calls.append(a[2:4])
        return real(*a)

    monkeypatch.setattr(experiment, "run_cell", counting)
    assert _rows(experiment.run("synthetic_blobs", **args, resume=True)) == full
    assert calls == [("imbalance", 1)]
    assert not (tmp_path / "r.checkpoints").exists()  # removed once the run is written
