"""XR fine-tuning: an encoder learns to predict each node's neighbours coarse to fine on the tree.

Chien et al. (ICLR 2022), Sec. 3, following XR-Transformer (Zhang et al., NeurIPS 2021) as the
official ``pecos/xmc/xtransformer`` trains it:

* the encoder is fine-tuned on the tree levels with at most ``max_match_clusters`` clusters,
  never on the leaf level of individual neighbours (``model.py``, ``nr_transformers``);
* at level ``l`` a linear head ``[W_l, b_l]`` (K_l, d + 1) scores clusters from the node
  embedding (``e W_l^T + b_l``); targets are ``Y C_l``, the number of the node's neighbours in
  each cluster, and the loss is the (count-)weighted squared hinge ``w max(0, 1 - y s)^2``
  averaged over a shortlist (``network.py``, ``HingeLoss``);
* the shortlist holds the children of the true parent clusters (teacher forcing) and of the
  parent level's ``topk`` predictions (matcher-aware negatives, ``tfn+man``);
* the first level's head starts random (N(0, 0.02)); each later one is bootstrapped by a linear
  model fitted on the current embeddings (``TransformerLinearXMCHead.bootstrap``, an L2-SVM with
  ``Cp = Cn = 100``);
* AdamW with a linear warm-up and linear decay over ``steps`` updates, gradients clipped at
  ``max_grad_norm`` (``matcher.py``, ``fine_tune_encoder``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from reprkit.core import distributed
from reprkit.core.progress import progress_bar
from reprkit.core.train import warmup_linear
from reprkit.methods.giant.config import FinetuneConfig
from reprkit.methods.giant.encoders import encode
from reprkit.methods.giant.tree import LabelTree


@dataclass
class XRStats:
    """What fine-tuning did: the tree levels the encoder was fine-tuned on, the mean training
    loss of each level's last updates, and the number of updates in all."""

    last_loss: list[float]
    steps: int
    levels: list[int]


def encoder_levels(sizes: list[int], max_match_clusters: int) -> list[int]:
    """Tree levels the encoder is fine-tuned on: every level but the leaf (the labels) with at
    most ``max_match_clusters`` clusters."""
    return [lvl for lvl, k in enumerate(sizes[:-1]) if k <= max_match_clusters]


def _dense(m: sp.csr_matrix, rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(m[rows].toarray())


def squared_hinge(
    scores: torch.Tensor, counts: torch.Tensor, mask: torch.Tensor, weighted: bool = True
) -> torch.Tensor:
    """Mean over rows of ``w max(0, 1 - y s)^2`` averaged over each row's shortlist.

    ``counts`` (B, K) >= 0: a cluster is positive (y = +1) when it holds a neighbour; with
    ``weighted`` a positive weighs its count (official weighted-squared-hinge), negatives 1.
    # paper: the official loss averages over the batch's padded shortlist width; ours over each
    row's own shortlist (the same when every row's shortlist is equally long).
    """
    pos = counts > 0
    y = pos.float() * 2 - 1
    loss = torch.clamp(1 - y * scores, min=0) ** 2
    w = torch.where(pos, counts if weighted else torch.ones_like(counts), torch.ones_like(counts))
    m = mask.float()
    return ((loss * w * m).sum(1) / m.sum(1).clamp_min(1)).mean()


def scores(emb: torch.Tensor | sp.csr_matrix, head: torch.Tensor) -> torch.Tensor:
    """Cluster scores (B, K) from embeddings (B, d) and a head (K, d + 1) whose last column is
    the bias. ``emb`` may be a scipy sparse matrix (TF-IDF rows)."""
    if sp.issparse(emb):
        coo = emb.tocoo()
        idx = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        emb = torch.sparse_coo_tensor(idx, torch.from_numpy(coo.data).float(), coo.shape)
        return torch.sparse.mm(emb, head[:, :-1].T) + head[:, -1]
    return emb @ head[:, :-1].T + head[:, -1]


def fit_linear_head(
    emb: torch.Tensor | sp.csr_matrix,
    counts: sp.csr_matrix,
    mask: sp.csr_matrix | None,
    c: float = 100.0,
    iters: int = 100,
    chunk: int = 4096,
) -> torch.Tensor:
    """A head (K, d + 1) fitted on fixed embeddings (n, d), dense or scipy sparse: the L2-SVM
    ``0.5 |W|^2 + c sum max(0, 1 - y s)^2`` over the shortlisted entries (all when ``mask`` is
    None), solved with L-BFGS. The official bootstrap fits the same objective per cluster with
    liblinear (``Cp = Cn = 100``)."""
    x = emb.tocsr() if sp.issparse(emb) else emb.float()
    w = torch.zeros(counts.shape[1], x.shape[1] + 1, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        total = 0.5 * (w**2).sum()
        total.backward()
        total = total.detach()
        for i in range(0, x.shape[0], chunk):
            rows = np.arange(i, min(i + chunk, x.shape[0]))
            t = _dense(counts, rows) > 0
            y = t.float() * 2 - 1
            loss = torch.clamp(1 - y * scores(x[rows], w), min=0) ** 2
            if mask is not None:
                loss = loss * _dense(mask, rows)
            part = c * loss.sum()
            part.backward()
            total = total + part.detach()
        return total

    opt.step(closure)
    return w.detach()


def top_predictions(s: torch.Tensor, allowed: sp.csr_matrix | None, k: int) -> sp.csr_matrix:
    """(n, K) 0/1: the ``k`` best-scored clusters of each row among its ``allowed`` ones."""
    if allowed is not None:
        s = s.masked_fill(torch.from_numpy(allowed.toarray()) == 0, float("-inf"))
    k = min(k, s.shape[1])
    vals, idx = s.topk(k, dim=1)
    keep = torch.isfinite(vals)
    r = torch.arange(s.shape[0]).unsqueeze(1).expand_as(idx)[keep].numpy()
    return sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (r, idx[keep].numpy())), shape=s.shape
    )


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    m = m.tocsr(copy=True)
    m.data[:] = 1.0
    m.eliminate_zeros()
    return m


class _Scorer(nn.Module):
    """Encoder and cluster head as one module (what DDP wraps): node ids -> scores (B, K)."""

    def __init__(self, encoder: nn.Module, head: nn.Parameter) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return scores(self.encoder(ids), self.head)


def _train_level(
    encoder: nn.Module,
    head: nn.Parameter,
    counts: sp.csr_matrix,
    mask: sp.csr_matrix | None,
    rows: np.ndarray,
    cfg: FinetuneConfig,
    gen: torch.Generator,
    device: torch.device,
    desc: str,
    progress: bool | None,
) -> float:
    """``cfg.steps`` AdamW updates of encoder and head; returns the mean loss of the last
    updates (the last tenth, at least one)."""
    opt = torch.optim.AdamW(
        [
            {"params": list(encoder.parameters()), "weight_decay": cfg.weight_decay},
            {"params": [head], "weight_decay": 0.0},
        ],
        lr=cfg.lr,
    )
    sched = warmup_linear(opt, cfg.steps, cfg.warmup)
    losses: list[float] = []
    order = np.empty(0, dtype=np.int64)
    pos = 0
    # under torchrun: DDP over the shards (a transformer encoder leaves its pooler unused)
    net = distributed.wrap(_Scorer(encoder, head), find_unused_parameters=True)
    encoder.train()
    for _ in progress_bar(range(cfg.steps), desc=desc, progress=progress):
        if pos + cfg.batch_size > len(order):  # a new pass over the rows, reshuffled
            order = np.arange(len(rows))[torch.randperm(len(rows), generator=gen).numpy()]
            pos = 0
        ids, w = distributed.shard(order[pos : pos + cfg.batch_size])  # of the global batch
        pos += cfg.batch_size
        m = torch.ones(len(ids), counts.shape[1]) if mask is None else _dense(mask, ids)
        loss = squared_hinge(
            net(torch.from_numpy(rows[ids])), _dense(counts, ids).to(device), m.to(device),
            cfg.loss == "weighted",
        )  # fmt: skip
        opt.zero_grad(set_to_none=True)
        (loss * w).backward()
        nn.utils.clip_grad_norm_(encoder.parameters(), cfg.max_grad_norm)
        nn.utils.clip_grad_norm_([head], cfg.max_grad_norm)
        opt.step()
        sched.step()
        losses.append(distributed.global_mean(loss, w))  # what one process would log
        distributed.trace(losses[-1])
    encoder.eval()
    tail = losses[-max(1, len(losses) // 10) :]
    return float(np.mean(tail)) if tail else float("nan")


def fit_xr(
    encoder: nn.Module,
    tree: LabelTree,
    labels: sp.csr_matrix,
    rows: np.ndarray,
    cfg: FinetuneConfig,
    *,
    seed: int,
    device: torch.device,
    progress: bool | None = False,
) -> tuple[list[torch.Tensor], XRStats]:
    """Fine-tune ``encoder`` level by level; returns one head (K_l, d + 1) per fine-tuned level
    and the stats.

    ``labels`` (N, L) are the neighbour labels (counts) and ``rows`` the training nodes.
    """
    gen = torch.Generator().manual_seed(seed)
    y = labels[rows].tocsr()
    levels = encoder_levels(tree.sizes, cfg.max_match_clusters)
    heads: list[torch.Tensor] = []
    last_loss: list[float] = []
    pred: sp.csr_matrix | None = None  # the parent level's top-k predictions (n_rows, K_prev)
    emb: torch.Tensor | None = None  # the training rows' current embeddings
    for i, lvl in enumerate(levels):
        k = tree.sizes[lvl]
        counts = tree.counts(y, lvl)
        children = tree.children(lvl) if i > 0 else None
        mask = None
        if children is not None:  # teacher-forced + matcher-aware parents -> their children
            parents = _binary(tree.relevant(y, lvl - 1) + pred)
            mask = _binary(parents @ children)
        if i == 0:
            w = torch.cat([torch.randn(k, encoder.dim, generator=gen) * 0.02, torch.zeros(k, 1)], 1)
        elif cfg.bootstrap == "linear":
            w = fit_linear_head(emb, counts, mask)
        else:  # inherit: each child starts from its parent's row
            w = heads[-1][torch.from_numpy(tree.parent(lvl))].clone()
        head = nn.Parameter(w.to(device))
        name = f"xr level {i + 1}/{len(levels)} ({k} clusters)"
        last_loss.append(
            _train_level(encoder, head, counts, mask, rows, cfg, gen, device, name, progress)
        )
        heads.append(head.detach().cpu())
        if i + 1 < len(levels):  # the next level's bootstrap and negatives need these
            emb = encode(encoder, rows)
            allowed = None if pred is None else _binary(pred @ children)
            pred = top_predictions(scores(emb, heads[-1]), allowed, cfg.topk)
    return heads, XRStats(last_loss, cfg.steps * len(levels), levels)


def cluster_precision(s: torch.Tensor, true: sp.csr_matrix, k: int) -> float:
    """Mean precision@k of cluster scores (n, K) against the true clusters (n, K) 0/1, over the
    rows that have at least one true cluster (XMC's P@k)."""
    has = np.diff(true.indptr) > 0
    if not has.any():
        raise ValueError("cluster_precision: no row has a true cluster")
    top = s[torch.from_numpy(has)].topk(min(k, s.shape[1]), dim=1).indices.numpy()
    t = true[has]
    hits = np.take_along_axis(t.toarray(), top, axis=1).sum(1)
    return float(np.mean(hits / k))


def oracle_precision(true: sp.csr_matrix, k: int) -> float:
    """The ceiling of :func:`cluster_precision`: ``min(|true|, k) / k`` averaged over rows."""
    n = np.diff(true.indptr)
    n = n[n > 0]
    return float(np.mean(np.minimum(n, k) / k))
