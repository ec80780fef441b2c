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
    # encoder E(x, z_u): an MLP of the input next to the domain's graph embedding z_u
    hidden: int = 128
    layers: int = 3
    domain_embedding: Literal["spectral", "learned"] = "spectral"  # how z_u comes from the graph
    # chosen on generated spirals (spiral_domains seeds 1-3, never DG-15/60): GRDA dev target
    # accuracy 0.71 with 1 dimension (the Fiedler vector orders the domains) vs 0.52 with 2
    embed_dim: int = 1
    # discriminator: GRDA maps an encoding to a node embedding of this width
    disc_hidden: int = 128
    disc_dim: int = 2  # width of the node embedding the discriminator outputs
    lam: float = 1.0  # weight of the adversarial term: min_{E,F} L_pred - lam * L_D
    mdd_margin: float = 4.0  # MDD's gamma
    # alternating Adam updates: D on detached encodings, then E and F
    lr: float = 3e-4
    lr_half_life: int = 0  # epochs per halving of both learning rates (0: constant)
    epochs: int = 500
    per_domain: int = 10  # samples of every domain in each batch
    # domains whose pairs enter the discriminator's loss each step: all, or a sampled sub-graph
    subgraph: Literal["all", "uniform", "walk"] = "uniform"
    subgraph_size: int = 10  # as the official configs' sample_v
    # GRDA: pairs of samples from the same domain count as disconnected pairs (needed for a
    # clique graph to mean "align all domains"); off: only pairs of distinct domains
    self_pairs: bool = True

    def validate(self) -> None:
        check(self.adapt in ADAPTERS, f"adapt must be one of {list(ADAPTERS)}, got {self.adapt!r}")
        check(
            self.domain_embedding in ("spectral", "learned"),
            f"domain_embedding must be 'spectral' or 'learned', got {self.domain_embedding!r}",
        )
        check(
            self.subgraph in ("all", "uniform", "walk"),
            f"subgraph must be 'all', 'uniform' or 'walk', got {self.subgraph!r}",
        )
        for name in ("hidden", "layers", "embed_dim", "disc_hidden", "disc_dim", "epochs"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.per_domain >= 1, f"per_domain must be >= 1, got {self.per_domain}")
        check(self.subgraph_size >= 2, f"subgraph_size must be >= 2, got {self.subgraph_size}")
        check(self.lam >= 0, f"lam must be >= 0, got {self.lam}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.lr_half_life >= 0, f"lr_half_life must be >= 0, got {self.lr_half_life}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
