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


@pytest.fixture(scope="session")
def text_graph():
    from reprkit.datasets.text_graphs import synthetic_text_graph

    return synthetic_text_graph(n_nodes=240, n_classes=3, seed=0)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, text_graph):
    """A tiny random BERT with a word-level vocabulary of the synthetic texts (no download)."""
    pytest.importorskip("transformers")
    _, texts = text_graph
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), texts, hidden=32, layers=2)


def make_tiny_bert(
    d: Path, texts: list[str], *, hidden: int = 16, layers: int = 1, dropout: float = 0.1
) -> str:
    """Write a random BERT whose word-level vocabulary covers ``texts`` into ``d``."""
    import transformers

    words = sorted({w.strip(".,").lower() for t in texts for w in t.split()})
    words = [".", ",", *words]
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])}
    tok = transformers.BertTokenizer(vocab=vocab)
    assert tok.unk_token_id not in tok(texts[0], add_special_tokens=False)["input_ids"]
    tok.save_pretrained(d)
    cfg = transformers.BertConfig(
        vocab_size=5 + len(words),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    transformers.BertModel(cfg).save_pretrained(d)
    return str(d)


@pytest.fixture
def fake_download(monkeypatch, tmp_path):
    """``serve(payload)``: every download returns ``payload`` (bytes), with an empty data root
    and cache, so a loader takes its real download path; returns the list of urls asked for."""
    import io
    import urllib.request

    def serve(payload: bytes) -> list[str]:
        calls: list[str] = []

        def fake_urlopen(url, timeout=None):
            calls.append(url)
            return io.BytesIO(payload)

        monkeypatch.setenv("REPRKIT_DATA", str(tmp_path / "empty"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.delenv("REPRKIT_OFFLINE", raising=False)
        monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
        return calls

    return serve
