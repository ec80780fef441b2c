"""GIANT-XRT estimator: graph + one text per node in, node features out."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from torch_geometric.data import Data

from reprkit.core.base import BaseEstimator
from reprkit.core.seed import seeded
from reprkit.datasets.graphs import as_edge_index
from reprkit.methods.giant import pecos_backend
from reprkit.methods.giant.config import GiantConfig, TfidfConfig
from reprkit.methods.giant.encoders import LinearEncoder, TransformerEncoder, encode
from reprkit.methods.giant.tree import LabelTree, build_tree, neighbour_labels, pifa
from reprkit.methods.giant.xr import XRStats, fit_xr
from reprkit.models.text import check_model_dir, default_model_path

CITATION = """@inproceedings{chien2022giant,
  title={Node Feature Extraction by Self-Supervised Multi-scale Neighborhood Prediction},
  author={Chien, Eli and Chang, Wei-Cheng and Hsieh, Cho-Jui and Yu, Hsiang-Fu and
          Zhang, Jiong and Milenkovic, Olgica and Dhillon, Inderjit S},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


def check_texts(texts: Any, n: int | None, name: str = "texts") -> list[str]:
    """A list of non-empty strings (one per node when ``n`` is given)."""
    if isinstance(texts, str) or not hasattr(texts, "__len__"):
        raise ValueError(f"{name} must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(
            f"{name} must hold strings; item {bad[0]} is {type(texts[bad[0]]).__name__}"
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise ValueError(f"{name} has {len(empty)} empty string(s), first at index {empty[0]}")
    if n is not None and len(texts) != n:
        raise ValueError(f"{name} has {len(texts)} strings but the graph has {n} nodes")
    return texts


def tfidf_vectorizer(
    t: TfidfConfig, min_df: int | None = None, analyzer: str = "word"
) -> TfidfVectorizer:
    """One TF-IDF block of node texts: word 1..``ngram_max``-grams (also the ``tfidf``
    baseline) or, with ``analyzer="char_wb"``, character ``char_ngram``-grams."""
    n = (1, t.ngram_max) if analyzer == "word" else (t.char_ngram, t.char_ngram)
    return TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=n,
        min_df=t.min_df if min_df is None else min_df,
        max_features=t.max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )


class NodeTfidf:
    """GIANT's TF-IDF of node texts: word n-grams next to character n-grams, as the official
    ``vect_config.json``; each block L2-normalised, the stacked rows L2-normalised again."""

    def __init__(self, t: TfidfConfig, min_df: int | None = None) -> None:
        kinds = ["word"] + (["char_wb"] if t.char_ngram > 0 else [])
        self.blocks = [tfidf_vectorizer(t, min_df, k) for k in kinds]

    def _stack(self, parts: list[sp.csr_matrix]) -> sp.csr_matrix:
        return normalize(sp.hstack(parts).tocsr()).astype(np.float32)

    def fit_transform(self, texts: list[str]) -> sp.csr_matrix:
        return self._stack([v.fit_transform(texts) for v in self.blocks])

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return self._stack([v.transform(texts) for v in self.blocks])

    @property
    def n_features(self) -> int:
        return sum(len(v.vocabulary_) for v in self.blocks)

    def state(self) -> list[dict[str, Any]]:
        return [
            {
                "vocabulary": {k: int(i) for k, i in v.vocabulary_.items()},
                "idf": torch.from_numpy(v.idf_.astype(np.float32)),
            }
            for v in self.blocks
        ]

    def load_state(self, state: list[dict[str, Any]]) -> NodeTfidf:
        for v, st in zip(self.blocks, state, strict=True):
            v.vocabulary_ = dict(st["vocabulary"])
            v.idf_ = st["idf"].numpy().astype(np.float64)
        return self


def _edge_index(graph: Any) -> tuple[torch.Tensor, int | None]:
    """(edge index (2, E), the number of nodes when known) of a ``Data`` or an edge array
    (numpy / torch, (2, E) or (E, 2))."""
    if isinstance(graph, Data):
        return as_edge_index(graph.edge_index, "graph.edge_index"), graph.num_nodes
    return as_edge_index(graph, "graph"), None


class GiantXRT(BaseEstimator):
    """GIANT-XRT (Chien et al., ICLR 2022, https://arxiv.org/abs/2111.00064).

    Self-supervised node features from raw text: the encoder is fine-tuned to predict each
    node's neighbours (an extreme multi-label problem) coarse to fine on a hierarchical label
    tree. ``transform(texts)`` then gives features for any PyG model.

    Example:
        >>> giant = GiantXRT().fit(data, texts)       # doctest: +SKIP
        >>> data.x = giant.transform(texts)           # doctest: +SKIP
    """

    name = "giant"
    config_cls = GiantConfig

    def fit(self, graph: Any, texts: Any) -> GiantXRT:
        """Fine-tune the encoder on neighbourhood prediction.

        Args:
            graph: a ``Data`` (its ``edge_index``) or an edge index (2, E); node ids index
                ``texts``.
            texts: one non-empty string per node.
        """
        edge_index, n = _edge_index(graph)
        texts = check_texts(texts, n)
        n = len(texts)
        if edge_index.numel() == 0:
            raise ValueError("graph has no edges: GIANT learns from neighbourhoods")
        if int(edge_index.min()) < 0 or int(edge_index.max()) >= n:
            raise ValueError(f"graph has node ids outside [0, {n}) (one text per node)")
        cfg = self.config
        if cfg.encoder.kind == "transformer":
            check_model_dir(cfg.encoder.model or default_model_path())
        if cfg.tree.backend == "pecos":
            pecos_backend.check_available()
        vec = NodeTfidf(cfg.tfidf, min(cfg.tfidf.min_df, n))
        x = vec.fit_transform(texts)
        labels, rows = neighbour_labels(edge_index.cpu().numpy(), n, cfg.tree.max_degree)
        if len(rows) == 0:
            raise ValueError(
                f"no node has between 1 and tree.max_degree={cfg.tree.max_degree} neighbours"
            )
        t = cfg.tree
        if t.backend == "pecos":
            z = pecos_backend.pecos_pifa(labels, x, rows)
            tree = pecos_backend.pecos_tree(
                z, branching=t.branching, max_leaf_size=t.max_leaf_size, seed=cfg.seed
            )
        else:
            z = pifa(labels, x, rows)
            tree = build_tree(
                z, branching=t.branching, max_leaf_size=t.max_leaf_size, seed=cfg.seed
            )
        with seeded(cfg.seed):
            encoder = self._new_encoder(texts, x)
            encoder.to(self.device)
            heads, stats = fit_xr(
                encoder,
                tree,
                labels,
                rows,
                cfg.finetune,
                seed=cfg.seed,
                device=self.device,
                progress=self.progress,
            )
        self.encoder_, self.vectorizer_, self.heads_ = encoder, vec, heads
        self.tree_, self.stats_ = tree, stats
        self.tree_sizes_ = tree.sizes
        self.fitted_ = True
        return self

    def _new_encoder(self, texts: list[str], x) -> torch.nn.Module:
        e = self.config.encoder
        if e.kind == "linear":
            return LinearEncoder(x.shape[1], e.dim, x)
        return TransformerEncoder.from_path(e.model or default_model_path(), texts, e.max_length)

    def transform(self, texts: Any) -> torch.Tensor:
        """Features (N, d) of the given texts from the fine-tuned encoder (torch: they feed a PyG
        model)."""
        self._check_fitted()
        texts = check_texts(texts, None)
        enc = self.encoder_
        if isinstance(enc, LinearEncoder):
            view = enc.on(self.vectorizer_.transform(texts))
        else:
            from transformers import AutoTokenizer

            path = self.config.encoder.model or default_model_path()
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            view = enc.on(TransformerEncoder.tokenize(tok, texts, self.config.encoder.max_length))
        return encode(view, n=len(texts))

    def _get_state(self) -> dict[str, Any]:
        s = self.stats_
        return {
            "encoder": self.encoder_.state_dict(),
            "heads": self.heads_,
            "tree": [torch.from_numpy(a) for a in self.tree_.assign],
            "tfidf": self.vectorizer_.state(),
            "stats": {"last_loss": s.last_loss, "steps": s.steps, "levels": s.levels},
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        vec = NodeTfidf(self.config.tfidf, 1).load_state(state["tfidf"])
        e = self.config.encoder
        if e.kind == "linear":
            enc: torch.nn.Module = LinearEncoder(vec.n_features, e.dim)
        else:
            enc = TransformerEncoder.from_path(e.model or default_model_path(), ["."], 8)
        enc.load_state_dict(state["encoder"])
        self.encoder_ = enc.to(self.device).eval()
        self.vectorizer_, self.heads_ = vec, list(state["heads"])
        self.tree_ = LabelTree([a.numpy() for a in state["tree"]])
        self.tree_sizes_ = self.tree_.sizes
        st = state["stats"]
        self.stats_ = XRStats(list(st["last_loss"]), int(st["steps"]), list(st["levels"]))
