"""Find a data file: ``$REPRKIT_DATA``, then the package, then the user cache, then download.

Downloads are checked against a sha256. A file kept gzip-compressed (``relpath`` ends in
``.gz``) whose source serves it uncompressed is checked on its content and stored compressed. With ``REPRKIT_OFFLINE=1`` (set by the test-suite) or
no network, a missing file raises an error that says which file to put where.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class RemoteFile:
    """A file of a public dataset: where it sits under a data root, and where to download it."""

    relpath: str  # e.g. "planetoid/ind.cora.x"
    url: str
    sha256: str | None  # of the content as the url serves it; None: unpinned (not seen here)

    @property
    def gzipped_copy(self) -> bool:
        """Kept gzip-compressed here while the source serves the plain file."""
        return self.relpath.endswith(".gz") and not self.url.endswith(".gz")


def data_root() -> Path | None:
    root = os.environ.get("REPRKIT_DATA")
    return Path(root).expanduser() if root else None


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reprkit"


def sha256_of(path: Path, *, gunzip: bool = False) -> str:
    h = hashlib.sha256()
    with (gzip.open if gunzip else open)(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _packaged(relpath: str) -> Path | None:
    p = resources.files("reprkit.datasets").joinpath("_data", *relpath.split("/"))
    return Path(str(p)) if p.is_file() else None


def _check(path: Path, f: RemoteFile) -> Path:
    if f.sha256 is None:
        return path
    digest = sha256_of(path, gunzip=f.gzipped_copy)
    if digest != f.sha256:
        raise ValueError(
            f"{path} has sha256 {digest[:16]}…, expected {f.sha256[:16]}…: the file is corrupt or "
            f"a different version; replace it with {f.url}"
        )
    return path


def fetch(f: RemoteFile) -> Path:
    """Return a local path to ``f``, downloading it into the cache if allowed."""
    root = data_root()
    if root is not None and (root / f.relpath).is_file():
        return _check(root / f.relpath, f)
    packaged = _packaged(f.relpath)
    if packaged is not None:
        return packaged
    cached = cache_root() / f.relpath
    if cached.is_file():
        return _check(cached, f)
    where = f"$REPRKIT_DATA/{f.relpath}" + (f" (REPRKIT_DATA={root})" if root else "")
    hint = f"put the file at {where} or at {cached}; its source is {f.url}"
    if os.environ.get("REPRKIT_OFFLINE") == "1":
        raise FileNotFoundError(
            f"{f.relpath} not found and downloads are off (REPRKIT_OFFLINE=1): {hint}"
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".part")
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            urllib.request.urlopen(f.url, timeout=30) as r,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if f.gzipped_copy else raw as out,
        ):
            shutil.copyfileobj(r, out)
        _check(Path(tmp), f)
        os.replace(tmp, cached)
    except (OSError, ValueError) as e:
        raise FileNotFoundError(
            f"{f.relpath} not found and could not be downloaded ({e}): {hint}"
        ) from e
    finally:
        Path(tmp).unlink(missing_ok=True)
    return cached
