"""Every bad input of issue #21, section 1: a clear error naming the argument, or the right result.

An error "from inside" would be a RuntimeError / IndexError / NotImplementedError raised in torch,
numpy or pandas; each case here asserts a ValueError / TypeError with the argument's name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from reprkit.datasets.domains import spiral_domains
from reprkit.datasets.images import synthetic_images
from reprkit.datasets.trajectories import Scenes, synthetic_interaction

RIM_SMALL = {"hidden": 8, "layers": 1, "epochs": 1, "max_len": 8, "intensity": "hawkes"}
GRDA_FAST = {"epochs": 2, "hidden": 16, "disc_hidden": 16, "per_domain": 5}


def _events(scale: float = 1.0, offset: float = 0.0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 30, n)) * scale + offset
    return pd.DataFrame(
        {"user": rng.integers(0, 15, n), "item": rng.integers(0, 10, n), "timestamp": t}
    )


# -- RIM ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", [1.0, 1000.0])  # unix seconds and milliseconds
def test_rim_fits_unix_timestamps_without_observed_until(unit):
    from reprkit.methods.rim import RIM

    df = _events(scale=86400 * unit, offset=1.7e9 * unit)
    m = RIM(**RIM_SMALL).fit(df, horizon=7 * 86400 * unit)
    lam = m.user_intensity(m.users_, df.timestamp.max())
    assert np.isfinite(lam).all() and lam.max() > lam.min()


def test_rim_scalar_observed_until_is_every_users_end():
    from reprkit.methods.rim import RIM

    df = _events()
    a = RIM(**RIM_SMALL).fit(df, horizon=7.0, observed_until=40.0)
    b = RIM(**RIM_SMALL).fit(df, horizon=7.0, observed_until=np.full(df.user.nunique(), 40.0))
    np.testing.assert_allclose(a.scores(a.users_, 31.0), b.scores(b.users_, 31.0))


@pytest.mark.parametrize(
    "kw, err, match",
    [
        ({"horizon": float("nan")}, ValueError, "horizon must be finite"),
        ({"horizon": -1.0}, ValueError, "horizon must be >"),
        ({"horizon": "7d"}, TypeError, "horizon must be a number"),
        ({"horizon": pd.Timedelta(days=1)}, TypeError, "horizon is a time delta"),
        ({"horizon": 7.0, "observed_until": [1.0, 2.0]}, ValueError, "observed_until must be"),
        ({"horizon": 7.0, "user_col": "customer"}, ValueError, "user_col='customer'"),
    ],
)
def test_rim_bad_fit_arguments(kw, err, match):
    from reprkit.methods.rim import RIM

    with pytest.raises(err, match=match):
        RIM(**RIM_SMALL).fit(_events(), **kw)


def test_rim_refuses_ids_of_another_type():
    from reprkit.methods.rim import RIM

    m = RIM(**RIM_SMALL).fit(_events(), horizon=7.0)
    with pytest.raises(
        TypeError, match="users holds str ids but the model was fitted with integer"
    ):
        m.recommend(["1"], k=3, at=31.0)
    with pytest.raises(TypeError, match="items holds str ids"):
        m.intensity([1], ["3"], at=31.0)
    with pytest.raises(ValueError, match="at must be finite|at holds"):
        m.recommend([1], k=3, at=float("nan"))


# -- GRDA -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spiral():
    return spiral_domains(n_domains=6, per_domain=30, seed=0)


def _grda(d, x=None, y=None, **kw):
    from reprkit.methods.grda import GRDA

    m = GRDA(**GRDA_FAST)
    return m.fit(d.x if x is None else x, d.y if y is None else y, d.domain, d.A, d.sources, **kw)


def test_grda_nan_features_are_refused(spiral):
    x = spiral.x.copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="x holds 1 NaN"):
        _grda(spiral, x=x)


def test_grda_float_labels_are_not_silently_regression(spiral):
    yf = spiral.y.astype(np.float64)
    with pytest.raises(ValueError, match="task="):
        _grda(spiral, y=yf)
    yf[np.isin(spiral.domain, spiral.targets)] = np.nan  # unlabelled target rows
    a = _grda(spiral, y=yf, task="classification")
    b = _grda(spiral)
    assert a.task_ == "classification"
    np.testing.assert_array_equal(
        a.predict(spiral.x, spiral.domain), b.predict(spiral.x, spiral.domain)
    )


def test_grda_predict_checks_width_and_length(spiral):
    m = _grda(spiral)
    with pytest.raises(ValueError, match="x must have 2 features"):
        m.predict(np.zeros((4, 3)), np.zeros(4, int))
    with pytest.raises(ValueError, match="domain must have length 4"):
        m.predict(np.zeros((4, 2)), np.zeros(5, int))
    with pytest.raises(ValueError, match="x must be 2-D"):
        m.predict(np.zeros(4), np.zeros(4, int))


# -- Cold Brew ------------------------------------------------------------------------------------


def test_coldbrew_refuses_an_ambiguous_integer_mask(synthetic):
    from reprkit.methods.coldbrew import ColdBrew

    data = synthetic.clone()
    data.train_mask = (torch.arange(data.num_nodes) % 5 == 0).long()  # 0/1 int64 of length N
    with pytest.raises(TypeError, match="0/1 integer array .* pass a bool"):
        ColdBrew(teacher__epochs=1, student__epochs=1).fit(data)


# -- Shapley attribution --------------------------------------------------------------------------


class _PastOnly(torch.nn.Module):
    """Uses the target's past only: every neighbour must get exactly 0."""

    obs_len = 2

    def forward(self, past, present):
        v = past[:, 0, -1] - past[:, 0, -2]  # (B, 2)
        return (v[:, None, None, :] * torch.arange(1, 13)[None, None, :, None]).float()


def _scenes():
    return synthetic_interaction(n=12, seed=0)


@pytest.mark.parametrize(
    "convert",
    [
        lambda s: Scenes(s.past, s.present.astype(np.int64), s.future),
        lambda s: Scenes(s.past, s.present.astype(np.float32), s.future),
        lambda s: Scenes(
            torch.from_numpy(s.past), torch.from_numpy(s.present), torch.from_numpy(s.future)
        ),
        lambda s: Scenes(s.past.astype(np.float64), s.present, s.future.astype(np.float64)),
    ],
    ids=["int_present", "float_present", "torch", "float64"],
)
def test_shapley_takes_scenes_in_other_types_and_gives_the_same_values(convert):
    from reprkit.methods.trajshap.shapley import ShapleyAttribution

    s = _scenes()
    att = ShapleyAttribution(_PastOnly(), estimator="exact", seed=0)
    ref = att.attribute(s)
    got = att.attribute(convert(s))
    np.testing.assert_allclose(got.phi, ref.phi, atol=1e-6)
    assert np.all(got.phi[:, 1:] == 0)  # neighbours the model ignores get nothing


def test_shapley_refuses_present_that_is_not_0_1():
    s = _scenes()
    with pytest.raises(ValueError, match="present must be bool or 0/1"):
        Scenes(s.past, s.present * 2.5, s.future)


# -- DeepAA ---------------------------------------------------------------------------------------


def test_deepaa_policy_keeps_an_hwc_batch_hwc():
    from reprkit.methods.deepaa import AugmentPolicy
    from reprkit.methods.deepaa.ops import ENTRIES

    d = synthetic_images(n_train=8, n_test=2, size=16, seed=0)
    pol = AugmentPolicy(torch.full((2, len(ENTRIES)), 1.0 / len(ENTRIES)))
    nchw = d.x_train
    nhwc = nchw.permute(0, 2, 3, 1).numpy()
    for seed in range(6):
        a = pol(nchw, torch.Generator().manual_seed(seed))
        b = pol(nhwc, torch.Generator().manual_seed(seed))
        assert isinstance(b, np.ndarray) and b.shape == nhwc.shape and b.dtype == np.uint8
        np.testing.assert_array_equal(b, a.permute(0, 2, 3, 1).numpy())


def test_deepaa_policy_refuses_float_0_255_and_ambiguous_layouts():
    from reprkit.methods.deepaa import AugmentPolicy
    from reprkit.methods.deepaa.ops import ENTRIES

    pol = AugmentPolicy(torch.full((1, len(ENTRIES)), 1.0 / len(ENTRIES)))
    with pytest.raises(ValueError, match=r"float images must be finite and in \[0, 1\]"):
        pol(torch.full((2, 3, 8, 8), 200.0))
    with pytest.raises(ValueError, match="ambiguous"):
        pol(torch.zeros((2, 3, 8, 3), dtype=torch.uint8))


# -- PSA-GAN --------------------------------------------------------------------------------------

PSA_FAST = {"length": 16, "epochs": 1, "epochs_per_block": 1, "batches_per_epoch": 1,
            "batch_size": 4, "channels": 4}  # fmt: skip


def _long_frame():
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=40, freq="h")
    return pd.DataFrame(
        {"store": np.repeat([7, 9], 40), "t": np.tile(t, 2), "sales": rng.gamma(2, 3, 80)}
    )


def test_psagan_long_frame_with_renamed_columns():
    from reprkit.methods.psagan import PSAGAN

    df = _long_frame()
    with pytest.raises(ValueError, match="item_col=, time_col=, target_col="):
        PSAGAN(**PSA_FAST).fit(df, seasons=(24,))
    m = PSAGAN(**PSA_FAST).fit(
        df, seasons=(24,), item_col="store", time_col="t", target_col="sales"
    )
    assert m.series_ids_.tolist() == [7, 9]
    wide = df.pivot(index="t", columns="store", values="sales").to_numpy().T
    ref = PSAGAN(**PSA_FAST).fit(wide, seasons=(24,))
    np.testing.assert_allclose(m.scale_, ref.scale_)
    assert m.sample(series=[9, 7], start=0).shape == (2, 16)
    with pytest.raises(ValueError, match="unknown names"):
        m.sample(series=[8], start=0)


def test_psagan_wide_frame_with_shuffled_datetime_index_is_put_in_time_order():
    from reprkit.datasets.timeseries import as_series_array

    df = _long_frame().pivot(index="t", columns="store", values="sales")
    shuffled = df.sample(frac=1.0, random_state=0)
    np.testing.assert_array_equal(as_series_array(shuffled), as_series_array(df))


def test_psagan_refuses_a_checkpoint_of_another_config(tmp_path):
    from reprkit.methods.psagan import PSAGAN

    x = _long_frame().pivot(index="t", columns="store", values="sales").to_numpy().T
    ck = tmp_path / "ck.pt"
    PSAGAN(**PSA_FAST).fit(x, seasons=(24,), checkpoint=ck)
    with pytest.raises(ValueError, match=r"another config \(lr: 0.0005 -> 0.1"):
        PSAGAN(**PSA_FAST | {"lr": 0.1}).fit(x, seasons=(24,), checkpoint=ck)


# -- Trans-Encoder --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_te(tmp_path_factory):
    from reprkit.datasets.text import synthetic_pairs
    from reprkit.methods.transencoder import TransEncoder
    from tests.conftest import make_tiny_bert

    data = synthetic_pairs(16, seed=0)
    tiny = make_tiny_bert(tmp_path_factory.mktemp("te"), data.a + data.b + ["hello world"])
    small = {
        "cycles": 1,
        "cross_epochs": 0.01,
        "bi_epochs": 0.01,
        "batch_cross": 8,
        "batch_bi": 8,
        "max_length": 16,
    }
    return TransEncoder(base_model=tiny, **small), data


def test_transencoder_encodes_a_bare_string_and_refuses_nan_gold(tiny_te):
    m, data = tiny_te
    m.fit(data.pairs())
    one = m.encode("hello world")
    assert one.shape[0] == 1
    np.testing.assert_allclose(one, m.encode(["hello world"]))
    np.testing.assert_allclose(m.encode(pd.Series(["hello world"])), one)
    gold = np.linspace(0, 5, len(data.pairs()))
    gold[2] = np.nan
    with pytest.raises(ValueError, match="dev gold scores holds 1 NaN"):
        m.fit(data.pairs(), dev=(data.pairs(), gold))


# -- save() never deletes a run folder -------------------------------------------------------------


def test_a_model_save_onto_a_run_folder_is_refused(tmp_path):
    from reprkit.methods.diva import DIVA

    run = tmp_path / "run"
    run.mkdir()
    for f in ("config.json", "metrics.json", "results.md"):
        (run / f).write_text("{}")
    rng = np.random.default_rng(0)
    m = DIVA().fit(rng.normal(size=(30, 3)), rng.integers(0, 2, 30))
    with pytest.raises(ValueError, match="holds a reprkit run"):
        m.save(run)
    assert (run / "metrics.json").exists() and (run / "results.md").exists()


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_unwritable_out_names_the_users_path(tmp_path):
    from typer.testing import CliRunner

    from reprkit.cli.app import app

    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "run"
    r = CliRunner().invoke(app, ["rim", "run", "--dataset", "synthetic_events", "--seeds", "0",
                                 "--out", str(out)])  # fmt: skip
    text = r.output.replace("\n", "")
    assert r.exit_code == 2 and f"cannot write '{out}'" in text and ".tmp" not in text


def test_cli_sigterm_leaves_no_partial_folder(tmp_path):
    out = tmp_path / "run"
    env = os.environ | {"MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "reprkit", "psagan", "run", "--dataset", "synthetic_series",
           "--seeds", "0,1,2,3,4,5,6,7", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".run.*.tmp")):
        time.sleep(0.1)
    assert list(tmp_path.glob(".run.*.tmp")), "the run never started writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert not list(tmp_path.glob(".run.*.tmp")) and not out.exists()


def test_cli_resume_with_another_config_is_refused(tmp_path):
    from reprkit.eval.report import RunRecorder

    rec = RunRecorder("m", "d", "smoke", [0], {"lr": 0.1, "net": {"width": 4}}, tmp_path / "r",
                      torch.device("cpu"))  # fmt: skip
    rec.checkpoints(resume=False)
    again = RunRecorder("m", "d", "smoke", [0], {"lr": 0.1, "net": {"width": 8}}, tmp_path / "r",
                        torch.device("cpu"))  # fmt: skip
    with pytest.raises(ValueError, match=r"another config \(net.width: 4 -> 8\)"):
        again.checkpoints(resume=True)
    RunRecorder(
        "m",
        "d",
        "smoke",
        [0],
        {"lr": 0.1, "net": {"width": 4}},
        tmp_path / "r",
        torch.device("cpu"),
    ).checkpoints(resume=True)  # fmt: skip  (same config: fine)


def test_attribute_refuses_what_is_not_scenes():
    from reprkit.methods.trajshap.models import ConstantVelocity
    from reprkit.methods.trajshap.shapley import ShapleyAttribution

    with pytest.raises(TypeError, match="scenes must be a Scenes"):
        ShapleyAttribution(ConstantVelocity(k=1)).attribute([1, 2])


def test_a_sweep_of_bad_inputs_gets_clear_errors_from_reprkit_itself():
    """Wrong types, shapes, NaN, lengths and values at every method's public verbs: each must be
    a ValueError / TypeError / KeyError raised by reprkit's own checks (the last frame is in
    reprkit), never an error from inside torch / numpy / pandas, and never accepted."""
    import traceback

    from torch_geometric.data import Data

    from reprkit.datasets.graphs import synthetic_graph
    from reprkit.datasets.timeseries import synthetic_series
    from reprkit.methods.coldbrew import ColdBrew
    from reprkit.methods.deepaa import AugmentPolicy, DeepAutoAugment
    from reprkit.methods.diva import DIVA
    from reprkit.methods.giant import GiantXRT
    from reprkit.methods.grda import GRDA
    from reprkit.methods.indomain.splits import make_split
    from reprkit.methods.psagan import PSAGAN
    from reprkit.methods.rim import RIM
    from reprkit.methods.trajshap.models import ConstantVelocity
    from reprkit.methods.trajshap.shapley import ShapleyAttribution

    bad = []

    def tryit(name, fn):
        try:
            fn()
            bad.append(f"{name}: accepted")
        except (ValueError, TypeError, KeyError) as e:
            where = traceback.extract_tb(e.__traceback__)[-1].filename
            if "reprkit" not in where:
                bad.append(f"{name}: {type(e).__name__} from {where}: {e}")
        except Exception as e:  # noqa: BLE001 (any other error is a finding)
            bad.append(f"{name}: {type(e).__name__}: {e}")

    g = synthetic_graph(n_nodes=100, n_classes=3, n_features=8, seed=0)
    CB = dict(teacher__epochs=2, student__epochs=2)
    m = ColdBrew(**CB).fit(g)
    d = spiral_domains(n_domains=4, per_domain=20, seed=0)
    G = dict(epochs=1, hidden=8, disc_hidden=8, per_domain=5)
    gm = GRDA(**G).fit(d.x, d.y, d.domain, d.A, d.sources)
    s = synthetic_series(n_series=3, length=64, seed=0)
    P = dict(length=16, epochs=1, batches_per_epoch=1, batch_size=4, channels=4)
    pm = PSAGAN(**P).fit(s.values, seasons=(24,))
    ev = pd.DataFrame(
        {"user": [1, 2, 1, 2] * 10, "item": [1, 2, 3, 1] * 10, "timestamp": np.arange(40.0)}
    )
    R = dict(epochs=1, hidden=8)
    rm = RIM(**R).fit(ev, horizon=5.0)
    dm = DIVA().fit(np.random.rand(20, 2), np.arange(20) % 2)
    im = synthetic_images(n_train=40, n_test=2, n_classes=2, size=16, seed=0)
    DA = dict(
        layers=1,
        steps=1,
        tasks=2,
        val_per_task=4,
        net__epochs=1,
        net__batch_size=8,
        net__width=4,
    )
    sc = synthetic_interaction(n=10, seed=0)
    tryit(
        "cb x strings",
        lambda: ColdBrew(**CB).fit(
            Data(x=np.array([["a"] * 8] * 100), edge_index=g.edge_index, y=g.y)
        ),
    )
    tryit(
        "cb x 3d",
        lambda: ColdBrew(**CB).fit(Data(x=g.x[:, :, None], edge_index=g.edge_index, y=g.y)),
    )
    tryit(
        "cb y wrong len",
        lambda: ColdBrew(**CB).fit(Data(x=g.x, edge_index=g.edge_index, y=g.y[:50])),
    )
    tryit(
        "cb edge 3xE",
        lambda: ColdBrew(**CB).fit(
            Data(x=g.x, edge_index=torch.zeros(3, 5, dtype=torch.long), y=g.y)
        ),
    )
    tryit("cb no data", lambda: ColdBrew(**CB).fit(None))
    tryit("cb predict 1d", lambda: m.predict(np.zeros(8)))
    tryit("cb predict str", lambda: m.predict([["a"] * 8]))
    tryit("cb predict nan", lambda: m.predict(np.full((2, 8), np.nan)))
    tryit("cb node_ids wrong", lambda: m.predict(np.zeros((2, 8)), node_ids=[1]))
    tryit("cb node_ids str", lambda: m.predict(np.zeros((2, 8)), node_ids=["a", "b"]))
    tryit(
        "grda x str",
        lambda: GRDA(**G).fit(np.array([["a", "b"]] * len(d.x)), d.y, d.domain, d.A, d.sources),
    )
    tryit("grda y wrong len", lambda: GRDA(**G).fit(d.x, d.y[:5], d.domain, d.A, d.sources))
    tryit(
        "grda graph 3d", lambda: GRDA(**G).fit(d.x, d.y, d.domain, np.zeros((2, 2, 2)), d.sources)
    )
    tryit("grda graph str", lambda: GRDA(**G).fit(d.x, d.y, d.domain, "graph", d.sources))
    tryit("grda dom float", lambda: GRDA(**G).fit(d.x, d.y, d.domain + 0.5, d.A, d.sources))
    tryit("grda sources str", lambda: GRDA(**G).fit(d.x, d.y, d.domain, d.A, "0"))
    tryit("grda predict unknown dom", lambda: gm.predict(d.x[:2], [9, 9]))
    tryit("grda predict nan", lambda: gm.predict(np.full((2, 2), np.nan), [0, 0]))
    tryit("psa 3d", lambda: PSAGAN(**P).fit(s.values[:, :, None]))
    tryit("psa str", lambda: PSAGAN(**P).fit(np.array([["a"] * 64] * 3)))
    tryit("psa short", lambda: PSAGAN(**P).fit(s.values[:, :8]))
    tryit("psa seasons str", lambda: PSAGAN(**P).fit(s.values, seasons="24"))
    tryit("psa sample n str", lambda: pm.sample("3"))
    tryit("psa sample n neg", lambda: pm.sample(-1))
    tryit("psa sample start str", lambda: pm.sample(2, start=["a", "b"]))
    tryit("psa sample length", lambda: pm.sample(2, length=8))
    tryit("rim events list", lambda: RIM(**R).fit([1, 2, 3], horizon=1.0))
    tryit("rim horizon str", lambda: RIM(**R).fit(ev, horizon="1"))
    tryit("rim horizon none", lambda: RIM(**R).fit(ev, horizon=None))
    tryit("rim nan user", lambda: RIM(**R).fit(ev.assign(user=[None] + [1] * 39), horizon=1.0))
    tryit("rim intensity bad", lambda: RIM(intensity="foo"))
    tryit("rim k str", lambda: rm.recommend([1], k="2", at=40.0))
    tryit("rim k 0", lambda: rm.recommend([1], k=0, at=40.0))
    tryit("rim at str", lambda: rm.recommend([1], k=1, at="x"))
    tryit("rim at wrong len", lambda: rm.recommend([1, 2], k=1, at=[1.0, 2.0, 3.0]))
    tryit("rim audience unknown item", lambda: rm.audience([99], c=1, at=40.0))
    tryit("rim users 2d", lambda: rm.recommend([[1]], k=1, at=40.0))
    tryit(
        "rim match neg",
        lambda: rm.match([1, 2], [1, 2], 40.0, max_per_user=-1, min_exposure_per_item=0),
    )
    tryit("diva 1d", lambda: DIVA().fit(np.zeros(10), np.zeros(10)))
    tryit("diva nan", lambda: DIVA().fit(np.full((10, 2), np.nan), np.arange(10) % 2))
    tryit("diva len", lambda: DIVA().fit(np.zeros((10, 2)), np.arange(5) % 2))
    tryit("diva one class", lambda: DIVA().fit(np.random.rand(10, 2), np.zeros(10)))
    tryit(
        "diva weight neg",
        lambda: DIVA().fit(np.random.rand(10, 2), np.arange(10) % 2, sample_weight=-np.ones(10)),
    )
    tryit("diva predict width", lambda: dm.predict(np.zeros((2, 3))))
    tryit("diva extend width", lambda: dm.extend(np.zeros((2, 3)), [0, 1]))
    tryit("diva extend unknown label", lambda: dm.extend(np.zeros((2, 2)), [0, 7]))
    tryit("diva reweight steps neg", lambda: dm.reweight(steps=-1))
    tryit("diva detect eps str", lambda: dm.detect(eps="a"))
    tryit("deepaa 3d", lambda: DeepAutoAugment(**DA).fit(im.x_train[:, 0], im.y_train))
    tryit("deepaa labels nan", lambda: DeepAutoAugment(**DA).fit(im.x_train, np.full(40, np.nan)))
    tryit(
        "deepaa 5 channels",
        lambda: DeepAutoAugment(**DA).fit(
            torch.zeros(40, 5, 16, 16, dtype=torch.uint8), im.y_train
        ),
    )
    tryit("policy probs bad", lambda: AugmentPolicy(torch.ones(2, 3)))
    tryit("giant texts len", lambda: GiantXRT(encoder__kind="linear").fit(g, ["a b"] * 5))
    tryit(
        "giant edge 3",
        lambda: GiantXRT(encoder__kind="linear").fit(np.zeros((3, 3), int), ["a b"] * 5),
    )
    tryit("split kind", lambda: make_split(np.zeros((4, 2), int), "foo", 0.2))
    tryit("split str factors", lambda: make_split(np.array([["a", "b"]] * 4), "random", 0.2))
    tryit("split ratio str", lambda: make_split(np.zeros((4, 2), int), "random", "0.2"))
    tryit(
        "scenes 3d past",
        lambda: ShapleyAttribution(ConstantVelocity(k=1)).attribute(
            Scenes(sc.past[:, 0], sc.present, sc.future)
        ),
    )
    tryit(
        "scenes len mismatch",
        lambda: ShapleyAttribution(ConstantVelocity(k=1)).attribute(
            Scenes(sc.past, sc.present[:5], sc.future)
        ),
    )
    tryit("shap n_samples str", lambda: ShapleyAttribution(ConstantVelocity(k=1), n_samples="8"))
    tryit("shap model none", lambda: ShapleyAttribution(None))
    assert bad == []
