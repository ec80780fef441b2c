"""Trans-Encoder on a tiny random BERT (no weights downloaded): the loop, dev selection,
sentence-transformers folders, bad input."""

import numpy as np
import pytest

from reprkit.datasets.text import synthetic_pairs
from reprkit.methods.transencoder import TransEncoder
from tests.conftest import make_tiny_bert

transformers = pytest.importorskip("transformers")
SMALL = {
    "cycles": 2,
    "cross_steps": 4,
    "bi_steps": 4,
    "batch_size": 8,
    "max_length": 16,
    "max_length_bi": 16,
}


@pytest.fixture(scope="module")
def data():
    return synthetic_pairs(40, seed=0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, data):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_pair_bert"), data.a + data.b)


def test_fit_scores_saves_and_loads(tmp_path, data, tiny):
    dev = (data.pairs()[:10], data.score[:10])
    seen = []

    def on_cycle(c, view, scores):
        seen.append(c)
        # the scores handed over are that cycle's first student's, on the training pairs
        np.testing.assert_allclose(scores["cross"][:3], view.score(data.pairs()[:3]), atol=1e-5)
        return {"extra": float(c)}

    m = TransEncoder(base_model=tiny, seed=0, **SMALL)
    m.fit(data.pairs(), dev=dev, on_cycle=on_cycle)
    assert seen == [0, 1, 2] and m.history_[2]["extra"] == 2.0
    assert [h["cycle"] for h in m.history_] == [0, 1, 2] and "dev_cross" in m.history_[1]
    # only trained cycles are candidates: the start (cycle 0) is never kept
    assert m.best_cycle_["bi"] >= 1 and m.best_cycle_["cross"] >= 1
    s, c = m.score(data.pairs()[:5]), m.similarity(data.pairs()[:5])
    assert s.shape == c.shape == (5,) and ((s >= 0) & (s <= 1)).all()
    e = m.encode(data.a[:3])
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1, rtol=1e-5)
    path = m.save(tmp_path / "te")
    loaded = TransEncoder.load(path)
    np.testing.assert_allclose(loaded.score(data.pairs()[:5]), s, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(loaded.similarity(data.pairs()[:5]), c, rtol=1e-4, atol=1e-6)
    st = pytest.importorskip("sentence_transformers")
    bi = st.SentenceTransformer(str(path / "bi"), device="cpu")
    np.testing.assert_allclose(bi.encode(data.a[:3]), e, rtol=1e-4, atol=1e-5)
    cross = st.CrossEncoder(str(path / "cross"), device="cpu")
    assert cross.predict([data.pairs()[0]]).shape == (1,)


def test_mutual_students_and_no_dev(data, tiny):
    m = TransEncoder(base_model=tiny, mutual=("cls",), **SMALL | {"cycles": 1}).fit(data.pairs())
    assert m.history_ == [{"cycle": 0}, {"cycle": 1}]
    assert m.similarity(data.pairs()[:2]).shape == (2,)


def test_zero_cycles_is_the_start(data, tiny):
    m = TransEncoder(base_model=tiny, **SMALL | {"cycles": 0}).fit(data.pairs()[:4])
    assert m.best_cycle_ == {"bi": 0, "cross": 0} and m.score(data.pairs()[:3]).shape == (3,)


def test_bad_input(tmp_path, tiny):
    m = TransEncoder(base_model=tiny, **SMALL)
    with pytest.raises(ValueError, match="must not be empty"):
        m.fit([])
    with pytest.raises(ValueError, match="two strings"):
        m.fit([("a", 3)])
    with pytest.raises(ValueError, match="empty sentence"):
        m.fit([("a man", "  ")])
    with pytest.raises(ValueError, match=r"pairs\[1\] sentence b .*tokenizes to no known"):
        m.fit([("a man", "a dog"), ("a man", "\u0301 zyzzyva")])
    with pytest.raises(ValueError, match="config.json"):
        TransEncoder(base_model=str(tmp_path), **SMALL).fit([("a", "b")])
    with pytest.raises(ValueError, match="pooling"):
        TransEncoder(pooling="max")


def test_an_interrupted_fit_resumes_from_its_last_cycle(tmp_path, data, tiny):
    ckpt, dev = tmp_path / "te.ckpt", (data.pairs()[:10], data.score[:10])
    full = TransEncoder(base_model=tiny, seed=1, **SMALL).fit(data.pairs(), dev=dev)

    def crash_in_cycle_2(c, view, scores):
        if c == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        TransEncoder(base_model=tiny, seed=1, **SMALL).fit(
            data.pairs(), dev=dev, on_cycle=crash_in_cycle_2, checkpoint=ckpt
        )
    with pytest.raises(ValueError, match="other pairs or config"):
        TransEncoder(base_model=tiny, seed=2, **SMALL).fit(data.pairs(), checkpoint=ckpt)
    done = []
    resumed = TransEncoder(base_model=tiny, seed=1, **SMALL).fit(
        data.pairs(), dev=dev, on_cycle=lambda c, v, s: done.append(c), checkpoint=ckpt
    )
    assert done == [2]  # cycles 0 and 1 came from the checkpoint
    assert resumed.history_ == full.history_ and resumed.best_cycle_ == full.best_cycle_
    for fn in ("score", "similarity"):
        np.testing.assert_allclose(
            getattr(resumed, fn)(data.pairs()[:4]), getattr(full, fn)(data.pairs()[:4]), atol=1e-5
        )


def test_a_round_keeps_the_checkpoint_best_on_dev():
    import torch

    m = TransEncoder(eval_steps=2, device="cpu", progress=False)
    model = torch.nn.Linear(1, 1, bias=False)
    states, scores = [], iter([0.1, 0.9, 0.3])

    def loss(mod, idx):
        return ((mod(torch.ones(len(idx), 1)) - 5.0) ** 2).mean()

    def dev(mod):
        states.append(mod.weight.item())
        return next(scores)

    out = m._round(model, loss, 6, 0.5, 0.0, 8, 0, "t", dev)
    assert len(states) == 3 and out.weight.item() == states[1]  # evaluated at 2, 4, 6: kept 4
    assert not out.training
