"""GIANT-XRT building blocks (the method is work in progress: not registered as working yet)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from reprkit.datasets.text_graphs import clean_edges, synthetic_text_graph
from reprkit.eval.metrics import linear_cka, mean_cosine
from reprkit.methods.giant.config import TfidfConfig
from reprkit.methods.giant.experiment import holdout_edges
from reprkit.methods.giant.method import NodeTfidf, check_texts
from reprkit.methods.giant.tree import LabelTree, build_tree, neighbour_labels, pifa
from reprkit.methods.giant.xr import (
    cluster_precision,
    encoder_levels,
    fit_linear_head,
    oracle_precision,
    scores,
    squared_hinge,
    top_predictions,
)


def test_clean_edges_drops_self_loops_and_duplicates():
    ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 1, 0, 0, 2]])
    out = clean_edges(ei, 3)
    pairs = {tuple(p) for p in out.T.tolist()}
    assert pairs == {(0, 1), (1, 0), (0, 2), (2, 0)}
    assert out.shape[1] == 4


def test_neighbour_labels_drop_hubs_as_rows_but_keep_them_as_labels():
    # star: node 0 has 4 neighbours, the leaves have 1
    ei = np.array([[0, 0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 0, 0, 0, 0]])
    y, rows = neighbour_labels(ei, 6, max_degree=2)
    assert rows.tolist() == [1, 2, 3, 4]  # hub 0 and edgeless 5 are not rows
    assert y[1].indices.tolist() == [0]  # the hub is still a label


def test_label_tree_is_balanced_nested_and_groups_similar_labels():
    data, texts = synthetic_text_graph(n_nodes=256, n_classes=4, seed=1)
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer().fit_transform(texts).tocsr()
    y, rows = neighbour_labels(data.edge_index.numpy(), 256, None)
    tree = build_tree(pifa(y, x, rows), branching=4, max_leaf_size=20, seed=0)
    assert tree.sizes == [4, 16, 256]
    assert np.bincount(tree.assign[1]).tolist() == [16] * 16  # balanced
    # nested: every level-1 cluster sits inside one level-0 cluster
    for k in range(16):
        assert len(set(tree.assign[0][tree.assign[1] == k])) == 1
    # PIFA clusters follow the communities: the top level is far purer than chance (0.25)
    labels = data.y.numpy()
    purity = np.mean([np.bincount(labels[tree.assign[0] == k]).max() / 64 for k in range(4)])
    assert purity > 0.6, purity


def test_tree_counts_and_children_follow_the_assignment():
    tree = LabelTree([np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2]), np.arange(4)])
    y = sp.csr_matrix(np.array([[1, 1, 0, 1], [0, 0, 1, 1]], dtype=np.float32))
    assert tree.counts(y, 0).toarray().tolist() == [[2, 1], [0, 2]]  # Y C: neighbours per cluster
    assert tree.relevant(y, 1).toarray().tolist() == [[1, 1, 1], [0, 0, 1]]
    assert tree.children(1).toarray().tolist() == [[1, 1, 0], [0, 0, 1]]


def test_encoder_levels_skip_the_leaf_and_big_levels():
    assert encoder_levels([8, 64, 2277], 32768) == [0, 1]  # never the leaf
    assert encoder_levels([8, 64, 512, 9000], 100) == [0, 1]


def test_squared_hinge_averages_the_shortlist_and_weights_positives_by_count():
    s = torch.tensor([[0.0, -0.5, 0.5]])
    counts = torch.tensor([[3.0, 0.0, 1.0]])
    m = torch.tensor([[True, True, False]])
    # entry 0: y=+1, s=0 -> 1, weight 3; entry 1: y=-1, s=-0.5 -> 0.25; entry 2 off the list
    assert squared_hinge(s, counts, m).item() == pytest.approx((3 + 0.25) / 2)
    assert squared_hinge(s, counts, m, weighted=False).item() == pytest.approx((1 + 0.25) / 2)


def test_top_predictions_stay_among_the_allowed_clusters():
    s = torch.tensor([[0.9, 0.8, 0.1, 0.0], [0.0, 0.1, 0.2, 0.3]])
    allowed = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 1, 1, 1]], dtype=np.float32))
    p = top_predictions(s, allowed, 2).toarray()
    assert p.tolist() == [[0, 1, 1, 0], [0, 0, 1, 1]]
    assert top_predictions(s, None, 1).toarray().tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]


def test_linear_head_fits_a_separable_problem():
    gen = torch.Generator().manual_seed(0)
    emb = torch.randn(200, 5, generator=gen)
    target = sp.csr_matrix((emb[:, :3] > 0).numpy().astype(np.float32))  # 3 clusters
    head = fit_linear_head(emb, target, None)
    pred = scores(emb, head) > 0
    assert (pred.numpy() == target.toarray().astype(bool)).mean() > 0.97


def test_cluster_precision_between_floor_and_ceiling():
    true = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    s = torch.tensor([[4.0, 3, 2, 1], [0, 0, 0, 0], [0, 1, 0, 0]])
    assert cluster_precision(s, true, 1) == pytest.approx(1.0)  # row 1 has no truth: skipped
    assert cluster_precision(s, true, 2) == pytest.approx((0.5 + 0.5) / 2)
    assert oracle_precision(true, 2) == pytest.approx((1.0 + 0.5) / 2)


def test_linear_cka_and_cosine():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, 3 * x @ q) == pytest.approx(1.0)  # rotation and scale invariant
    assert linear_cka(x, rng.normal(size=(300, 8))) < 0.2
    assert mean_cosine(x, 2 * x) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal n"):
        linear_cka(x, x[:10])


def test_holdout_edges_split_undirected_edges_without_overlap():
    data, _ = synthetic_text_graph(n_nodes=100, seed=0)
    kept, held = holdout_edges(data.edge_index, 100, 0.2, seed=3)
    und = {tuple(sorted(p)) for p in data.edge_index.T.tolist()}
    k = {tuple(p) for p in kept.T.tolist()}
    h = {tuple(p) for p in held.T.tolist()}
    assert not k & h and all((b, a) in h for a, b in h)  # both directions, disjoint
    assert len(k | h) == 2 * len(und) and len(h) // 2 == round(0.2 * len(und))


def test_node_tfidf_stacks_word_and_character_grams():
    texts = ["graph neural networks", "neural text encoders", "graph text"]
    t = TfidfConfig(min_df=1)
    both, words = NodeTfidf(t), NodeTfidf(TfidfConfig(min_df=1, char_ngram=0))
    x = both.fit_transform(texts)
    assert x.shape[1] == both.n_features > words.fit_transform(texts).shape[1]
    assert np.allclose(sp.linalg.norm(x, axis=1), 1.0)
    assert np.allclose(both.transform(texts[:1]).toarray(), x[:1].toarray())


@pytest.mark.parametrize(
    "texts,n,match",
    [
        ("one string", None, "must be a list of strings"),
        (["a", 3], None, "item 1 is int"),
        (["a", "  "], None, "1 empty string"),
        (["a", "b"], 3, "has 2 strings but the graph has 3 nodes"),
    ],
)
def test_check_texts_names_the_problem(texts, n, match):
    with pytest.raises(ValueError, match=match):
        check_texts(texts, n)


@pytest.mark.skipif(not os.environ.get("REPRKIT_DATA"), reason="needs REPRKIT_DATA")
def test_cora_text_loader_cleans_the_raw_edges():
    from reprkit.datasets.text_graphs import load_cora_text

    data, texts = load_cora_text()
    assert len(texts) == data.num_nodes == 2277
    assert int((data.y < 0).sum()) == 66 and int(data.y.max()) == 6
    ei = data.edge_index
    assert bool((ei[0] != ei[1]).all())  # no self loops
    assert ei.shape[1] == 2 * 4771  # each undirected pair once per direction
    a = sp.coo_matrix((np.ones(ei.shape[1]), ei.numpy()), shape=(2277, 2277)).tocsr()
    assert (a != a.T).nnz == 0 and a.max() == 1
