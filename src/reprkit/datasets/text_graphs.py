"""Text-attributed graphs: one string per node plus edges and labels (for GIANT-XRT).

Each loader returns ``(data, texts)``: a PyG ``Data`` with an undirected, deduplicated
``edge_index`` without self loops, labels ``y`` (``-1`` = unlabelled), and a list of strings.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from reprkit.datasets._files import RemoteFile, fetch

_CANE_URL = "https://github.com/thunlp/CANE/raw/a0e7e7802c3e0f9daf3c230ca6ba91e314f3a749/datasets/cora/{name}"
_CANE_SHA = {  # of the plain files CANE serves (kept gzip'd here)
    "data.txt": "0b3f7748134974d3d261365f625e532ea889edf27560b28cd24f6d1f9c71fbb9",
    "graph.txt": "b2202fda793a7ef9216aa55ce1b21f96985129ba009c5b49ec39a9f0abc18b23",
    "group.txt": "77b948c2a5fd7ff8e8cddeeaa06f0c8789fbde1edfc3795d2c8a98f6f0e2a502",
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


_OGB_ARXIV = RemoteFile(
    "ogbn_arxiv/arxiv.zip",
    "http://snap.stanford.edu/ogb/data/nodeproppred/arxiv.zip",
    "49f85c801589ecdcc52cfaca99693aaea7b8af16a9ac3f41dd85a5f3193fe276",
)
_OGB_ARXIV_TEXT = RemoteFile(
    "ogbn_arxiv/titleabs.tsv.gz",
    "https://snap.stanford.edu/ogb/data/misc/ogbn_arxiv/titleabs.tsv.gz",
    "7bce99ab3e1604277f12dd49f6e17a0d89867b29ea152f072c0e709ae0bc8ed7",
)


def _zip_csv(z: zipfile.ZipFile, member: str) -> np.ndarray:
    """An OGB ``*.csv.gz`` member of the archive as an int64 array (one row per line)."""
    with z.open(member) as f:
        lines = gzip.decompress(f.read()).decode("utf-8").split()  # no spaces in these
    return np.array([[int(v) for v in line.split(",")] for line in lines], dtype=np.int64)


def read_ogbn_arxiv(archive: str | Path, titleabs: str | Path) -> tuple[Data, list[str]]:
    """ogbn-arxiv from OGB's ``arxiv.zip`` and its ``titleabs.tsv.gz`` (paper id, title,
    abstract): one ``"title. abstract"`` per node, OGB's time split as masks."""
    with zipfile.ZipFile(archive) as z:
        n = int(_zip_csv(z, "arxiv/raw/num-node-list.csv.gz")[0, 0])
        edges = torch.from_numpy(_zip_csv(z, "arxiv/raw/edge.csv.gz").T.copy())
        y = torch.from_numpy(_zip_csv(z, "arxiv/raw/node-label.csv.gz")[:, 0].copy())
        with z.open("arxiv/mapping/nodeidx2paperid.csv.gz") as f:
            rows = (
                gzip.decompress(f.read()).decode("utf-8").splitlines()[1:]
            )  # header: node idx, paper id
        paper = [int(r.split(",")[1]) for r in rows]
        masks = {}
        for name, key in (("train", "train"), ("valid", "val"), ("test", "test")):
            idx = torch.from_numpy(_zip_csv(z, f"arxiv/split/time/{name}.csv.gz")[:, 0].copy())
            masks[key] = torch.zeros(n, dtype=torch.bool).index_fill_(0, idx, True)
    text: dict[int, str] = {}
    with gzip.open(titleabs, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[0].strip().isdigit():  # skips a stray first line
                text[int(parts[0])] = f"{parts[1].strip()}. {parts[2].strip()}"
    missing = [p for p in paper if p not in text]
    if missing or len(paper) != n:
        raise ValueError(
            f"{titleabs} lacks the text of {len(missing)} of {n} ogbn-arxiv papers "
            f"(e.g. paper id {missing[0] if missing else '?'})"
        )
    data = Data(edge_index=clean_edges(edges, n), y=y, num_nodes=n)
    data.train_mask, data.val_mask, data.test_mask = masks["train"], masks["val"], masks["test"]
    data.name = "ogbn_arxiv"
    return data, [text[p] for p in paper]


def load_ogbn_arxiv() -> tuple[Data, list[str]]:
    """ogbn-arxiv with raw titles and abstracts (169,343 papers, 40 subject areas), the
    dataset of GIANT's headline table. Downloads ~100 MB from OGB (sha256-pinned); not staged
    on the project's offline machines."""
    return read_ogbn_arxiv(fetch(_OGB_ARXIV), fetch(_OGB_ARXIV_TEXT))


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
    if name == "ogbn_arxiv":
        return load_ogbn_arxiv()
    raise ValueError(
        f"dataset must be one of ['cora_text', 'synthetic_text', 'ogbn_arxiv'], got {name!r}"
    )
