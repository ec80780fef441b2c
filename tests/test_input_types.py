"""Each method fed data in the shapes people have (issue #21, section 2) gives the same numbers as
the canonical shape with the same seed: column names, datetimes, string labels and ids, HWC
numpy images, networkx graphs, (E, 2) edge lists, pandas Series, torch <-> numpy, float64."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import Data

from reprkit.datasets.domains import spiral_domains
from reprkit.datasets.images import synthetic_images

NAMES = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])


def test_coldbrew_string_labels_numpy_arrays_and_an_edge_list(synthetic):
    from reprkit.methods.coldbrew import ColdBrew

    small = {"teacher__epochs": 20, "student__epochs": 20, "teacher__hidden": 16,
             "student__hidden": 16}  # fmt: skip
    train = (torch.arange(synthetic.num_nodes) % 3 == 0).numpy()
    canon = Data(x=synthetic.x, edge_index=synthetic.edge_index, y=synthetic.y,
                 train_mask=torch.from_numpy(train))  # fmt: skip
    other = Data(
        x=synthetic.x.numpy().astype(np.float64),
        edge_index=synthetic.edge_index.numpy().T,  # (E, 2)
        y=NAMES[synthetic.y.numpy()],  # str labels
        train_mask=np.flatnonzero(train),  # node ids
    )
    a = ColdBrew(**small).fit(canon)
    b = ColdBrew(**small).fit(other)
    assert b.classes_.tolist() == NAMES[: len(a.classes_)].tolist()
    np.testing.assert_allclose(
        b.predict_proba(synthetic.x), a.predict_proba(synthetic.x), atol=1e-6
    )
    np.testing.assert_array_equal(b.predict(synthetic.x.numpy()), NAMES[a.predict(synthetic.x)])


def test_giant_series_of_texts_and_an_edge_list(text_graph):
    from reprkit.methods.giant import GiantXRT

    data, texts = text_graph
    fast = {"encoder__kind": "linear", "tree__branching": 4, "tree__max_leaf_size": 20,
            "finetune__steps": 5}  # fmt: skip
    a = GiantXRT(**fast).fit(data, texts).transform(texts)
    ei = data.edge_index.numpy().T  # (E, 2) numpy
    b = GiantXRT(**fast).fit(ei, pd.Series(texts)).transform(pd.Series(texts))
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5)


def test_grda_named_domains_networkx_graph_and_string_labels():
    import networkx as nx

    from reprkit.methods.grda import GRDA

    d = spiral_domains(n_domains=6, per_domain=30, seed=0)
    fast = {"epochs": 3, "hidden": 16, "disc_hidden": 16, "per_domain": 5}
    a = GRDA(**fast).fit(d.x, d.y, d.domain, d.A, d.sources)
    names = np.array([f"d{i}" for i in range(6)])  # sorted like the ids
    g = nx.Graph()
    g.add_nodes_from(names)
    g.add_edges_from((names[i], names[j]) for i, j in zip(*np.nonzero(np.triu(d.A)), strict=True))
    labels = np.array(["no", "yes"])[d.y]
    b = GRDA(**fast).fit(torch.from_numpy(d.x).double(), labels, names[d.domain], g,
                         [names[s] for s in d.sources])  # fmt: skip
    assert b.domains_.tolist() == names.tolist() and b.classes_.tolist() == ["no", "yes"]
    expected = np.array(["no", "yes"])[a.predict(d.x, d.domain)]
    np.testing.assert_array_equal(b.predict(d.x, names[d.domain]), expected)
    # an (E, 2) edge list of names gives the same model too
    edges = [(names[i], names[j]) for i, j in zip(*np.nonzero(np.triu(d.A)), strict=True)]
    c = GRDA(**fast).fit(d.x, labels, names[d.domain], edges, [names[s] for s in d.sources])
    np.testing.assert_array_equal(c.predict(d.x, names[d.domain]), b.predict(d.x, names[d.domain]))


def test_psagan_long_frame_with_datetimes_and_sample_by_name():
    from reprkit.datasets.timeseries import synthetic_series
    from reprkit.methods.psagan import PSAGAN

    d = synthetic_series(n_series=3, length=64, seed=0)
    fast = {"length": 16, "epochs": 2, "epochs_per_block": 1, "batches_per_epoch": 2,
            "batch_size": 4, "channels": 4}  # fmt: skip
    a = PSAGAN(**fast).fit(d.values, seasons=(24,))
    t = pd.date_range("2024-01-01", periods=64, freq="h")
    long = pd.DataFrame(
        {
            "shop": np.repeat(["s0", "s1", "s2"], 64),
            "when": np.tile(t, 3),
            "qty": d.values.reshape(-1).astype(np.float64),
        }  # fmt: skip
    ).sample(frac=1.0, random_state=0)  # rows in any order
    b = PSAGAN(**fast).fit(long, seasons=(24,), item_col="shop", time_col="when", target_col="qty")
    assert b.series_ids_.tolist() == ["s0", "s1", "s2"]
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    np.testing.assert_allclose(
        b.sample(series=["s2", "s0"], start=[0, 5], generator=gen()),
        a.sample(series=[2, 0], start=[0, 5], generator=gen()),
        rtol=1e-5,
    )


def test_rim_column_names_datetimes_and_string_ids():
    from reprkit.methods.rim import RIM

    rng = np.random.default_rng(0)
    n = 300
    # whole seconds since the epoch, so the datetime round trip is exact: the Hawkes fit is an
    # L-BFGS solution of a nearly flat problem, and rounding in the times moves it by ~0.3 %
    seconds = 1_700_000_000 + np.sort(rng.integers(0, 30 * 86400, n))
    df = pd.DataFrame({"user": rng.integers(0, 12, n), "item": rng.integers(0, 8, n),
                       "timestamp": seconds.astype(np.float64)})  # fmt: skip
    kw = {"intensity": "hawkes", "epochs": 1, "hidden": 8}
    a = RIM(**kw).fit(df, horizon=7.0 * 86400)
    other = pd.DataFrame({
        "customer": [f"u{u:02d}" for u in df.user], "sku": df.item,
        "when": pd.to_datetime(seconds, unit="s"),
    })  # fmt: skip
    b = RIM(**kw).fit(other, horizon=pd.Timedelta(days=7), user_col="customer", item_col="sku",
                      time_col="when")  # fmt: skip
    users = [f"u{u:02d}" for u in a.users_]
    at = pd.Timestamp(1_700_000_000 + 30 * 86400, unit="s")
    now = 1_700_000_000.0 + 30 * 86400
    np.testing.assert_allclose(b.scores(users, at), a.scores(a.users_, now), rtol=1e-6)
    assert (
        b.recommend(users[:2], k=3, at=at).tolist()
        == a.recommend(a.users_[:2], k=3, at=now).tolist()
    )


def test_transencoder_pairs_as_a_dataframe(tmp_path):
    from reprkit.datasets.text import synthetic_pairs
    from reprkit.methods.transencoder import TransEncoder
    from tests.conftest import make_tiny_bert

    data = synthetic_pairs(16, seed=0)
    tiny = make_tiny_bert(tmp_path / "bert", data.a + data.b)
    small = {
        "cycles": 1,
        "cross_epochs": 1.0,
        "bi_epochs": 1.0,
        "batch_cross": 8,
        "batch_bi": 8,
        "max_length": 16,
    }
    a = TransEncoder(base_model=tiny, **small).fit(data.pairs())
    frame = pd.DataFrame(data.pairs(), columns=["left", "right"])
    b = TransEncoder(base_model=tiny, **small).fit(frame)
    np.testing.assert_allclose(b.score(frame), a.score(data.pairs()), atol=1e-6)
    np.testing.assert_allclose(b.encode(pd.Series(data.a)), a.encode(data.a), atol=1e-6)


def test_deepaa_hwc_numpy_images_and_string_labels():
    from reprkit.methods.deepaa import DeepAutoAugment

    d = synthetic_images(n_train=40, n_test=4, n_classes=3, size=16, seed=1)
    small = {"layers": 1, "steps": 1, "tasks": 2, "val_per_task": 4, "net__epochs": 1,
             "net__batch_size": 8, "net__width": 4}  # fmt: skip
    a = DeepAutoAugment(device="cpu", **small).fit(d.x_train, d.y_train)
    hwc = d.x_train.permute(0, 2, 3, 1).numpy()
    b = DeepAutoAugment(device="cpu", **small).fit(hwc, NAMES[d.y_train.numpy()])
    assert b.classes_.tolist() == NAMES[:3].tolist()
    for pa, pb in zip(a.policy_.probs, b.policy_.probs, strict=True):
        torch.testing.assert_close(pa, pb)


def test_diva_string_labels_and_torch_features():
    from reprkit.methods.diva import DIVA

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    a = DIVA().fit(x, y)
    b = DIVA().fit(torch.from_numpy(x), NAMES[y])
    np.testing.assert_allclose(b.score_samples(), a.score_samples())
    assert isinstance(b.sample_weights_, np.ndarray)
    np.testing.assert_array_equal(b.predict(x), NAMES[a.predict(x)])
    assert b.transform()[1].tolist() == NAMES[y].tolist()


def test_indomain_split_by_factor_name():
    from reprkit.methods.indomain.splits import make_split

    grid = np.stack(np.meshgrid(np.arange(3), np.arange(5), np.arange(6), indexing="ij"), -1)
    f = grid.reshape(-1, 3)
    scales = np.array([0.5, 0.75, 1.0, 1.25, 1.5])
    frame = pd.DataFrame({"shape": np.array(["heart", "oval", "square"])[f[:, 0]],
                          "scale": scales[f[:, 1]], "pos_x": f[:, 2]})  # fmt: skip
    for kind in ("random", "composition", "interpolation", "extrapolation"):
        a = make_split(f, kind, 0.2, seed=0, split_factors=[1, 2])
        b = make_split(frame, kind, 0.2, seed=0, split_factors=["scale", "pos_x"])
        np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="unknown factor 'size'"):
        make_split(frame, "random", 0.2, split_factors=["size"])


def test_trajshap_torch_and_float64_scenes_give_the_same_attributions():
    from reprkit.datasets.trajectories import Scenes, synthetic_interaction
    from reprkit.methods.trajshap.models import ConstantVelocity
    from reprkit.methods.trajshap.shapley import ShapleyAttribution

    s = synthetic_interaction(n=10, seed=0)
    att = ShapleyAttribution(ConstantVelocity(k=2), estimator="exact", seed=0)
    a = att.attribute(s)
    t = Scenes(torch.from_numpy(s.past).double(), torch.from_numpy(s.present).int(),
               torch.from_numpy(s.future).double())  # fmt: skip
    np.testing.assert_allclose(att.attribute(t).phi, a.phi, atol=1e-6)


def test_indomain_evaluate_takes_nhwc_numpy_images():
    from reprkit.datasets.factors import load_factor_images
    from reprkit.methods.indomain.splits import evaluate

    d = load_factor_images("synthetic_dsprites")
    images = d.images[:64].float() / 255
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(len(d.names)))
    a = evaluate(model, images, d.values[:64], d.values)
    b = evaluate(model, images.permute(0, 2, 3, 1).numpy(), d.values[:64], d.values)
    np.testing.assert_allclose(a, b)
