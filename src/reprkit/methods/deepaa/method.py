"""Deep AutoAugment (Zheng et al., ICLR 2022): augmentation policy search by (regularised)
gradient matching, layer by layer.

For layer ``k`` (the earlier layers fixed), every entry ``j`` of the search space (op and
magnitude) gives a training loss ``L_j`` on a batch augmented by the earlier layers and then by
``j``; the policy's augmented gradient is ``g(p) = sum_j p_j grad L_j``. The layer maximises
the cosine between ``g(p)`` and the gradient ``v`` of the clean validation loss. Its derivative
needs ``grad L_j . v`` and ``grad L_j . g`` for every entry: one forward-mode Jacobian-vector
product of the vector of entry losses per direction (``torch.func.jvp``), never one backward
pass per entry. Layers >= 2 use the regularised objective: ``v`` is taken per class (a
single-class task) and the layer maximises mean - std of the per-class cosines.
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
from reprkit.methods.deepaa.nets import train_classifier
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
    return sum((a[n] * c[n]).sum() for n in a).double().cpu()


def policy_cosines(
    losses: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    params: dict[str, torch.Tensor],
    p: torch.Tensor,
    dirs: list[dict[str, torch.Tensor]],
) -> torch.Tensor:
    """cos(g(p), v) for each direction ``v`` in ``dirs``, differentiable in ``p`` (exact value
    and exact gradient at the given ``p``), where ``g(p) = sum_j p_j grad losses(params)_j``.

    ``g . v = sum_j p_j (grad L_j . v)`` is linear in ``p``; ``|g|^2`` enters through its
    first-order form in ``p`` (``d|g|^2 / dp_j = 2 grad L_j . g``). Every ``grad L_j . u``
    comes from one forward-mode JVP of the loss vector along ``u``."""
    ref = next(iter(params.values()))
    _, fn = vjp(losses, params)
    g = fn(p.detach().to(ref.device, ref.dtype))[0]
    c = jvp(losses, (params,), (g,))[1].double().cpu()  # grad L_j . g
    norm = (_dot(g, g) + 2 * ((p - p.detach()) * c).sum()).clamp_min(1e-30).sqrt()
    out = []
    for v in dirs:
        a = jvp(losses, (params,), (v,))[1].double().cpu()  # grad L_j . v
        out.append((p * a).sum() / (_dot(v, v).sqrt() * norm))
    return torch.stack(out)


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
        cfg: DeepAAConfig = self.config
        cfg.validate()
        images, labels, self.classes_ = check_images(
            images, labels, min_count=cfg.net.batch_size + 2
        )
        n_classes = len(self.classes_)
        with seeded(cfg.seed) as (gen, _):
            order = torch.randperm(len(images), generator=gen)
            n_val = max(n_classes, int(round(cfg.val_fraction * len(images))))
            val, train = order[:n_val], order[n_val:]
            if len(train) < cfg.net.batch_size:
                raise ValueError(
                    f"fewer training images ({len(train)}) than net.batch_size "
                    f"({cfg.net.batch_size}) after holding out val_fraction"
                )
            net = train_classifier(
                images[train], labels[train], n_classes, cfg.net, None, gen,
                device=self.device, progress=self.progress, desc="search net",
            )  # fmt: skip
            layers: list[torch.Tensor] = []
            self.history_: list[list[float]] = []
            for k in range(cfg.layers):
                prev = AugmentPolicy(torch.stack(layers)) if layers else None
                probs, hist = self._search_layer(
                    net, images[train], labels[train], images[val], labels[val],
                    n_classes, prev, regularize=cfg.regularize and k > 0, gen=gen, k=k,
                )  # fmt: skip
                layers.append(probs)
                self.history_.append(hist)
                if on_layer is not None:
                    on_layer(k, AugmentPolicy(torch.stack(layers)))
        self.policy_ = AugmentPolicy(torch.stack(layers))
        self.n_classes_ = n_classes
        self.fitted_ = True
        return self

    def _search_layer(self, net, x_tr, y_tr, x_val, y_val, n_classes, prev, *, regularize, gen, k):
        cfg: DeepAAConfig = self.config
        dev = self.device
        params = {n: p.detach() for n, p in net.named_parameters()}
        buffers = {n: b for n, b in net.named_buffers()}
        n_e, b = len(ENTRIES), cfg.images_per_entry
        logits = torch.zeros(n_e, dtype=torch.float64)
        # start near identity: identity gets `init_identity`, the rest share what is left
        logits[_IDENTITY] = np.log(cfg.init_identity * (n_e - 1) / (1 - cfg.init_identity))
        logits.requires_grad_(True)
        opt = torch.optim.Adam([logits], lr=cfg.policy_lr)
        by_class = [torch.nonzero(y_val == c).flatten() for c in range(n_classes)]
        by_class = [i for i in by_class if len(i)]
        hist: list[float] = []

        def loss_vec(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
            out = functional_call(net, (p, buffers), (x,))
            return F.cross_entropy(out, y, reduction="none").view(n_e, b).mean(1)

        def val_grad(idx: torch.Tensor) -> dict[str, torch.Tensor]:
            xv = x_val[idx].float().to(dev) / 255

            def f(p):
                return F.cross_entropy(
                    functional_call(net, (p, buffers), (xv,)), y_val[idx].to(dev)
                )

            _, fn = vjp(f, params)
            return fn(torch.ones((), device=dev))[0]

        steps = progress_bar(range(cfg.steps), progress=self.progress, desc=f"layer {k + 1}")
        for _ in steps:
            pick = torch.randint(len(x_tr), (b,), generator=gen)
            x = x_tr[pick].float() / 255
            if prev is not None:
                x = prev(x, gen)
            xs = apply_entries(x.repeat(n_e, 1, 1, 1), torch.arange(n_e).repeat_interleave(b), gen)
            xs, ys = xs.to(dev), y_tr[pick].repeat(n_e).to(dev)
            if regularize:
                per = max(1, cfg.val_batch // len(by_class))
                dirs = [val_grad(i[torch.randint(len(i), (per,), generator=gen)]) for i in by_class]
            else:
                dirs = [val_grad(torch.randint(len(x_val), (cfg.val_batch,), generator=gen))]
            p = torch.softmax(logits, 0)
            cos = policy_cosines(partial(loss_vec, x=xs, y=ys), params, p, dirs)
            obj = cos.mean() - cos.std() if len(cos) > 1 else cos[0]
            opt.zero_grad()
            (-obj).backward()
            opt.step()
            hist.append(float(obj.detach()))
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
