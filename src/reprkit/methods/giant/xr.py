"""XR fine-tuning: an encoder learns to predict each node's neighbours coarse to fine on the tree.

Chien et al. (ICLR 2022), Sec. 3, following XR-Transformer (Zhang et al. 2021): at tree level
``l`` a linear head ``W_l`` (K_l, d) scores clusters from the node embedding. The loss is the
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
    progress: bool | None = False,
) -> tuple[list[torch.Tensor], XRStats]:
    """Fine-tune ``encoder`` level by level; returns the heads (K_l, d) and stats.

    ``labels`` (N, L) are the neighbour labels and ``rows`` the training nodes.
    """
    gen = torch.Generator().manual_seed(seed)
    relevant = [tree.relevant(labels, lvl) for lvl in range(len(tree.sizes))]
    heads: list[torch.Tensor] = []
    last_loss: list[float] = []
    steps = 0
    encoder.train()
    for lvl, k in enumerate(tree.sizes):
        if lvl == 0:
            w = torch.randn(k, encoder.dim, generator=gen) * 0.01
        else:  # bootstrap: a child starts from its parent's weights
            w = heads[-1][torch.from_numpy(tree.parent(lvl))].clone()
        head = nn.Parameter(w.to(device))
        children = None
        if lvl > 0:
            par = tree.parent(lvl)
            children = torch.zeros(tree.sizes[lvl - 1], k)
            children[torch.from_numpy(par), torch.arange(k)] = 1.0
        opt = torch.optim.AdamW(
            [
                {"params": list(encoder.parameters()), "lr": lr_encoder},
                {"params": [head], "lr": lr_head, "weight_decay": 0.0},
            ]
        )
        prev = heads[-1].to(device) if lvl > 0 else None
        total = 0.0
        for _ in range(epochs):
            order = rows[torch.randperm(len(rows), generator=gen).numpy()]
            total, count = 0.0, 0
            batches = range(0, len(order), batch_size)
            for i in progress_bar(
                batches, desc=f"xr level {lvl + 1}/{len(tree.sizes)}", progress=progress
            ):
                ids = order[i : i + batch_size]
                emb = encoder(torch.from_numpy(ids))  # (B, d)
                target = _csr_to_dense_rows(relevant[lvl], ids).to(device)
                if lvl == 0:
                    mask = torch.ones_like(target, dtype=torch.bool)
                else:
                    with torch.no_grad():
                        parent_scores = emb.detach() @ prev.T
                    true_parent = _csr_to_dense_rows(relevant[lvl - 1], ids)
                    mask = shortlist(true_parent, parent_scores.cpu(), children, beam).to(device)
                loss = squared_hinge(emb @ head.T, target, mask)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, count, steps = total + loss.item(), count + 1, steps + 1
            total /= max(count, 1)
        heads.append(head.detach().cpu())
        last_loss.append(total)
    encoder.eval()
    return heads, XRStats(last_loss, steps)
