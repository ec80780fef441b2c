"""Text encoders GIANT fine-tunes: a local BERT-family transformer, or a linear map of TF-IDF.

Both map a batch of node ids to embeddings (B, d) and encode every node in chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from reprkit.core import distributed
from reprkit.models.node import Linear, sparse_if_helpful
from reprkit.models.text import check_model_dir


class TransformerEncoder(nn.Module):
    """Mean-pooled token states of a local BERT-family model (no download: local files only).

    The texts are tokenised once (``max_length`` tokens); ``forward(ids)`` encodes those nodes.
    """

    def __init__(self, model: nn.Module, tokens: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.tokens = tokens  # input_ids / attention_mask (N, T), on CPU
        self.dim = int(model.config.hidden_size)

    @classmethod
    def from_path(cls, path: str | Path, texts: list[str], max_length: int) -> TransformerEncoder:
        from transformers import AutoModel, AutoTokenizer

        p = check_model_dir(path)
        tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
        model = AutoModel.from_pretrained(p, local_files_only=True)
        return cls(model, cls.tokenize(tok, texts, max_length))

    @staticmethod
    def tokenize(tok, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
        enc = tok(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def on(self, tokens: dict[str, torch.Tensor]) -> TransformerEncoder:
        """The same encoder (shared weights) over other tokenised texts."""
        return TransformerEncoder(self.model, tokens)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        dev = next(self.model.parameters()).device
        mask = self.tokens["attention_mask"][ids]
        width = int(mask.sum(1).max())  # trim the batch's padding
        batch = {k: v[ids][:, :width].to(dev) for k, v in self.tokens.items()}
        states = self.model(**batch).last_hidden_state  # (B, T, d)
        m = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * m).sum(1) / m.sum(1).clamp_min(1.0)


class LinearEncoder(nn.Module):
    """``x_i P``: a learned linear map of each node's TF-IDF row (GIANT's cheap XR-Linear path)."""

    def __init__(self, n_features: int, dim: int, rows: sp.csr_matrix | None = None) -> None:
        super().__init__()
        self.proj = Linear(n_features, dim, bias=False)
        self.dim = dim
        self.rows = rows  # (N, V) TF-IDF of the nodes that ``forward(ids)`` indexes

    def on(self, rows: sp.csr_matrix) -> LinearEncoder:
        """The same encoder (shared weights) over other TF-IDF rows."""
        view = LinearEncoder(self.proj.in_features, self.dim, rows)
        view.proj = self.proj
        return view

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            raise RuntimeError("LinearEncoder has no rows to encode: use encoder.on(tfidf_rows)")
        x = torch.from_numpy(self.rows[ids.numpy()].toarray()).float()
        return self.proj(sparse_if_helpful(x.to(self.proj.weight.device)))


@torch.no_grad()
def encode(
    encoder: nn.Module, ids: np.ndarray | None = None, *, n: int = 0, batch_size: int = 128
) -> torch.Tensor:
    """Embeddings (len(ids), d) of the nodes ``ids`` (default: all ``n``), in eval mode, on CPU
    (under torchrun: each process encodes its share of the nodes)."""
    ids = np.arange(n) if ids is None else ids
    was = encoder.training
    encoder.eval()

    def here(part: np.ndarray) -> np.ndarray:
        chunks = [
            encoder(torch.from_numpy(part[i : i + batch_size])).cpu()
            for i in range(0, len(part), batch_size)
        ]
        return torch.cat(chunks).numpy() if chunks else np.empty((0, encoder.dim), np.float32)

    out = torch.from_numpy(distributed.sharded(here, ids))
    encoder.train(was)
    return out
