from __future__ import annotations

import pytest
import torch

from reprkit.methods.giant import GiantXRT

FAST = {
    "tree__branching": 4,
    "tree__max_leaf_size": 20,
    "encoder__max_length": 48,
    "finetune__steps": 10,
    "finetune__lr": 1e-3,
}


@pytest.mark.parametrize("kind", ["transformer", "linear"])
def test_fit_transform_save_load_round_trip(kind, text_graph, tiny_bert, tmp_path):
    data, texts = text_graph
    cfg = {**FAST, "encoder__kind": kind, "encoder__model": tiny_bert, "encoder__dim": 16}
    giant = GiantXRT(device="cpu", **cfg).fit(data, texts)
    feats = giant.transform(texts)
    assert feats.shape == (len(texts), 32 if kind == "transformer" else 16)
    assert torch.isfinite(feats).all()
    assert giant.tree_sizes_ == [4, 16, 240]
    back = GiantXRT.load(giant.save(tmp_path / "m"), device="cpu")
    assert torch.allclose(back.transform(texts[:7]), feats[:7], atol=1e-5)


def test_fine_tuning_changes_the_encoder_and_lowers_the_loss(text_graph, tiny_bert):
    data, texts = text_graph
    cfg = {**FAST, "encoder__model": tiny_bert}
    before = GiantXRT(device="cpu", **{**cfg, "finetune__steps": 0}).fit(data, texts)
    few = GiantXRT(device="cpu", **{**cfg, "finetune__steps": 5}).fit(data, texts)
    many = GiantXRT(device="cpu", **{**cfg, "finetune__steps": 60}).fit(data, texts)
    assert not torch.allclose(before.transform(texts[:5]), few.transform(texts[:5]))
    assert all(b < a for a, b in zip(few.stats_.last_loss, many.stats_.last_loss, strict=True))
    # the leaf level (the 240 neighbours themselves) never fine-tunes the encoder
    assert many.stats_.levels == [0, 1] and many.stats_.steps == 120


def test_bad_graph_or_texts_fail_before_any_work(text_graph, tiny_bert):
    data, texts = text_graph
    g = GiantXRT(device="cpu", encoder__model=tiny_bert)
    with pytest.raises(ValueError, match="has 239 strings but the graph has 240 nodes"):
        g.fit(data, texts[:-1])
    with pytest.raises(ValueError, match="no edges"):
        g.fit(torch.zeros(2, 0, dtype=torch.long), texts)
    with pytest.raises(ValueError, match=r"node ids outside \[0, 240\)"):
        g.fit(torch.tensor([[0, 500], [1, 2]]), texts)
    with pytest.raises(ValueError, match="encoder.model must be a local transformers model"):
        GiantXRT(device="cpu", encoder__model="/nonexistent").fit(data, texts)
