"""One validation layer for every public verb: arrays in, clear errors out.

Each helper takes the argument's *name* so that an error says which argument was wrong and what
was expected, before any work starts; nothing here lets an error escape from inside torch, numpy
or pandas for the inputs it checks. Helpers accept numpy arrays, torch tensors, pandas objects
and lists alike and return numpy (``as_array``) or torch (``as_tensor``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{name} is required, got None")
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy"):  # pandas Series / DataFrame
        return x.to_numpy()
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as e:  # ragged lists
        raise TypeError(f"{name} must be array-like with a regular shape: {e}") from None


def as_array(
    x: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    kind: str | None = None,
    finite: bool = True,
    length: int | None = None,
    length_of: str = "",
    non_empty: bool = True,
) -> np.ndarray:
    """``x`` as a numpy array, checked.

    Args:
        kind: allowed numpy dtype kinds, e.g. ``"f"`` float, ``"iu"`` integer, ``"b"`` bool,
            ``"fiu"`` any real number. Object arrays of numbers are converted to float.
        finite: refuse NaN and inf (numeric arrays only).
        length: required ``len(x)``; ``length_of`` names what it must match.
    """
    a = _to_numpy(x, name)
    if a.dtype == object and kind is not None and set(kind) & set("fiu"):
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers, got {a.dtype} values") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if a.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {tuple(a.shape)}")
    if kind is not None and a.dtype.kind not in kind:
        names = {
            "f": "float",
            "i": "integer",
            "u": "integer",
            "b": "bool",
            "U": "str",
            "O": "object",
        }
        want = "/".join(dict.fromkeys(names.get(k, k) for k in kind))
        raise TypeError(f"{name} must have a {want} dtype, got {a.dtype}")
    if non_empty and a.size == 0:
        raise ValueError(f"{name} is empty")
    if finite and a.dtype.kind in "fc" and not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s); clean or impute them first")
    if length is not None and len(a) != length:
        what = f" (the length of {length_of})" if length_of else ""
        raise ValueError(f"{name} must have length {length}{what}, got {len(a)}")
    return a


def as_tensor(x: Any, name: str, *, dtype: Any = None, **checks: Any) -> Any:
    """``x`` checked as by :func:`as_array`, returned as a torch tensor (float32 by default)."""
    import torch

    a = as_array(x, name, **checks)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got {a.dtype}")
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.to(dtype if dtype is not None else torch.float32)


def check_number(
    x: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> float:
    """A finite real number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(x).__name__} {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {x}")
    if integer and v != int(v):
        raise ValueError(f"{name} must be a whole number, got {x}")
    if low is not None and (v <= low if low_open else v < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return v


def encode_labels(
    y: Any, name: str, *, classes: Sequence[Hashable] | None = None, allow_missing: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of any hashable type -> (int64 codes, ``classes_``).

    Whole-number floats (``0.0/1.0``) are class labels, not regression targets. With
    ``allow_missing``, NaN / None become code ``-1`` (unlabelled). With ``classes`` (a fitted
    model's ``classes_``), labels outside it are refused.
    """
    a = _to_numpy(y, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {tuple(a.shape)}")
    missing = (
        np.array([_is_missing(v) for v in a.tolist()], dtype=bool) if len(a) else np.zeros(0, bool)
    )
    if missing.any() and not allow_missing:
        raise ValueError(f"{name} holds {int(missing.sum())} missing label(s) (NaN/None)")
    present = a[~missing]
    if present.dtype.kind == "f" or (present.dtype == object and len(present)):
        vals = present.tolist()
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals):
            f = np.asarray(vals, dtype=np.float64)
            if not np.all(f == np.round(f)):
                raise ValueError(
                    f"{name} holds non-integer numbers ({f[f != np.round(f)][:3].tolist()}...): "
                    "class labels were expected (use a regression task for real-valued targets)"
                )
            present = f.astype(np.int64)
    if classes is None:
        try:
            classes_ = np.unique(present)
        except TypeError:
            raise TypeError(f"{name} mixes label types that cannot be sorted") from None
    else:
        classes_ = np.asarray(classes)
    codes = np.full(len(a), -1, dtype=np.int64)
    if len(present):
        _check_same_kind(present, classes_, name)
        pos = np.clip(np.searchsorted(classes_, present), 0, len(classes_) - 1)
        ok = classes_[pos] == present
        if not ok.all():
            raise ValueError(
                f"{name} holds labels not seen in fit: {present[~ok][:5].tolist()}; "
                f"known: {classes_[:10].tolist()}"
            )
        codes[~missing] = pos
    return codes, classes_


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _check_same_kind(ids: np.ndarray, known: np.ndarray, name: str) -> None:
    """Refuse looking up str ids among int ids (and the reverse): they would never match."""

    def kind(a: np.ndarray) -> str:
        if a.dtype.kind in "iub":
            return "integer"
        if a.dtype.kind == "f":
            return "integer" if np.all(a == np.round(a)) else "float"
        if a.dtype.kind in "US":
            return "str"
        return "object"

    k_ids, k_known = kind(ids), kind(known)
    if "object" not in (k_ids, k_known) and k_ids != k_known:
        raise TypeError(
            f"{name} holds {k_ids} ids but the model was fitted with {k_known} ids "
            f"(e.g. {known[:3].tolist()}); pass them with the same type"
        )


def lookup(
    ids: Any, known: np.ndarray, name: str, *, strict: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of raw ``ids`` in the sorted ``known`` ids and a found mask (type-checked).
    ``strict``: ids not in ``known`` are an error naming them (else the mask says which)."""
    a = np.atleast_1d(_to_numpy(ids, name))
    if a.ndim != 1:
        raise ValueError(f"{name} must be one id or a 1-D list of ids, got shape {tuple(a.shape)}")
    _check_same_kind(a, known, name)
    pos = np.clip(np.searchsorted(known, a), 0, len(known) - 1)
    found = known[pos] == a
    if strict and not found.all():
        raise ValueError(
            f"{name} holds unknown names {a[~found][:5].tolist()}; known: {known[:10].tolist()}"
        )
    return pos, found


def node_mask(mask: Any, name: str, n: int) -> np.ndarray:
    """A bool mask of ``n`` nodes from a bool mask or a list of node ids.

    A 0/1 integer array of length ``n`` is ambiguous (a mask or the ids 0 and 1?) and refused.
    """
    a = as_array(mask, name, ndim=1, kind="biuf", non_empty=False)
    if a.dtype.kind == "b":
        if len(a) != n:
            raise ValueError(
                f"{name} must have shape ({n},) (a bool mask, one entry per node), got ({len(a)},)"
            )
        return a.copy()
    if a.dtype.kind == "f":
        if not np.all(a == np.round(a)):
            raise TypeError(f"{name} must be a bool mask or integer node ids, got float values")
        a = a.astype(np.int64)
    if len(a) == n and n > 2 and np.isin(a, (0, 1)).all():
        raise TypeError(
            f"{name} is a 0/1 integer array of length {n} (the number of nodes): pass a bool "
            "mask (mask.astype(bool)) or the node ids (np.flatnonzero(mask))"
        )
    if len(a) and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name}: node ids must be in [0, {n}), got range [{a.min()}, {a.max()}]")
    out = np.zeros(n, dtype=bool)
    out[a] = True
    return out


def as_times(t: Any, name: str, *, allow_inf: bool = False) -> tuple[np.ndarray, bool]:
    """Timestamps as float64, and whether they were datetimes (then in seconds since the epoch).

    Accepts numbers, numpy ``datetime64``, pandas ``Timestamp`` / datetime columns (tz-aware
    ones are taken in UTC) and ``datetime`` objects.
    """
    a = np.atleast_1d(_to_numpy(t, name))
    if a.dtype == object and len(a) and all(hasattr(v, "timestamp") for v in a.tolist()):
        return np.array([v.timestamp() for v in a.tolist()], dtype=np.float64), True
    if a.dtype.kind == "M":
        if np.isnat(a).any():
            raise ValueError(f"{name} holds missing times (NaT)")
        return a.astype("datetime64[ns]").astype(np.int64) / 1e9, True
    a = as_array(a, name, kind="fiu", non_empty=False, finite=not allow_inf)
    if np.isnan(a.astype(np.float64)).any():
        raise ValueError(f"{name} holds NaN")
    return a.astype(np.float64), False


def as_duration(h: Any, name: str, *, datetimes: bool) -> float:
    """A positive, finite duration: a number in the times' unit, or a ``Timedelta`` /
    ``timedelta64`` / ``datetime.timedelta`` (only when the times are datetimes; in seconds)."""
    if hasattr(h, "total_seconds") or isinstance(h, np.timedelta64):
        if not datetimes:
            raise TypeError(f"{name} is a time delta but the timestamps are plain numbers")
        secs = h / np.timedelta64(1, "s") if isinstance(h, np.timedelta64) else h.total_seconds()
        return check_number(float(secs), name, low=0, low_open=True)
    if datetimes:
        raise TypeError(
            f"{name} must be a time delta (pd.Timedelta, np.timedelta64, datetime.timedelta) "
            f"when the timestamps are datetimes, got {type(h).__name__} {h!r}"
        )
    return check_number(h, name, low=0, low_open=True)


def as_nchw(
    images: Any, name: str = "images", channels: tuple[int, ...] = (1, 3)
) -> tuple[Any, str]:
    """Images (numpy or torch, NCHW or NHWC) as a torch NCHW tensor, and the layout that came in.

    The layout is detected from where the channel axis (size in ``channels``) is; a batch where
    both axis 1 and axis 3 could be channels is refused as ambiguous. uint8 stays uint8; float
    images must be finite and in [0, 1] (float 0..255 is refused, not guessed).
    """
    import torch

    a = as_array(images, name, ndim=4, kind="fiub", finite=False)
    c1, c3 = a.shape[1] in channels, a.shape[3] in channels
    if c1 and c3:
        raise ValueError(
            f"{name} of shape {a.shape} is ambiguous: channels first (N, C, H, W) or last "
            "(N, H, W, C)? Transpose to (N, C, H, W) with H, W not in " + str(channels)
        )
    if not (c1 or c3):
        raise ValueError(
            f"{name} must be (N, C, H, W) or (N, H, W, C) with C in {channels}, got {a.shape}"
        )
    layout = "NCHW" if c1 else "NHWC"
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError(
                f"float {name} must be finite and in [0, 1]; got range "
                f"[{np.nanmin(a):.3g}, {np.nanmax(a):.3g}] (pass uint8 for 0..255)"
            )
    elif a.dtype != np.uint8:
        if a.min() < 0 or a.max() > 255:
            raise ValueError(f"integer {name} must be in 0..255, got [{a.min()}, {a.max()}]")
        a = a.astype(np.uint8)
    t = torch.from_numpy(np.ascontiguousarray(a))
    return (t if layout == "NCHW" else t.permute(0, 3, 1, 2).contiguous()), layout


def from_nchw(t: Any, layout: str, like: Any) -> Any:
    """Undo :func:`as_nchw`: the same layout and array type (numpy / torch) as ``like``."""
    out = t if layout == "NCHW" else t.permute(0, 2, 3, 1).contiguous()
    return out if type(like).__module__.startswith("torch") else out.numpy()
