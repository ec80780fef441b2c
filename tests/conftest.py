from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Tests never touch the network; real data comes from ../shared/data when present.
os.environ["REPRKIT_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
_shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "REPRKIT_DATA" not in os.environ and _shared.is_dir():
    os.environ["REPRKIT_DATA"] = str(_shared)
torch.set_num_threads(min(2, torch.get_num_threads()))


def shared_file(relpath: str) -> Path:
    root = os.environ.get("REPRKIT_DATA")
    path = Path(root) / relpath if root else None
    if path is None or not path.exists():
        pytest.skip(f"{relpath} is not staged under REPRKIT_DATA")
    return path


@pytest.fixture(scope="session")
def synthetic():
    from reprkit.datasets.graphs import synthetic_graph

    return synthetic_graph(n_nodes=300, n_classes=3, n_features=32, seed=0)
