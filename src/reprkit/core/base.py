"""Base estimator: config handling, not-fitted checks, save/load with ``weights_only=True``."""

from __future__ import annotations

import inspect
import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch

from reprkit.core.config import apply_overrides, config_from_dict, config_help, config_to_dict
from reprkit.core.device import resolve_device
from reprkit.core.io import atomic_dir, atomic_write_json


class NotFittedError(RuntimeError, AttributeError):
    """A verb that needs a fitted model was called before ``fit``."""


class BaseEstimator:
    """Common shape of every reprkit method (scikit-learn style, adapted to deep learning).

    Subclasses set ``name`` and ``config_cls`` and implement ``_get_state`` / ``_set_state``.
    Learned state lives in attributes ending in ``_``.
    """

    name: ClassVar[str] = "base"
    config_cls: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Append every config key, its default and meaning to the class docstring, so that
        ``help(Method)`` lists them (generated from the config dataclass, the one copy)."""
        super().__init_subclass__(**kwargs)
        if "config_cls" in cls.__dict__:
            keys = "\n".join(f"    {line}" for line in config_help(cls.config_cls))
            cls.__doc__ = (
                f"{inspect.cleandoc(cls.__doc__ or '')}\n\nConfig keys (pass as keyword overrides, nested with "
                f"``__``, e.g. ``teacher__lr=0.01``, or as a config object / dict):\n{keys}\n"
            )

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "auto",
        progress: bool | None = False,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = self.config_cls()
        elif isinstance(config, Mapping):
            config = config_from_dict(self.config_cls, config)
        elif not isinstance(config, self.config_cls):
            raise TypeError(
                f"config must be a {self.config_cls.__name__}, a mapping or None, "
                f"got {type(config).__name__}"
            )
        # keyword overrides use "__" for nesting: teacher__lr=0.01 -> "teacher.lr"
        self.config = apply_overrides(
            config, {k.replace("__", "."): v for k, v in overrides.items()}
        )
        self.device = resolve_device(device)
        self.progress = progress

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    @property
    def is_fitted(self) -> bool:
        return bool(getattr(self, "fitted_", False))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(...) first")

    def _get_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write ``config.json``, ``state.pt`` and ``meta.json`` into folder ``path``."""
        self._check_fitted()
        path = Path(path)
        with atomic_dir(path, kind="model") as tmp:
            atomic_write_json(tmp / "config.json", config_to_dict(self.config))
            torch.save(self._get_state(), tmp / "state.pt")
            self._save_files(tmp)
            atomic_write_json(tmp / "meta.json", _versions() | {"class": type(self).__name__})
        return path

    def _save_files(self, folder: Path) -> None:
        """Extra files beside ``state.pt`` (e.g. models in another library's format)."""

    def _load_files(self, folder: Path) -> None:
        """Read what ``_save_files`` wrote (after ``_set_state``)."""

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "auto") -> BaseEstimator:
        """Load an estimator written by ``save``."""
        path = Path(path)
        for name in ("config.json", "state.pt"):
            if not (path / name).exists():
                raise FileNotFoundError(
                    f"{path / name} not found: is {path} a saved {cls.__name__}?"
                )
        meta = json.loads((path / "meta.json").read_text()) if (path / "meta.json").exists() else {}
        if meta.get("class", cls.__name__) != cls.__name__:
            raise ValueError(f"{path} holds a {meta['class']}, not a {cls.__name__}")
        cfg = config_from_dict(cls.config_cls, json.loads((path / "config.json").read_text()))
        obj = cls(cfg, device=device)
        state = torch.load(path / "state.pt", map_location=obj.device, weights_only=True)
        obj._set_state(state)
        obj._load_files(path)
        obj.fitted_ = True
        return obj


def _versions() -> dict[str, str]:
    import reprkit

    return {
        "reprkit": reprkit.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
