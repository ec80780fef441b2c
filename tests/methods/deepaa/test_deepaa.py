"""Deep AutoAugment: the ops, the policy transform, the gradient-matching derivative, errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from reprkit.datasets.images import synthetic_images
from reprkit.methods.deepaa import AugmentPolicy, DeepAutoAugment
from reprkit.methods.deepaa.method import policy_cosines
from reprkit.methods.deepaa.nets import baseline, crop_flip_policy
from reprkit.methods.deepaa.ops import (
    ENTRIES,
    IDENTITY,
    N_MAGNITUDES,
    RANGES,
    apply_entries,
    apply_op,
    magnitudes,
)

pytest.importorskip("kornia")


def _images(n=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255


def test_search_space_is_the_papers():
    # 16 ops with the paper's ranges (12 magnitudes each where an op has one), + flip and crop
    assert len(RANGES) == 18 and {"flip", "crop"} <= set(RANGES)
    assert RANGES["shear_x"] == (-0.3, 0.3) and RANGES["translate_y"] == (-0.45, 0.45)
    assert RANGES["rotate"] == (-30.0, 30.0) and RANGES["posterize"] == (4.0, 8.0)
    assert RANGES["solarize"] == (0.0, 256.0) and RANGES["sharpness"] == (0.1, 1.9)
    with_mag = [op for op, r in RANGES.items() if r is not None]
    assert len(ENTRIES) == N_MAGNITUDES * len(with_mag) + len(RANGES) - len(with_mag) == 150
    for op in with_mag:
        m = magnitudes(op)
        assert len(m) == 12 and m[0] == RANGES[op][0] and m[-1] == pytest.approx(RANGES[op][1])


@pytest.mark.parametrize("op", sorted(IDENTITY))
def test_every_op_at_its_identity_magnitude_leaves_the_image(op):
    x = _images()
    out = apply_op(op, x, IDENTITY[op], torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize("op", ["identity", "invert", "flip"])
def test_magnitude_free_ops(op):
    x = _images()
    gen = torch.Generator().manual_seed(0)
    once = apply_op(op, x, None, gen)
    torch.testing.assert_close(apply_op(op, once, None, gen), x)  # all three are involutions


@pytest.mark.parametrize("op", [op for op, r in RANGES.items() if r is not None and op != "cutout"])
def test_ops_are_batched_per_sample(op):
    # one call with a different magnitude per image == one call per image
    x = _images(4)
    v = torch.tensor(magnitudes(op)[:4], dtype=torch.float64)
    gen = torch.Generator()
    batched = apply_op(op, x, v, gen)
    single = torch.cat([apply_op(op, x[i : i + 1], v[i : i + 1], gen) for i in range(4)])
    torch.testing.assert_close(batched, single, atol=1e-6, rtol=0)
    assert batched.min() >= 0 and batched.max() <= 1


def test_ops_do_what_they_say():
    gen = torch.Generator().manual_seed(0)
    dot = torch.zeros(1, 1, 8, 8)
    dot[0, 0, 4, 2] = 1
    moved = apply_op("translate_x", dot, 0.25, gen)  # 2 pixels to the right, grey fill
    assert moved[0, 0, 4, 4] == 1 and moved[0, 0, 4, 0] == pytest.approx(0.5)
    x = torch.full((1, 3, 8, 8), 0.8)
    assert apply_op("solarize", x, 128.0, gen).max() == pytest.approx(0.2)
    assert apply_op("posterize", torch.full((1, 1, 2, 2), 200 / 255), 4.0, gen).max() * 255 == (
        pytest.approx(192)
    )
    cut = apply_op("cutout", _images(2, 32), 0.25, gen)  # an 8 x 8 grey square (or clipped)
    assert 0 < (cut == 0.5).all(1).sum((1, 2)).max() <= 64


def test_apply_entries_mixes_ops_in_one_batch():
    x = _images(3)
    gen = torch.Generator().manual_seed(0)
    idx = torch.tensor([ENTRIES.index(("identity", None)), ENTRIES.index(("invert", None)), 0])
    out = apply_entries(x, idx, gen)
    torch.testing.assert_close(out[0], x[0])
    torch.testing.assert_close(out[1], 1 - x[1])


def test_policy_uint8_in_out_seeded_and_json_round_trip(tmp_path):
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(3, len(ENTRIES), generator=g, dtype=torch.float64), 1)
    pol = AugmentPolicy(probs)
    x = (_images(10) * 255).to(torch.uint8)
    a = pol(x, torch.Generator().manual_seed(5))
    assert a.dtype == torch.uint8 and a.shape == x.shape
    assert torch.equal(a, pol(x, torch.Generator().manual_seed(5)))
    path = pol.save(tmp_path / "policy.json")
    d = json.loads(path.read_text())
    assert d["layers"][0][0]["p"] >= d["layers"][0][1]["p"]  # likeliest first, readable
    back = AugmentPolicy.load(path)
    torch.testing.assert_close(back.probs, pol.probs)
    assert torch.equal(back(x, torch.Generator().manual_seed(5)), a)
    with pytest.raises(ValueError, match="probs must have shape"):
        AugmentPolicy(torch.ones(2, 3))
    with pytest.raises(ValueError, match="sum to 1"):
        AugmentPolicy(torch.ones(1, len(ENTRIES)))


def test_crop_flip_flips_about_half_and_baselines_run():
    x = _images(400, 8)
    out = crop_flip_policy()(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for name in ("none", "cropflip", "randaugment", "trivialaugment", "autoaugment"):
        aug = baseline(name)
        y = x[:20] if aug is None else aug(x[:20], torch.Generator().manual_seed(0))
        assert y.shape == (20, 3, 8, 8) and y.min() >= 0 and y.max() <= 1
    with pytest.raises(ValueError, match="augmentation must be one of"):
        baseline("mixup")


def test_policy_cosine_gradient_matches_autograd():
    # the JVP form of d cos(g(p), v) / dp equals differentiating the explicit gradient g(p)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Tanh(),
                              torch.nn.Linear(5, 3)).double()  # fmt: skip
    params = {n: p.detach() for n, p in net.named_parameters()}
    x = torch.randn(4 * 2, 12, dtype=torch.float64)
    y = torch.randint(0, 3, (8,))

    def losses(q):
        out = functional_call(net, q, (x,))
        return F.cross_entropy(out, y, reduction="none").view(4, 2).mean(1)

    dirs = [{n: torch.randn_like(p) for n, p in params.items()} for _ in range(2)]
    logits = torch.randn(4, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(logits, 0)
    cos = policy_cosines(losses, params, p, dirs)
    (grad_fast,) = torch.autograd.grad(cos.mean() - cos.std(), logits)

    logits2 = logits.detach().clone().requires_grad_(True)
    p2 = torch.softmax(logits2, 0)
    ps = {n: v.clone().requires_grad_(True) for n, v in params.items()}
    g = torch.autograd.grad((p2 * losses(ps)).sum(), list(ps.values()), create_graph=True)
    flat = torch.cat([t.flatten() for t in g])
    exact = torch.stack([
        F.cosine_similarity(flat, torch.cat([d[n].flatten() for n in params]), dim=0)
        for d in dirs
    ])  # fmt: skip
    torch.testing.assert_close(cos.detach(), exact.detach())
    (grad_exact,) = torch.autograd.grad(exact.mean() - exact.std(), logits2)
    torch.testing.assert_close(grad_fast, grad_exact)


def _tiny(**kw):
    small = {"layers": 2, "steps": 2, "images_per_entry": 1, "val_batch": 6, "net__epochs": 1}
    return DeepAutoAugment(device="cpu", net__batch_size=16, net__width=4, **(small | kw))


def test_fit_gives_a_policy_and_history():
    d = synthetic_images(n_train=60, n_test=8, n_classes=3, size=16, seed=1)
    m = _tiny().fit(d.x_train, d.y_train)
    assert m.policy_.n_layers == 2 and [len(h) for h in m.history_] == [2, 2]
    assert m.transform(d.x_test).dtype == torch.uint8
    # a torch Dataset of (image, label) works as well
    ds = torch.utils.data.TensorDataset(d.x_train, d.y_train)
    torch.testing.assert_close(_tiny().fit(ds).policy_.probs, m.policy_.probs)


def test_bad_input_is_refused():
    d = synthetic_images(n_train=60, n_test=8, n_classes=3, size=16, seed=1)
    m = _tiny()
    with pytest.raises(ValueError, match="0..255"):
        m.fit(d.x_train.int() * 2 - 3, d.y_train)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        m.fit(d.x_train.float(), d.y_train)
    with pytest.raises(ValueError, match="images must be 4-D"):
        m.fit(d.x_train[:, 0], d.y_train)
    with pytest.raises(ValueError, match="at least 2 classes"):
        m.fit(d.x_train, torch.zeros(60, dtype=torch.long))
    with pytest.raises(ValueError, match="one label per image"):
        m.fit(d.x_train, d.y_train[:10])
    with pytest.raises(ValueError, match="need at least 18 images"):
        m.fit(d.x_train[:10], d.y_train[:10])
    with pytest.raises(ValueError, match="init_identity"):
        _tiny(init_identity=1.0).fit(d.x_train, d.y_train)
