"""Deep AutoAugment: the ops, the policy transform, the gradient-matching derivative, errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from reprkit.datasets.images import synthetic_images
from reprkit.methods.deepaa import AugmentPolicy, DeepAutoAugment
from reprkit.methods.deepaa.method import entry_importance, weighted_grad
from reprkit.methods.deepaa.nets import baseline, crop_flip_policy
from reprkit.methods.deepaa.ops import (
    ENTRIES,
    ENTRY_LEVELS,
    IDENTITY_LEVEL,
    N_LEVELS,
    RANGES,
    apply_entries,
    apply_op,
    level_value,
    levels,
)

OFFICIAL = [pytest.param(f"policy_DeepAA_cifar_{k}.npz", id=f"cifar_{k}") for k in (1, 2)]

pytest.importorskip("kornia")


def _images(n=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255


def test_search_space_is_the_official_one():
    # official aug_op_cifar_list: 18 ops; 13 levels less the identity level -> 1 + 11 x 12 + 6
    assert len(RANGES) == 18 and list(RANGES)[-3:] == ["flip", "cutout", "crop"]
    assert RANGES["shear_x"] == (-0.3, 0.3) and RANGES["translate_y"] == (-0.45, 0.45)
    assert RANGES["rotate"] == (-30.0, 30.0) and RANGES["posterize"] == (4.0, 8.0)
    assert RANGES["solarize"] == (0.0, 256.0) and RANGES["sharpness"] == (0.1, 1.9)
    assert len(ENTRIES) == 139 and ENTRIES[0] == ("identity", None)
    for op, r in RANGES.items():
        if r is not None:
            assert len(levels(op)) == 12 and IDENTITY_LEVEL[op] not in levels(op)
            assert level_value(op, 0) == r[0] and level_value(op, N_LEVELS - 1) == pytest.approx(
                r[1]
            )


@pytest.mark.parametrize("op", sorted(op for op, r in RANGES.items() if r is not None))
def test_every_op_at_its_identity_level_leaves_the_image(op):
    # the level left out of the search space is the one that does nothing
    x = _images()
    out = apply_op(op, x, level_value(op, IDENTITY_LEVEL[op]), torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize("op", ["identity", "invert"])
def test_magnitude_free_ops(op):
    x = _images()
    gen = torch.Generator().manual_seed(0)
    once = apply_op(op, x, None, gen)
    torch.testing.assert_close(apply_op(op, once, None, gen), x)  # involutions


@pytest.mark.parametrize("op", [op for op, r in RANGES.items() if r is not None])
def test_ops_are_batched_per_sample(op):
    # one call with a different magnitude per image == one call per image
    x = _images(4)
    v = torch.tensor([level_value(op, k) for k in levels(op)[:4]], dtype=torch.float64)
    gen = torch.Generator()
    batched = apply_op(op, x, v, gen)
    single = torch.cat([apply_op(op, x[i : i + 1], v[i : i + 1], gen) for i in range(4)])
    torch.testing.assert_close(batched, single, atol=1e-6, rtol=0)
    assert batched.min() >= 0 and batched.max() <= 1


def test_ops_do_what_they_say():
    gen = torch.Generator().manual_seed(0)
    dot = torch.zeros(1, 1, 8, 8)
    dot[0, 0, 4, 4] = 1
    moved = apply_op("translate_x", dot, 0.25, gen)  # PIL: input x = output x + 2 px
    assert moved[0, 0, 4, 2] == 1 and moved[0, 0, 4, 7] == 0  # black fill from outside
    sheared = apply_op("shear_x", torch.ones(1, 1, 8, 8), 0.25, gen)  # about the top-left corner
    assert sheared[0, 0, 0, :].min() == pytest.approx(1, abs=0.2) and sheared[0, 0, 7, 7] < 0.5
    x = torch.full((1, 3, 8, 8), 0.8)
    assert apply_op("solarize", x, 128.0, gen).max() == pytest.approx(0.2)
    # posterize keeps int(bits): 4.67 bits -> 4
    assert apply_op("posterize", torch.full((1, 1, 2, 2), 200 / 255), 4.67, gen).max() * 255 == (
        pytest.approx(192)
    )
    cut = apply_op("cutout", torch.zeros(200, 3, 32, 32), None, gen)  # 16 px mean-colour square
    area = (cut[:, 0] > 0).sum((1, 2))
    assert area.max() == 256 and area.min() >= 64  # clipped at the border
    assert cut[:, :, :, :].amax((0, 2, 3)).mul(255).round().tolist() == [125, 123, 114]
    flipped = apply_op("flip", _images(400, 8), None, gen)
    same = (flipped == _images(400, 8)).flatten(1).all(1).float().mean()
    assert 0.4 < same < 0.6  # random flip, p = 0.5
    crop = apply_op("crop", torch.zeros(50, 3, 32, 32), None, gen)  # padded 4 px, mean colour
    assert (crop[:, 0] > 0).sum((1, 2)).max() <= 32 * 8 + 32 * 8 - 16


def test_random_sign_flips_signed_ops_about_half_the_time():
    dot = torch.zeros(400, 1, 9, 9)
    dot[:, 0, 4, 4] = 1
    j = ENTRY_LEVELS.index(("translate_x", 0))  # -0.45 of the width
    idx = torch.full((400,), j)
    gen = torch.Generator().manual_seed(0)
    fixed = apply_entries(dot, idx, gen)
    assert torch.equal(fixed, fixed[:1].expand_as(fixed))  # search: explicit sign
    mixed = apply_entries(dot, idx, gen, random_sign=True)
    left = (mixed == fixed[:1]).flatten(1).all(1).float().mean()
    assert 0.4 < left < 0.6


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
    assert torch.equal(back.probs, pol.probs)  # exact
    assert torch.equal(back(x, torch.Generator().manual_seed(5)), a)
    with pytest.raises(ValueError, match="probs must have shape"):
        AugmentPolicy(torch.ones(2, 3))
    with pytest.raises(ValueError, match="sum to 1"):
        AugmentPolicy(torch.ones(1, len(ENTRIES)))
    with pytest.raises(ValueError, match="150-entry"):
        AugmentPolicy.from_dict({"format": "reprkit.deepaa.policy/1", "layers": []})


@pytest.mark.parametrize("name", OFFICIAL)
def test_released_policy_maps_exactly_onto_ours(name, tmp_path):
    import numpy as np

    from reprkit.datasets._files import data_root

    root = data_root()
    if root is None or not (root / "deepaa_policies" / name).exists():
        pytest.skip("the released policies are staged under REPRKIT_DATA/deepaa_policies")
    npz = root / "deepaa_policies" / name
    d = np.load(npz)
    pol = AugmentPolicy.load(npz)  # one line, by suffix
    assert pol.n_layers == 6 and pol.random_sign
    torch.testing.assert_close(pol.probs.sum(1), torch.ones(6, dtype=torch.float64))
    ours = list(RANGES)
    for i, (op_i, level) in enumerate(zip(d["ops"].ravel(), d["mags"].ravel(), strict=True)):
        op = ours[op_i]
        j = ENTRY_LEVELS.index((op, None if RANGES[op] is None else int(level)))
        # the same op (official name), the same magnitude value, the same probability
        assert str(d["op_names"][op_i]).split(":")[0].lower() == op.replace("_", "").replace(
            "flip", "randflip"
        ).replace("cutout", "randcutout").replace("crop", "randcrop")
        if RANGES[op] is not None:
            lo, hi = (
                float(t) for t in str(d["op_names"][op_i]).split("(")[1].rstrip(")").split(",,")
            )
            assert ENTRIES[j][1] == pytest.approx(lo + (hi - lo) * level / 12)
        torch.testing.assert_close(pol.probs[:, j], torch.from_numpy(d["policy_probs"][:, i]).double(),
                                   atol=1e-6, rtol=0)  # fmt: skip
    back = AugmentPolicy.load(pol.save(tmp_path / "p.json"))
    assert torch.equal(back.probs, pol.probs) and back.random_sign


def test_per_image_in_a_dataloader_and_per_batch_give_the_same_ops():
    # layer 1: invert with p = 0.3; per image in 2 DataLoader workers (own seeded streams) and
    # per batch on one generator, the inverted fraction matches (and each path is reproducible)
    p = torch.zeros(1, len(ENTRIES), dtype=torch.float64)
    p[0, ENTRIES.index(("invert", None))] = 0.3
    p[0, 0] = 0.7
    pol = AugmentPolicy(p)
    n = 2000
    imgs = torch.zeros(n, 3, 4, 4, dtype=torch.uint8)

    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):  # an (H, W, C) uint8 array, as most image loaders give
            return pol(imgs[i].permute(1, 2, 0).numpy())

    def per_image():
        torch.manual_seed(3)
        dl = torch.utils.data.DataLoader(DS(), batch_size=100, num_workers=2)
        return torch.cat([torch.as_tensor(b) for b in dl])

    a = per_image()
    assert a.shape == (n, 4, 4, 3) and a.dtype == torch.uint8
    assert torch.equal(a, per_image())  # seeded per worker
    batch = pol(imgs, torch.Generator().manual_seed(0))
    frac_img = (a[:, 0, 0, 0] == 255).float().mean()
    frac_batch = (batch[:, 0, 0, 0] == 255).float().mean()
    assert abs(frac_img - 0.3) < 0.04 and abs(frac_batch - 0.3) < 0.04
    # one (C, H, W) float tensor in, the same back
    one = pol(torch.zeros(3, 4, 4), torch.Generator().manual_seed(0))
    assert one.shape == (3, 4, 4) and one.dtype == torch.float32


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


def test_entry_importance_is_the_derivative_of_the_cosine():
    # the JVP form (official tangent) equals d cos(sum_j w_j grad L_j, v) / d w by autograd
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Tanh(),
                              torch.nn.Linear(5, 3)).double()  # fmt: skip
    params = {n: p.detach() for n, p in net.named_parameters()}
    x = torch.randn(4, 12, dtype=torch.float64)
    y = torch.randint(0, 3, (4,))

    def losses(q):
        return F.cross_entropy(functional_call(net, q, (x,)), y, reduction="none")

    v = {n: torch.randn_like(p) for n, p in params.items()}
    w = torch.softmax(torch.randn(4, dtype=torch.float64), 0)
    cos, d = entry_importance(losses, params, weighted_grad(losses, params, w), v)

    w2 = w.clone().requires_grad_(True)
    ps = {n: t.clone().requires_grad_(True) for n, t in params.items()}
    g = torch.autograd.grad((w2 * losses(ps)).sum(), list(ps.values()), create_graph=True)
    exact = F.cosine_similarity(torch.cat([t.flatten() for t in g]),
                                torch.cat([v[n].flatten() for n in params]), dim=0)  # fmt: skip
    assert cos == pytest.approx(float(exact.detach()))
    (d_exact,) = torch.autograd.grad(exact, w2)
    torch.testing.assert_close(d, d_exact)


def _tiny(**kw):
    small = {"layers": 2, "steps": 2, "tasks": 2, "val_per_task": 4, "net__epochs": 1}
    return DeepAutoAugment(device="cpu", net__batch_size=16, net__width=4, **(small | kw))


def test_fit_gives_a_policy_and_history():
    d = synthetic_images(n_train=100, n_test=8, n_classes=3, size=16, seed=1)
    m = _tiny().fit(d.x_train, d.y_train)
    assert m.policy_.n_layers == 2 and [len(h) for h in m.history_] == [2, 2]
    assert set(m.search_net_acc_) == {"pretrain", "search"}
    assert m.transform(d.x_test).dtype == torch.uint8
    # a torch Dataset of (image, label) works as well
    ds = torch.utils.data.TensorDataset(d.x_train, d.y_train)
    torch.testing.assert_close(_tiny().fit(ds).policy_.probs, m.policy_.probs)


def test_bad_input_is_refused():
    d = synthetic_images(n_train=100, n_test=8, n_classes=3, size=16, seed=1)
    m = _tiny()
    with pytest.raises(ValueError, match="0..255"):
        m.fit(d.x_train.int() * 2 - 3, d.y_train)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        m.fit(d.x_train.float(), d.y_train)
    with pytest.raises(ValueError, match="images must be 4-D"):
        m.fit(d.x_train[:, 0], d.y_train)
    with pytest.raises(ValueError, match="at least 2 classes"):
        m.fit(d.x_train, torch.zeros(100, dtype=torch.long))
    with pytest.raises(ValueError, match="one label per image"):
        m.fit(d.x_train, d.y_train[:10])
    with pytest.raises(ValueError, match="pretrain_fraction x images"):
        m.fit(d.x_train[:30], d.y_train[:30])
    with pytest.raises(ValueError, match="must leave images to search"):
        _tiny(pretrain_fraction=0.5, val_fraction=0.5).fit(d.x_train, d.y_train)
