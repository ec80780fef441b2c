"""Progress bars that stay quiet when output is not a terminal, unless asked."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled(progress: bool | None) -> bool:
    """``None`` means: show bars only when stderr is a terminal."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


def progress_bar(
    iterable: Iterable[T],
    *,
    desc: str = "",
    total: int | None = None,
    progress: bool | None,
    initial: int = 0,
) -> Any:
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        initial=initial,
        disable=not progress_enabled(progress),
        leave=False,
    )
