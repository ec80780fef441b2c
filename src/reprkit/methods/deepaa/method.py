"""Deep AutoAugment (Zheng et al., ICLR 2022): augmentation policy search by (regularised)
gradient matching, layer by layer, as the official code does it (``DeepAA_search.py``).

A step of layer ``k`` (the earlier layers fixed) has ``tasks`` tasks. A task is one search image
``x`` of a random class ``c`` and ``val_per_task`` held-out images of the same class ``c``, whose
mean loss gradient is ``v``. The policy's augmented gradient ``g`` is, for layer 1, the mixture
``sum_j p_j grad L_j`` over the 139 entries ``j`` applied to ``x`` (paper Eq. 4), and for layers
>= 2 the mean gradient over draws of the whole stack (layers 1..k) applied to ``x``. The task's
importance vector is the derivative of ``cos(g, v)`` with respect to each entry's probability,
``d_j = grad L_j . t / (|g| |v|)`` with the official tangent ``t = v - g (g.v) / |g|^2``; for
layers >= 2, ``L_j`` is entry ``j`` applied after ``jvp_draws`` draws of the earlier layers,
averaged. All ``d_j`` of a task come from one forward-mode JVP of the vector of entry losses
(``torch.func.jvp``), never one backward pass per entry. The policy ascends ``sum_j p_j s_j``
with ``s`` the mean of the tasks' importance vectors (layer 1) or their mean - std across tasks
(layers >= 2: the paper's regulariser, Eq. 6, in the official form). Gradients are taken over
the network's weights except BatchNorm's affine parameters (frozen, as official), BatchNorm in
inference mode.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, jvp, vjp

from reprkit.core.base import BaseEstimator
from reprkit.core.progress import progress_bar
from reprkit.core.seed import seeded
from reprkit.core.validate import as_nchw, encode_labels
from reprkit.methods.deepaa.config import DeepAAConfig
from reprkit.methods.deepaa.nets import accuracy, crop_flip_policy, train_classifier
from reprkit.methods.deepaa.ops import ENTRIES, apply_entries
from reprkit.methods.deepaa.policy import AugmentPolicy

_IDENTITY = ENTRIES.index(("identity", None))


def check_images(
    images: Any, labels: Any, min_count: int = 1
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Images (numpy or torch, uint8 0..255 or float in [0, 1], NCHW or NHWC, or a torch Dataset
    of (image, label)) and labels of any hashable type, as (uint8 NCHW tensor, int64 codes,
    ``classes_``); clear errors otherwise."""
    if isinstance(images, torch.utils.data.Dataset) and labels is None:
        pairs = [images[i] for i in range(len(images))]  # type: ignore[arg-type]
        images = torch.stack([torch.as_tensor(p[0]) for p in pairs])
        labels = [p[1].item() if torch.is_tensor(p[1]) else p[1] for p in pairs]
    images, _ = as_nchw(images, "images")
    if images.dtype != torch.uint8:
        images = torch.round(images.float() * 255).to(torch.uint8)
    codes, classes = encode_labels(labels, "labels")
    if len(codes) != len(images):
        raise ValueError(f"labels must have one label per image ({len(images)}), got {len(codes)}")
    if len(classes) < 2:
        raise ValueError("labels must contain at least 2 classes")
    if len(images) < min_count:
        raise ValueError(f"need at least {min_count} images, got {len(images)}")
    return images, torch.from_numpy(codes), classes


def _dot(a: dict[str, torch.Tensor], c: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum((a[n] * c[n]).sum() for n in a).double()


def weighted_grad(
    losses: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    params: dict[str, torch.Tensor],
    weights: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """``sum_j weights_j grad losses(params)_j``: one backward pass (a VJP)."""
    ref = next(iter(params.values()))
    _, fn = vjp(losses, params)
    return fn(weights.detach().to(ref.device, ref.dtype))[0]


def entry_importance(
    losses: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    params: dict[str, torch.Tensor],
    g: dict[str, torch.Tensor],
    v: dict[str, torch.Tensor],
) -> tuple[float, torch.Tensor]:
    """``(cos(g, v), d)`` with ``d_j = grad L_j . t / (|g| |v|)``, ``t = v - g (g.v) / |g|^2``
    (the official tangent), every ``grad L_j . t`` from one forward-mode JVP of the loss vector.
    When ``g = sum_j w_j grad L_j``, ``d`` is exactly ``d cos(g, v) / d w`` (tested)."""
    gv, gg, vv = _dot(g, v), _dot(g, g).clamp_min(1e-30), _dot(v, v).clamp_min(1e-30)
    t = {n: v[n] - g[n] * (gv / gg).to(g[n].dtype) for n in g}
    d = jvp(losses, (params,), (t,))[1].double() / (gg * vv).sqrt()
    return float(gv / (gg * vv).sqrt()), d.cpu()


def _frozen_bn(net: torch.nn.Module) -> set[str]:
    """Names of BatchNorm affine parameters (the official search freezes them)."""
    return {
        f"{m}.{p}" if m else p
        for m, mod in net.named_modules()
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)
        for p, _ in mod.named_parameters(recurse=False)
    }


class _SearchData:
    """The search and validation parts, and the draw of one task: a search image of a random
    class c and ``n`` validation images of class c (official PrefetchGenerator)."""

    def __init__(self, images, labels, search, val, classes) -> None:
        self.images, self.labels, self.classes = images, labels, classes
        self.search = {c: search[labels[search] == c] for c in classes}
        self.val = {c: val[labels[val] == c] for c in classes}

    def task(self, n: int, gen: torch.Generator, dev: torch.device):
        c = self.classes[int(torch.randint(len(self.classes), (1,), generator=gen))]
        s, v = self.search[c], self.val[c]
        i = s[torch.randint(len(s), (1,), generator=gen)]
        # without replacement when the class has enough validation images
        j = v[torch.randperm(len(v), generator=gen)[:n]] if len(v) >= n else v[
            torch.randint(len(v), (n,), generator=gen)]  # fmt: skip
        x = self.images[i].float().to(dev) / 255
        xv = self.images[j].float().to(dev) / 255
        return x, self.labels[i].to(dev), xv, self.labels[j].to(dev)


class DeepAutoAugment(BaseEstimator):
    """Search an augmentation policy for a labelled image set.

    ``fit(images, labels)`` trains a small search network on the clean images, then learns
    ``config.layers`` layers greedily; ``policy_`` is an :class:`AugmentPolicy` (an
    ``nn.Module`` usable in any PyTorch pipeline), ``history_`` the objective per layer and step.
    """

    name: ClassVar[str] = "deepaa"
    config_cls: ClassVar[type] = DeepAAConfig

    def fit(
        self,
        images: Any,
        labels: Any = None,
        *,
        on_layer: Callable[[int, AugmentPolicy], None] | None = None,
    ) -> DeepAutoAugment:
        """Split the images into pre-train / search / validation parts (disjoint, as official),
        pre-train the search network on the first with crop + flip + cutout, then search
        ``config.layers`` layers greedily on images the network never saw."""
        cfg: DeepAAConfig = self.config
        cfg.validate()
        images, labels, self.classes_ = check_images(images, labels, min_count=3)
        n_classes = len(self.classes_)
        n = len(images)
        n_pre, n_val = round(cfg.pretrain_fraction * n), round(cfg.val_fraction * n)
        if n_pre < cfg.net.batch_size:
            raise ValueError(
                f"pretrain_fraction x images ({n_pre}) must be >= net.batch_size "
                f"({cfg.net.batch_size}); pass more images or lower net.batch_size"
            )
        if n - n_pre - n_val < 1 or n_val < 1:
            raise ValueError(f"{n} images leave no search or validation images")
        with seeded(cfg.seed) as (gen, _):
            order = torch.randperm(n, generator=gen)
            pre, val, search = order[:n_pre], order[n_pre : n_pre + n_val], order[n_pre + n_val :]
            classes = [
                c for c in range(n_classes)
                if (labels[search] == c).any() and (labels[val] == c).any()
            ]  # fmt: skip
            if not classes:
                raise ValueError("no class has images in both the search and validation parts")
            net = train_classifier(
                images[pre], labels[pre], n_classes, cfg.net, crop_flip_policy(cutout=True),
                gen, device=self.device, progress=self.progress, desc="search net",
            )  # fmt: skip
            self.search_net_acc_ = {
                "pretrain": accuracy(net, images[pre], labels[pre]),
                "search": accuracy(net, images[search], labels[search]),
            }
            data = _SearchData(images, labels, search, val, classes)
            layers: list[torch.Tensor] = []
            self.history_: list[list[float]] = []
            for k in range(cfg.layers):
                probs, hist = self._search_layer(net, data, layers, gen=gen, k=k)
                layers.append(probs)
                self.history_.append(hist)
                if on_layer is not None:
                    on_layer(k, AugmentPolicy(torch.stack(layers)))
        self.policy_ = AugmentPolicy(torch.stack(layers))
        self.n_classes_ = n_classes
        self.fitted_ = True
        return self

    def _search_layer(self, net, data: _SearchData, layers, *, gen, k):
        cfg: DeepAAConfig = self.config
        dev = self.device
        frozen = _frozen_bn(net)
        params = {n: p.detach() for n, p in net.named_parameters() if n not in frozen}
        consts = {n: p.detach() for n, p in net.named_parameters() if n in frozen}
        consts |= dict(net.named_buffers())
        n_e = len(ENTRIES)
        logits = torch.zeros(n_e, dtype=torch.float64)
        logits[_IDENTITY] = cfg.init_identity_logit
        logits.requires_grad_(True)
        # paper: official lr 0.025 for 1,024 steps; None scales it to our step budget
        opt = torch.optim.Adam([logits], lr=cfg.effective_policy_lr)
        hist: list[float] = []

        def loss_vec(p, x, y):
            return F.cross_entropy(functional_call(net, (p | consts,), (x,)), y, reduction="none")

        def mean_loss(p, x, y):
            return loss_vec(p, x, y).mean()

        def grad(f) -> dict[str, torch.Tensor]:  # the gradient of a scalar loss
            return weighted_grad(f, params, torch.ones(()))

        steps = progress_bar(range(cfg.steps), progress=self.progress, desc=f"layer {k + 1}")
        for _ in steps:
            p = torch.softmax(logits.detach(), 0)
            # search (explicit signs): the earlier layers, and the stack with this one
            earlier = AugmentPolicy(torch.stack(layers), random_sign=False) if layers else None
            stack = AugmentPolicy(torch.stack([*layers, p]), random_sign=False)
            imps, coss = [], []
            for _task in range(cfg.tasks):
                x, y, xv, yv = data.task(cfg.val_per_task, gen, dev)
                v = grad(partial(mean_loss, x=xv, y=yv))
                if earlier is None:
                    xs = apply_entries(x.expand(n_e, -1, -1, -1), torch.arange(n_e), gen)
                    f = partial(loss_vec, x=xs, y=y.expand(n_e))
                    cos, d = entry_importance(f, params, weighted_grad(f, params, p), v)
                else:
                    m = cfg.grad_draws * n_e
                    xg = stack.augment(x.expand(m, -1, -1, -1), gen)
                    g = grad(partial(mean_loss, x=xg, y=y.expand(m)))
                    j = cfg.jvp_draws
                    xk = earlier.augment(x.expand(j, -1, -1, -1), gen)
                    xs = apply_entries(
                        xk.repeat(n_e, 1, 1, 1), torch.arange(n_e).repeat_interleave(j), gen
                    )
                    f = partial(loss_vec, x=xs, y=y.expand(n_e * j))
                    cos, d = entry_importance(f, params, g, v)
                    d = d.view(n_e, j).mean(1)
                imps.append(d)
                coss.append(cos)
            imp = torch.stack(imps)
            score = imp.mean(0)
            if k > 0 and cfg.regularize:
                score = score - imp.std(0, correction=0)  # population std, as official
            opt.zero_grad()
            (-(score * torch.softmax(logits, 0)).sum()).backward()
            opt.step()
            hist.append(float(np.mean(coss)))
        return torch.softmax(logits.detach(), 0), hist

    def transform(self, images: torch.Tensor, generator: torch.Generator | None = None):
        """Augment a batch with the found policy (uint8 stays uint8, float stays float)."""
        self._check_fitted()
        return self.policy_(images, generator)

    def _get_state(self) -> dict[str, Any]:
        return {"probs": self.policy_.probs, "n_classes": self.n_classes_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.policy_ = AugmentPolicy(state["probs"])
        self.n_classes_ = int(state["n_classes"])
        self.history_ = []
