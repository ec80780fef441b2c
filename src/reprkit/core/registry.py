"""Registry of methods, datasets and experiments; it drives the CLI and the common tests.

Entries name their objects by import path so that listing them imports no heavy dependency.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"``."""
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    domain: str
    description: str


@dataclass(frozen=True)
class MethodSpec:
    name: str
    paper: str
    status: str  # "works" | "in progress" | "planned"
    estimator: str | None = None  # import path of the estimator class
    experiment: str | None = None  # import path of the experiment module
    datasets: tuple[str, ...] = ()
    description: str = ""

    def load_estimator(self) -> Any:
        if self.estimator is None:
            raise ValueError(f"method {self.name!r} is planned, not implemented yet")
        return import_object(self.estimator)

    def load_experiment(self) -> Any:
        if self.experiment is None:
            raise ValueError(f"method {self.name!r} has no experiment yet")
        return import_object(self.experiment)


_METHODS: dict[str, MethodSpec] = {}
_DATASETS: dict[str, DatasetSpec] = {}


def register_method(spec: MethodSpec) -> MethodSpec:
    if spec.name in _METHODS:
        raise ValueError(f"method {spec.name!r} is registered twice")
    _METHODS[spec.name] = spec
    return spec


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in _DATASETS:
        raise ValueError(f"dataset {spec.name!r} is registered twice")
    _DATASETS[spec.name] = spec
    return spec


def _ensure_builtins() -> None:
    import reprkit.datasets  # noqa: F401  (registers datasets)
    import reprkit.methods  # noqa: F401  (registers methods)


def methods() -> dict[str, MethodSpec]:
    _ensure_builtins()
    return dict(_METHODS)


def datasets() -> dict[str, DatasetSpec]:
    _ensure_builtins()
    return dict(_DATASETS)


def get_method(name: str) -> MethodSpec:
    all_methods = methods()
    if name not in all_methods:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(sorted(all_methods))}")
    return all_methods[name]


def get_dataset(name: str) -> DatasetSpec:
    all_ds = datasets()
    if name not in all_ds:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(all_ds))}")
    return all_ds[name]
