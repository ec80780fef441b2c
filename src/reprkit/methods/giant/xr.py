"""XR fine-tuning: an encoder learns to predict each node's neighbours coarse to fine on the tree.

Chien et al. (ICLR 2022), Sec. 3, following XR-Transformer (Zhang et al. 2021): at tree level
``l`` a linear head ``[W_l, b_l]`` (K_l, d + 1) scores clusters from the node embedding
(``e W_l^T + b_l``; the bias, like PECOS's bias feature, absorbs the prior that most clusters
are negatives, so the encoder need not). The loss is the
squared hinge ``max(0, 1 - y s)^2`` over a shortlist: the children of the node's true parent
clusters (teacher forcing) and of the ``beam`` parents the model ranks highest (matcher-aware
hard negatives). Each level's head starts from its parent's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from reprkit.core.progress import progress_bar
from reprkit.methods.giant.encoders import encode
from reprkit.methods.giant.tree import LabelTree


@dataclass
class XRStats:
    """What fine-tuning did: the mean training loss of each level's last epoch."""

    last_loss: list[float]
    steps: int


def _csr_to_dense_rows(m: sp.csr_matrix, rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(m[rows].toarray())


def shortlist(
    relevant_parent: torch.Tensor,
    parent_scores: torch.Tensor | None,
    children: torch.Tensor,
    beam: int,
) -> torch.Tensor:
    """(B, K_l) bool: children of the true parents and of the ``beam`` best-scored parents.

    relevant_parent: (B, K_{l-1}) 0/1; parent_scores: (B, K_{l-1}) or None (root level: every
    cluster is on the list); children: (K_{l-1}, K_l) 0/1.
    """
    if parent_scores is None:
        return torch.ones(relevant_parent.shape[0], children.shape[1], dtype=torch.bool)
    chosen = relevant_parent.clone()
    top = parent_scores.topk(min(beam, parent_scores.shape[1]), dim=1).indices
    chosen.scatter_(1, top, 1.0)
    return (chosen @ children) > 0


def squared_hinge(scores: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over rows of the summed ``max(0, 1 - y s)^2`` on the shortlisted entries (y = ±1)."""
    y = target * 2 - 1
    loss = torch.clamp(1 - y * scores, min=0) ** 2
    return (loss * mask).sum(1).mean()


def scores(emb: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """Cluster scores (B, K) from embeddings (B, d) and a head (K, d + 1) whose last column is
    the bias."""
    return emb @ head[:, :-1].T + head[:, -1]


@dataclass
class _Level:
    """One tree level's training problem: its head, targets and shortlist inputs."""

    head: nn.Parameter  # (K, d + 1)
    relevant: sp.csr_matrix  # (N, K) 0/1
    parent_relevant: sp.csr_matrix | None  # (N, K_parent) 0/1
    prev: torch.Tensor | None  # (K_parent, d + 1): the trained parent head
    children: torch.Tensor | None  # (K_parent, K) 0/1
    beam: int
    device: torch.device

    def loss(self, emb: torch.Tensor, ids: np.ndarray) -> torch.Tensor:
        target = _csr_to_dense_rows(self.relevant, ids).to(self.device)
        if self.prev is None:
            mask = torch.ones_like(target, dtype=torch.bool)
        else:
            parent_scores = scores(emb.detach(), self.prev).cpu()
            true_parent = _csr_to_dense_rows(self.parent_relevant, ids)
            mask = shortlist(true_parent, parent_scores, self.children, self.beam)
        return squared_hinge(scores(emb, self.head), target, mask.to(self.device))


def _run_epochs(
    level: _Level,
    embed,
    params: list[dict],
    rows: np.ndarray,
    n_epochs: int,
    size: int,
    gen: torch.Generator,
    desc: str,
    progress: bool | None,
) -> tuple[float, int]:
    """Mini-batch AdamW over the training rows; returns the last epoch's mean loss and steps."""
    opt = torch.optim.AdamW(params)
    mean, steps = 0.0, 0
    for _ in range(n_epochs):
        order = rows[torch.randperm(len(rows), generator=gen).numpy()]
        total, count = 0.0, 0
        for i in progress_bar(range(0, len(order), size), desc=desc, progress=progress):
            ids = order[i : i + size]
            loss = level.loss(embed(ids), ids)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count = total + loss.item(), count + 1
        mean, steps = total / max(count, 1), steps + count
    return mean, steps


def fit_xr(
    encoder: nn.Module,
    tree: LabelTree,
    labels: sp.csr_matrix,
    rows: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr_encoder: float,
    lr_head: float,
    beam: int,
    seed: int,
    device: torch.device,
    head_warmup: int = 0,
    progress: bool | None = False,
) -> tuple[list[torch.Tensor], XRStats]:
    """Fine-tune ``encoder`` level by level; returns the heads (K_l, d + 1) and stats.

    ``labels`` (N, L) are the neighbour labels and ``rows`` the training nodes. With
    ``head_warmup > 0`` each level's head first trains alone for that many epochs on the frozen
    encoder's embeddings, so that the encoder's first updates follow a fitted head, not a
    random one.
    """
    gen = torch.Generator().manual_seed(seed)
    relevant = [tree.relevant(labels, lvl) for lvl in range(len(tree.sizes))]
    heads: list[torch.Tensor] = []
    last_loss: list[float] = []
    steps = 0
    for lvl, k in enumerate(tree.sizes):
        if lvl == 0:
            w = torch.cat([torch.randn(k, encoder.dim, generator=gen) * 0.01, torch.zeros(k, 1)], 1)
            children = None
        else:  # bootstrap: a child starts from its parent's weights
            w = heads[-1][torch.from_numpy(tree.parent(lvl))].clone()
            children = torch.zeros(tree.sizes[lvl - 1], k)
            children[torch.from_numpy(tree.parent(lvl)), torch.arange(k)] = 1.0
        level = _Level(
            nn.Parameter(w.to(device)),
            relevant[lvl],
            relevant[lvl - 1] if lvl > 0 else None,
            heads[-1].to(device) if lvl > 0 else None,
            children,
            beam,
            device,
        )
        name = f"level {lvl + 1}/{len(tree.sizes)}"
        head_group = {"params": [level.head], "lr": lr_head, "weight_decay": 0.0}
        if head_warmup > 0:  # the head alone, on the frozen encoder's embeddings
            frozen = torch.zeros(labels.shape[0], encoder.dim, device=device)
            frozen[torch.from_numpy(rows)] = encode(encoder, rows).to(device)
            _, n = _run_epochs(
                level,
                lambda ids, f=frozen: f[torch.from_numpy(ids)],
                [head_group],
                rows,
                head_warmup,
                256,
                gen,
                f"xr head warm-up {name}",
                progress,
            )
            steps += n
        encoder.train()
        loss, n = _run_epochs(
            level,
            lambda ids: encoder(torch.from_numpy(ids)),
            [{"params": list(encoder.parameters()), "lr": lr_encoder}, head_group],
            rows,
            epochs,
            batch_size,
            gen,
            f"xr {name}",
            progress,
        )
        steps += n
        heads.append(level.head.detach().cpu())
        last_loss.append(loss)
    encoder.eval()
    return heads, XRStats(last_loss, steps)
