"""GRDA (Xu et al., ICLR 2022) and the baselines it is compared with, on one code path.

An encoder ``E(x, z_u)`` sees each sample next to its domain's graph embedding ``z_u``; a
predictor ``F`` is trained on the source domains only; a discriminator plays against ``E``:

* ``grda``: ``D`` maps an encoding to a node embedding and is trained to reconstruct the domain
  graph from pairs of samples (BCE of ``σ(d_i·d_j)`` against ``A[u_i, u_j]``, connected and
  disconnected pairs weighted equally). A clique graph reduces it to uniform alignment: ``D`` can
  then only tell whether two samples come from the same domain.
* ``dann`` / ``adda``: ``D`` tells source from target (ADDA: the encoder is trained with
  inverted labels, GAN-style, instead of the negated loss); ``cdann``: ``D`` also sees the
  predicted class probabilities; ``mdd``: an auxiliary predictor ``F'`` maximises its
  disagreement with ``F`` on targets while agreeing on sources (margin ``γ``).
* ``source_only``: no discriminator.

Training alternates: ``D`` on detached encodings, then ``E`` and ``F`` on
``L_pred - λ L_D`` (min over E, F; max over D). Every batch holds ``per_domain`` samples of
every domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from reprkit.core.base import BaseEstimator
from reprkit.core.progress import progress_bar
from reprkit.core.seed import check_seeds, seeded
from reprkit.core.validate import as_array, encode_labels, lookup
from reprkit.methods.grda.config import GRDAConfig
from reprkit.models.stacked import StackedMLP

CITATION = """@inproceedings{xu2022graph,
  title={Graph-Relational Domain Adaptation},
  author={Xu, Zihao and He, Hao and Lee, Guang-He and Wang, Yuyang and Wang, Hao},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


def _mlp(sizes: list[int]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        mods.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def adjacency(domain_graph: Any, num_domains: int) -> np.ndarray:
    """A (D, D) symmetric 0/1 adjacency from an adjacency matrix or an edge list ((E, 2) or
    (2, E) pairs of domain ids); errors name what is wrong."""
    g = np.asarray(domain_graph.cpu() if torch.is_tensor(domain_graph) else domain_graph)
    if g.ndim != 2:
        raise ValueError(f"domain_graph must be a (D, D) adjacency or an edge list, got {g.shape}")
    if g.shape[0] == g.shape[1] and (g.shape[0] > 2 or not np.issubdtype(g.dtype, np.integer)):
        a = (g != 0).astype(np.float32)
        if not np.array_equal(a, a.T):
            raise ValueError("domain_graph adjacency must be symmetric (an undirected graph)")
        if np.any(np.diag(a)):
            raise ValueError("domain_graph adjacency must have a zero diagonal (no self loops)")
        return a
    pairs = g.T if g.shape[0] == 2 and g.shape[1] != 2 else g
    if pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(f"domain_graph edge list must hold integer pairs, got shape {g.shape}")
    if pairs.min() < 0 or pairs.max() >= num_domains:
        raise ValueError(f"domain_graph has domain ids outside [0, {num_domains})")
    a = np.zeros((num_domains, num_domains), dtype=np.float32)
    a[pairs[:, 0], pairs[:, 1]] = a[pairs[:, 1], pairs[:, 0]] = 1.0
    np.fill_diagonal(a, 0.0)
    return a


def spectral_embedding(a: np.ndarray, dim: int) -> np.ndarray:
    """Laplacian eigenmaps: the ``dim`` generalised eigenvectors ``L v = λ D v`` after the
    trivial one (``D^{-1/2}`` times the normalised Laplacian's), standardised."""
    deg = a.sum(1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
    lap = np.eye(len(a)) - inv[:, None] * a * inv[None, :]
    _, vecs = np.linalg.eigh(lap)
    z = inv[:, None] * vecs[:, 1 : dim + 1]
    if z.shape[1] < dim:  # fewer domains than dim + 1: pad with zeros
        z = np.hstack([z, np.zeros((len(a), dim - z.shape[1]))])
    return _standardise(z)


def auto_embed_dim(a: np.ndarray, margin: float = 0.05) -> int:
    """1 or 2 dimensions for the domain embedding, by a rule on the graph alone (no labels):
    2 when the 2-D Laplacian embedding reconstructs the graph's edges clearly better than the
    1-D one (AUC of -distance for edge vs non-edge pairs up by more than ``margin``), else 1.
    A ring (DG-60: 0.877 -> 0.971) needs 2: its Fiedler vector alone folds the ring so that
    domains on opposite sides share values; chain-like graphs (DG-15: 0.953 -> 0.958; the
    generated spirals on which 1 dimension was chosen) keep 1."""
    if len(a) < 4:
        return 1
    iu = np.triu_indices(len(a), 1)
    edge = a[iu] > 0
    if edge.all() or not edge.any():
        return 1

    def auc(dim: int) -> float:
        z = spectral_embedding(a, dim)
        dist = np.linalg.norm(z[:, None] - z[None], axis=-1)[iu]
        rank = np.argsort(np.argsort(-dist, kind="stable"), kind="stable") + 1.0  # close = high
        n_pos, n_neg = edge.sum(), (~edge).sum()
        return float((rank[edge].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

    return 2 if auc(2) - auc(1) > margin else 1


def _standardise(z: np.ndarray) -> np.ndarray:
    return ((z - z.mean(0)) / np.maximum(z.std(0), 1e-6)).astype(np.float32)


def _balanced_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE over the last dimension with connected (target 1) and disconnected (0) pairs
    weighing half each (a side with no pair drops out); leading dimensions are kept."""
    bce = nnf.binary_cross_entropy_with_logits(logits, target, reduction="none")
    pos = (target > 0).to(bce.dtype)
    sides = [(bce * m).sum(-1) / m.sum(-1).clamp_min(1) for m in (pos, 1 - pos)]
    present = (pos.sum(-1) > 0).to(bce.dtype) + ((1 - pos).sum(-1) > 0).to(bce.dtype)
    return (sides[0] + sides[1]) / present.clamp_min(1)


def _seed_sum(loss: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Each seed's mean of an element-wise loss, summed over seeds (``like``: any (S, ...)
    tensor of the step): the seeds' copies share no weight, so each gets its own gradient."""
    return loss.reshape(len(like), -1).mean(1).sum()


def pair_loss(
    d: torch.Tensor, a: torch.Tensor, mask: torch.Tensor, metric: torch.Tensor | None = None
) -> torch.Tensor:
    """Balanced BCE of the pair logits ``d M dᵀ`` (``M`` symmetric, identity by default)
    against the adjacency block ``a`` (B, B) on the pairs in ``mask``: connected and
    disconnected pairs weigh half each."""
    left = d if metric is None else d @ (metric + metric.T) / 2
    return _balanced_bce((left @ d.T)[mask], a[mask])


def learned_embedding(a: np.ndarray, dim: int, seed: int, steps: int = 1000) -> np.ndarray:
    """Domain embeddings trained to reconstruct the graph (the pair loss on the domains)."""
    n = len(a)
    with seeded(seed):
        z = nn.Parameter(torch.randn(n, dim) * 0.1)
        opt = torch.optim.Adam([z], lr=0.05)
        at = torch.from_numpy(a)
        mask = ~torch.eye(n, dtype=torch.bool)
        for _ in range(steps):
            opt.zero_grad()
            pair_loss(z, at, mask).backward()
            opt.step()
    return _standardise(z.detach().numpy())


class _Nets(nn.Module):
    def __init__(self, cfg: GRDAConfig, n_in: int, n_out: int, z: np.ndarray) -> None:
        super().__init__()
        h = cfg.hidden
        self.register_buffer("z", torch.from_numpy(z))
        self.encoder = _mlp([n_in + z.shape[1]] + [h] * cfg.layers)
        self.predictor = _mlp([h, h, n_out])
        d_in = h + n_out if cfg.adapt == "cdann" else h
        # DANN / CDANN: an N-way domain classifier (official) or binary source vs target
        n_way = len(z) if cfg.disc_classes == "domains" else 1
        d_out = {"grda": cfg.disc_dim, "mdd": n_out, "dann": n_way, "cdann": n_way}.get(
            cfg.adapt, 1
        )
        self.disc = _mlp([d_in, cfg.disc_hidden, cfg.disc_hidden, d_out])
        # paper: GRDA scores a pair by the dot product of the two node embeddings (Eq. 3; the
        # default). A dot product rates a sample's own domain as its most similar, so it cannot
        # say "same domain = disconnected" (A has no self loops) and a clique graph leaves D
        # blind; pair_score="unit_metric" (ours) learns a symmetric metric between unit-length
        # embeddings, which can, making the clique case uniform alignment as the paper's
        # analysis says it should be.
        use_metric = cfg.adapt == "grda" and cfg.pair_score == "unit_metric"
        self.metric = nn.Parameter(torch.eye(d_out)) if use_metric else None

    def encode(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.encoder(torch.cat([x, self.z[u]], 1)))


class _Stacked(nn.Module):
    """The networks of several seeds, weights stacked along a leading seed dimension (training
    only; :class:`reprkit.models.stacked.StackedMLP`). Every tensor of a step is (S, B, ·)."""

    def __init__(self, nets: list[_Nets]) -> None:
        super().__init__()
        self.encoder = StackedMLP([n.encoder for n in nets])
        self.predictor = StackedMLP([n.predictor for n in nets])
        self.disc = StackedMLP([n.disc for n in nets])
        self.register_buffer("z", torch.stack([n.z for n in nets]))
        has_metric = nets[0].metric is not None
        self.metric = (
            nn.Parameter(torch.stack([n.metric.detach() for n in nets])) if has_metric else None
        )

    def encode(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.encoder(torch.cat([x, self.z[:, u]], -1)))

    @torch.no_grad()
    def write_back(self, nets: list[_Nets]) -> None:
        for name in ("encoder", "predictor", "disc"):
            getattr(self, name).write_back([getattr(n, name) for n in nets])
        if self.metric is not None:
            for s, n in enumerate(nets):
                n.metric.copy_(self.metric[s])


class GRDA(BaseEstimator):
    """Graph-relational domain adaptation (https://arxiv.org/abs/2202.03628), or one of its
    baselines (``adapt=`` source_only, dann, adda, cdann, mdd).

    Example:
        >>> model = GRDA().fit(x, y, domain, A, source_domains=[0, 3, 4])   # doctest: +SKIP
        >>> y_hat = model.predict(x, domain)                                  # doctest: +SKIP
    """

    name = "grda"
    config_cls = GRDAConfig

    def fit(
        self,
        x: Any,
        y: Any,
        domain: Any,
        domain_graph: Any,
        source_domains: Any,
        *,
        task: str = "auto",
        on_epoch: Callable[[int, GRDA], None] | None = None,
    ) -> GRDA:
        """Train on labelled source domains and unlabelled target domains.

        Args:
            x: (N, F) inputs of all domains.
            y: (N,) class labels of any hashable type (kept as ``classes_``) or (N,) / (N, T)
                real targets; only source samples are read (targets may hold NaN / None).
            domain: (N,) domain of each sample: ids in [0, D) or names of any hashable type
                (kept as ``domains_``).
            domain_graph: a ``networkx.Graph`` over the domains, a (D, D) symmetric 0/1
                adjacency (integer domain ids) or an (E, 2) / (2, E) edge list of domains.
            source_domains: the labelled domains (not empty, not all).
            task: "classification", "regression" or "auto": integer, bool and str labels are
                classes; 2-D or non-integer float targets are regression; 1-D floats that are
                all whole numbers are ambiguous and need ``task`` set.
            on_epoch: called as ``on_epoch(epoch, self)`` after every epoch (evaluation).
        """
        _fit_together([self], x, y, domain, domain_graph, source_domains, task, on_epoch)
        return self

    # -- one training step (S seeds stacked; batch rows and masks are shared) -----------------

    def _pred_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Sum over seeds of each seed's mean loss; ``out`` (S, n, C), ``y`` (S, n[, T])."""
        if self.task_ == "classification":
            return _seed_sum(
                nnf.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none"), out
            )
        return _seed_sum((out - y) ** 2, out)

    def _disc_loss(self, st: _Stacked, h, out, s, pairs, ub) -> torch.Tensor:
        """The discriminator's loss (it minimises it), summed over seeds; ``h`` and ``out``
        as the encoder gave (S, B, ·)."""
        adapt = self.config.adapt
        if adapt == "grda":
            ra, rb, target = pairs
            # paper: d_i . d_j (pair_score="dot"); "unit_metric" scores unit-length embeddings
            # through the learned symmetric metric
            d = st.disc(h)
            k = d.shape[-1]
            if st.metric is not None:
                d = nnf.normalize(d, dim=-1)
            left = d.gather(1, ra[..., None].expand(-1, -1, k))
            if st.metric is not None:
                left = torch.bmm(left, (st.metric + st.metric.mT) / 2)
            logits = (left * d.gather(1, rb[..., None].expand(-1, -1, k))).sum(-1)
            # official "loss balance": L_D times the number of domains
            return _balanced_bce(logits, target).sum() * len(self.adjacency_)
        if adapt == "mdd":
            cfg = self.config
            y_hat = out.argmax(-1).detach()
            logits = st.disc(h)
            agree = nnf.cross_entropy(
                logits[:, s].flatten(0, 1), y_hat[:, s].flatten(), reduction="none"
            )
            p_t = torch.softmax(logits[:, ~s], -1)
            disagree = nnf.nll_loss(
                torch.log((1 - p_t).clamp_min(1e-6)).flatten(0, 1),
                y_hat[:, ~s].flatten(),
                reduction="none",
            )
            both = cfg.mdd_src * _seed_sum(agree, h) + cfg.mdd_tgt * _seed_sum(disagree, h)
            return both / (cfg.mdd_src + cfg.mdd_tgt)
        inp = torch.cat([h, torch.softmax(out, -1).detach()], -1) if adapt == "cdann" else h
        logits = st.disc(inp)
        if logits.shape[-1] > 1:  # N-way: which domain (official DANN / CDANN)
            dom = ub.expand(len(h), -1).flatten()
            return _seed_sum(nnf.cross_entropy(logits.flatten(0, 1), dom, reduction="none"), h)
        src = s.float().expand(len(h), -1)
        return _seed_sum(
            nnf.binary_cross_entropy_with_logits(logits.squeeze(-1), src, reduction="none"), h
        )

    def _encoder_adv(self, st: _Stacked, h, out, s, pairs, ub) -> torch.Tensor:
        """The encoder's adversarial term: ADDA inverts the target labels; others negate D's loss."""
        if self.config.adapt == "adda":
            logit = st.disc(h[:, ~s]).squeeze(-1)
            bce = nnf.binary_cross_entropy_with_logits(
                logit, torch.ones_like(logit), reduction="none"
            )
            return _seed_sum(bce, h)
        return -self._disc_loss(st, h, out, s, pairs, ub)

    def _pairs(self, ub: torch.Tensor, at: torch.Tensor, gen) -> tuple[torch.Tensor, ...]:
        """One seed's pairs this step (paper Eq. 3; official pair set): for every two distinct
        domains of the sampled sub-graph, the sample at position k of one domain's block with
        the sample at position k of the other's; label A[u, v]. With ``self_pairs``, position
        k and k + 1 of the same domain also count (label 0). Which samples meet is set by the
        batch order (``pairing``)."""
        cfg = self.config
        n_dom, per = len(at), self.config.per_domain
        if cfg.subgraph != "all" and cfg.subgraph_size < n_dom:
            sub = torch.from_numpy(_subgraph(self.adjacency_, cfg, gen)).to(ub.device)
        else:
            sub = torch.arange(n_dom, device=ub.device)
        i, j = torch.triu_indices(len(sub), len(sub), 1 - int(cfg.self_pairs), device=ub.device)
        da, db = sub[i], sub[j]  # (P,) domain pairs
        k = torch.arange(per, device=ub.device)
        same = (da == db)[:, None]
        ra = (da[:, None] * per + k).reshape(-1)  # the batch is domain-major: row = u * per + k
        rb = (db[:, None] * per + torch.where(same, (k + 1) % per, k)).reshape(-1)
        target = at[da, db][:, None].expand(-1, per).reshape(-1)
        return ra, rb, target

    # -- checks and inference -----------------------------------------------------------------

    def _check_inputs(self, x, y, domain, domain_graph, source_domains, task):
        if task not in ("auto", "classification", "regression"):
            raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
        xa = as_array(x, "x", ndim=2, kind="fiub")
        n = len(xa)
        dom = as_array(domain, "domain", ndim=1, finite=False, length=n, length_of="x")
        self.domains_, u, a = _domain_index(dom, domain_graph)
        src_raw = np.atleast_1d(_to_list_array(source_domains))
        pos, _ = lookup(src_raw, self.domains_, "source_domains", strict=True)
        src = sorted({int(d) for d in pos})
        if not src or len(src) >= len(a):
            raise ValueError(
                f"source_domains must be a non-empty proper subset of the {len(a)} domains, "
                f"got {src_raw.tolist()}"
            )
        in_src = np.isin(u, src)
        for d in src:
            if not (u == d).any():
                raise ValueError(f"source domain {self.domains_[d]!r} has no samples")
        yy = as_array(y, "y", ndim=(1, 2), finite=False, length=n, length_of="x")
        if task == "auto":
            task = _infer_task(yy[in_src])
        self.task_ = task
        if task == "classification":
            if yy.ndim != 1:
                raise ValueError(f"y must be 1-D class labels for classification, got {yy.shape}")
            ys = yy[in_src]
            if ys.dtype.kind in "iu" and (ys < 0).any():  # sklearn's convention: -1 = unlabelled
                raise ValueError("y is missing (negative) for samples of a source domain")
            codes, self.classes_ = encode_labels(ys, "y (source domains)")
            self.n_classes_ = len(self.classes_)
            full = np.zeros(n, dtype=np.int64)
            full[in_src] = codes
            y_t = torch.from_numpy(full)
        else:
            yy = yy.reshape(n, -1)
            try:
                yy = yy.astype(np.float32)
            except (TypeError, ValueError):
                raise TypeError(f"y must hold numbers for regression, got {yy.dtype}") from None
            if not np.isfinite(yy[in_src]).all():
                raise ValueError("y is missing (NaN/inf) for samples of a source domain")
            y_t = torch.from_numpy(np.nan_to_num(yy))
        self.sources_ = tuple(src)
        x_t = torch.from_numpy(xa.astype(np.float32))
        return x_t, y_t, torch.from_numpy(u), a, src

    def _domain_ids(self, domain: Any, n: int) -> torch.Tensor:
        dom = as_array(domain, "domain", ndim=1, finite=False, length=n, length_of="x")
        pos, _ = lookup(dom, self.domains_, "domain", strict=True)
        return torch.from_numpy(pos.astype(np.int64)).to(self.device)

    @torch.no_grad()
    def encode(self, x: Any, domain: Any) -> torch.Tensor:
        """Encodings (N, hidden) of the samples in their domains (torch: they feed a model)."""
        self._check_fitted()
        n_in = self.nets_.encoder[0].in_features - self.nets_.z.shape[1]
        xa = as_array(x, "x", ndim=2, kind="fiub")
        if xa.shape[1] != n_in:
            raise ValueError(f"x must have {n_in} features (as in fit), got {xa.shape[1]}")
        u = self._domain_ids(domain, len(xa))
        x_t = torch.from_numpy(xa.astype(np.float32))
        x_t = ((x_t - self.x_mean_) / self.x_std_).to(self.device)
        self.nets_.eval()
        return self.nets_.encode(x_t, u).cpu()

    @torch.no_grad()
    def predict(self, x: Any, domain: Any) -> np.ndarray:
        """Labels (N,) in ``classes_`` (classification) or outputs (N, T) (regression), numpy."""
        h = self.encode(x, domain).to(self.device)
        out = self.nets_.predictor(h).cpu()
        if self.task_ == "classification":
            return self.classes_[out.argmax(1).numpy()]
        return out.numpy()

    def _get_state(self) -> dict[str, Any]:
        return {
            "nets": self.nets_.state_dict(),
            "adjacency": torch.from_numpy(self.adjacency_),
            "task": self.task_,
            "n_in": self.nets_.encoder[0].in_features - self.nets_.z.shape[1],
            "n_out": self.nets_.predictor[-1].out_features,
            "sources": list(self.sources_),
            "domains": self.domains_.tolist(),
            "x_mean": self.x_mean_,
            "x_std": self.x_std_,
            "classes": self.classes_.tolist() if self.task_ == "classification" else None,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        a = state["adjacency"].numpy()
        z = np.zeros(tuple(state["nets"]["z"].shape), dtype=np.float32)  # loaded below
        nets = _Nets(self.config, int(state["n_in"]), int(state["n_out"]), z)
        nets.load_state_dict(state["nets"])
        self.nets_, self.adjacency_ = nets.to(self.device).eval(), a
        self.task_, self.sources_ = state["task"], tuple(state["sources"])
        self.domains_ = np.asarray(state.get("domains", list(range(len(a)))))
        self.x_mean_, self.x_std_ = state["x_mean"], state["x_std"]
        if self.task_ == "classification":
            self.n_classes_ = int(state["n_out"])
            self.classes_ = np.asarray(state.get("classes") or list(range(self.n_classes_)))


def fit_seeds(
    seeds: Any,
    x: Any,
    y: Any,
    domain: Any,
    domain_graph: Any,
    source_domains: Any,
    *,
    config: Any = None,
    task: str = "auto",
    on_epoch: Callable[[int, GRDA], None] | None = None,
    device: str | torch.device = "auto",
    progress: bool | None = False,
) -> list[GRDA]:
    """One :class:`GRDA` per seed, trained together in one pass: the seeds' networks stacked
    (:class:`reprkit.models.stacked.StackedMLP`), each seed with its own initialisation, batch
    order and sub-graph draws, so each is the model ``GRDA(seed=s).fit`` trains up to
    floating-point summation order. Faster per seed where one step's arithmetic is small
    (``benchmarks/grda_vs_official.py`` measures it). ``on_epoch(epoch, model)`` is called
    for every model after every epoch."""
    first = GRDA(config, device=device, progress=progress)
    models = [GRDA(replace(first.config, seed=s), device=device, progress=progress)
              for s in check_seeds(seeds)]  # fmt: skip
    _fit_together(models, x, y, domain, domain_graph, source_domains, task, on_epoch)
    return models


def _fit_together(models: list[GRDA], x, y, domain, domain_graph, source_domains, task, on_epoch):
    """Train ``models`` (configs equal but for the seed) in one pass: each seed keeps its own
    initialisation, batch order and sub-graph draws; the step's losses are summed over seeds."""
    lead = models[0]
    cfg = lead.config
    x_t, y_t, u_t, a, src = lead._check_inputs(x, y, domain, domain_graph, source_domains, task)
    if lead.task_ == "regression" and cfg.adapt in ("cdann", "mdd"):
        raise ValueError(f"adapt={cfg.adapt!r} needs class labels (y of integer ids)")
    n_dom = len(a)
    # official main.py: z-score the inputs of all domains (unlabelled targets included)
    lead.x_mean_ = x_t.mean(0) if cfg.standardize else torch.zeros(x_t.shape[1])
    lead.x_std_ = x_t.std(0).clamp_min(1e-8) if cfg.standardize else torch.ones(x_t.shape[1])
    x_t = (x_t - lead.x_mean_) / lead.x_std_
    dim = cfg.embed_dim or auto_embed_dim(a)
    n_out = lead.n_classes_ if lead.task_ == "classification" else y_t.shape[1]
    dev = lead.device
    nets = []
    for m in models:
        for key in ("domains_", "task_", "classes_", "n_classes_", "sources_", "x_mean_", "x_std_"):
            if hasattr(lead, key):
                setattr(m, key, getattr(lead, key))
        seed = m.config.seed
        if cfg.domain_embedding == "spectral":
            z = spectral_embedding(a, dim)
        else:
            z = learned_embedding(a, dim, seed)
        with seeded(seed):
            m.nets_ = _Nets(m.config, x_t.shape[1], n_out, z).to(dev)
        m.adjacency_, m.fitted_ = a, True
        nets.append(m.nets_)
    st = _Stacked(nets).to(dev)
    gens = [np.random.default_rng(m.config.seed) for m in models]
    by_domain = [np.flatnonzero(u_t.numpy() == d) for d in range(n_dom)]
    is_src = torch.zeros(n_dom, dtype=torch.bool)
    is_src[list(src)] = True
    at, is_src = torch.from_numpy(a).to(dev), is_src.to(dev)
    x_t, y_t, u_t = x_t.to(dev), y_t.to(dev), u_t.to(dev)
    ef = list(st.encoder.parameters()) + list(st.predictor.parameters())
    d_params = list(st.disc.parameters()) + ([st.metric] if st.metric is not None else [])
    betas, fused = (cfg.beta1, 0.999), dev.type in ("cpu", "cuda")
    opt_ef = torch.optim.Adam(ef, lr=cfg.lr, betas=betas, fused=fused)
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=betas, fused=fused)
    adversarial = cfg.adapt != "source_only" and cfg.lam > 0
    decay = 0.5 ** (1 / cfg.lr_half_life) if cfg.lr_half_life > 0 else 1.0
    stepped = (opt_ef, opt_d) if adversarial else (opt_ef,)  # D never steps without D
    scheds = [torch.optim.lr_scheduler.ExponentialLR(o, decay) for o in stepped]
    aligned = cfg.pairing == "index_aligned"
    for epoch in progress_bar(range(cfg.epochs), desc=cfg.adapt, progress=lead.progress):
        st.train()
        epochs = [_batches(by_domain, cfg.per_domain, g, aligned) for g in gens]
        for step in range(len(epochs[0])):
            idx_t = torch.from_numpy(np.stack([e[step] for e in epochs])).to(dev)  # (S, B)
            xb, yb = x_t[idx_t], y_t[idx_t]
            ub = u_t[idx_t[0]]  # domain-major rows: every seed's row r is of the same domain
            s = is_src[ub]
            h = st.encode(xb, ub)
            out = st.predictor(h)
            pairs = None
            if adversarial:
                if cfg.adapt == "grda":
                    per_seed = [lead._pairs(ub, at, g) for g in gens]
                    pairs = tuple(torch.stack(t) for t in zip(*per_seed, strict=True))
                ld = lead._disc_loss(st, h.detach(), out.detach(), s, pairs, ub)
                opt_d.zero_grad(set_to_none=True)
                ld.backward()
                opt_d.step()
            loss = lead._pred_loss(out[:, s], yb[:, s])
            if adversarial:  # D's weights get no gradient from the encoder's step
                for p in d_params:
                    p.requires_grad_(False)
                loss = loss + cfg.lam * lead._encoder_adv(st, h, out, s, pairs, ub)
            opt_ef.zero_grad(set_to_none=True)
            loss.backward()
            opt_ef.step()
            for p in d_params:
                p.requires_grad_(True)
        if adversarial or cfg.lr_half_life > 0:
            for sch in scheds:
                sch.step()
        if on_epoch is not None:
            st.write_back(nets)
            for m in models:
                m.nets_.eval()
                on_epoch(epoch, m)
    st.write_back(nets)
    for m in models:
        m.nets_.eval()


def _batches(
    by_domain: list[np.ndarray], per_domain: int, gen, shared_order: bool = False
) -> list[np.ndarray]:
    """One epoch of batches; each holds ``per_domain`` samples of every domain (domains with
    fewer samples cycle through theirs), domain-major: row ``u * per_domain + k``.
    ``shared_order``: one permutation of row positions for every domain (the official loader,
    which returns the same index from every domain); else each domain is shuffled on its own."""
    longest = max(len(i) for i in by_domain)
    steps = max(1, int(np.ceil(longest / per_domain)))
    cols = np.arange(steps * per_domain)
    if shared_order:
        order = gen.permutation(longest)
        grid = np.stack([p[order[cols % longest] % len(p)] for p in by_domain])
    else:
        grid = np.stack([p[gen.permutation(len(p))][cols % len(p)] for p in by_domain])
    return [grid[:, s * per_domain : (s + 1) * per_domain].ravel() for s in range(steps)]


def _subgraph(a: np.ndarray, cfg: GRDAConfig, gen) -> np.ndarray:
    """Domains of one step's sub-graph: uniform, or a random-walk chain on the graph."""
    n = len(a)
    # official: a coin flip between a uniform sample and random-walk chains, every step
    kind = (
        ("uniform" if gen.integers(2) == 0 else "walk") if cfg.subgraph == "mixed" else cfg.subgraph
    )
    if kind == "uniform":
        return gen.choice(n, cfg.subgraph_size, replace=False)
    seen = [int(gen.integers(n))]
    while len(seen) < cfg.subgraph_size:
        nbrs = np.flatnonzero(a[seen[-1]])
        nxt = int(gen.choice(nbrs)) if len(nbrs) else int(gen.integers(n))
        if nxt in seen:  # walk on; jump when stuck among visited domains
            fresh = [v for v in nbrs if v not in seen]
            nxt = (
                int(gen.choice(fresh))
                if fresh
                else int(gen.choice(np.setdiff1d(np.arange(n), seen)))
            )
        seen.append(nxt)
    return np.array(seen)


def _to_list_array(v: Any) -> np.ndarray:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
        return np.asarray([v])
    return as_array(v, "source_domains", ndim=1, finite=False, non_empty=False)


def _infer_task(y_src: np.ndarray) -> str:
    """Classification for int / bool / str / object labels; regression for 2-D or non-integer
    floats; whole-number 1-D floats (0.0/1.0: labels or counts?) are refused as ambiguous."""
    if y_src.ndim == 2 or y_src.dtype.kind not in "f":
        return "regression" if y_src.ndim == 2 else "classification"
    if np.all(y_src == np.round(y_src)):
        raise ValueError(
            "y holds whole-number floats (e.g. 0.0/1.0): class labels or real targets? "
            "pass task='classification' or task='regression' to fit"
        )
    return "regression"


def _domain_index(dom: np.ndarray, domain_graph: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """(``domains_`` in graph order, each sample's domain position, the (D, D) adjacency)."""
    if hasattr(domain_graph, "nodes") and hasattr(domain_graph, "edges"):  # networkx
        nodes = list(domain_graph.nodes)
        try:
            known = np.asarray(sorted(nodes))
        except TypeError:
            raise TypeError("domain_graph's nodes must be sortable domain names") from None
        idx = {v: i for i, v in enumerate(known.tolist())}
        pairs = np.array(
            [[idx[a], idx[b]] for a, b in domain_graph.edges if a != b], dtype=np.int64
        )
        a = adjacency(pairs.reshape(-1, 2), len(known))
    elif dom.dtype.kind in "iu":
        if dom.min() < 0:
            raise ValueError("domain ids must be >= 0")
        a = adjacency(domain_graph, int(dom.max()) + 1)
        known = np.arange(len(a))
    else:  # domain names: an edge list of names
        g = np.asarray(domain_graph, dtype=object)
        if g.ndim != 2 or 2 not in g.shape:
            raise ValueError(
                "with named domains, domain_graph must be a networkx graph or an (E, 2) edge "
                f"list of domain names, got shape {g.shape}"
            )
        pairs = g.T if g.shape[0] == 2 and g.shape[1] != 2 else g
        known = np.unique(np.concatenate([np.unique(dom), np.unique(pairs.astype(dom.dtype))]))
        pos = np.searchsorted(known, pairs.astype(dom.dtype))
        a = adjacency(pos.astype(np.int64), len(known))
    pos, found = lookup(dom, known, "domain")
    if not found.all():
        raise ValueError(
            f"domain holds domains that are not in domain_graph: {dom[~found][:5].tolist()}"
        )
    return known, pos.astype(np.int64), a
