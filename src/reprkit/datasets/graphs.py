"""Graph datasets: Planetoid (Cora, CiteSeer), heterophilous graphs, a synthetic SBM, and checks.

Planetoid files are parsed by torch_geometric's own reader. Cora ships inside the package so
that ``make demo`` works offline on a fresh machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.io.planetoid import read_planetoid_data
from torch_geometric.utils import to_undirected

from reprkit.core.validate import as_array, as_tensor, encode_labels, node_mask
from reprkit.datasets._files import RemoteFile, cache_root, fetch

_PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/ind.{name}.{part}"
_PLANETOID_SHA = {
    "cora": {
        "x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    },
    "citeseer": {
        "x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    },
}

_HETERO_URL = "https://github.com/yandex-research/heterophilous-graphs/raw/main/data/{name}.npz"
_HETERO_SHA = {
    "chameleon": "4c640bd2877fc4f9f101531e2f977bc16445a54e09a5cb01178df608e552f3fd",
    "squirrel": "d436e3b42c0546b105241c0ab0766097074e68e55f67b133eeb9b0162e55cbd9",
    "actor": "c350eef06b2c2a9bf8218be2b57cac6d4003d0922eb597a039e9123f75817816",
    "cornell": "684c54ba3daa13b0ba1f04a3d6dd1b1175c1ae9bdeb982851fd4ff96d3aac298",
    "texas": "b164b99e6c3d43e4ab07488ec59bd8c815f90cbc1bd4cf425ce587d2b534d844",
    "wisconsin": "2543c89838cfc75f737f7c4664cc1d097f8268602c20b2d1bd4f21407df9c074",
}

PLANETOID = tuple(_PLANETOID_SHA)
HETEROPHILOUS = tuple(_HETERO_SHA)


def load_planetoid(name: str) -> Data:
    """Cora or CiteSeer from the raw Planetoid files (Yang et al. 2016; LINQS data).

    Returns a ``Data`` with raw bag-of-words ``x``, labels ``y``, an undirected ``edge_index``
    and the public split masks.
    """
    if name not in _PLANETOID_SHA:
        raise ValueError(f"name must be one of {list(_PLANETOID_SHA)}, got {name!r}")
    paths = [
        fetch(
            RemoteFile(
                f"planetoid/ind.{name}.{part}", _PLANETOID_URL.format(name=name, part=part), sha
            )
        )
        for part, sha in _PLANETOID_SHA[name].items()
    ]
    folders = {p.parent for p in paths}
    if len(folders) > 1:  # files found in different places: gather them for the reader
        folder = cache_root() / "planetoid"
        folder.mkdir(parents=True, exist_ok=True)
        for p in paths:
            if p.parent != folder:
                shutil.copyfile(p, folder / p.name)
    else:
        (folder,) = folders
    data = read_planetoid_data(str(folder), name)
    data.name = name
    return data


def load_heterophilous(name: str) -> Data:
    """A Geom-GCN heterophily benchmark (Pei et al. 2020) as packaged by Platonov et al. 2023.

    ``data.split_masks`` holds the 10 standard Geom-GCN splits as ``(train, val, test)`` bool
    tensors of shape ``(10, N)``.
    """
    if name not in _HETERO_SHA:
        raise ValueError(f"name must be one of {list(_HETERO_SHA)}, got {name!r}")
    path = fetch(
        RemoteFile(f"heterophilous/{name}.npz", _HETERO_URL.format(name=name), _HETERO_SHA[name])
    )
    z = np.load(path)
    n = z["node_features"].shape[0]
    edge_index = to_undirected(torch.from_numpy(z["edges"].T.astype(np.int64)), num_nodes=n)
    data = Data(
        x=torch.from_numpy(z["node_features"].astype(np.float32)),
        y=torch.from_numpy(z["node_labels"].astype(np.int64)),
        edge_index=edge_index,
    )
    data.split_masks = tuple(
        torch.from_numpy(z[k].astype(bool)) for k in ("train_masks", "val_masks", "test_masks")
    )
    data.name = name
    return data


_OGBN_PRODUCTS = RemoteFile(
    "ogb/products.zip",
    "http://snap.stanford.edu/ogb/data/nodeproppred/products.zip",
    None,  # unpinned: not downloaded here (1.4 GB), so its sha256 is not known to us
)


def load_ogbn_products() -> Data:
    """ogbn-products (Hu et al., OGB 2020): 2,449,029 Amazon products, 61,859,140 directed
    co-purchase edges, 100 features, 47 categories, OGB's sales-ranking split — the scale Cold
    Brew is for. Read from OGB's own zip (``products/raw/*.csv.gz``,
    ``products/split/sales_ranking/*.csv.gz``) without the ``ogb`` package; not staged here."""
    import zipfile

    import pandas as pd

    path = fetch(_OGBN_PRODUCTS)
    with zipfile.ZipFile(path) as z:

        def read(member: str) -> np.ndarray:
            with z.open(f"products/{member}") as fh:
                return pd.read_csv(fh, compression="gzip", header=None).to_numpy()

        edges = read("raw/edge.csv.gz").astype(np.int64)
        x = read("raw/node-feat.csv.gz").astype(np.float32)
        y = read("raw/node-label.csv.gz").reshape(-1).astype(np.int64)
        n = len(y)
        masks = []
        for part in ("train", "valid", "test"):
            m = torch.zeros(n, dtype=torch.bool)
            m[torch.from_numpy(read(f"split/sales_ranking/{part}.csv.gz").reshape(-1))] = True
            masks.append(m)
    data = Data(
        x=torch.from_numpy(x),
        y=torch.from_numpy(y),
        edge_index=to_undirected(torch.from_numpy(edges.T.copy()), num_nodes=n),
        train_mask=masks[0],
        val_mask=masks[1],
        test_mask=masks[2],
    )
    data.name = "ogbn_products"
    return data


def synthetic_graph(
    n_nodes: int = 600,
    n_classes: int = 4,
    n_features: int = 64,
    *,
    avg_degree: float = 6.0,
    homophily: float = 0.8,
    feature_signal: float = 1.0,
    class_probs: Sequence[float] | None = None,
    seed: int = 0,
) -> Data:
    """A degree-corrected stochastic block model with class-correlated Gaussian features.

    Node propensities follow a Pareto law, so degrees are long-tailed like real graphs (many
    nodes with one or two edges), and a fraction ``homophily`` of edges joins same-class nodes.
    ``class_probs``: the share of each class (default equal), e.g. ``(0.78, 0.22)`` for an
    imbalanced binary graph.
    """
    if class_probs is not None:
        probs = np.asarray(class_probs, dtype=np.float64)
        if len(probs) != n_classes or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(
                f"class_probs must be {n_classes} non-negative shares summing to 1, got "
                f"{list(class_probs)}"
            )
    rng = np.random.default_rng(seed)
    y = (
        rng.integers(0, n_classes, n_nodes)
        if class_probs is None
        else rng.choice(n_classes, n_nodes, p=probs)
    )
    theta = rng.pareto(2.5, n_nodes) + 1.0
    theta /= theta.mean()
    same = y[:, None] == y[None, :]
    # expected degree avg_degree: p_ij ∝ θ_i θ_j (homophily on same class, rest elsewhere)
    frac_same = same.mean()
    block = np.where(same, homophily / frac_same, (1 - homophily) / (1 - frac_same))
    p = np.outer(theta, theta) * block * avg_degree / n_nodes
    upper = np.triu(rng.random((n_nodes, n_nodes)) < np.clip(p, 0, 1), k=1)
    src, dst = np.nonzero(upper)
    edge_index = to_undirected(
        torch.from_numpy(np.stack([src, dst]).astype(np.int64)), num_nodes=n_nodes
    )
    means = rng.normal(0.0, 1.0, (n_classes, n_features))
    x = feature_signal * means[y] + rng.normal(0.0, 1.0, (n_nodes, n_features))
    data = Data(
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(y.astype(np.int64)),
        edge_index=edge_index,
    )
    data.name = "synthetic"
    return data


def load_graph(name: str) -> Data:
    """Load any registered graph dataset by name."""
    if name in _PLANETOID_SHA:
        return load_planetoid(name)
    if name in _HETERO_SHA:
        return load_heterophilous(name)
    if name == "synthetic":
        return synthetic_graph()
    if name == "synthetic_imbalanced":  # binary, one class 78 %: a cold-start AUC problem
        g = synthetic_graph(
            n_nodes=2000, n_classes=2, n_features=32, feature_signal=0.12,
            class_probs=(0.78, 0.22), seed=0,
        )  # fmt: skip
        g.name = name
        return g
    if name == "ogbn_products":
        return load_ogbn_products()
    known = [*_PLANETOID_SHA, *_HETERO_SHA, "synthetic", "synthetic_imbalanced", "ogbn_products"]
    raise ValueError(f"dataset must be one of {known}, got {name!r}")


def random_node_split(
    num_nodes: int,
    train_frac: float,
    val_frac: float,
    seed: int,
    *,
    among: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded random train / validation / test masks (N,) over the nodes in ``among`` (a bool
    mask, e.g. the labelled nodes; default: all nodes); the rest of ``among`` is the test set."""
    pool = torch.arange(num_nodes) if among is None else torch.nonzero(among).squeeze(1)
    perm = pool[torch.from_numpy(np.random.default_rng(seed).permutation(len(pool)))]
    n_train, n_val = int(round(train_frac * len(pool))), int(round(val_frac * len(pool)))
    masks = []
    for idx in (perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]):
        m = torch.zeros(num_nodes, dtype=torch.bool)
        m[idx] = True
        masks.append(m)
    return masks[0], masks[1], masks[2]


def row_normalize(x: torch.Tensor) -> torch.Tensor:
    """Scale each row to sum to one (rows of zeros stay zero), as PyG's NormalizeFeatures."""
    s = x.sum(dim=1, keepdim=True)
    return x / s.clamp(min=1e-12)


def node_degree(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Number of edges at each node of an undirected ``edge_index`` (self loops not counted)."""
    keep = edge_index[0] != edge_index[1]
    return torch.bincount(edge_index[0, keep], minlength=num_nodes)


def as_features(x: object, name: str = "x") -> torch.Tensor:
    """Node features (N, F) from numpy, torch, pandas or lists (any real dtype) as a float32
    tensor, checked (2-D, not empty, finite)."""
    if isinstance(x, Data):
        x = x.x
    if x is None:
        raise ValueError(f"{name} is missing: node features of shape (N, F) are needed")
    if isinstance(x, torch.Tensor) and x.is_sparse:
        x = x.to_dense()
    return as_tensor(x, name, ndim=2, kind="fiub")


def as_edge_index(ei: object, name: str = "edge_index", n: int | None = None) -> torch.Tensor:
    """Edges as a long (2, E) tensor from numpy, torch or lists in PyG's (2, E) layout or as an
    (E, 2) edge list. A 2 x 2 array is read as PyG's (2, E) when it is a torch tensor and refused
    as ambiguous otherwise; ids must lie in [0, n)."""
    if ei is None:
        raise ValueError(
            f"{name} is missing: pass an empty (2, 0) tensor for a graph without edges"
        )
    a = as_array(ei, name, ndim=2, kind="iuf", non_empty=False)
    if a.dtype.kind == "f":
        if not np.all(a == np.round(a)):
            raise ValueError(f"{name} must hold integer node ids, got non-integer {a.dtype}")
        a = a.astype(np.int64)
    if a.shape == (2, 2) and not isinstance(ei, torch.Tensor):
        raise ValueError(
            f"{name} of shape (2, 2) is ambiguous: (2, E) or (E, 2)? pass a torch tensor in "
            "PyG's (2, E) layout"
        )
    if a.shape[0] != 2:
        if a.shape[1] != 2:
            raise ValueError(f"{name} must have shape (2, E) or (E, 2), got {a.shape}")
        a = a.T  # an (E, 2) edge list
    if n is not None and a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(
            f"{name} has node ids in [{a.min()}, {a.max()}] but there are {n} nodes "
            f"(ids must be in [0, {n - 1}])"
        )
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def as_node_labels(y: object, name: str, n: int) -> tuple[torch.Tensor, np.ndarray | None]:
    """Node labels -> (int64 codes with -1 = unlabelled, ``classes_`` or None).

    Integer labels are their own codes (negative = unlabelled; ``classes_`` None: the caller
    takes ``arange``). Labels of any other hashable type (str, whole-number floats) are encoded
    in sorted order, None / NaN meaning unlabelled.
    """
    if y is None:
        raise ValueError(f"{name} is missing: class labels of shape (N,) are needed")
    a = as_array(y, name, ndim=1, finite=False, length=n, length_of="the nodes")
    if a.dtype.kind in "iu":
        return torch.from_numpy(a.astype(np.int64)), None
    if a.dtype.kind == "b":
        return torch.from_numpy(a.astype(np.int64)), np.array([False, True])
    codes, classes = encode_labels(a, name, allow_missing=True)
    return torch.from_numpy(codes), classes


def as_node_data(data: object, name: str = "data", *, need_labels: bool = True):
    """A checked copy of a node-classification graph: ``x`` float32 (N, F), ``edge_index`` long
    (2, E) (from numpy, torch, (2, E) or (E, 2)), ``y`` int64 codes (-1 = unlabelled), and the
    ``classes_`` of non-integer labels (None for integer labels or without labels)."""
    if not isinstance(data, Data):
        raise TypeError(f"{name} must be a torch_geometric.data.Data, got {type(data).__name__}")
    x = as_features(getattr(data, "x", None), f"{name}.x")
    n = x.shape[0]
    out = Data(
        x=x, edge_index=as_edge_index(getattr(data, "edge_index", None), f"{name}.edge_index", n)
    )
    classes = None
    if need_labels:
        out.y, classes = as_node_labels(getattr(data, "y", None), f"{name}.y", n)
    for key in ("train_mask", "val_mask", "test_mask"):
        if getattr(data, key, None) is not None:
            out[key] = getattr(data, key)
    return out, classes


def validate_graph(data: object, name: str = "data", *, need_labels: bool = True) -> None:
    """Check a node-classification graph before any work starts; raise a clear error if bad."""
    as_node_data(data, name, need_labels=need_labels)


def as_node_mask(mask: object, n: int, name: str) -> torch.Tensor:
    """Accept a bool mask (N,) or node ids (numpy, torch, list); return a bool mask (N,).

    A 0/1 integer array of length N is refused as ambiguous (see ``core.validate.node_mask``).
    """
    out = torch.from_numpy(node_mask(mask, name, n))
    if not out.any():
        raise ValueError(f"{name} selects no node")
    return out
