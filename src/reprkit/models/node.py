"""Node classifiers shared by Cold Brew and GIANT: MLP, GCN with structural embeddings, SAGE, LP.

Every model maps ``(x, graph)`` to logits, so one training function serves them all; the graph
is prepared once (:func:`prepare_graph`) and ignored by the MLP.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import LabelPropagation, SimpleConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from reprkit.core.train import Schedule, TrainResult, fit_loop

_SPARSE_BELOW = 0.1  # feature density under which a CSR copy speeds up the first layer


def sparse_if_helpful(x: torch.Tensor) -> torch.Tensor:
    """A CSR copy of a mostly-zero feature matrix (bag-of-words), else ``x`` itself.

    :class:`Linear` layers take CSR input with exact gradients for their weights; on Cora this
    makes a first layer several times faster. The copy carries its transpose, made once here, for
    the weight gradient. CSR tensors cannot be row-indexed: take row subsets before calling this.
    """
    if x.layout != torch.strided or x.dim() != 2 or x.numel() == 0:
        return x
    if float((x != 0).float().mean()) >= _SPARSE_BELOW:
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        xs = x.to_sparse_csr()
        xs._reprkit_t = x.T.to_sparse_csr()  # (F, N), for the weight gradient
    return xs


class _CSRLinear(torch.autograd.Function):
    """``x W^T + b`` for a constant CSR ``x`` whose transpose is known: torch's own backward
    re-transposes ``x`` in every step, which costs three times the matmul."""

    @staticmethod
    def forward(ctx, x, x_t, weight, bias):  # type: ignore[override]
        ctx.save_for_backward(x_t)
        out = x @ weight.T
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x_t,) = ctx.saved_tensors
        grad_bias = grad.sum(0) if ctx.needs_input_grad[3] else None
        return None, None, (x_t @ grad).T, grad_bias


class Linear(nn.Linear):
    """``nn.Linear`` with the fast path for CSR input from :func:`sparse_if_helpful`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_t = getattr(x, "_reprkit_t", None)
        if x_t is None:
            return super().forward(x)
        return _CSRLinear.apply(x, x_t, self.weight, self.bias)


@dataclass
class Graph:
    """A graph ready for message passing, prepared once: raw edges and two sparse (CSR)
    transposed adjacencies, so that PyG aggregates by one sparse matmul instead of gathering a
    copy of every neighbour's features (2-3x faster on Cora)."""

    edge_index: torch.Tensor  # (2, E) undirected, no self loops needed
    num_nodes: int
    adj_t: torch.Tensor  # (N, N) CSR of ones: row i holds the nodes whose messages i receives
    norm_adj_t: torch.Tensor  # (N, N) CSR of D^-1/2 (A + I) D^-1/2 (GCN)

    def to(self, device: torch.device) -> Graph:
        return Graph(
            self.edge_index.to(device),
            self.num_nodes,
            self.adj_t.to(device),
            self.norm_adj_t.to(device),
        )


def _csr_t(edge_index: torch.Tensor, weight: torch.Tensor, n: int) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return (
            torch.sparse_coo_tensor(edge_index.flip(0), weight, (n, n)).coalesce().to_sparse_csr()
        )


def prepare_graph(edge_index: torch.Tensor, num_nodes: int) -> Graph:
    norm_index, norm_weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    ones = torch.ones(edge_index.shape[1], device=edge_index.device)
    return Graph(
        edge_index,
        num_nodes,
        _csr_t(edge_index, ones, num_nodes),
        _csr_t(norm_index, norm_weight, num_nodes),
    )


class NeighbourSampler:
    """Uniform neighbour sampling for mini-batch GNN training (GraphSAGE's recipe, what PyG's
    ``NeighborLoader`` does), in pure torch: PyG's own sampler needs the compiled ``pyg-lib`` or
    ``torch-sparse``, which this project does not install.

    ``sample(seeds)`` takes, hop by hop, up to ``fanouts[h]`` in-neighbours of every frontier
    node (all of them when it has fewer; otherwise drawn uniformly with replacement and
    deduplicated — PyG draws without replacement) and returns the sampled subgraph: node ids
    ``n_id`` with the seeds first, and its :class:`Graph` (GCN-normalised on the subgraph, as
    ``GCNConv`` on a ``NeighborLoader`` batch).
    """

    def __init__(
        self, edge_index: torch.Tensor, num_nodes: int, fanouts: tuple[int, ...] = (10, 10)
    ) -> None:
        if not fanouts or min(fanouts) < 1:
            raise ValueError(f"fanouts must be positive integers, got {fanouts}")
        dst, order = edge_index[1].sort()
        self.col = edge_index[0][order]  # message sources, grouped by target
        self.rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        self.rowptr[1:] = torch.bincount(dst, minlength=num_nodes).cumsum(0)
        self.fanouts, self.num_nodes = tuple(fanouts), num_nodes
        self._pos = torch.full((num_nodes,), -1, dtype=torch.long)  # reused id map

    def _hop(
        self, nodes: torch.Tensor, k: int, gen: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.rowptr[nodes]
        deg = self.rowptr[nodes + 1] - start
        full = deg <= k
        # every neighbour of the nodes with at most k
        f_deg = deg[full]
        rep = torch.repeat_interleave(torch.arange(len(f_deg)), f_deg)
        offs = torch.arange(int(f_deg.sum())) - torch.repeat_interleave(
            f_deg.cumsum(0) - f_deg, f_deg
        )
        src_f, dst_f = self.col[start[full][rep] + offs], nodes[full][rep]
        # k draws with replacement for the others
        s_start, s_deg = start[~full], deg[~full]
        r = (torch.rand(len(s_deg), k, generator=gen) * s_deg[:, None]).long()
        src_s = self.col[(s_start[:, None] + r).flatten()]
        dst_s = nodes[~full].repeat_interleave(k)
        return torch.cat([src_f, src_s]), torch.cat([dst_f, dst_s])

    def sample(
        self, seeds: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, Graph]:
        pos = self._pos
        n_id = [seeds]
        pos[seeds] = torch.arange(len(seeds))
        count, frontier, edges = len(seeds), seeds, []
        for k in self.fanouts:
            src, dst = self._hop(frontier, k, generator)
            edges.append(torch.stack([src, dst]))
            new = torch.unique(src[pos[src] < 0])
            pos[new] = torch.arange(count, count + len(new))
            count += len(new)
            n_id.append(new)
            frontier = new
        ids = torch.cat(n_id)
        ei = torch.unique(pos[torch.cat(edges, dim=1)], dim=1)  # relabelled, deduplicated
        pos[ids] = -1  # reset the reused map
        return ids, prepare_graph(ei, len(ids))


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with its mask drawn from random bytes: about 5x faster than ``F.dropout``
    on CPU, whose Bernoulli sampler took a quarter of a Cold Brew fit. ``p`` is rounded to a
    multiple of 1/256 (0.5 exactly); the kept values are scaled so the expectation is ``x``."""
    if not training or p == 0.0:
        return x
    cut = round(p * 256)  # a byte below `cut` drops its element
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 7) // 8,), dtype=torch.int64, device=x.device)
    keep = words.view(torch.uint8)[:n].view_as(x) >= cut
    return x * keep.to(x.dtype) * (256 / (256 - cut))


class MLP(nn.Module):
    """Multi-layer perceptron with ReLU and dropout.

    Shapes:
        x: (N, in_dim) -> (N, out_dim)
    """

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, layers: int = 2, dropout: float = 0.5
    ) -> None:
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.lins = nn.ModuleList(Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.dropout = dropout

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last hidden layer (N, hidden), before dropout."""
        for i, lin in enumerate(self.lins[:-1]):
            x = F.relu(lin(x if i == 0 else dropout(x, self.dropout, self.training)))
        return x

    def forward(self, x: torch.Tensor, graph: Graph | None = None) -> torch.Tensor:
        # Dropout on hidden layers only, as in the official Cold Brew MLPs: dropout on wide
        # bag-of-words inputs costs more than the rest of a training step on a CPU.
        return self.lins[-1](dropout(self.hidden(x), self.dropout, self.training))


def pair_norm(h: torch.Tensor) -> torch.Tensor:
    """PairNorm (Zhao & Akoglu, ICLR 2020), the official Cold Brew variant: centre every column
    over the nodes, then scale so that the mean squared row norm is 1. (N, d) -> (N, d)."""
    h = h - h.mean(dim=0)
    return h / (1e-6 + h.pow(2).sum(dim=1).mean()).sqrt()


def node_norm(h: torch.Tensor) -> torch.Tensor:
    """NodeNorm (Zhou et al. 2021, type "n"): each row centred and divided by its own standard
    deviation, so no node's embedding is larger than another's. (N, d) -> (N, d)."""
    h = h - h.mean(dim=1, keepdim=True)
    return h / (1e-5 + h.var(dim=1, unbiased=False, keepdim=True)).sqrt()


NORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "pairnorm": pair_norm,
    "nodenorm": node_norm,
}


class SEGCN(nn.Module):
    """GCN with learnable per-node Structural Embeddings (Cold Brew's teacher).

    Cold Brew (Zheng et al., ICLR 2022, https://arxiv.org/abs/2111.04840), Eq. 2:
    ``X^{(l+1)} = σ(norm(Ã (X^{(l)} W^{(l)} + E^{(l)}) + b^{(l)}))`` with
    ``Ã = D^{-1/2}(A+I)D^{-1/2}`` and a learnable ``E^{(l)} ∈ R^{N×d_l}`` started from N(0, 1)
    and penalised by its (unsquared) Frobenius norm, as the official code
    (``GNN_model/GCN.py``, ``GCNConv``; ``trainer_node_classification.py``, ``se_reg``). The bias
    is added after propagation, as PyG's ``GCNConv``. ``norm`` ("none", "pairnorm", "nodenorm")
    normalises every layer's output, as the paper's best teachers. With ``se="none"`` and no norm
    this is a plain GCN (Kipf & Welling 2017), the ``gcn`` baseline.

    Shapes:
        x: (N, F), graph with N nodes -> logits (N, C); ``embeddings`` -> [(N, H)] * (L-1) + [(N, C)]
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        n_classes: int,
        n_nodes: int,
        *,
        layers: int = 2,
        dropout: float = 0.5,
        se: Literal["none", "first", "all"] = "first",
        norm: Literal["none", "pairnorm", "nodenorm"] = "none",
        se_init: Literal["randn", "zeros"] = "randn",
    ) -> None:
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1) + [n_classes]
        pairs = list(zip(dims[:-1], dims[1:], strict=True))
        self.lins = nn.ModuleList(Linear(a, b, bias=False) for a, b in pairs)
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(b)) for _, b in pairs)
        with_se = [se == "all" or (se == "first" and i == 0) for i in range(layers)]
        init = torch.randn if se_init == "randn" else torch.zeros
        self.se = nn.ParameterList(
            nn.Parameter(init(n_nodes, dims[i + 1])) for i in range(layers) if with_se[i]
        )
        self._se_at = [sum(with_se[:i]) if with_se[i] else -1 for i in range(layers)]
        self.prop = SimpleConv(aggr="sum")  # weighted sum over neighbours: the Ã product
        self.dropout = dropout
        self.norm = NORMS.get(norm)

    def embeddings(
        self, x: torch.Tensor, graph: Graph, n_id: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Every layer's output (after the norm, before the ReLU); the last one is the logits.
        ``n_id``: the global ids of ``x``'s rows when ``graph`` is a sampled subgraph."""
        outs = []
        h = x
        for i, lin in enumerate(self.lins):
            h = lin(h if i == 0 else dropout(F.relu(h), self.dropout, self.training))  # X W
            if self._se_at[i] >= 0:
                e = self.se[self._se_at[i]]
                h = h + (e if n_id is None else e[n_id])  # + E, before aggregation
            h = self.prop(h, graph.norm_adj_t) + self.biases[i]  # Ã (X W + E) + b
            if self.norm is not None:
                h = self.norm(h)
            outs.append(h)
        return outs

    def forward(
        self, x: torch.Tensor, graph: Graph, n_id: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.embeddings(x, graph, n_id)[-1]

    def se_penalty(self, n_id: torch.Tensor | None = None) -> torch.Tensor:
        """Sum over layers of the Frobenius norm of the structural embeddings (zero without);
        with ``n_id``, of their rows ``n_id`` only (a mini-batch's nodes)."""
        if len(self.se) == 0:
            return torch.zeros(())
        return sum((e if n_id is None else e[n_id]).norm() for e in self.se)  # type: ignore[return-value]

    @torch.no_grad()
    def se_row_norm(self) -> float:
        """Mean row norm of the first layer's structural embedding (nan without SE)."""
        return float(self.se[0].norm(dim=1).mean()) if len(self.se) else float("nan")


class SAGE(nn.Module):
    """GraphSAGE with mean aggregation (Hamilton et al. 2017), full batch.

    Shapes:
        x: (N, F), graph with N nodes -> logits (N, C)
    """

    def __init__(
        self, in_dim: int, hidden: int, n_classes: int, *, layers: int = 2, dropout: float = 0.5
    ) -> None:
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1) + [n_classes]
        pairs = list(zip(dims[:-1], dims[1:], strict=True))
        self.lin_neigh = nn.ModuleList(Linear(a, b, bias=False) for a, b in pairs)
        self.lin_root = nn.ModuleList(Linear(a, b) for a, b in pairs)
        self.mean = SimpleConv(aggr="mean")
        self.dropout = dropout

    def forward(self, x: torch.Tensor, graph: Graph) -> torch.Tensor:
        # SAGEConv computes mean_j(x_j) W_l + x_i W_r + b; the mean commutes with W_l, so project
        # first: the same numbers, the wide (CSR) input enters only through two linear maps.
        for i in range(len(self.lin_root)):
            if i > 0:
                x = dropout(F.relu(x), self.dropout, self.training)
            x = self.mean(self.lin_neigh[i](x), graph.adj_t) + self.lin_root[i](x)
        return x


def label_propagation(
    y: torch.Tensor, graph: Graph, train_mask: torch.Tensor, *, layers: int = 50, alpha: float = 0.5
) -> torch.Tensor:
    """Label propagation (Zhou et al. 2004) from the training labels; returns class scores (N, C).

    A node with no path to a labelled node keeps all-zero scores.
    """
    lp = LabelPropagation(num_layers=layers, alpha=alpha)
    return lp(y, graph.edge_index, mask=train_mask)


def accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    """Fraction of ``mask`` nodes whose argmax matches ``y`` (nan when the mask is empty)."""
    if int(mask.sum()) == 0:
        return float("nan")
    return float((logits[mask].argmax(dim=-1) == y[mask]).float().mean())


SELECTION_METRICS = ("accuracy", "macro_f1", "roc_auc")


def score(metric: str, logits: torch.Tensor, y: torch.Tensor) -> float:
    """Validation score of class scores (B, C) against labels (B,), higher is better:
    ``accuracy``, ``macro_f1`` (mean F1 over the classes present in ``y`` or predicted) or
    ``roc_auc`` (binary only: of the second column's probability; 0.5 when ``y`` has one class).
    """
    if metric == "accuracy":
        return float((logits.argmax(dim=-1) == y).float().mean())
    if metric == "macro_f1":
        pred = logits.argmax(dim=-1)
        f1 = []
        for c in torch.unique(torch.cat([y, pred])):
            tp = float(((pred == c) & (y == c)).sum())
            denom = float((pred == c).sum() + (y == c).sum())
            f1.append(2 * tp / denom if denom else 0.0)
        return sum(f1) / len(f1)
    if metric == "roc_auc":
        if logits.shape[1] != 2:
            raise ValueError(f"roc_auc needs a binary problem, got {logits.shape[1]} classes")
        if len(torch.unique(y)) < 2:
            return 0.5
        from sklearn.metrics import roc_auc_score

        p = torch.softmax(logits.float(), dim=1)[:, 1]
        return float(roc_auc_score(y.cpu().numpy(), p.cpu().numpy()))
    raise ValueError(f"metric must be one of {SELECTION_METRICS}, got {metric!r}")


def choose_metric(metric: str, y_train: torch.Tensor, n_classes: int) -> str:
    """``metric``, or for ``"auto"`` the rule the label distribution of the training nodes sets:
    ``roc_auc`` for a binary problem whose minority class holds < 40 %, ``macro_f1`` for more
    classes when one holds > 50 %, else ``accuracy`` (majority-class models win accuracy on
    imbalanced graphs)."""
    if metric != "auto":
        return metric
    share = torch.bincount(y_train, minlength=n_classes).float() / max(len(y_train), 1)
    if n_classes == 2 and float(share.min()) < 0.4:
        return "roc_auc"
    if n_classes > 2 and float(share.max()) > 0.5:
        return "macro_f1"
    return "accuracy"


def class_weights(y_train: torch.Tensor, n_classes: int, mode: str) -> torch.Tensor | None:
    """``"balanced"``: ``n / (C · n_c)`` per class (sklearn's rule; absent classes weigh 0);
    ``"none"``: None (plain cross-entropy)."""
    if mode == "none":
        return None
    if mode != "balanced":
        raise ValueError(f"class_weight must be 'none' or 'balanced', got {mode!r}")
    counts = torch.bincount(y_train, minlength=n_classes).float()
    w = len(y_train) / (n_classes * counts.clamp_min(1))
    return torch.where(counts > 0, w, torch.zeros_like(w))


def fit_node_classifier(
    model: nn.Module,
    x: torch.Tensor,
    graph: Graph | None,
    y: torch.Tensor,
    train_mask: torch.Tensor,
    val_mask: torch.Tensor | None,
    schedule: Schedule,
    *,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
    metric: str = "accuracy",
    weight: torch.Tensor | None = None,
    progress: bool | None = False,
    desc: str = "train",
) -> TrainResult:
    """Cross-entropy on ``train_mask`` (class ``weight`` optional, + ``extra_loss(logits)``),
    early stopping on the validation ``metric`` (see :func:`score`).

    With ``graph=None`` the model sees features only, and only the rows it needs are computed.
    """
    if graph is None:  # feature-only: compute the training and validation rows alone
        x_train, y_train = sparse_if_helpful(x[train_mask]), y[train_mask]
        x_val = None if val_mask is None else sparse_if_helpful(x[val_mask])

        def logits_train() -> torch.Tensor:
            return model(x_train, None)

        def val_score() -> float:
            return score(metric, model(x_val, None), y[val_mask])
    else:
        xs = sparse_if_helpful(x)
        y_train = y[train_mask]

        def logits_train() -> torch.Tensor:
            return model(xs, graph)[train_mask]

        def val_score() -> float:
            return score(metric, model(xs, graph)[val_mask], y[val_mask])

    def loss_fn() -> torch.Tensor:
        logits = logits_train()
        loss = F.cross_entropy(logits, y_train, weight=weight)
        return loss + extra_loss(logits) if extra_loss is not None else loss

    score_fn = None if val_mask is None or int(val_mask.sum()) == 0 else val_score
    return fit_loop(
        model,
        loss_fn,
        score_fn,
        schedule,
        progress=progress,
        desc=desc,
    )
