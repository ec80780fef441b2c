"""The DeepAA search space: 16 image operations x 12 magnitudes, plus flip and pad-and-crop.

Every operation works on a float batch in [0, 1] of shape ``(B, C, H, W)`` with one magnitude
*value* per sample (a ``(B,)`` tensor in the operation's own unit), so one call transforms a
whole group of images with different magnitudes. Random parts (cutout position, crop offset)
draw from an explicit ``torch.Generator``.

Magnitude ranges (:data:`RANGES`) follow the search-space table of the DeepAA paper (Zheng et
al., ICLR 2022, appendix) as far as we could check it offline; each range is discretised into
12 evenly spaced values. The identity value of each operation (:data:`IDENTITY`) is where it
leaves the image unchanged: 0 for the geometric ops and cutout, 1 for the enhance factors,
256 for solarize (no pixel reaches the threshold) and 8 bits for posterize. Because the signed
ranges are discretised into 12 values, 0 itself is not on their grid; the ``identity`` entry
covers "no change".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

N_MAGNITUDES = 12
FILL = 0.5  # grey, for pixels a geometric op or cutout uncovers
CROP_PAD = 4  # pad-and-crop: zero padding on each side, as the standard CIFAR crop

# operation -> (low, high) of its magnitude; None: the operation has no magnitude
RANGES: dict[str, tuple[float, float] | None] = {
    "identity": None,
    "shear_x": (-0.3, 0.3),  # shear factor
    "shear_y": (-0.3, 0.3),
    "translate_x": (-0.45, 0.45),  # fraction of the width
    "translate_y": (-0.45, 0.45),  # fraction of the height
    "rotate": (-30.0, 30.0),  # degrees, counter-clockwise
    "auto_contrast": None,
    "invert": None,
    "equalize": None,
    "solarize": (0.0, 256.0),  # threshold in 8-bit pixel values: pixels >= it are inverted
    "posterize": (4.0, 8.0),  # bits kept per channel (rounded to a whole number)
    "contrast": (0.1, 1.9),  # enhance factor, 1 = unchanged
    "color": (0.1, 1.9),
    "brightness": (0.1, 1.9),
    "sharpness": (0.1, 1.9),
    "cutout": (0.0, 0.6),  # side of the grey square as a fraction of the image side
    "flip": None,  # horizontal flip
    "crop": None,  # zero-pad by CROP_PAD pixels, crop back at a random offset
}
IDENTITY: dict[str, float] = {
    "shear_x": 0.0,
    "shear_y": 0.0,
    "translate_x": 0.0,
    "translate_y": 0.0,
    "rotate": 0.0,
    "solarize": 256.0,
    "posterize": 8.0,
    "contrast": 1.0,
    "color": 1.0,
    "brightness": 1.0,
    "sharpness": 1.0,
    "cutout": 0.0,
}


def magnitudes(op: str) -> list[float | None]:
    """The op's discrete magnitude values (``[None]`` for an op without magnitude)."""
    rng = RANGES[op]
    if rng is None:
        return [None]
    lo, hi = rng
    return [lo + (hi - lo) * k / (N_MAGNITUDES - 1) for k in range(N_MAGNITUDES)]


# the search space: one (op, value) entry per op and magnitude, in a fixed order
ENTRIES: list[tuple[str, float | None]] = [(op, v) for op in RANGES for v in magnitudes(op)]


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Warp by per-sample 2x3 matrices that map output to input coordinates in [-1, 1]."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = F.grid_sample(
        torch.ones_like(x[:, :1]), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out + (1 - inside) * FILL


def _eye(v: torch.Tensor) -> torch.Tensor:
    theta = torch.zeros(len(v), 2, 3, dtype=v.dtype, device=v.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    return theta


def _geometric(kind: str) -> Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]:
    def op(x: torch.Tensor, v: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        v = v.to(x.dtype)
        theta = _eye(v)
        if kind == "shear_x":
            theta[:, 0, 1] = v * x.shape[2] / x.shape[3]
        elif kind == "shear_y":
            theta[:, 1, 0] = v * x.shape[3] / x.shape[2]
        elif kind == "translate_x":
            theta[:, 0, 2] = -2 * v
        elif kind == "translate_y":
            theta[:, 1, 2] = -2 * v
        else:  # rotate by v degrees counter-clockwise (square pixels)
            a = v * math.pi / 180
            r = x.shape[2] / x.shape[3]  # H / W: keeps the rotation rigid on non-square images
            theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), -torch.sin(a) * r
            theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a) / r, torch.cos(a)
        return _affine(x, theta)

    return op


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _blend(x: torch.Tensor, degenerate: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """PIL ImageEnhance: factor 0 gives the degenerate image, 1 the original."""
    return (degenerate + _per_sample(f.to(x.dtype)) * (x - degenerate)).clamp(0, 1)


def _contrast(x, v, gen):
    return _blend(x, _gray(x).mean((1, 2, 3), keepdim=True).expand_as(x), v)


def _color(x, v, gen):
    return _blend(x, _gray(x).expand_as(x), v)


def _brightness(x, v, gen):
    return _blend(x, torch.zeros_like(x), v)


def _sharpness(x, v, gen):
    k = torch.ones(3, 3, dtype=x.dtype, device=x.device)
    k[1, 1] = 5
    k = (k / k.sum()).expand(x.shape[1], 1, 3, 3)
    smooth = x.clone()  # PIL keeps the border pixels
    smooth[:, :, 1:-1, 1:-1] = F.conv2d(x, k, groups=x.shape[1])
    return _blend(x, smooth, v)


def _to8(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x * 255)


def _solarize(x, v, gen):
    return torch.where(_to8(x) >= _per_sample(v.to(x.dtype)), 1 - x, x)


def _posterize(x, v, gen):
    step = 2.0 ** (8 - _per_sample(torch.round(v).to(x.dtype)))
    return torch.floor(_to8(x) / step) * step / 255


def _auto_contrast(x, v, gen):
    lo = x.amin((2, 3), keepdim=True)
    hi = x.amax((2, 3), keepdim=True)
    span = hi - lo
    return torch.where(span > 0, (x - lo) / span.clamp_min(1e-12), x)


def _equalize(x, v, gen):
    from kornia.enhance import equalize

    return equalize(x)


def _cutout(x, v, gen):
    b, _, h, w = x.shape
    side = torch.round(v.to(x.dtype) * min(h, w))
    cy = torch.randint(0, h, (b,), generator=gen).to(x.device)
    cx = torch.randint(0, w, (b,), generator=gen).to(x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    y0 = (cy - torch.div(side, 2, rounding_mode="floor")).view(b, 1, 1)
    x0 = (cx - torch.div(side, 2, rounding_mode="floor")).view(b, 1, 1)
    s = side.view(b, 1, 1)
    hole = (ys >= y0) & (ys < y0 + s) & (xs >= x0) & (xs < x0 + s)
    return torch.where(hole.unsqueeze(1), torch.full_like(x, FILL), x)


def _crop(x, v, gen):
    b, _, h, w = x.shape
    p = CROP_PAD
    padded = F.pad(x, (p, p, p, p))
    dy = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
    dx = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
    rows = (dy.view(b, 1) + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (dx.view(b, 1) + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    idx = (rows * (w + 2 * p) + cols).expand(b, x.shape[1], h, w).reshape(b, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).view_as(x)


OPS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]] = {
    "identity": lambda x, v, gen: x,
    "shear_x": _geometric("shear_x"),
    "shear_y": _geometric("shear_y"),
    "translate_x": _geometric("translate_x"),
    "translate_y": _geometric("translate_y"),
    "rotate": _geometric("rotate"),
    "auto_contrast": _auto_contrast,
    "invert": lambda x, v, gen: 1 - x,
    "equalize": _equalize,
    "solarize": _solarize,
    "posterize": _posterize,
    "contrast": _contrast,
    "color": _color,
    "brightness": _brightness,
    "sharpness": _sharpness,
    "cutout": _cutout,
    "flip": lambda x, v, gen: x.flip(-1),
    "crop": _crop,
}


def apply_op(
    op: str, x: torch.Tensor, value: torch.Tensor | float | None, generator: torch.Generator
) -> torch.Tensor:
    """Apply ``op`` to float batch ``x`` with one magnitude value per sample (or one for all)."""
    if op not in OPS:
        raise ValueError(f"op must be one of {list(OPS)}, got {op!r}")
    v = torch.as_tensor(0.0 if value is None else value, dtype=torch.float64)
    v = v.expand(len(x)) if v.ndim == 0 else v
    return OPS[op](x, v.to(x.device), generator)


_ENTRY_OP = [op for op, _ in ENTRIES]
_ENTRY_VALUE = torch.tensor([0.0 if v is None else v for _, v in ENTRIES], dtype=torch.float64)


def apply_entries(x: torch.Tensor, idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply search-space entry ``idx[i]`` to image ``i``: one call per op present."""
    out = x.clone()
    values = _ENTRY_VALUE[idx.cpu()]
    ops = [_ENTRY_OP[i] for i in idx.tolist()]
    for op in dict.fromkeys(ops):
        rows = torch.tensor([i for i, o in enumerate(ops) if o == op], device=x.device)
        out[rows] = OPS[op](x[rows], values[rows.cpu()].to(x.device), generator)
    return out
