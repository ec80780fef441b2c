"""The baselines of the Cold Brew experiment, trained through the same data path and selection.

Each function takes the prepared graph data and returns class scores (N, C) for every node.
GCN, SAGE and the MLP use the shared node-classifier trainer; GraphMLP and GLNN add their own
loss terms to the shared training loop.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from reprkit.core.seed import seeded
from reprkit.core.train import Schedule, fit_loop
from reprkit.eval.report import log
from reprkit.methods.coldbrew.config import BaselineConfig, TeacherConfig
from reprkit.methods.coldbrew.method import fit_segcn
from reprkit.models.node import (
    MLP,
    SAGE,
    Graph,
    dropout,
    fit_node_classifier,
    label_propagation,
    score,
    sparse_if_helpful,
)


def _fit(model, x, graph, y, train, val, cfg: Schedule, progress, desc, metric) -> torch.Tensor:
    fit_node_classifier(
        model, x, graph, y, train, val, cfg, progress=progress, desc=desc, metric=metric
    )
    with torch.no_grad():
        return model(sparse_if_helpful(x), graph)


def gcn(
    x,
    graph: Graph,
    y,
    train,
    val,
    *,
    teacher: TeacherConfig,
    seed: int,
    se: str = "none",
    norm: str = "none",
    metric: str = "accuracy",
    progress=False,
) -> torch.Tensor:
    """GCN: Cold Brew's teacher code; ``se="none"``, ``norm="none"`` (default) is the plain GCN."""
    with seeded(seed):
        model = fit_segcn(
            x,
            graph,
            y,
            train,
            val,
            teacher,
            se=se,
            norm=norm,
            metric=metric,
            progress=progress,
            desc="gcn" if se == "none" else "gcn+se",
        )
        with torch.no_grad():
            return model(sparse_if_helpful(x), graph)


def sage(
    x, graph: Graph, y, train, val, *, teacher: TeacherConfig, seed: int, metric="accuracy",
    progress=False,
) -> torch.Tensor:  # fmt: skip
    """GraphSAGE (mean aggregation) with the teacher's width and optimiser settings."""
    with seeded(seed):
        model = SAGE(
            x.shape[1],
            teacher.hidden,
            int(y.max()) + 1,
            layers=teacher.layers,
            dropout=teacher.dropout,
        ).to(x.device)
        return _fit(model, x, graph, y, train, val, teacher, progress, "sage", metric)


def mlp(
    x, y, train, val, *, cfg: BaselineConfig, seed: int, metric="accuracy", progress=False
) -> torch.Tensor:
    """Two-layer MLP on node features only."""
    with seeded(seed):
        model = MLP(x.shape[1], cfg.hidden, int(y.max()) + 1, dropout=cfg.dropout).to(x.device)
        return _fit(model, x, None, y, train, val, cfg, progress, "mlp", metric)


def _adjacency_power(edge_index: torch.Tensor, n: int, r: int) -> sp.csr_matrix:
    """``Â^r`` with ``Â = D^-1 (A + I)`` and a zero diagonal: GraphMLP's r-hop neighbour
    weights (a node is not its own positive)."""
    ei = edge_index.cpu().numpy()
    a = sp.csr_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n)) + sp.eye(
        n, format="csr"
    )
    a = sp.diags(1.0 / np.asarray(a.sum(axis=1)).ravel()) @ a
    out = a
    for _ in range(r - 1):
        out = out @ a
    out = out.tolil()
    out.setdiag(0.0)
    return out.tocsr()


def graphmlp(
    x, graph: Graph, y, train, val, *, cfg: BaselineConfig, seed: int, metric="accuracy",
    progress=False,
) -> torch.Tensor:  # fmt: skip
    """GraphMLP (Hu et al. 2021): an MLP whose hidden layer is pulled towards r-hop neighbours.

    Loss: cross-entropy on training nodes + ``w`` × neighbour-contrastive loss
    ``-log(Σ_j a_ij exp(cos(z_i,z_j)/τ) / Σ_k exp(cos(z_i,z_k)/τ))`` on a random node batch,
    with ``a_ij`` from ``Â^r``; ``w`` is picked from ``graphmlp_weights`` on validation accuracy.
    Prediction uses features only.
    """
    n = x.shape[0]
    adj = _adjacency_power(graph.edge_index, n, cfg.graphmlp_r)
    if n <= 12_000:  # dense copy (at most ~0.6 GB) makes the per-batch slicing cheap
        dense = torch.from_numpy(adj.toarray()).float().to(x.device)

        def adj_of(idx: torch.Tensor) -> torch.Tensor:
            i = idx.to(x.device)
            return dense.index_select(0, i).index_select(1, i)
    else:

        def adj_of(idx: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(adj[idx.numpy()][:, idx.numpy()].toarray()).float().to(x.device)

    n_classes = int(y.max()) + 1
    train_idx = torch.nonzero(train).squeeze(1).cpu()
    others = torch.nonzero(~train).squeeze(1).cpu()
    x_val, x_all = sparse_if_helpful(x[val]), sparse_if_helpful(x)
    batch = min(cfg.graphmlp_batch, n)
    n_lab = min(batch, len(train_idx))  # labelled nodes per batch

    def fit_one(weight: float) -> tuple[torch.Tensor, float]:
        with seeded(seed) as (gen, _):
            model = MLP(x.shape[1], cfg.hidden, n_classes, dropout=cfg.dropout).to(x.device)

            def loss_fn() -> torch.Tensor:
                # as the official Graph-MLP batches: the training nodes first (all of them when
                # they fit), random other nodes after them up to the batch size
                lab = train_idx[torch.randperm(len(train_idx), generator=gen)[:n_lab]]
                fill = others[torch.randperm(len(others), generator=gen)[: batch - n_lab]]
                idx = torch.cat([lab, fill])
                # hidden layer for all nodes from the CSR prepared once, then the batch's rows:
                # cheaper than building a CSR of the batch in every epoch
                z = model.hidden(x_all)[idx.to(x.device)]  # (B, H)
                logits = model.lins[-1](dropout(z[:n_lab], model.dropout, model.training))
                ce = F.cross_entropy(logits, y[lab.to(x.device)])
                zn = F.normalize(z, dim=1)
                sim = torch.exp(zn @ zn.T / cfg.graphmlp_tau)  # (B, B)
                num = (adj_of(idx) * sim).sum(1)  # adjacency has a zero diagonal
                den = sim.sum(1) - sim.diagonal()  # all other nodes of the batch
                has = num > 0
                nc = (
                    -torch.log(num[has] / den[has]).mean()
                    if has.any()
                    else torch.zeros((), device=x.device)
                )
                return ce + weight * nc

            return _fit_mlp_loss(
                model, loss_fn, x, x_val, y[val], cfg, progress, "graphmlp", metric
            )

    # the contrastive weight is chosen on validation accuracy: one value does not suit every
    # graph (Cora: 1.0 is best; CiteSeer: 1.0 makes training collapse, 0.1 does not)
    fits = {w: fit_one(w) for w in cfg.graphmlp_weights}
    best = max(fits, key=lambda w: fits[w][1])
    log.info(
        "graphmlp: validation accuracy by contrastive weight %s; kept %s",
        {w: round(f[1], 4) for w, f in fits.items()},
        best,
    )
    return fits[best][0]


def glnn(
    x,
    y,
    train,
    val,
    teacher_logits: torch.Tensor,
    distill: torch.Tensor,
    *,
    cfg: BaselineConfig,
    seed: int,
    weights: tuple[float, ...] | None = None,
    metric: str = "accuracy",
    progress=False,
) -> torch.Tensor:
    """GLNN (Zhang et al., ICLR 2022): an MLP trained on labels and a GNN's soft labels.

    Loss: ``λ · CE(train labels) + (1 − λ) · T² · KL(teacher_T ‖ student_T)`` on ``distill``
    nodes. ``weights``: soft-label weights ``1 − λ`` to choose among on the validation
    ``metric`` (the grid Cold Brew's MLP2 gets); default ``1 − cfg.glnn_lambda`` alone.
    """
    temp = cfg.glnn_temperature
    grid = weights if weights else (1 - cfg.glnn_lambda,)
    x_train, x_dist, x_val = (sparse_if_helpful(x[m]) for m in (train, distill, val))
    soft = F.softmax(teacher_logits[distill] / temp, dim=1)

    def fit_one(w: float) -> tuple[torch.Tensor, float]:
        with seeded(seed):
            model = MLP(x.shape[1], cfg.hidden, int(y.max()) + 1, dropout=cfg.dropout)
            model = model.to(x.device)

            def loss_fn() -> torch.Tensor:
                ce = F.cross_entropy(model(x_train), y[train])
                log_p = F.log_softmax(model(x_dist) / temp, dim=1)
                kd = F.kl_div(log_p, soft, reduction="batchmean")
                return (1 - w) * ce + w * temp**2 * kd

            return _fit_mlp_loss(model, loss_fn, x, x_val, y[val], cfg, progress, "glnn", metric)

    fits = {w: fit_one(w) for w in grid}
    best = max(fits, key=lambda w: fits[w][1])
    if len(fits) > 1:
        log.info(
            "glnn: validation %s by soft-label weight %s; kept %s",
            metric, {w: round(f[1], 4) for w, f in fits.items()}, best,
        )  # fmt: skip
    return fits[best][0]


def _fit_mlp_loss(
    model, loss_fn, x, x_val, y_val, cfg: BaselineConfig, progress, desc, metric="accuracy"
) -> tuple[torch.Tensor, float]:
    """Shared tail of the MLP baselines with their own loss: early stopping on the validation
    ``metric``, then scores for every node and the best validation score."""
    result = fit_loop(
        model,
        loss_fn,
        lambda: score(metric, model(x_val), y_val),
        cfg,
        progress=progress,
        desc=desc,
    )
    with torch.no_grad():
        return model(sparse_if_helpful(x)), result.best_score


def lp(graph: Graph, y, train, *, cfg: BaselineConfig) -> torch.Tensor:
    """Label propagation from the training labels over the graph (no features, no training)."""
    return label_propagation(y, graph, train, layers=cfg.lp_layers, alpha=cfg.lp_alpha)
