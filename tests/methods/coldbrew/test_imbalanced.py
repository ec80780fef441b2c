"""Cold Brew on imbalanced and binary graphs: the selection metric, class weights, two-column
probabilities, and the virtual-neighbour verb."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score
from torch_geometric.data import Data

from reprkit.datasets.graphs import node_degree, random_node_split, synthetic_graph
from reprkit.methods.coldbrew import ColdBrew
from reprkit.models.node import choose_metric, class_weights, score

FAST = {"teacher__hidden": 16, "student__hidden": 32, "teacher__epochs": 60,
        "student__epochs": 60}  # fmt: skip


def test_synthetic_graph_class_ratio():
    g = synthetic_graph(n_nodes=1000, n_classes=2, class_probs=(0.78, 0.22), seed=0)
    share = float((g.y == 1).float().mean())
    assert 0.18 < share < 0.26, share
    with pytest.raises(ValueError, match="class_probs"):
        synthetic_graph(n_classes=2, class_probs=(0.5, 0.3, 0.2))


def test_selection_metric_rule_and_scores():
    y_imb = torch.tensor([0] * 78 + [1] * 22)
    assert choose_metric("auto", y_imb, 2) == "roc_auc"
    assert choose_metric("auto", torch.tensor([0, 1] * 50), 2) == "accuracy"
    assert choose_metric("auto", torch.tensor([0] * 60 + [1] * 20 + [2] * 20), 3) == "macro_f1"
    assert choose_metric("auto", torch.arange(7).repeat(10), 7) == "accuracy"
    assert choose_metric("accuracy", y_imb, 2) == "accuracy"
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(size=(100, 2)))
    p1 = torch.softmax(logits, 1)[:, 1].numpy()
    assert score("roc_auc", logits, y_imb) == pytest.approx(roc_auc_score(y_imb.numpy(), p1))
    pred = logits.argmax(1).numpy()
    assert score("macro_f1", logits, y_imb) == pytest.approx(
        f1_score(y_imb.numpy(), pred, average="macro")
    )
    # a majority-class model: high accuracy, chance-level AUC, low macro F1
    const = torch.tensor([[1.0, 0.0]]).repeat(100, 1)
    assert score("accuracy", const, y_imb) == pytest.approx(0.78)
    assert score("roc_auc", const, y_imb) == pytest.approx(0.5)
    assert score("macro_f1", const, y_imb) < 0.5
    with pytest.raises(ValueError, match="roc_auc needs a binary problem"):
        score("roc_auc", torch.zeros(3, 3), torch.tensor([0, 1, 2]))
    w = class_weights(y_imb, 2, "balanced")
    assert torch.allclose(w, torch.tensor([100 / (2 * 78), 100 / (2 * 22)]))
    assert class_weights(y_imb, 2, "none") is None


def _binary_graph(seed: int = 0):
    g = synthetic_graph(n_nodes=400, n_classes=2, n_features=16, class_probs=(0.78, 0.22),
                        feature_signal=0.8, seed=seed)  # fmt: skip
    tr, va, _ = random_node_split(g.num_nodes, 0.3, 0.2, seed)
    return Data(x=g.x, y=g.y, edge_index=g.edge_index, train_mask=tr), va


def test_binary_problem_two_columns_roc_auc_selection_and_neighbours(caplog):
    data, va = _binary_graph()
    with caplog.at_level("INFO", logger="reprkit"):
        model = ColdBrew(seed=0, class_weight="balanced", **FAST).fit(data, val=va)
    assert model.metric_ == "roc_auc"
    assert "selection on validation roc_auc" in caplog.text
    p = model.predict_proba(data.x[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    ids, w = model.neighbours(data.x[:7], node_ids=torch.arange(7))
    assert ids.shape == (7, 3) and w.shape == (7, 3)
    observed = node_degree(data.edge_index, data.num_nodes) > 0
    assert observed[torch.from_numpy(ids)].all()  # virtual neighbours are observed nodes
    assert (ids != np.arange(7)[:, None]).all()  # never the node itself
    assert np.allclose(w.sum(1), 1.0, atol=1e-5) and (np.diff(w, axis=1) <= 1e-6).all()
