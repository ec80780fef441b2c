"""Frozen dataclass configs with typed ``a.b=value`` overrides.

A config is a frozen dataclass whose fields are plain scalars, ``Literal`` choices, tuples, or
nested config dataclasses. Overrides are validated against the field types; an unknown key is
rejected with a "did you mean" hint, before any work starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

C = TypeVar("C")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def check(cond: bool, msg: str) -> None:
    """Config validation: raise ``ValueError(msg)`` unless ``cond`` holds."""
    if not cond:
        raise ValueError(msg)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Return a JSON-ready nested dict of a config dataclass."""
    out = dataclasses.asdict(cfg)
    return _tuples_to_lists(out)


def _tuples_to_lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _tuples_to_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tuples_to_lists(v) for v in obj]
    return obj


def _unknown_key_error(key: str, known: Iterable[str]) -> KeyError:
    known = sorted(known)
    hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not hint:  # a right leaf under a wrong prefix: match the last part alone
        leaf = difflib.get_close_matches(key.split(".")[-1], [k.split(".")[-1] for k in known], n=1)
        hint = [k for k in known if leaf and k.split(".")[-1] == leaf[0]][:1]
    msg = f"unknown config key {key!r}"
    if hint:
        msg += f"; did you mean {hint[0]!r}?"
    else:
        msg += f"; known keys: {', '.join(known)}"
    return KeyError(msg)


def _flat_keys(cls: type, prefix: str = "") -> list[str]:
    keys: list[str] = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            keys += _flat_keys(tp, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` (often a string from the command line) to the field type ``tp``."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return config_from_dict(tp, value, _prefix=f"{key}.")
        raise TypeError(f"config key {key!r}: expected a mapping for {tp.__name__}, got {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        for c in choices:
            if value == c or (isinstance(value, str) and value == str(c)):
                return c
        raise ValueError(f"config key {key!r}: expected one of {list(choices)}, got {value!r}")
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null"}):
            return None
        return _convert(value, args[0], key)
    if origin is tuple:
        (item_tp, *rest) = get_args(tp) or (Any,)
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:  # one scalar: a tuple of one
            items = [value]
        items = [s.strip() if isinstance(s, str) else s for s in items if s != ""]
        return tuple(_convert(v, item_tp, key) for v in items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ValueError(f"config key {key!r}: expected a boolean (true/false), got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"config key {key!r}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ValueError(f"config key {key!r}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"config key {key!r}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"config key {key!r}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"config key {key!r}: expected a string, got {value!r}")
    if tp is Any or tp is typing.Any:
        return value
    raise TypeError(f"config key {key!r}: unsupported field type {tp!r}")


def config_from_dict(cls: type[C], data: Mapping[str, Any], *, _prefix: str = "") -> C:
    """Build config ``cls`` from a (nested) mapping, validating keys and types."""
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a mapping to build {cls.__name__}, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise _unknown_key_error(f"{_prefix}{k}", [f"{_prefix}{n}" for n in _flat_keys(cls)])
    kwargs = {k: _convert(v, hints[k], f"{_prefix}{k}") for k, v in data.items()}
    cfg = cls(**kwargs)
    validate = getattr(cfg, "validate", None)
    if callable(validate):
        validate()
    return cfg


def apply_overrides(cfg: C, overrides: Mapping[str, Any]) -> C:
    """Return a copy of ``cfg`` with dotted-key overrides applied (``{"teacher.lr": "0.01"}``)."""
    if not overrides:
        return cfg
    tree = dataclasses.asdict(cfg)
    known = _flat_keys(type(cfg))
    for key, value in overrides.items():
        parts = key.split(".")
        node = tree
        for i, p in enumerate(parts):
            if not isinstance(node, dict) or p not in node:
                raise _unknown_key_error(key, known)
            if i == len(parts) - 1:
                if isinstance(node[p], dict) and not isinstance(value, Mapping):
                    raise _unknown_key_error(key, known)
                node[p] = value
            else:
                node = node[p]
    return config_from_dict(type(cfg), tree)


def resolve_profile(
    base: C, profiles: Mapping[str, Mapping[str, Any]], profile: str, overrides: Any = None
) -> C:
    """An experiment's config: ``base``, then the named profile, then the user's ``--set``
    overrides, each validated."""
    if profile not in profiles:
        raise ValueError(f"profile must be one of {list(profiles)}, got {profile!r}")
    cfg = apply_overrides(base, profiles[profile])
    return apply_overrides(cfg, dict(overrides or {}))


def parse_set(items: Iterable[str]) -> dict[str, str]:
    """Parse ``["a.b=1", "c=x"]`` (the CLI's ``--set``) into a dict."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        if not k.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[k.strip()] = v.strip()
    return out


def flat_config(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": value}`` of a (nested) config dataclass or dict, JSON-comparable values."""
    d = config_to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(flat_config(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_same_config(
    stored: Mapping[str, Any], current: Mapping[str, Any], where: str, ignore: Iterable[str] = ()
) -> None:
    """Refuse to continue from ``where`` (a checkpoint) when the result-changing config differs.

    ``stored`` and ``current`` are :func:`flat_config` dicts; ``ignore`` lists keys that may
    change between the interrupted and the resumed run (e.g. the number of epochs to go).
    """
    skip = set(ignore)
    keys = sorted((set(stored) | set(current)) - skip)
    diff = [k for k in keys if stored.get(k) != current.get(k)]
    if diff:
        shown = ", ".join(f"{k}: {stored.get(k)!r} -> {current.get(k)!r}" for k in diff[:8])
        raise ValueError(
            f"{where} was written with another config ({shown}); resume with the same settings "
            "or start afresh without --resume"
        )


def _field_comments(cls: type) -> dict[str, str]:
    """The comment beside (or on the lines just above) each field in the class source."""
    import inspect
    import re

    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in lines[1:]:
        s = line.strip()
        if s.startswith("#"):
            pending.append(s.lstrip("# ").strip())
            continue
        m = re.match(r"^(\w+)\s*:\s*[^=]+?(?:=.*?)?(?:#\s*(.*))?$", s)
        if m and not s.startswith(("def ", "return", "check(")):
            out[m.group(1)] = (m.group(2) or " ".join(pending)).strip()
        pending = []
    return out


# meanings of keys many configs share, used where a field has no comment of its own
COMMON_MEANINGS = {
    "seed": "random seed (every fit re-seeds from it; 0 is a seed)",
    "hidden": "hidden width of the networks",
    "layers": "number of layers",
    "dropout": "dropout probability",
    "lr": "learning rate",
    "weight_decay": "L2 weight decay",
    "epochs": "training epochs",
    "patience": "early-stopping patience (epochs without validation improvement)",
    "batch_size": "minibatch size",
    "max_length": "maximum tokens per text",
    "width": "base channel width",
}


def config_help(cls: Any, prefix: str = "") -> list[str]:
    """``key = default: meaning`` lines of every (nested) key of a config dataclass; the text
    ``help(Method)`` shows, generated from the one copy of the defaults."""
    lines: list[str] = []
    defaults = (
        cls() if isinstance(cls, type) else cls
    )  # a nested default may differ from its class's
    comments = _field_comments(type(defaults))
    for f in dataclasses.fields(defaults):
        value = getattr(defaults, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            doc = (type(value).__doc__ or "").strip().splitlines()
            lines.append(f"{key}: {doc[0] if doc else 'nested settings'}")
            lines += config_help(value, f"{key}.")
        else:
            meaning = comments.get(f.name) or COMMON_MEANINGS.get(f.name, "")
            lines.append(f"{key} = {value!r}" + (f": {meaning}" if meaning else ""))
    return lines
