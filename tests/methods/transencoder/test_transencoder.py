"""Trans-Encoder on a tiny random BERT (no weights downloaded): the loop, dev selection,
sentence-transformers folders, bad input."""

import numpy as np
import pytest

from reprkit.datasets.text import synthetic_pairs
from reprkit.methods.transencoder import TransEncoder
from tests.conftest import make_tiny_bert

transformers = pytest.importorskip("transformers")
SMALL = {"cycles": 2, "cross_steps": 4, "bi_steps": 4, "batch_size": 8, "max_length": 16}


@pytest.fixture(scope="module")
def data():
    return synthetic_pairs(40, seed=0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, data):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_pair_bert"), data.a + data.b)


def test_fit_scores_saves_and_loads(tmp_path, data, tiny):
    dev = (data.pairs()[:10], data.score[:10])
    seen = []
    m = TransEncoder(base_model=tiny, seed=0, **SMALL)
    m.fit(data.pairs(), dev=dev, on_cycle=lambda c, v: seen.append((c, v.score(dev[0][:2]))))
    assert [c for c, _ in seen] == [1, 2]
    assert [h["cycle"] for h in m.history_] == [0, 1, 2] and "dev_cross" in m.history_[1]
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
    assert m.history_ == [{"cycle": 1}] and m.similarity(data.pairs()[:2]).shape == (2,)


def test_bad_input(tmp_path, tiny):
    m = TransEncoder(base_model=tiny, **SMALL)
    with pytest.raises(ValueError, match="must not be empty"):
        m.fit([])
    with pytest.raises(ValueError, match="two strings"):
        m.fit([("a", 3)])
    with pytest.raises(ValueError, match="empty sentence"):
        m.fit([("a man", "  ")])
    with pytest.raises(ValueError, match="config.json"):
        TransEncoder(base_model=str(tmp_path), **SMALL).fit([("a", "b")])
    with pytest.raises(ValueError, match="pooling"):
        TransEncoder(pooling="max")
