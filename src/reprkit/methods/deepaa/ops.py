"""The DeepAA search space of the official CIFAR code: 139 (operation, magnitude) entries.

Every operation works on a float batch in [0, 1] of shape ``(B, C, H, W)`` with one magnitude
*value* per sample (a ``(B,)`` tensor in the operation's own unit), so one call transforms a
whole group of images with different magnitudes. Random parts (flip, cutout position, crop
offset, the sign of signed ops) draw from an explicit ``torch.Generator``.

The space is the one the released policies were searched in (Zheng et al., ICLR 2022, Sec. 4
and appendix; official code ``DeepAA_utils.py`` ``aug_op_cifar_list`` and ``policy.py``
``_get_unique_policy``): 18 operations in the official order; an operation with a magnitude
range gets 13 evenly spaced levels, less the level at which it leaves the image unchanged
(the middle level 6, or level 12 for solarize and posterize), so 12 entries each; identity,
auto-contrast, invert, equalize, random flip, cutout (a 16-pixel square on 32-pixel images)
and pad-and-crop (4 pixels) have one entry each: 1 + 11 x 12 + 6 = 139 entries.

Pixel conventions follow the official PIL code: affine ops fill uncovered pixels with black
(PIL's default) and shear / translate about the top-left corner as PIL's ``AFFINE`` transform
does; cutout and the crop padding use the CIFAR mean colour (125, 123, 114); posterize keeps
``int(bits)`` bits. During the search an entry's sign is explicit (levels below the middle are
negative); when a policy augments training images, signed ops flip their sign with p = 0.5 as
the official training code does (``random_mirror``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

N_LEVELS = 13  # magnitude levels per op (official l_mags)
MEAN_RGB = (125 / 255, 123 / 255, 114 / 255)  # official fill of cutout and the crop padding
CUTOUT_FRACTION = 0.5  # cutout side / image side (16 px on CIFAR)
CROP_FRACTION = 0.125  # crop padding / image side (4 px on CIFAR)

# operation -> (low, high) of its magnitude; None: the operation has no magnitude.
# Order and ranges: official aug_op_cifar_list (DeepAA_utils.py) and op_names of the released npz
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
    "posterize": (4.0, 8.0),  # bits kept per channel (int(), as official)
    "contrast": (0.1, 1.9),  # enhance factor, 1 = unchanged
    "color": (0.1, 1.9),
    "brightness": (0.1, 1.9),
    "sharpness": (0.1, 1.9),
    "flip": None,  # horizontal flip with p = 0.5
    "cutout": None,  # a mean-colour square of CUTOUT_FRACTION of the side at a random centre
    "crop": None,  # pad by CROP_FRACTION of the side with the mean colour, crop back at random
}
# the op names of the official code (the released npz's op_names), in the same order
OFFICIAL_NAMES = (
    "Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "AutoContrast",
    "Invert", "Equalize", "Solarize", "Posterize", "Contrast", "Color", "Brightness",
    "Sharpness", "RandFlip", "RandCutout", "RandCrop",
)  # fmt: skip
SIGNED = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
# the level at which the op leaves the image unchanged: left out of the search space
IDENTITY_LEVEL = {op: N_LEVELS - 1 if op in ("solarize", "posterize") else 6 for op in RANGES}


def level_value(op: str, level: int) -> float | None:
    """The magnitude value of ``op`` at ``level`` (0 .. N_LEVELS - 1); None without a range."""
    rng = RANGES[op]
    if rng is None:
        return None
    lo, hi = rng
    return lo + (hi - lo) * level / (N_LEVELS - 1)


def levels(op: str) -> list[int | None]:
    """The op's levels in the search space (``[None]`` for an op without magnitude)."""
    if RANGES[op] is None:
        return [None]
    return [k for k in range(N_LEVELS) if k != IDENTITY_LEVEL[op]]


# the search space: one (op, value) entry per op and level, in the official order
ENTRY_LEVELS: list[tuple[str, int | None]] = [(op, k) for op in RANGES for k in levels(op)]
ENTRIES: list[tuple[str, float | None]] = [
    (op, None if k is None else level_value(op, k)) for op, k in ENTRY_LEVELS
]


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _mean_fill(x: torch.Tensor) -> torch.Tensor:
    """The official fill colour as a (1, C, 1, 1) tensor (its grey level for 1 channel)."""
    rgb = torch.tensor(MEAN_RGB, dtype=x.dtype, device=x.device)
    return (rgb if x.shape[1] == 3 else rgb.mean().expand(x.shape[1])).view(1, -1, 1, 1)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Warp by per-sample 2x3 matrices that map output to input coordinates in [-1, 1];
    pixels from outside the image are black (PIL's default fill)."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _eye(v: torch.Tensor) -> torch.Tensor:
    theta = torch.zeros(len(v), 2, 3, dtype=v.dtype, device=v.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    return theta


def _geometric(kind: str) -> Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]:
    def op(x: torch.Tensor, v: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        v = v.to(x.dtype)
        theta = _eye(v)
        hw, wh = x.shape[2] / x.shape[3], x.shape[3] / x.shape[2]
        # PIL AFFINE (1, v, 0, 0, 1, 0) etc. map output pixel (x, y) to input pixel
        # (x + v y, y): a shear about the top-left corner, in [-1, 1] coordinates below
        if kind == "shear_x":
            theta[:, 0, 1] = theta[:, 0, 2] = v * hw
        elif kind == "shear_y":
            theta[:, 1, 0] = theta[:, 1, 2] = v * wh
        elif kind == "translate_x":  # input x = output x + v * width
            theta[:, 0, 2] = 2 * v
        elif kind == "translate_y":
            theta[:, 1, 2] = 2 * v
        else:  # rotate by v degrees counter-clockwise about the centre (PIL Image.rotate)
            a = v * math.pi / 180
            theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), -torch.sin(a) * hw
            theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a) * wh, torch.cos(a)
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
    step = 2.0 ** (8 - _per_sample(torch.floor(v).to(x.dtype)))  # official: int(v) bits
    return torch.floor(_to8(x) / step) * step / 255


def _auto_contrast(x, v, gen):
    lo = x.amin((2, 3), keepdim=True)
    hi = x.amax((2, 3), keepdim=True)
    span = hi - lo
    return torch.where(span > 0, (x - lo) / span.clamp_min(1e-12), x)


def _equalize(x, v, gen):
    from kornia.enhance import equalize

    return equalize(x)


def _flip(x, v, gen):
    flip = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)
    return torch.where(_per_sample(flip), x.flip(-1), x)


def _cutout(x, v, gen):
    """A mean-colour square, half the side, centred at a uniform random pixel (clipped at the
    border, as the official RandCutout)."""
    b, _, h, w = x.shape
    half = round(CUTOUT_FRACTION * min(h, w)) // 2
    cy = torch.randint(0, h, (b,), generator=gen).to(x.device).view(b, 1, 1)
    cx = torch.randint(0, w, (b,), generator=gen).to(x.device).view(b, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    return torch.where(hole.unsqueeze(1), _mean_fill(x).expand_as(x), x)


def _crop(x, v, gen):
    """Pad with the mean colour, crop back to the original size at a uniform random offset."""
    b, c, h, w = x.shape
    p = max(1, round(CROP_FRACTION * min(h, w)))
    padded = _mean_fill(x).expand(b, c, h + 2 * p, w + 2 * p).clone()
    padded[:, :, p : p + h, p : p + w] = x
    dy = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
    dx = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
    rows = (dy.view(b, 1) + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (dx.view(b, 1) + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    idx = (rows * (w + 2 * p) + cols).expand(b, c, h, w).reshape(b, c, -1)
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
    "flip": _flip,
    "cutout": _cutout,
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


def apply_entries(
    x: torch.Tensor, idx: torch.Tensor, generator: torch.Generator, *, random_sign: bool = False
) -> torch.Tensor:
    """Apply search-space entry ``idx[i]`` to image ``i``: one call per op present.
    ``random_sign``: signed ops (``SIGNED``) flip their sign with p = 0.5 per image (the
    official training-time ``random_mirror``); off in the search, where the sign is explicit."""
    out = x.clone()
    values = _ENTRY_VALUE[idx.cpu()]
    if random_sign:
        values = values * (1 - 2 * (torch.rand(len(idx), generator=generator) < 0.5).double())
    ops = [_ENTRY_OP[i] for i in idx.tolist()]
    for op in dict.fromkeys(ops):
        rows = torch.tensor([i for i, o in enumerate(ops) if o == op], device=x.device)
        out[rows] = OPS[op](x[rows], values[rows.cpu()].to(x.device), generator)
    return out
