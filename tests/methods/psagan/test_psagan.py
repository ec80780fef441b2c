"""PSA-GAN: architecture pieces, schedule, fit/sample/save/load, resume, input checks."""

import numpy as np
import pandas as pd
import pytest
import torch

from reprkit.datasets.timeseries import as_series_array, load_m4_hourly, synthetic_series
from reprkit.methods.psagan import PSAGAN
from reprkit.methods.psagan.config import PSAGANConfig
from reprkit.methods.psagan.forecast import ForecastConfig, Forecaster, nrmse
from reprkit.methods.psagan.method import moment_loss
from reprkit.methods.psagan.nets import Block, Generator, SelfAttention, make_noise
from tests.conftest import shared_file

FAST = {
    "length": 32,
    "epochs": 3,
    "epochs_per_block": 1,
    "batches_per_epoch": 3,
    "batch_size": 16,
    "channels": 8,
}


@pytest.fixture(scope="module")
def data():
    return synthetic_series(n_series=6, length=96, seed=0)


def test_self_attention_starts_as_identity():
    x = torch.randn(2, 8, 16)
    assert torch.equal(SelfAttention(8)(x), x)


def test_generator_grows_and_fades_in():
    cfg = PSAGANConfig(length=32, channels=8, noise_channels=4)
    g = Generator(cfg, cond=3, attention=True).eval()
    noise, cond = make_noise(2, 4, 2, torch.Generator().manual_seed(0)), torch.randn(2, 3, 32)
    for stage, length in enumerate((8, 16, 32)):
        assert g(noise, cond, stage).shape == (2, length)
    # alpha 0: the new block is invisible, the output is the previous stage's, upsampled
    old = g(noise, cond, 1)
    faded = g(noise, cond, 2, alpha=0.0)
    assert torch.allclose(faded, old.repeat_interleave(2, dim=1), atol=1e-6)


def test_schedule_grows_every_epochs_per_block_with_linear_fade():
    m = PSAGAN(length=32, epochs_per_block=4, batches_per_epoch=10)
    assert m.stage_at(0) == (0, 1.0)
    assert m.stage_at(4, 0) == (1, pytest.approx(0.05))  # fade over 2 epochs = 20 batches
    assert m.stage_at(5, 9) == (1, 1.0)
    assert m.stage_at(100)[0] == 2  # stays at full length
    assert PSAGAN(length=32, epochs_per_block=4, fade_in=False).stage_at(4) == (1, 1.0)
    assert PSAGAN(length=32, variant="wgan_gp").stage_at(0) == (2, 1.0)  # no growing
    assert PSAGAN(length=32, progressive=False).stage_at(0) == (2, 1.0)


def test_replicate_padding_has_no_edge_pull():
    # a constant input stays constant at the edges with replicate padding, not with zeros
    x = torch.ones(1, 4, 16)
    for padding, flat in (("replicate", True), ("zeros", False)):
        torch.manual_seed(0)
        b = Block(4, 4, False, False, PSAGANConfig(padding=padding))
        y = b(x)
        assert torch.allclose(y[..., 0], y[..., 8], atol=1e-6) == flat


def test_discriminator_steps_and_warmup_count(data, monkeypatch):
    calls = []
    orig = PSAGAN._step

    def spy(self, nets, stage, alpha, opt_g, opt_d, gen, d_steps=1):
        calls.append(d_steps)
        return orig(self, nets, stage, alpha, opt_g, opt_d, gen, d_steps)

    monkeypatch.setattr(PSAGAN, "_step", spy)
    PSAGAN(**FAST, variant="wgan_gp", d_steps=5, warmup_g_steps=2, warmup_d_steps=3,
           progress=False).fit(data.values)  # fmt: skip
    assert calls == [3, 3] + [5] * (FAST["epochs"] * FAST["batches_per_epoch"] - 2)


def test_moment_loss_is_zero_for_equal_moments():
    a = torch.randn(4, 16)
    assert moment_loss(a, a.flip(1)).item() == pytest.approx(0, abs=1e-6)
    assert moment_loss(a + 1, a).item() == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("variant", ["psagan", "wgan_gp"])
def test_fit_sample_save_load(tmp_path, data, variant):
    m = PSAGAN(variant=variant, **FAST).fit(data.values, seasons=data.seasons)
    x = m.sample(5, generator=torch.Generator().manual_seed(1))
    assert x.shape == (5, 32) and np.isfinite(x).all()
    loaded = PSAGAN.load(m.save(tmp_path / "m"))
    y = loaded.sample(5, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(x, y, rtol=1e-5)
    with pytest.raises(ValueError, match="trained length"):
        m.sample(2, length=64)


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tmp_path, data):
    full = PSAGAN(**FAST | {"epochs": 4}).fit(data.values, seasons=data.seasons)
    ckpt = tmp_path / "ck.pt"
    PSAGAN(**FAST | {"epochs": 2}).fit(data.values, seasons=data.seasons, checkpoint=ckpt)
    seen = []
    resumed = PSAGAN(**FAST | {"epochs": 4}).fit(
        data.values, seasons=data.seasons, checkpoint=ckpt, on_epoch=lambda e, m: seen.append(e)
    )
    assert seen == [2, 3]
    for a, b in zip(
        full.nets_.state_dict().values(), resumed.nets_.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b)
    with pytest.raises(ValueError, match="different data"):
        PSAGAN(**FAST).fit(data.values * 2, seasons=data.seasons, checkpoint=ckpt)


def test_context_variant_needs_context(data):
    m = PSAGAN(**FAST | {"context_length": 16}).fit(data.values, seasons=data.seasons)
    ctx = data.values[:3, :16]
    assert m.sample(context=ctx, series=[0, 1, 2], start=16).shape == (3, 32)
    with pytest.raises(ValueError, match="give context"):
        m.sample(3)
    with pytest.raises(ValueError, match="context must be"):
        m.sample(context=ctx[:, :8], series=[0, 1, 2])


def test_missing_values_and_pandas_inputs(data):
    v = data.values.copy()
    v[0, 10:20] = np.nan  # a gap: filled, windows around it still drawn
    v[1, :] = np.nan
    with pytest.raises(ValueError, match=r"series \[1\] are all missing"):
        PSAGAN(**FAST).fit(v)
    v[1] = data.values[1]
    m = PSAGAN(**FAST | {"epochs": 1}).fit(v, seasons=data.seasons)
    assert np.isfinite(m.sample(2)).all()
    wide = pd.DataFrame(data.values.T)
    assert as_series_array(wide).shape == data.values.shape
    long = wide.reset_index().melt(id_vars="index", var_name="item_id", value_name="target")
    long = long.rename(columns={"index": "timestamp"})
    np.testing.assert_allclose(as_series_array(long), data.values)
    ragged = as_series_array([np.ones(5), np.ones(3)])
    assert ragged.shape == (2, 5) and np.isnan(ragged[1, 3:]).all()


@pytest.mark.parametrize(
    "series, kw, match",
    [
        (np.ones((2, 20)), {}, "shorter than the target length"),
        (np.array([["a", "b"]]), {}, "numbers only"),
        (np.ones((2, 100)), {"length": 48}, "8 times a power of two"),
        (np.ones((2, 100)), {"length": 12}, "8 times a power of two"),
    ],
)
def test_bad_input(series, kw, match):
    with pytest.raises(ValueError, match=match):
        PSAGAN(**FAST | kw).fit(series)


def test_forecaster_learns_a_seasonal_pattern():
    d = synthetic_series(n_series=8, length=400, noise=0.02, seed=0)
    w = 64
    starts = np.arange(0, 300 - w, 8)
    wins = np.concatenate([d.values[i, s : s + w][None] for i in range(8) for s in starts])
    st = np.tile(starts, 8)
    cfg = ForecastConfig(context=40, horizon=24, steps=300)
    f = Forecaster(cfg, seed=0).fit(wins, st, d.seasons)
    ctx_start = np.full(8, 300)
    pred = f.predict(d.values[:, 300:340], ctx_start)
    truth = d.values[:, 340:364]
    naive = np.repeat(d.values[:, 339:340], 24, 1)  # last value carried forward
    assert nrmse(pred, truth) < nrmse(naive, truth)


def test_m4_hourly_loader():
    shared_file("timeseries/m4_hourly/Hourly-train.csv.gz")
    d = load_m4_hourly()
    assert d.values.shape == (414, 960) and d.test.shape == (414, 48)
    assert set(np.unique(d.lengths)) == {700, 960}


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="variant"):
        PSAGANConfig(variant="gan").validate()


def test_synthetic_windows_go_to_gluonts(data):
    pytest.importorskip("gluonts")
    from reprkit.datasets.timeseries import to_gluonts

    m = PSAGAN(**FAST | {"epochs": 1}).fit(data.values, seasons=data.seasons)
    fake = m.sample(3, series=[0, 1, 2], start=[0, 5, 10])
    ds = list(to_gluonts(fake, offsets=[0, 5, 10], item_ids=["a", "b", "c"]))
    assert [e["item_id"] for e in ds] == ["a", "b", "c"] and len(ds[1]["target"]) == 32
    assert (ds[1]["start"] - ds[0]["start"]).n == 5
