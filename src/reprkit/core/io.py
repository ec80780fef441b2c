"""Atomic file writes: a reader never sees a half-written file or run folder."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reprkit.core import distributed

# under torchrun, the private folders in which a non-main process builds its discarded run
# folders (see atomic_dir); every other path is written by rank 0 only
_scratch: list[Path] = []


def _not_mine(path: Path) -> bool:
    """True in a non-main torchrun process for a path that rank 0 writes."""
    if distributed.is_main():
        return False
    return not any(path.resolve().is_relative_to(s) for s in _scratch)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (under torchrun: by
    rank 0 only)."""
    path = Path(path)
    if _not_mine(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove a folder of outputs if it exists (under torchrun: by rank 0 only, who owns it)."""
    if not _not_mine(Path(path)):
        shutil.rmtree(path, ignore_errors=True)


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save`` through a temporary file and a rename (checkpoints; under torchrun: by
    rank 0 only)."""
    import torch

    path = Path(path)
    if _not_mine(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


# what marks a folder as reprkit's, by kind: a run folder or a saved model
_MARKERS = {"run": "metrics.json", "model": "state.pt"}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def clean_stale_tmp(final: Path) -> None:
    """Remove ``.<name>.<pid>.*.tmp`` folders left by a killed writer of ``final`` (SIGKILL)."""
    if not final.parent.is_dir():
        return
    for tmp in final.parent.glob(f".{glob.escape(final.name)}.*.tmp"):
        parts = tmp.name[len(final.name) + 2 :].split(".")
        pid = int(parts[0]) if parts and parts[0].isdigit() else None
        if tmp.is_dir() and (pid is None or (pid != os.getpid() and not _pid_alive(pid))):
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str], kind: str = "run") -> Iterator[Path]:
    """Yield a temporary folder that replaces ``final`` only if the block succeeds.

    ``final`` may exist only as an empty folder or as an earlier reprkit output of the same
    ``kind`` ("run": holds ``metrics.json``; "model": holds ``state.pt``); anything else (a run
    folder when saving a model, a model when writing a run, other files) is refused rather than
    overwritten. An unwritable location is reported under the user's path. Under torchrun,
    only rank 0 writes ``final``: the other processes get a private scratch folder, removed at
    the end.
    """
    final = Path(final)
    other = {k: v for k, v in _MARKERS.items() if k != kind}
    what = "--out" if kind == "run" else "the save path"
    if final.exists():
        if not final.is_dir():
            raise ValueError(f"output path {str(final)!r} exists and is not a folder")
        contents = list(final.iterdir())
        for k, marker in other.items():
            if (final / marker).exists():
                raise ValueError(
                    f"{str(final)!r} holds a reprkit {k} ({marker}); it is not replaced by a "
                    f"{kind}: choose another {what}"
                )
        if contents and not (final / _MARKERS[kind]).exists():
            raise ValueError(
                f"output folder {str(final)!r} is not empty and is not a reprkit {kind}; "
                f"choose another {what}"
            )
    if not distributed.is_main():
        scratch = Path(tempfile.mkdtemp(prefix=f"reprkit-rank{distributed.rank()}-")).resolve()
        _scratch.append(scratch)
        try:
            yield scratch
        finally:
            _scratch.remove(scratch)
            shutil.rmtree(scratch, ignore_errors=True)
        return
    clean_stale_tmp(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(
            tempfile.mkdtemp(
                dir=final.parent, prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp"
            )
        )
    except OSError as e:
        raise ValueError(f"cannot write {str(final)!r}: {e.strerror or e}") from None
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
