"""A searched (or released) augmentation policy as a plain PyTorch transform, saved as JSON.

One object serves both places an augmentation runs: per image inside a ``Dataset`` /
``DataLoader`` pipeline (a ``(C, H, W)`` tensor or an ``(H, W, C)`` uint8 array) and per batch on
any device (a ``(B, C, H, W)`` tensor stays where it is). Both draw through the same code, so
they give the same distribution of ops.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reprkit.core.io import atomic_write_json
from reprkit.core.validate import as_nchw, from_nchw
from reprkit.methods.deepaa.ops import (
    ENTRIES,
    ENTRY_LEVELS,
    IDENTITY_LEVEL,
    N_LEVELS,
    OFFICIAL_NAMES,
    RANGES,
    apply_entries,
)

FORMAT = "reprkit.deepaa.policy/2"  # /1: the 150-entry space before issue #25 (not loadable)


def _worker_generator() -> torch.Generator:
    """A generator seeded from torch's seed of this process: in a DataLoader worker that is
    base seed + worker id, so every worker draws its own reproducible stream."""
    return torch.Generator().manual_seed(torch.initial_seed() % 2**63)


class AugmentPolicy(nn.Module):
    """Layers applied one after another; each image draws its own (op, magnitude) per layer.

    ``probs``: ``(layers, len(ENTRIES))`` (or a list of per-layer vectors), rows summing to 1.
    ``random_sign``: signed ops (shear, translate, rotate) flip their sign with p = 0.5, as the
    official training code applies its policies (the search itself uses explicit signs).
    ``generator``: a seeded ``torch.Generator`` for reproducible draws; without one, each process
    (each DataLoader worker) makes its own from ``torch.initial_seed()``.
    """

    def __init__(
        self,
        probs: torch.Tensor | Sequence[torch.Tensor],
        *,
        random_sign: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        p = torch.stack(list(probs)) if not isinstance(probs, torch.Tensor) else probs
        p = p.detach().to(torch.float64).cpu()
        if p.ndim != 2 or p.shape[1] != len(ENTRIES):
            raise ValueError(
                f"probs must have shape (layers, {len(ENTRIES)}), got {tuple(p.shape)}"
            )
        if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype)):
            raise ValueError("probs must be non-negative and each layer must sum to 1")
        self.register_buffer("probs", p)
        self.random_sign = random_sign
        self.generator = generator
        self._pid_gen: tuple[int, torch.Generator] | None = None

    @property
    def n_layers(self) -> int:
        return len(self.probs)

    def _gen(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is not None:
            return generator
        if self.generator is not None:
            return self.generator
        if self._pid_gen is None or self._pid_gen[0] != os.getpid():
            self._pid_gen = (os.getpid(), _worker_generator())
        return self._pid_gen[1]

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The core: a float batch in [0, 1], ``(B, C, H, W)`` on any device, augmented."""
        for p in self.probs:
            idx = torch.multinomial(p, len(x), replacement=True, generator=generator)
            x = apply_entries(x, idx, generator, random_sign=self.random_sign)
        return x

    def forward(self, images: Any, generator: torch.Generator | None = None) -> Any:
        """Augment images: uint8 0..255 or float in [0, 1]; a batch (B, C, H, W) or
        (B, H, W, C), or one image (C, H, W) or (H, W, C); numpy or torch (a torch batch stays
        on its device). Returned in the same dtype, layout, shape and array type."""
        gen = self._gen(generator)
        single = getattr(images, "ndim", None) == 3
        batch = images[None] if single else images
        if (
            torch.is_tensor(batch)
            and batch.ndim == 4
            and batch.shape[1] in (1, 3)
            and batch.shape[3] not in (1, 3)  # unambiguous NCHW (as_nchw refuses the rest)
        ):
            x, layout = batch, "NCHW"  # fast path, no copy to the host (GPU batches)
            if x.is_floating_point() and (
                not bool(torch.isfinite(x).all()) or x.min() < 0 or x.max() > 1
            ):
                raise ValueError(
                    f"float images must be finite and in [0, 1]; got range [{float(x.min()):.3g}"
                    f", {float(x.max()):.3g}] (pass uint8 for 0..255)"
                )
        else:
            x, layout = as_nchw(batch, "images")
        in_dtype, is_uint8 = x.dtype, x.dtype == torch.uint8
        x = self.augment(x.float() / 255 if is_uint8 else x.float(), gen)
        x = torch.round(x * 255).clamp(0, 255).to(torch.uint8) if is_uint8 else x.to(in_dtype)
        out = from_nchw(x, layout, batch)
        return out[0] if single else out

    def top(self, layer: int, k: int = 5) -> list[tuple[str, float | None, float]]:
        """The ``k`` most likely (op, magnitude, probability) of a layer."""
        p, i = self.probs[layer].topk(k)
        return [(*ENTRIES[j], float(q)) for q, j in zip(p.tolist(), i.tolist(), strict=True)]

    def to_dict(self) -> dict:
        layers = []
        for p in self.probs.tolist():
            order = sorted(range(len(p)), key=lambda j: -p[j])
            layers.append(
                [{"op": ENTRIES[j][0], "magnitude": ENTRIES[j][1], "p": p[j]} for j in order]
            )
        return {"format": FORMAT, "random_sign": self.random_sign, "layers": layers}

    @classmethod
    def from_dict(cls, d: dict) -> AugmentPolicy:
        if d.get("format") == "reprkit.deepaa.policy/1":
            raise ValueError(
                "policy format reprkit.deepaa.policy/1 used the 150-entry search space before "
                "issue #25; search again (the space is now the official 139 entries)"
            )
        if d.get("format") != FORMAT or not isinstance(d.get("layers"), list):
            raise ValueError(f"not a policy in format {FORMAT!r}")
        index = {e: j for j, e in enumerate(ENTRIES)}
        rows = []
        for layer in d["layers"]:
            row = torch.zeros(len(ENTRIES), dtype=torch.float64)
            for item in layer:
                key = (item["op"], item["magnitude"])
                match = [
                    j
                    for (op, v), j in index.items()
                    if op == key[0]
                    and (v == key[1] if v is None or key[1] is None else math.isclose(v, key[1]))
                ]
                if not match:
                    raise ValueError(f"unknown (op, magnitude) {key} in policy")
                row[match[0]] += float(item["p"])
            total = float(row.sum())
            rows.append(row if math.isclose(total, 1.0, abs_tol=1e-12) else row / total)
        return cls(torch.stack(rows), random_sign=bool(d.get("random_sign", True)))

    def save(self, path: str | Path) -> Path:
        """Write the policy as JSON (layers of op, magnitude, probability; likeliest first)."""
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> AugmentPolicy:
        """Read a policy: our JSON (:meth:`save`) or a released official ``.npz``."""
        path = Path(path)
        if path.suffix == ".npz":
            return cls.from_official(path)
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_official(cls, npz: str | Path) -> AugmentPolicy:
        """A policy released with the official DeepAA code (``policy_port/*.npz``: per layer a
        probability for each of its 139 (op index, magnitude level) entries), mapped entry by
        entry onto ours (the same space: :mod:`reprkit.methods.deepaa.ops`). Signed ops get
        a random sign at training time, as the official training code applies them."""
        d = np.load(npz)
        missing = {"policy_probs", "ops", "mags", "op_names", "l_mags"} - set(d.files)
        if missing:
            raise ValueError(f"npz must be an official DeepAA policy; missing {sorted(missing)}")
        if int(d["l_mags"]) != N_LEVELS:
            raise ValueError(f"official policy has {int(d['l_mags'])} levels, ours {N_LEVELS}")
        names = [str(n).split(":")[0] for n in d["op_names"]]
        if tuple(names) != OFFICIAL_NAMES:
            raise ValueError(f"official op names {names} differ from {list(OFFICIAL_NAMES)}")
        ours = list(RANGES)
        index = {e: j for j, e in enumerate(ENTRY_LEVELS)}
        cols = []
        for op_i, level in zip(d["ops"].ravel().tolist(), d["mags"].ravel().tolist(), strict=True):
            op = ours[op_i]
            key = (op, None if RANGES[op] is None else int(level))
            if key not in index or level == IDENTITY_LEVEL[op] and RANGES[op] is not None:
                raise ValueError(f"official entry (op {names[op_i]}, level {level}) not in ours")
            cols.append(index[key])
        probs = np.asarray(d["policy_probs"], dtype=np.float64)
        if sorted(cols) != list(range(len(ENTRIES))) or probs.shape[1] != len(cols):
            raise ValueError("official entries must map one-to-one onto our 139 entries")
        p = torch.zeros(len(probs), len(ENTRIES), dtype=torch.float64)
        p[:, cols] = torch.from_numpy(probs)
        return cls(p / p.sum(1, keepdim=True))
