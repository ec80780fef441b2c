"""Trans-Encoder (Liu et al., ICLR 2022): unsupervised sentence-pair models by alternating
bi-encoder and cross-encoder self-distillation, optionally mutual between several students.

Each cycle: the bi-encoder's cosine scores label the unlabelled pairs; a cross-encoder, fresh
from the base model, learns them (both pair orders, BCE with logits on the soft labels); its
sigmoid scores relabel the pairs; a bi-encoder, fresh from the starting checkpoint, learns them
(MSE between cosine and label). With ``mutual`` poolings, every student (bi and cross) is
trained and the labels handed over are the mean of the students' scores. A labelled dev set, if
given, only chooses the best cycle; a later cycle never replaces a better earlier model.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from reprkit.core.base import BaseEstimator
from reprkit.core.io import atomic_torch_save
from reprkit.core.progress import progress_bar
from reprkit.core.seed import seeded
from reprkit.core.train import warmup_linear
from reprkit.core.validate import as_array
from reprkit.eval.metrics import spearman
from reprkit.methods.transencoder.config import TransEncoderConfig
from reprkit.models.text import check_model_dir, default_model_path

CITATION = """@inproceedings{liu2022transencoder,
  title={Trans-Encoder: Unsupervised sentence-pair modelling through self- and mutual-distillations},
  author={Liu, Fangyu and Jiao, Yunlong and Massiah, Jordan and Yilmaz, Emine and Havrylov, Serhii},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


def check_sentences(sentences: Any, what: str = "sentences") -> list[str]:
    """A non-empty list of non-empty strings (a pandas Series or numpy array of str too); a bare
    string is one sentence."""
    if isinstance(sentences, str):
        sentences = [sentences]
    elif hasattr(sentences, "tolist"):
        sentences = sentences.tolist()
    return [a for a, _ in check_pairs([(s, s) for s in sentences], what)]


def check_pairs(pairs: Any, what: str = "pairs") -> list[tuple[str, str]]:
    """A non-empty list of (str, str) with text on both sides (a two-column DataFrame or an
    (n, 2) array of str too)."""
    if hasattr(pairs, "to_numpy"):
        pairs = pairs.to_numpy()
    if hasattr(pairs, "tolist"):
        pairs = pairs.tolist()
    try:
        out = [(a, b) for a, b in pairs]
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be a list of (sentence_a, sentence_b) pairs") from err
    if not out:
        raise ValueError(f"{what} must not be empty")
    for i, (a, b) in enumerate(out):
        if not isinstance(a, str) or not isinstance(b, str):
            raise ValueError(f"{what}[{i}] must hold two strings, got {type(a).__name__}, "
                             f"{type(b).__name__}")  # fmt: skip
        if not a.strip() or not b.strip():
            raise ValueError(f"{what}[{i}] has an empty sentence")
    return out


@contextlib.contextmanager
def _quiet():
    """transformers without load reports and progress bars (a new head is "missing from the
    checkpoint" on purpose), restored afterwards."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


class _Bi(nn.Module):
    """A transformer with mean or [CLS] pooling; ``forward`` gives unit-length embeddings."""

    def __init__(self, path: Path, pooling: str) -> None:
        super().__init__()
        from transformers import AutoModel

        with _quiet():
            self.model = AutoModel.from_pretrained(path, local_files_only=True)
        self.pooling = pooling

    def forward(self, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.model(**enc).last_hidden_state
        if self.pooling == "cls":
            z = states[:, 0]
        else:
            m = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            z = (states * m).sum(1) / m.sum(1).clamp_min(1.0)
        return nnf.normalize(z, dim=-1)


class TransEncoder(BaseEstimator):
    """Label sentence pairs without gold labels; ``score`` (cross), ``similarity`` / ``encode``
    (bi). ``save`` writes ``bi/`` (loads with ``sentence_transformers.SentenceTransformer``) and
    ``cross/`` (loads with ``sentence_transformers.CrossEncoder``)."""

    name = "transencoder"
    config_cls = TransEncoderConfig

    # -- set-up -------------------------------------------------------------------------------

    def _base(self) -> Path:
        return check_model_dir(self.config.base_model or default_model_path(), "base_model")

    def _tokenizer(self, path: Path):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path, local_files_only=True)

    def _tok(self, a: Sequence[str], b: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Pairs (``b`` given) for the cross-encoder, single sentences for the bi-encoder, each
        truncated to its model's length (official: 64 and 32 tokens)."""
        cfg = self.config
        enc = self.tok_(
            list(a),
            None if b is None else list(b),
            truncation=True,
            max_length=cfg.max_length if b is not None else cfg.max_length_bi,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in enc.items()}

    def _new_cross(self, seed: int) -> nn.Module:
        from transformers import AutoModelForSequenceClassification

        with _quiet(), seeded(seed):  # the fresh classification head
            return AutoModelForSequenceClassification.from_pretrained(
                self._base(), num_labels=1, local_files_only=True
            ).to(self.device)

    # -- scoring ------------------------------------------------------------------------------

    @torch.no_grad()
    def _embed(self, bi: _Bi, sentences: Sequence[str], bs: int = 128) -> torch.Tensor:
        """(n, d) unit-length embeddings, in eval mode, on CPU; batches of similar length."""
        bi.eval()
        order = _by_length(sentences)
        out = torch.empty(len(sentences), bi.model.config.hidden_size)
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            out[torch.as_tensor(idx)] = bi(self._tok([sentences[j] for j in idx])).float().cpu()
        return out

    def _bi_scores(self, bi: _Bi, pairs: list[tuple[str, str]]) -> np.ndarray:
        a, b = zip(*pairs, strict=True)
        emb = self._embed(bi, [*a, *b])  # one pass: batches of similar length across sides
        return (emb[: len(a)] * emb[len(a) :]).sum(-1).numpy()

    @torch.no_grad()
    def _cross_scores(self, cross: nn.Module, pairs: list[tuple[str, str]], bs: int = 64):
        """Sigmoid scores, the mean over both pair orders; batches of similar length."""
        cross.eval()
        order = _by_length([a + " " + b for a, b in pairs])
        out = np.empty(len(pairs), dtype=np.float32)
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            a, b = [pairs[j][0] for j in idx], [pairs[j][1] for j in idx]
            s = torch.sigmoid(cross(**self._tok(a + b, b + a)).logits[:, 0].float())
            out[idx] = ((s[: len(idx)] + s[len(idx) :]) / 2).cpu().numpy()
        return out

    def score(self, pairs: Any) -> np.ndarray:
        """Cross-encoder scores in [0, 1] of sentence pairs."""
        self._check_fitted()
        return self._cross_scores(self.cross_, check_pairs(pairs))

    def similarity(self, pairs: Any) -> np.ndarray:
        """Bi-encoder cosine similarities of sentence pairs."""
        self._check_fitted()
        return self._bi_scores(self.bi_, check_pairs(pairs))

    def encode(self, sentences: Any, batch_size: int = 128) -> np.ndarray:
        """(n, d) unit-length bi-encoder embeddings (numpy) of a list / Series of sentences, or
        (1, d) for one bare string."""
        self._check_fitted()
        return self._embed(self.bi_, check_sentences(sentences), batch_size).numpy()

    # -- training -----------------------------------------------------------------------------

    def _batches(self, n: int, steps: int, seed: int):
        """``steps`` index batches, passes over a fresh permutation each time."""
        gen = torch.Generator().manual_seed(seed)
        bs = self.config.batch_size
        order = torch.randperm(n, generator=gen)
        pos = 0
        for _ in range(steps):
            if pos + bs > n and pos > 0:
                order, pos = torch.randperm(n, generator=gen), 0
            yield order[pos : pos + bs].numpy()
            pos += bs

    def _round(self, model, loss_fn, steps: int, lr: float, warmup: float, n: int, seed: int,
               desc: str, dev_score=None):  # fmt: skip
        """``steps`` AdamW updates of ``model`` (warm-up, linear decay, clipping) on batches of
        the ``n`` pairs. With ``dev_score(model)``, the dev Spearman is measured every
        ``eval_steps`` updates and after the last, and the best state is kept (official:
        ``evaluation_steps=200``, the best checkpoint saved and reloaded)."""
        cfg = self.config
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        sched = warmup_linear(opt, steps, warmup)
        best, best_state = -np.inf, None
        model.train()
        with seeded(seed):
            batches = self._batches(n, steps, seed)
            bar = progress_bar(batches, total=steps, desc=desc, progress=self.progress)
            for step, idx in enumerate(bar, 1):
                loss = loss_fn(model, idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                sched.step()
                due = step == steps or (cfg.eval_steps > 0 and step % cfg.eval_steps == 0)
                if dev_score is not None and due:
                    score = dev_score(model)
                    model.train()
                    if score > best:
                        best, best_state = score, copy.deepcopy(model.state_dict())
        if best_state is not None:
            model.load_state_dict(best_state)
        return model.eval()

    def _train_cross(self, pairs, labels: np.ndarray, seed: int, desc: str, dev=None):
        """A fresh cross-encoder from the base: BCE on the soft labels, both pair orders."""
        cfg = self.config
        y = torch.as_tensor(np.clip(labels, 0, 1), dtype=torch.float32, device=self.device)

        def loss(cross, idx):
            a = [pairs[i][0] for i in idx]
            b = [pairs[i][1] for i in idx]
            logits = cross(**self._tok(a + b, b + a)).logits[:, 0]  # both orders
            return nnf.binary_cross_entropy_with_logits(logits, y[idx].repeat(2))

        score = None if dev is None else (lambda m: spearman(self._cross_scores(m, dev[0]), dev[1]))
        return self._round(self._new_cross(seed), loss, cfg.cross_steps, cfg.lr_cross,
                           cfg.warmup_cross, len(pairs), seed, desc, score)  # fmt: skip

    def _train_bi(self, start: _Bi, pairs, labels: np.ndarray, seed: int, desc: str, dev=None):
        """The bi-encoder, fresh from the start every cycle: MSE of cosine to the labels."""
        cfg = self.config
        y = torch.as_tensor(labels, dtype=torch.float32, device=self.device)

        def loss(bi, idx):
            a = bi(self._tok([pairs[i][0] for i in idx]))
            b = bi(self._tok([pairs[i][1] for i in idx]))
            return nnf.mse_loss((a * b).sum(-1), y[idx])

        score = None if dev is None else (lambda m: spearman(self._bi_scores(m, dev[0]), dev[1]))
        return self._round(copy.deepcopy(start), loss, cfg.bi_steps, cfg.lr_bi, cfg.warmup_bi,
                           len(pairs), seed, desc, score)  # fmt: skip

    def fit(
        self,
        pairs: Any,
        *,
        dev: tuple[Any, Sequence[float]] | None = None,
        on_cycle: Callable[[int, TransEncoder, dict[str, np.ndarray]], dict | None] | None = None,
        checkpoint: str | Path | None = None,
    ) -> TransEncoder:
        """``pairs``: unlabelled (sentence_a, sentence_b). ``dev``: (pairs, gold scores), used
        only to keep the best cycle (Spearman; ``best_cycle_``). ``on_cycle(cycle, view,
        scores)`` after each cycle: ``view`` scores with that cycle's first student,
        ``scores`` = {"bi", "cross"}: its scores of ``pairs``; a dict it returns joins that
        cycle's ``history_`` row. Cycle 0 is the start: the starting bi-encoder and cycle 1's
        cross-encoder before training (never kept: the best is chosen among trained cycles, as
        the official code does); with ``cycles=0`` the
        fitted model is that start. ``checkpoint``: a file written (atomically) after each cycle;
        if it exists, training resumes after its cycle."""
        cfg = self.config
        pairs = check_pairs(pairs)
        if dev is not None:
            dev_pairs = check_pairs(dev[0], "dev pairs")
            dev_gold = as_array(dev[1], "dev gold scores", ndim=1, kind="fiu",
                                length=len(dev_pairs), length_of="dev pairs")  # fmt: skip
        base = self._base()
        self.tok_ = self._tokenizer(base)
        self._check_tokens(pairs)
        poolings = (cfg.pooling, *cfg.mutual)
        starts = [_Bi(base, p).to(self.device) for p in poolings]
        self.bi_, self.cross_ = starts[0], None
        self.best_cycle_ = {"bi": 0, "cross": 0}
        best = {"bi": -np.inf, "cross": -np.inf}
        ckpt = None if checkpoint is None else Path(checkpoint)
        key = _fingerprint(pairs, cfg)
        if ckpt is not None and ckpt.is_file():
            first, labels, best = self._resume(ckpt, key, starts[0])
        else:  # cycle 0: the starting bi-encoder and the untrained cross-encoder of cycle 1
            first = 1
            start_scores = [self._bi_scores(s, pairs) for s in starts]
            labels = np.mean(start_scores, axis=0)
            self.cross_ = self._new_cross(cfg.seed + 1000)
            row: dict[str, float] = {"cycle": 0}
            if dev is not None:  # recorded, never a candidate: only trained cycles are kept
                row["dev_bi"] = spearman(self._bi_scores(self.bi_, dev_pairs), dev_gold)
                row["dev_cross"] = spearman(self._cross_scores(self.cross_, dev_pairs), dev_gold)
            if on_cycle is not None:
                scores = {"bi": start_scores[0], "cross": self._cross_scores(self.cross_, pairs)}
                row |= on_cycle(0, _View(self, self.bi_, self.cross_), scores) or {}
            self.history_: list[dict[str, float]] = [row]
        for cycle in range(first, cfg.cycles + 1):
            seed = cfg.seed + 1000 * cycle
            dv = None if dev is None else (dev_pairs, dev_gold)
            crosses = [
                self._train_cross(pairs, labels, seed + i, f"cycle {cycle} cross {i}", dv)
                for i in range(len(poolings))
            ]
            cross_scores = [self._cross_scores(c, pairs) for c in crosses]
            bis = [
                self._train_bi(s, pairs, np.mean(cross_scores, axis=0), seed + i,
                               f"cycle {cycle} bi {i}", dv)
                for i, s in enumerate(starts)
            ]  # fmt: skip
            bi_scores = [self._bi_scores(b, pairs) for b in bis]
            labels = np.mean(bi_scores, axis=0)
            row: dict[str, float] = {"cycle": cycle}
            if dev is None:
                self.bi_, self.cross_ = bis[0], crosses[0]
                self.best_cycle_ = {"bi": cycle, "cross": cycle}
            else:
                row["dev_bi"] = spearman(self._bi_scores(bis[0], dev_pairs), dev_gold)
                row["dev_cross"] = spearman(self._cross_scores(crosses[0], dev_pairs), dev_gold)
                if row["dev_bi"] >= best["bi"]:  # cycle 1 always replaces the start
                    best["bi"], self.bi_, self.best_cycle_["bi"] = row["dev_bi"], bis[0], cycle
                if row["dev_cross"] >= best["cross"]:  # cycle 1's cross always replaces cycle 0
                    best["cross"], self.cross_ = row["dev_cross"], crosses[0]
                    self.best_cycle_["cross"] = cycle
            if on_cycle is not None:
                view = _View(self, bis[0], crosses[0])
                row |= on_cycle(cycle, view, {"bi": bi_scores[0], "cross": cross_scores[0]}) or {}
            self.history_.append(row)
            if ckpt is not None:
                self._checkpoint(ckpt, key, cycle, labels, best)
        self.fitted_ = True
        return self

    def _check_tokens(self, pairs: list[tuple[str, str]]) -> None:
        """Every sentence must keep a token that is not special (nor unknown)."""
        special = set(self.tok_.all_special_ids)
        for side in (0, 1):
            texts = [p[side] for p in pairs]
            ids = self.tok_(texts, add_special_tokens=False)["input_ids"]
            for i, row in enumerate(ids):
                if all(t in special for t in row):
                    raise ValueError(
                        f"pairs[{i}] sentence {'ab'[side]} {texts[i][:40]!r} tokenizes to no "
                        "known token with the base model's tokenizer"
                    )

    # -- checkpoints --------------------------------------------------------------------------

    def _checkpoint(self, path: Path, key: str, cycle: int, labels, best) -> None:
        state = {
            "key": key,
            "cycle": cycle,
            "labels": torch.as_tensor(labels),
            "best": dict(best),
            "best_cycle": dict(self.best_cycle_),
            "history": json.dumps(self.history_),
            "bi": self.bi_.state_dict(),
            "cross": self.cross_.state_dict(),
        }
        atomic_torch_save(path, state)

    def _resume(self, path: Path, key: str, start: _Bi):
        """(next cycle, labels, best dev scores) from a checkpoint of the same pairs/config."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["key"] != key:
            raise ValueError(f"checkpoint {path} was written for other pairs or config; remove it")
        self.bi_ = copy.deepcopy(start)
        self.bi_.load_state_dict(state["bi"])
        self.cross_ = self._new_cross(0)
        self.cross_.load_state_dict(state["cross"])
        self.cross_.eval()
        self.history_ = json.loads(state["history"])
        self.best_cycle_ = state["best_cycle"]
        return state["cycle"] + 1, state["labels"].numpy(), state["best"]

    # -- persistence: sentence-transformers folders -------------------------------------------

    def _get_state(self) -> dict[str, Any]:
        return {"history": json.dumps(self.history_), "best_cycle": json.dumps(self.best_cycle_)}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.history_ = json.loads(state["history"])
        self.best_cycle_ = json.loads(state["best_cycle"])

    def _save_files(self, folder: Path) -> None:
        save_bi(self.bi_, self.tok_, folder / "bi", self.config.max_length_bi)
        self.cross_.save_pretrained(folder / "cross")
        self.tok_.save_pretrained(folder / "cross")

    def _load_files(self, folder: Path) -> None:
        from transformers import AutoModelForSequenceClassification

        self.tok_ = self._tokenizer(folder / "cross")
        self.bi_ = _Bi(folder / "bi", self.config.pooling).to(self.device).eval()
        with _quiet():
            self.cross_ = AutoModelForSequenceClassification.from_pretrained(
                folder / "cross", local_files_only=True
            ).to(self.device)
        self.cross_.eval()


class _View(TransEncoder):
    """A fitted-looking view of one cycle's models (for ``on_cycle`` callbacks)."""

    def __init__(self, parent: TransEncoder, bi: _Bi, cross: nn.Module) -> None:
        super().__init__(parent.config, device=parent.device, progress=False)
        self.tok_, self.bi_, self.cross_, self.fitted_ = parent.tok_, bi, cross, True


def _fingerprint(pairs: list[tuple[str, str]], cfg: TransEncoderConfig) -> str:
    text = json.dumps([pairs, repr(cfg)])
    return hashlib.sha256(text.encode()).hexdigest()


def _by_length(texts: Sequence[str]) -> np.ndarray:
    """Indices of ``texts`` from shortest to longest (less padding per batch)."""
    return np.argsort([len(t) for t in texts], kind="stable")


def save_bi(bi: _Bi, tok, folder: Path, max_length: int) -> None:
    """A sentence-transformers folder: transformer + pooling + normalisation."""
    folder.mkdir(parents=True)
    bi.model.save_pretrained(folder)
    tok.save_pretrained(folder)
    modules = [
        ("", "sentence_transformers.models.Transformer"),
        ("1_Pooling", "sentence_transformers.models.Pooling"),
        ("2_Normalize", "sentence_transformers.models.Normalize"),
    ]
    (folder / "modules.json").write_text(
        json.dumps(
            [{"idx": i, "name": str(i), "path": p, "type": t} for i, (p, t) in enumerate(modules)],
            indent=2,
        )
    )
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_length, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": int(bi.model.config.hidden_size),
                "pooling_mode_cls_token": bi.pooling == "cls",
                "pooling_mode_mean_tokens": bi.pooling == "mean",
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
            }
        )
    )
    (folder / "2_Normalize").mkdir()
