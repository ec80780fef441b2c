"""The optional PECOS backend builds label trees like the default one (runs where libpecos is
installed: it needs numpy<2, so not in the default environment)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from reprkit.datasets.text_graphs import synthetic_text_graph
from reprkit.methods.giant.config import TfidfConfig
from reprkit.methods.giant.method import GiantXRT, tfidf_vectorizer
from reprkit.methods.giant.tree import LabelTree, build_tree, neighbour_labels, pifa

pecos_backend = pytest.importorskip("reprkit.methods.giant.pecos_backend")
pytest.importorskip("pecos")


def _cohesion(z: sp.csr_matrix, tree: LabelTree) -> float:
    """Mean cosine of each label's feature to its finest cluster's (normalised) centroid."""
    a = tree.assign[-2]
    member = sp.csr_matrix((np.ones(len(a)), (a, np.arange(len(a)))))
    centroids = normalize(member @ z)
    return float(np.asarray(z.multiply(centroids[a]).sum(1)).mean())


@pytest.fixture(scope="module")
def label_side():
    data, texts = synthetic_text_graph(n_nodes=600, n_classes=4, seed=1)
    x = tfidf_vectorizer(TfidfConfig(), 1).fit_transform(texts).tocsr()
    y, rows = neighbour_labels(data.edge_index.numpy(), data.num_nodes, 100)
    return data, texts, x, y, rows


def test_pecos_and_numpy_trees_have_same_shape_and_comparable_quality(label_side):
    _, _, x, y, rows = label_side
    ours = build_tree(pifa(y, x, rows), branching=4, max_leaf_size=20, seed=0)
    z = pecos_backend.pecos_pifa(y, x, rows)
    theirs = pecos_backend.pecos_tree(z, branching=4, max_leaf_size=20, seed=0)
    assert ours.sizes == theirs.sizes
    for a, b in zip(
        ours.assign, theirs.assign, strict=False
    ):  # balanced alike: same largest cluster
        assert np.bincount(a).max() == np.bincount(b).max()
    q_ours, q_theirs = _cohesion(z, ours), _cohesion(z, theirs)
    assert q_ours > 0.9 * q_theirs, (q_ours, q_theirs)


def test_giant_fits_with_the_pecos_backend(label_side):
    data, texts, *_ = label_side
    giant = GiantXRT(encoder__kind="linear", tree__backend="pecos", finetune__steps=5)
    x = giant.fit(data, texts).transform(texts)
    assert x.shape == (data.num_nodes, 384) and giant.tree_sizes_[-1] == data.num_nodes
