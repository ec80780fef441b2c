"""GRDA configuration (and its baselines'): the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

ADAPTERS = ("source_only", "dann", "adda", "cdann", "mdd", "grda")


@dataclass(frozen=True)
class GRDAConfig:
    # which adaptation: grda, or a baseline through the same encoder / predictor / data path
    adapt: Literal["source_only", "dann", "adda", "cdann", "mdd", "grda"] = "grda"
    seed: int = 0
    # z-score x over all domains' inputs (no labels used), as the official main.py does
    standardize: bool = True
    # encoder E(x, z_u): an MLP of the input next to the domain's graph embedding z_u
    hidden: int = 512  # official nh
    layers: int = 3
    domain_embedding: Literal["spectral", "learned"] = "spectral"  # how z_u comes from the graph
    # 0 = chosen by a rule on the graph (method.auto_embed_dim: 2 when the 2-D Laplacian
    # embedding reconstructs the edges clearly better than 1-D, as on a ring), else 1 or 2
    embed_dim: int = 0
    # discriminator: GRDA maps an encoding to a node embedding of this width
    disc_hidden: int = 512
    disc_dim: int = 2  # width of the node embedding the discriminator outputs (official nd_out)
    # DANN / CDANN discriminator: classify every domain (official) or source vs target
    disc_classes: Literal["domains", "binary"] = "domains"
    # weight of the adversarial term: min_{E,F} L_pred - lam * L_D; GRDA's L_D is multiplied
    # by the number of domains (official "loss balance")
    lam: float = 1.0
    mdd_src: float = 0.5  # MDD: weight of the source-agreement term (official 0.5)
    mdd_tgt: float = 0.5  # MDD: weight of the target-disagreement term (official 0.5)
    lr: float = 1e-4  # Adam learning rate (official: 1e-4 on DG-15, 1e-5 on DG-60)
    beta1: float = 0.9  # Adam beta1 (official 0.9)
    lr_half_life: int = 100  # epochs per halving of both learning rates (0: constant)
    epochs: int = 500
    per_domain: int = 10  # samples of every domain in each batch
    # domains whose pairs enter the discriminator's loss each step: all, a uniform sample, a
    # random-walk chain, or (official) a coin flip between uniform and walk every step
    subgraph: Literal["all", "uniform", "walk", "mixed"] = "mixed"
    subgraph_size: int = 10  # official sample_v (10 on DG-15, 30 on DG-60)
    # which samples are paired across domains: "independent" (each domain's rows shuffled on
    # their own: unsupervised) or "index_aligned" (the official loader: one shared row order,
    # position k of every domain paired; with class-sorted data every pair is one class, so
    # it uses target labels through the data order - not an unsupervised method)
    pairing: Literal["independent", "index_aligned"] = "independent"
    # GRDA's pair logit: "dot" (paper Eq. 3 and official: the node embeddings' dot product
    # d_i . d_j) or "unit_metric" (ours: unit-length embeddings, logit d_i M d_j with a learned
    # symmetric M, identity at start; lets a clique graph mean "align all domains")
    pair_score: Literal["dot", "unit_metric"] = "dot"
    # GRDA: pairs of samples from the same domain count as disconnected pairs (needed for a
    # clique graph to mean "align all domains"); off (official): only distinct domains
    self_pairs: bool = False

    def validate(self) -> None:
        check(self.adapt in ADAPTERS, f"adapt must be one of {list(ADAPTERS)}, got {self.adapt!r}")
        check(
            self.domain_embedding in ("spectral", "learned"),
            f"domain_embedding must be 'spectral' or 'learned', got {self.domain_embedding!r}",
        )
        check(
            self.subgraph in ("all", "uniform", "walk", "mixed"),
            f"subgraph must be 'all', 'uniform', 'walk' or 'mixed', got {self.subgraph!r}",
        )
        check(
            self.pairing in ("independent", "index_aligned"),
            f"pairing must be 'independent' or 'index_aligned', got {self.pairing!r}",
        )
        check(
            self.pair_score in ("dot", "unit_metric"),
            f"pair_score must be 'dot' or 'unit_metric', got {self.pair_score!r}",
        )
        check(
            self.disc_classes in ("domains", "binary"),
            f"disc_classes must be 'domains' or 'binary', got {self.disc_classes!r}",
        )
        check(
            self.embed_dim >= 0, f"embed_dim must be >= 0 (0: by the graph), got {self.embed_dim}"
        )
        check(0 < self.beta1 < 1, f"beta1 must be in (0, 1), got {self.beta1}")
        check(self.mdd_src >= 0 and self.mdd_tgt >= 0 and self.mdd_src + self.mdd_tgt > 0,
              "mdd_src and mdd_tgt must be >= 0, not both 0")  # fmt: skip
        for name in ("hidden", "layers", "disc_hidden", "disc_dim", "epochs"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.per_domain >= 1, f"per_domain must be >= 1, got {self.per_domain}")
        check(self.subgraph_size >= 2, f"subgraph_size must be >= 2, got {self.subgraph_size}")
        check(self.lam >= 0, f"lam must be >= 0, got {self.lam}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.lr_half_life >= 0, f"lr_half_life must be >= 0, got {self.lr_half_life}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
