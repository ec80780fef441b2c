"""Text-attributed graphs: one string per node plus edges and labels (for GIANT-XRT).

Each loader returns ``(data, texts)``: a PyG ``Data`` with an undirected, deduplicated
``edge_index`` without self loops, labels ``y`` (``-1`` = unlabelled), and a list of strings.
"""

from __future__ import annotations

import gzip

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from reprkit.datasets._files import RemoteFile, fetch

_CANE_URL = "https://github.com/thunlp/CANE/raw/a0e7e7802c3e0f9daf3c230ca6ba91e314f3a749/datasets/cora/{name}"
_CANE_SHA = {
    "data.txt": "d99b571a5ae064fd58417c9c3b90dd327f7a88616e20af1f09ea293060874347",
    "graph.txt": "449e88d1050a4c900783aac5333afae3a205329eeac1359e0b8efc9a13c5676c",
    "group.txt": "79a7b2ef2de9c43c6ccfa72caedbcdec6409d704bac80423f8bab174576b65c4",
}


def _read_lines(name: str) -> list[str]:
    """One of CANE's Cora files. Staged copies are gzip'd (``name.gz``, the sha above); a
    download fetches the plain file from GitHub and is stored gzip'd under the same name."""
    path = fetch(
        RemoteFile(f"cora_text_cane/{name}.gz", _CANE_URL.format(name=name), _CANE_SHA[name])
    )
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().split("\n")


def clean_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Undirected, no self loops, no duplicates (each pair once per direction)."""
    edge_index, _ = remove_self_loops(edge_index)
    return coalesce(to_undirected(edge_index, num_nodes=num_nodes), num_nodes=num_nodes)


def load_cora_text() -> tuple[Data, list[str]]:
    """Cora with each paper's abstract (CANE release, Tu et al. 2017): 2,277 nodes, 7 labels.

    66 nodes have no label (``y = -1``). The raw edge list has 230 self loops and repeated or
    reversed pairs; they are cleaned here (4,771 undirected pairs remain). CANE removed stop
    words from the text.
    """
    texts = [t.strip() for t in _read_lines("data.txt")]
    texts = texts[:-1] if texts and texts[-1] == "" else texts
    n = len(texts)
    pairs = [line.split() for line in _read_lines("graph.txt") if line.strip()]
    edges = torch.tensor([[int(a), int(b)] for a, b in pairs], dtype=torch.long).T
    groups = _read_lines("group.txt")[:n]
    groups += [""] * (n - len(groups))
    y = torch.tensor([int(g) if g.strip() else -1 for g in groups], dtype=torch.long)
    data = Data(edge_index=clean_edges(edges, n), y=y, num_nodes=n)
    data.name = "cora_text"
    return data, texts


def synthetic_text_graph(
    n_nodes: int = 300,
    n_classes: int = 3,
    *,
    words_per_node: int = 30,
    topic_words: int = 20,
    common_words: int = 200,
    topic_share: float = 0.5,
    avg_degree: float = 6.0,
    homophily: float = 0.85,
    seed: int = 0,
) -> tuple[Data, list[str]]:
    """Communities with their own topic words: a node's text draws ``topic_share`` of its words
    from its community's vocabulary and the rest from a shared one; edges join the same
    community with probability ``homophily``. Fast, for tests."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_nodes)
    topics = [[f"topic{c}w{i}" for i in range(topic_words)] for c in range(n_classes)]
    common = [f"word{i}" for i in range(common_words)]
    texts = []
    for c in y:
        k = rng.binomial(words_per_node, topic_share)
        words = list(rng.choice(topics[c], k)) + list(rng.choice(common, words_per_node - k))
        rng.shuffle(words)
        texts.append(" ".join(words))
    n_edges = int(avg_degree * n_nodes / 2)
    src = rng.integers(0, n_nodes, n_edges)
    same = rng.random(n_edges) < homophily
    dst = np.empty(n_edges, dtype=np.int64)
    by_class = [np.flatnonzero(y == c) for c in range(n_classes)]
    for i in range(n_edges):
        pool = by_class[y[src[i]]] if same[i] else np.arange(n_nodes)
        dst[i] = rng.choice(pool)
    edges = torch.from_numpy(np.stack([src, dst]).astype(np.int64))
    data = Data(edge_index=clean_edges(edges, n_nodes), y=torch.from_numpy(y), num_nodes=n_nodes)
    data.name = "synthetic_text"
    return data, texts


def load_text_graph(name: str) -> tuple[Data, list[str]]:
    """Load a registered text-attributed graph by name."""
    if name == "cora_text":
        return load_cora_text()
    if name == "synthetic_text":
        return synthetic_text_graph()
    raise ValueError(f"dataset must be one of ['cora_text', 'synthetic_text'], got {name!r}")
