"""Every Python block of README.md and docs/ runs (extracted; the blocks of one file share a
namespace, in order, in a temporary working folder), on synthetic data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_docs_exist_and_hold_code():
    names = {p.stem for p in (ROOT / "docs" / "methods").glob("*.md")}
    assert names == {"coldbrew", "giant", "grda", "psagan", "rim", "transencoder", "deepaa",
                     "diva", "indomain", "trajshap"}  # fmt: skip
    for p in FILES:
        assert BLOCK.search(p.read_text()), f"{p.name} has no Python block"
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_python_block_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(BLOCK.findall(path.read_text())):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as e:  # the block and the error, not only a traceback into exec
            raise AssertionError(f"{path.name} block {i} failed: {e!r}\n{block}") from e
    assert os.getcwd() == str(tmp_path)
