"""GIANT-XRT building blocks (the method is work in progress: not registered as working yet)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from reprkit.datasets.text_graphs import clean_edges, synthetic_text_graph
from reprkit.methods.giant.method import check_texts
from reprkit.methods.giant.tree import build_tree, neighbour_labels, pifa
from reprkit.methods.giant.xr import shortlist, squared_hinge


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


def test_shortlist_holds_children_of_true_and_top_scored_parents():
    children = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]).float()
    true_parent = torch.tensor([[1.0, 0, 0]])
    scores = torch.tensor([[0.0, 0.1, 0.9]])
    m = shortlist(true_parent, scores, children, beam=1)
    assert m.tolist() == [[True, True, False, False, True, True]]


def test_squared_hinge_counts_only_shortlisted_entries():
    s = torch.tensor([[2.0, -0.5, 0.5]])
    t = torch.tensor([[1.0, 0.0, 1.0]])
    m = torch.tensor([[True, True, False]])
    # entry 0: y=+1, s=2 -> 0; entry 1: y=-1, s=-0.5 -> (1-0.5)^2 = 0.25; entry 2 masked
    assert squared_hinge(s, t, m).item() == pytest.approx(0.25)


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
