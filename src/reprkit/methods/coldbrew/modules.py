"""Cold Brew's student: MLP1 mimics the teacher, virtual neighbours, MLP2 classifies.

Pure ``nn.Module`` code; no file access.
"""

from __future__ import annotations

import torch
from torch import nn

from reprkit.models.node import MLP, Linear, dropout

SCORE_BLOCK = 1 << 24  # scores (floats) held at once by the virtual-neighbour search


class ColdBrewStudent(nn.Module):
    """Cold Brew student MLP (Zheng et al., ICLR 2022, https://arxiv.org/abs/2111.04840, Sec. 3.3).

    ``ê = MLP1(x)`` approximates the teacher's concatenated layer embeddings. Its top-K matches
    (dot product) among the teacher embeddings ``P`` of observed nodes are the virtual
    neighbours: ``v = Σ_k softmax(ê·P_k) P_k``. ``MLP2([x, g_v·v, g_e·ê])`` gives the logits.

    Shapes:
        x: (B, F), node_ids: (B,) or None -> logits (B, C); ``pool``: (M, D); ê, v: (B, D)
    """

    def __init__(
        self,
        in_dim: int,
        emb_dim: int,
        n_classes: int,
        pool: torch.Tensor,
        pool_ids: torch.Tensor,
        *,
        n_nodes: int,
        hidden: int = 256,
        dropout: float = 0.5,
        top_k: int = 3,
    ) -> None:
        super().__init__()
        self.mlp1 = MLP(in_dim, hidden, emb_dim, layers=2, dropout=dropout)
        # MLP2 on [x, v, ê]: its first layer is split into a weight for x and one for [v, ê]
        # (the same linear map) so that x may be a sparse CSR tensor.
        self.mlp2_x = Linear(in_dim, hidden)
        self.mlp2_e = nn.Linear(2 * emb_dim, hidden, bias=False)
        self.mlp2_out = nn.Linear(hidden, n_classes)
        self.dropout = dropout
        # paper: learnable gates on the two embedding inputs, started near zero as in the
        # official code (SEMLP.alphas), so MLP2 starts from the raw features.
        self.gates = nn.Parameter(torch.full((2,), 1e-4))
        self.register_buffer("pool", pool)  # (M, D) teacher embeddings of observed nodes
        # position of each training-graph node in the pool, -1 when not in it
        pos = torch.full((n_nodes,), -1, dtype=torch.long)
        pos[pool_ids] = torch.arange(len(pool_ids))
        self.register_buffer("pool_pos", pos)
        self.register_buffer("pool_ids", pool_ids.clone())  # graph id of each pool row
        self.top_k = min(top_k, pool.shape[0])

    def top_neighbours(
        self, e_hat: torch.Tensor, node_ids: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions in the pool (B, K) of the top-K matches by dot product, and their softmax
        weights (B, K); with ``node_ids`` a graph node never picks itself.

        The pool is scored in chunks with a running top-K, so memory holds at most
        ``SCORE_BLOCK`` scores whatever the pool size (millions of observed nodes)."""
        b, m = e_hat.shape[0], self.pool.shape[0]
        pos = None
        if node_ids is not None:
            known = node_ids < self.pool_pos.shape[0]
            pos = torch.full_like(node_ids, -1)
            pos[known] = self.pool_pos[node_ids[known]]
        step = max(self.top_k, SCORE_BLOCK // max(b, 1))
        best = torch.full((b, 0), -torch.inf, device=e_hat.device, dtype=e_hat.dtype)
        best_idx = torch.zeros((b, 0), dtype=torch.long, device=e_hat.device)
        for lo in range(0, m, step):
            scores = e_hat @ self.pool[lo : lo + step].T  # (B, chunk)
            if pos is not None:  # the node itself, when it lies in this chunk
                rows = torch.nonzero((pos >= lo) & (pos < lo + scores.shape[1])).squeeze(1)
                scores[rows, pos[rows] - lo] = -torch.inf
            cand = torch.cat([best, scores], dim=1)
            cand_idx = torch.cat(
                [
                    best_idx,
                    torch.arange(lo, lo + scores.shape[1], device=e_hat.device).expand(b, -1),
                ],
                dim=1,
            )
            top, at = cand.topk(min(self.top_k, cand.shape[1]), dim=1)
            best, best_idx = top, cand_idx.gather(1, at)
        return best_idx, torch.softmax(best, dim=1)

    def virtual_neighbours(
        self, e_hat: torch.Tensor, node_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Softmax-weighted mean of the top-K pool embeddings (one matmul + topk): (B, D)."""
        idx, w = self.top_neighbours(e_hat, node_ids)
        return (w.unsqueeze(-1) * self.pool[idx]).sum(dim=1)  # (B, K, D) -> (B, D)

    @torch.no_grad()
    def inputs(
        self, x: torch.Tensor, node_ids: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ê, v)`` from the frozen MLP1 (trained first, then fixed): (B, D) each."""
        e_hat = self.mlp1(x)
        return e_hat, self.virtual_neighbours(e_hat, node_ids)

    def classify(self, x: torch.Tensor, e_hat: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """MLP2's logits (B, C) from ``[x, g_v·v, g_e·ê]``."""
        # first layer of MLP2 on [x, g_v·v, g_e·ê]; the gates scale the products, so no gradient
        # flows into the (B, 2D) inputs, which are constants here
        w_v, w_e = self.mlp2_e.weight.split(v.shape[1], dim=1)  # (H, D) each
        h = self.mlp2_x(x) + self.gates[0] * (v @ w_v.T) + self.gates[1] * (e_hat @ w_e.T)
        h = torch.relu(h)
        return self.mlp2_out(dropout(h, self.dropout, self.training))

    def forward(self, x: torch.Tensor, node_ids: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(x, *self.inputs(x, node_ids))

    def stage2_parameters(self) -> list[nn.Parameter]:
        """Parameters trained in stage 2 (MLP2 and the gates; MLP1 stays frozen)."""
        return [
            *self.mlp2_x.parameters(),
            *self.mlp2_e.parameters(),
            *self.mlp2_out.parameters(),
            self.gates,
        ]
