"""A searched augmentation policy as a plain PyTorch transform, saved as readable JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reprkit.core.io import atomic_write_json
from reprkit.core.validate import as_nchw, from_nchw
from reprkit.methods.deepaa.ops import ENTRIES, apply_entries

FORMAT = "reprkit.deepaa.policy/1"


class AugmentPolicy(nn.Module):
    """Layers applied one after another; each image draws its own (op, magnitude) per layer.

    ``probs``: ``(layers, len(ENTRIES))`` (or a list of per-layer vectors), rows summing to 1.
    ``forward(images, generator=None)`` takes a batch ``(B, C, H, W)``: uint8 in [0, 255] comes
    back as uint8, float in [0, 1] as float.
    """

    def __init__(self, probs: torch.Tensor | Sequence[torch.Tensor]) -> None:
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

    @property
    def n_layers(self) -> int:
        return len(self.probs)

    def forward(self, images: Any, generator: torch.Generator | None = None) -> Any:
        """Augment a batch: uint8 0..255 or float in [0, 1], (B, C, H, W) or (B, H, W, C),
        numpy or torch; returned in the same dtype, layout and array type."""
        x, layout = as_nchw(images, "images")
        in_dtype, is_uint8 = x.dtype, x.dtype == torch.uint8
        x = x.float() / 255 if is_uint8 else x.float()
        if generator is None:
            generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,)).item()))
        for p in self.probs:
            idx = torch.multinomial(p, len(x), replacement=True, generator=generator)
            x = apply_entries(x, idx, generator)
        x = torch.round(x * 255).clamp(0, 255).to(torch.uint8) if is_uint8 else x.to(in_dtype)
        return from_nchw(x, layout, images)

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
        return {"format": FORMAT, "layers": layers}

    @classmethod
    def from_dict(cls, d: dict) -> AugmentPolicy:
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
            rows.append(row / row.sum())
        return cls(torch.stack(rows))

    def save(self, path: str | Path) -> Path:
        """Write the policy as JSON (layers of op, magnitude, probability; likeliest first)."""
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> AugmentPolicy:
        return cls.from_dict(json.loads(Path(path).read_text()))
