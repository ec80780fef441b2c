"""Cold Brew estimator: fit on a graph, then classify nodes from their features alone."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from reprkit.core import distributed
from reprkit.core.base import BaseEstimator
from reprkit.core.seed import seeded
from reprkit.core.train import fit_loop
from reprkit.core.validate import as_tensor
from reprkit.datasets.graphs import as_features, as_node_data, as_node_mask, node_degree
from reprkit.eval.report import log
from reprkit.methods.coldbrew.config import MINI_BATCH_ABOVE, ColdBrewConfig, TeacherConfig
from reprkit.methods.coldbrew.modules import ColdBrewStudent
from reprkit.models.node import (
    SEGCN,
    Graph,
    NeighbourSampler,
    choose_metric,
    class_weights,
    fit_node_classifier,
    prepare_graph,
    score,
    sparse_if_helpful,
)

CITATION = """@inproceedings{zheng2022coldbrew,
  title={Cold Brew: Distilling Graph Node Representations with Incomplete or Missing Neighborhoods},
  author={Zheng, Wenqing and Huang, Edward W and Rao, Nikhil and Katariya, Sumeet and
          Wang, Zhangyang and Subbian, Karthik},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""

_CHUNK = 8192  # rows per forward pass at prediction time (bounds the (B, M) score matrix)


def fit_segcn(
    x: torch.Tensor,
    graph: Graph,
    y: torch.Tensor,
    train: torch.Tensor,
    val: torch.Tensor | None,
    t: TeacherConfig,
    *,
    se: str | None = None,
    norm: str | None = None,
    n_classes: int | None = None,
    metric: str = "accuracy",
    weight: torch.Tensor | None = None,
    progress: bool | None = False,
    desc: str = "teacher",
) -> SEGCN:
    """Train Cold Brew's teacher (``se`` / ``norm`` None: as configured) or, with ``se="none"``
    and ``norm="none"``, a plain GCN.

    Cross-entropy (class ``weight`` optional) plus ``t.se_reg`` times the structural-embedding
    norm penalty, early-stopped on the validation ``metric``. Call it inside
    :func:`reprkit.core.seed.seeded`.
    """
    model = SEGCN(
        x.shape[1],
        t.hidden,
        n_classes or int(y.max()) + 1,
        x.shape[0],
        layers=t.layers,
        dropout=t.dropout,
        se=t.se if se is None else se,
        norm=t.norm if norm is None else norm,
        se_init=t.se_init,
    ).to(x.device)
    mini = t.mini_batch == "on" or (t.mini_batch == "auto" and x.shape[0] > MINI_BATCH_ABOVE)
    if not mini:
        fit_node_classifier(
            model, x, graph, y, train, val, t, progress=progress, desc=desc, metric=metric,
            weight=weight, extra_loss=lambda _: t.se_reg * model.se_penalty(),
        )  # fmt: skip
        return model

    # mini-batch: each step a batch of training nodes and their sampled neighbourhoods; the
    # validation score uses the full graph (one layer-wise pass)
    sampler = NeighbourSampler(graph.edge_index.cpu(), x.shape[0], t.fanouts)
    train_ids = torch.nonzero(train).squeeze(1).cpu()
    steps = math.ceil(len(train_ids) / t.batch_size)
    seed = int(torch.randint(2**31 - 1, ()))
    gen = torch.Generator().manual_seed(seed)
    # parts of each batch (under torchrun: one per process, this process's part only), each
    # sampled with its own generator; one part samples with the permutation's generator
    n_parts, world = t.batch_parts, distributed.world()
    if world > 1 and n_parts not in (1, world):
        raise ValueError(f"teacher.batch_parts must be 1 or the torchrun world size {world}")
    n_parts = max(n_parts, world)
    part_gens = [gen] if n_parts == 1 else [
        torch.Generator().manual_seed(seed + 1 + p) for p in range(n_parts)
    ]  # fmt: skip
    mine = range(n_parts) if world == 1 else [distributed.rank()]
    net = distributed.wrap(model)  # under torchrun: DDP
    state = {"step": 0, "perm": train_ids}
    xs = sparse_if_helpful(x)

    def part_loss(seeds: torch.Tensor, part_gen: torch.Generator) -> torch.Tensor:
        n_id, sub = sampler.sample(seeds, part_gen)
        n_id, seeds = n_id.to(x.device), seeds.to(x.device)
        empty = len(seeds) == 0  # a part of an epoch's last batch, smaller than the parts
        with warnings.catch_warnings():
            if empty:  # NodeNorm would warn about the variance of no rows
                warnings.simplefilter("ignore")
            # runs even when empty: DDP waits for every process's forward and backward
            logits = net(sparse_if_helpful(x[n_id]), sub.to(x.device), n_id)[: len(seeds)]
        if empty:
            return logits.sum() * 0.0  # weight 0
        return F.cross_entropy(logits, y[seeds], weight=weight)

    def batch_loss() -> torch.Tensor:
        j = state["step"] % steps
        if j == 0:
            state["perm"] = train_ids[torch.randperm(len(train_ids), generator=gen)]
        state["step"] += 1
        parts = distributed.parts_of(state["perm"][j * t.batch_size : (j + 1) * t.batch_size],
                                     n_parts)  # fmt: skip
        # this process's parts, each weighted by its share of the batch (x world under DDP:
        # DDP averages the processes' gradients)
        ce = sum(part_loss(parts[p][0], part_gens[p]) * parts[p][1] * world for p in mine)
        # the SE penalty covers every row, as full batch: rows of nodes no batch reaches
        # (isolated test nodes) must shrink from their random init too (on the batch's rows
        # only, Cora's isolated teacher accuracy fell from 65.9 to 36.4)
        loss = ce + t.se_reg * model.se_penalty()
        distributed.trace(loss)
        return loss

    def val_score() -> float:
        return score(metric, model(xs, graph)[val], y[val])

    fit_loop(
        model, batch_loss, None if val is None or int(val.sum()) == 0 else val_score, t,
        progress=progress, desc=f"{desc} (mini-batch)", steps_per_epoch=steps,
    )  # fmt: skip
    return model


class _Rows:
    """Features (CSR when sparse) and node ids of a node subset, prepared once."""

    def __init__(self, x: torch.Tensor, mask: torch.Tensor, with_ids: bool) -> None:
        self.x = sparse_if_helpful(x[mask])
        self.ids = torch.nonzero(mask).squeeze(1) if with_ids else None


class ColdBrew(BaseEstimator):
    """Cold Brew (Zheng et al., ICLR 2022, https://arxiv.org/abs/2111.04840).

    A GCN teacher with per-node Structural Embeddings is trained on the observed graph; a student
    MLP learns to reproduce the teacher's embeddings from node features alone, finds virtual
    neighbours among observed nodes, and classifies. After ``fit`` a node needs only its
    feature vector: ``ColdBrew.predict(x_new)``.

    Example:
        >>> model = ColdBrew(seed=0).fit(data, val=data.val_mask)   # doctest: +SKIP
        >>> model.predict(x_new)                                      # doctest: +SKIP
    """

    name = "coldbrew"
    config_cls = ColdBrewConfig

    def fit(self, data: Data, *, val: Any = None) -> ColdBrew:
        """Train teacher, then student.

        Args:
            data: ``Data`` with ``x`` (N, F), ``edge_index`` (2, E), ``y`` (N,) and
                ``train_mask`` (N,) (without it, every node with ``y >= 0`` is a training node).
                Nodes without edges are cold-start nodes.
            val: validation nodes (bool mask (N,) or ids) used for early stopping and model
                selection; defaults to ``data.val_mask`` when present, else no early stopping.
        """
        data, classes = as_node_data(data, "data", need_labels=True)
        x = data.x
        n, f = x.shape
        y = data.y
        train_src = getattr(data, "train_mask", None)
        train = as_node_mask(train_src if train_src is not None else y >= 0, n, "data.train_mask")
        if (y[train] < 0).any():
            raise ValueError("data.y has negative labels on training nodes")
        if val is None:
            val = getattr(data, "val_mask", None)
        val_mask = as_node_mask(val, n, "val") if val is not None else None
        if val_mask is not None and (y[val_mask] < 0).any():
            raise ValueError("data.y has negative labels on validation nodes")
        observed = node_degree(data.edge_index, n) > 0
        if not observed.any():
            raise ValueError("data.edge_index has no edges: Cold Brew's teacher needs a graph")
        n_classes = (
            int(y[train].max()) + 1
            if val_mask is None
            else int(max(y[train].max(), y[val_mask].max())) + 1
        )
        if classes is not None:  # labels of another type: every class seen in fit has a column
            n_classes = max(n_classes, len(classes))
        cfg, dev = self.config, self.device
        x, y, train = x.to(dev), y.to(dev), train.to(dev)
        val_mask = val_mask.to(dev) if val_mask is not None else None
        graph = prepare_graph(data.edge_index, n).to(dev)
        t, s = cfg.teacher, cfg.student

        y_train = y[train]
        metric = choose_metric(cfg.selection, y_train, n_classes)
        weight = class_weights(y_train, n_classes, cfg.class_weight)
        weight = None if weight is None else weight.to(dev)
        if val_mask is not None:
            log.info("coldbrew: selection on validation %s (selection=%r)", metric, cfg.selection)

        with seeded(cfg.seed):
            teacher = fit_segcn(
                x, graph, y, train, val_mask, t, n_classes=n_classes, metric=metric,
                weight=weight, progress=self.progress,
            )  # fmt: skip
            xs = sparse_if_helpful(x)
            with torch.no_grad():
                target = torch.cat(teacher.embeddings(xs, graph), dim=1)  # (N, D)
                xw_norm = float(teacher.lins[0](xs).norm(dim=1).mean())
            pool_ids = torch.nonzero(observed).squeeze(1).to(dev)

            def new_student() -> ColdBrewStudent:
                return ColdBrewStudent(
                    f, target.shape[1], n_classes, target[pool_ids], pool_ids, n_nodes=n,
                    hidden=s.hidden, dropout=s.dropout, top_k=s.top_k,
                ).to(dev)  # fmt: skip

            student = new_student()
            # Row subsets are taken once (as CSR when sparse) rather than in every epoch.
            distill = train if s.distill_on == "train" else observed.to(dev)
            # stage-2 rows: the training nodes, plus the distillation nodes when soft labels count
            fit_rows = train | distill if max(s.soft_label_weight) > 0 else train
            rows = {
                k: _Rows(x, m, s.exclude_self)
                for k, m in (("fit", fit_rows), ("val", val_mask), ("distill", distill))
                if m is not None
            }
            mlp1 = student.mlp1

            # stage 1: MLP1 regresses the teacher embeddings (MSE), early-stopped on val MSE
            def val_mse() -> float:
                return -F.mse_loss(mlp1(rows["val"].x), target[val_mask]).item()

            fit_loop(
                mlp1,
                lambda: F.mse_loss(mlp1(rows["distill"].x), target[distill]),
                None if val_mask is None else val_mse,
                s,
                progress=self.progress,
                desc="student mlp1",
            )

            # stage 2: MLP2 (+ gates) classifies from [x, virtual neighbours, MLP1 output]. MLP1
            # is frozen, so ê and v of the rows used here are computed once.
            mlp1.eval()
            fixed = {
                k: (r.x, *student.inputs(r.x, r.ids)) for k, r in rows.items() if k != "distill"
            }
            is_train, is_soft = train[fit_rows], distill[fit_rows]
            y_fit = y[fit_rows][is_train]
            soft = torch.softmax(target[distill, -n_classes:], dim=1)  # teacher's class probs

            def fit_stage2(cand: ColdBrewStudent, w: float) -> float:
                def stage2_loss() -> torch.Tensor:
                    logits = cand.classify(*fixed["fit"])
                    loss = F.cross_entropy(logits[is_train], y_fit, weight=weight)
                    if w == 0:
                        return loss
                    # paper: not in Cold Brew. GLNN-style KL towards the teacher's soft labels
                    # on the distillation nodes, an option chosen on validation.
                    log_p = F.log_softmax(logits[is_soft], dim=1)
                    return (1 - w) * loss + w * F.kl_div(log_p, soft, reduction="batchmean")

                def val_score() -> float:
                    return score(metric, cand.classify(*fixed["val"]), y[val_mask])

                return fit_loop(
                    cand, stage2_loss, None if val_mask is None else val_score, s,
                    params=cand.stage2_parameters(), progress=self.progress,
                    desc=f"student mlp2 (w={w})",
                ).best_score  # fmt: skip

            # one MLP2 per soft-label weight, all on the same frozen MLP1; the best on validation
            # is kept (ties and no validation data: the first value)
            self.candidates_: dict[float, ColdBrewStudent] = {}
            self.stage2_scores_: dict[float, float] = {}
            for i, w in enumerate(s.soft_label_weight):
                cand = student if i == 0 else new_student()
                if i > 0:
                    cand.mlp1.load_state_dict(mlp1.state_dict())
                self.stage2_scores_[w] = fit_stage2(cand, w)
                self.candidates_[w] = cand.eval()
            best = max(self.stage2_scores_, key=lambda w: self.stage2_scores_[w])
            if len(self.candidates_) > 1:
                log.info(
                    "coldbrew: validation %s by soft-label weight %s; kept %s", metric,
                    {w: round(v, 4) for w, v in self.stage2_scores_.items()}, best,
                )  # fmt: skip
        self.teacher_, self.student_ = teacher.eval(), self.candidates_[best]
        self.soft_label_weight_, self.metric_ = best, metric
        self.n_features_, self.n_classes_, self.n_nodes_ = f, n_classes, n
        self.classes_ = np.arange(n_classes) if classes is None else classes
        self.emb_dim_, self.n_pool_ = target.shape[1], len(pool_ids)
        # diagnostics: how much the structural embeddings weigh against the features' XW
        self.se_row_norm_, self.xw_row_norm_ = teacher.se_row_norm(), xw_norm
        self.fitted_ = True
        return self

    # ----------------------------------------------------------------------------- verbs
    def _features(self, x: Any) -> torch.Tensor:
        self._check_fitted()
        x = as_features(x, "x")
        if x.shape[1] != self.n_features_:
            raise ValueError(
                f"x has {x.shape[1]} features per node but ColdBrew was fitted on {self.n_features_}"
            )
        return x.to(self.device)

    def _ids(self, node_ids: Any, n: int) -> torch.Tensor | None:
        if node_ids is None or not self.config.student.exclude_self:
            return None
        ids = as_tensor(node_ids, "node_ids", dtype=torch.long, ndim=1, kind="iu", length=n,
                        length_of="x")  # fmt: skip
        return ids.to(self.device)

    @torch.no_grad()
    def _chunked(self, fn: Any, x: Any, node_ids: Any) -> torch.Tensor:
        xf = self._features(x)
        ids = self._ids(node_ids, xf.shape[0])
        outs = [
            fn(sparse_if_helpful(xf[i : i + _CHUNK]), None if ids is None else ids[i : i + _CHUNK])
            for i in range(0, xf.shape[0], _CHUNK)
        ]
        return torch.cat(outs).cpu()

    def predict_proba(
        self, x: Any, *, node_ids: Any = None, soft_label_weight: float | None = None
    ) -> np.ndarray:
        """Class probabilities (N, C) from node features (N, F) alone (numpy; columns in
        ``classes_`` order, two for a binary problem).

        ``node_ids`` are optional ids of the nodes in the training graph; with them a node never
        counts itself among its virtual neighbours. Brand-new nodes need no ids.
        ``soft_label_weight``: the MLP2 fitted with that weight (one of the configured values,
        after ``fit`` only; default the one kept on validation).
        """
        self._check_fitted()
        student = self.student_
        if soft_label_weight is not None:
            cands = getattr(self, "candidates_", {})
            if soft_label_weight not in cands:
                raise ValueError(
                    f"soft_label_weight must be one of the fitted values {sorted(cands)}, "
                    f"got {soft_label_weight!r}"
                )
            student = cands[soft_label_weight]
        return torch.softmax(self._chunked(student, x, node_ids), dim=1).numpy()

    def neighbours(self, x: Any, *, node_ids: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The virtual neighbours of nodes (N, F): their ids in the training graph (N, K) and
        softmax weights (N, K), best first (numpy) — which observed nodes a cold node is read
        from."""
        self._check_fitted()
        st = self.student_

        def top(xb: torch.Tensor, ids: torch.Tensor | None) -> torch.Tensor:
            idx, w = st.top_neighbours(st.mlp1(xb), ids)
            return torch.cat([st.pool_ids[idx].double(), w.double()], dim=1)

        out = self._chunked(top, x, node_ids).numpy()
        k = st.top_k
        return out[:, :k].astype(np.int64), out[:, k:]

    def predict(self, x: Any, *, node_ids: Any = None) -> np.ndarray:
        """Predicted labels (N,) in ``classes_`` from node features (N, F) alone (numpy)."""
        return self.classes_[self.predict_proba(x, node_ids=node_ids).argmax(1)]

    def embed(self, x: Any, *, node_ids: Any = None) -> torch.Tensor:
        """The student's estimate of the teacher embedding (N, D), from features alone (torch:
        it feeds a downstream model)."""
        self._check_fitted()
        return self._chunked(lambda xb, _ids: self.student_.mlp1(xb), x, node_ids)

    @torch.no_grad()
    def teacher_predict_proba(self, data: Data) -> np.ndarray:
        """The teacher's class probabilities (N, C) on the training graph (transductive, N
        fixed; numpy)."""
        self._check_fitted()
        data, _ = as_node_data(data, "data", need_labels=False)
        x = self._features(data.x)
        if x.shape[0] != self.n_nodes_:
            raise ValueError(
                f"data has {x.shape[0]} nodes; the teacher is transductive over the {self.n_nodes_} nodes it was fitted on"
            )
        graph = prepare_graph(data.edge_index, self.n_nodes_).to(self.device)
        return torch.softmax(self.teacher_(sparse_if_helpful(x), graph), dim=1).cpu().numpy()

    # ----------------------------------------------------------------------------- state
    def _get_state(self) -> dict[str, Any]:
        return {
            "teacher": self.teacher_.state_dict(),
            "student": self.student_.state_dict(),
            "dims": {
                "n_features": self.n_features_,
                "n_classes": self.n_classes_,
                "n_nodes": self.n_nodes_,
                "emb_dim": self.emb_dim_,
                "n_pool": self.n_pool_,
            },
            "classes": self.classes_.tolist(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        d, t, s = state["dims"], self.config.teacher, self.config.student
        self.teacher_ = SEGCN(
            d["n_features"],
            t.hidden,
            d["n_classes"],
            d["n_nodes"],
            layers=t.layers,
            dropout=t.dropout,
            se=t.se,
            norm=t.norm,
            se_init=t.se_init,
        )
        self.teacher_.load_state_dict(state["teacher"])
        self.student_ = ColdBrewStudent(
            d["n_features"],
            d["emb_dim"],
            d["n_classes"],
            torch.zeros(d["n_pool"], d["emb_dim"]),
            torch.arange(d["n_pool"]),
            n_nodes=d["n_nodes"],
            hidden=s.hidden,
            dropout=s.dropout,
            top_k=s.top_k,
        )
        self.student_.load_state_dict(state["student"])
        self.teacher_.to(self.device).eval()
        self.student_.to(self.device).eval()
        self.n_features_, self.n_classes_, self.n_nodes_ = (
            d["n_features"],
            d["n_classes"],
            d["n_nodes"],
        )
        self.emb_dim_, self.n_pool_ = d["emb_dim"], d["n_pool"]
        self.classes_ = np.asarray(state.get("classes", range(d["n_classes"])))
