"""Trans-Encoder on a tiny random BERT (no weights downloaded): the loop, dev selection,
sentence-transformers folders, bad input."""

import numpy as np
import pytest

from reprkit.datasets.text import synthetic_pairs
from reprkit.methods.transencoder import TransEncoder
from reprkit.methods.transencoder.method import best_cycle
from tests.conftest import make_tiny_bert

transformers = pytest.importorskip("transformers")
SMALL = {
    "cycles": 2,
    "cross_epochs": 0.8,  # 4 steps over 40 pairs
    "bi_epochs": 0.8,
    "batch_cross": 8,
    "batch_bi": 8,
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


def test_a_mutual_student_of_another_model_uses_its_own_model_and_tokenizer(tmp_path, data, tiny):
    other = make_tiny_bert(tmp_path / "other", [*data.a, *data.b, "aardvark zebu"], hidden=24)
    dev, keys = (data.pairs()[:10], data.score[:10]), []

    def on_cycle(c, view, scores):
        keys.append(sorted(scores))

    m = TransEncoder(base_model=tiny, mutual=(f"cls:{other}",), **SMALL | {"cycles": 1})
    m.fit(data.pairs(), dev=dev, on_cycle=on_cycle)
    assert keys == [["bi", "bi_1", "cross"], ["bi", "bi_1", "cross", "cross_1"]]
    assert {"dev_bi", "dev_cross", "dev_bi_1", "dev_cross_1"} <= set(m.history_[1])
    # its cross-encoder starts from its own model, and every model reads its own tokenizer
    cross = m._new_cross(0, other)
    assert cross.config.hidden_size == 24
    ids = m._tok(cross, ["a man"], ["a dog"])["input_ids"]
    assert ids.tolist() == m.toks_[other](["a man"], ["a dog"])["input_ids"]
    assert ids.tolist() != m.tok_(["a man"], ["a dog"])["input_ids"]
    with pytest.raises(ValueError, match="mutual must hold"):
        TransEncoder(mutual=("max:/x",))


def test_the_best_cycle_is_the_first_best_trained_one():
    h = [{"cycle": 0, "dev_bi": 0.9}, {"cycle": 1, "dev_bi": 0.5}, {"cycle": 2, "dev_bi": 0.7},
         {"cycle": 3, "dev_bi": 0.7}]  # fmt: skip
    assert best_cycle(h, "dev_bi") == 2 and best_cycle(h[:1], "dev_bi") == 0


def test_budgets_are_epochs_over_the_pairs():
    cfg = TransEncoder(cross_epochs=1.0, batch_cross=16, bi_epochs=10, batch_bi=128).config
    # official: 1 epoch over 30k pairs in both orders at batch 32; 10 epochs at 128
    assert cfg.steps("cross", 30_000) == 1875 and cfg.steps("bi", 30_000) == 2344
    assert cfg.steps("cross", 3) == 1


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

    m = TransEncoder(eval_steps=2, bi_epochs=6, batch_bi=8, lr_bi=0.5, device="cpu",
                     progress=False)  # fmt: skip
    model = torch.nn.Linear(1, 1, bias=False)
    states, scores = [], iter([0.1, 0.9, 0.3])

    def loss(mod, idx):
        return ((mod(torch.ones(len(idx), 1)) - 5.0) ** 2).mean()

    def dev(mod):
        states.append(mod.weight.item())
        return next(scores)

    out = m._round(model, loss, "bi", 8, 0, "t", dev)  # 6 epochs of one batch: 6 steps
    assert len(states) == 3 and out.weight.item() == states[1]  # evaluated at 2, 4, 6: kept 4
    assert not out.training
