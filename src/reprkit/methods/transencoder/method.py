"""Trans-Encoder (Liu et al., ICLR 2022): unsupervised sentence-pair models by alternating
bi-encoder and cross-encoder self-distillation, optionally mutual between several students.

Each cycle: the bi-encoder's cosine scores label the unlabelled pairs; a cross-encoder, fresh
from the base model, learns them (both pair orders, BCE with logits on the soft labels); its
sigmoid scores relabel the pairs; a bi-encoder, fresh from the starting checkpoint, learns them
(MSE between cosine and label) (paper Sec. 2.1-2.2). With ``mutual`` students (another pooling
of the base, or another model), every student's bi- and cross-encoder is trained and the labels
handed over are the mean of the students' scores (Sec. 2.3). Schedules follow the official
scripts: AdamW, linear warm-up (cross 10 %) and decay, clipping at 1.0, budgets in epochs. A
labelled dev set, if given, only chooses the best checkpoint inside a round and the best of the
trained cycles.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from reprkit.core import distributed
from reprkit.core.base import BaseEstimator
from reprkit.core.io import atomic_torch_save
from reprkit.core.progress import progress_bar
from reprkit.core.seed import seeded
from reprkit.core.train import warmup_linear
from reprkit.core.validate import as_array
from reprkit.eval.metrics import spearman
from reprkit.methods.transencoder.config import TransEncoderConfig, parse_student
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
    """A transformer with mean or [CLS] pooling; ``forward`` gives unit-length embeddings.
    ``base`` names the model directory whose tokenizer it reads."""

    def __init__(self, path: Path, pooling: str, base: str = "") -> None:
        super().__init__()
        from transformers import AutoModel

        with _quiet():
            self.model = AutoModel.from_pretrained(path, local_files_only=True)
        self.pooling = pooling
        self.base = base

    def forward(self, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.model(**enc).last_hidden_state
        if self.pooling == "cls":
            z = states[:, 0]
        else:
            m = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            z = (states * m).sum(1) / m.sum(1).clamp_min(1.0)
        return nnf.normalize(z.float(), dim=-1)


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

    def _tok(self, model: nn.Module, a: Sequence[str], b: Sequence[str] | None = None):
        """Pairs (``b`` given) for the cross-encoder, single sentences for the bi-encoder, each
        truncated to its model's length (official: 64 and 32 tokens), with ``model``'s
        tokenizer (a mutual student may have its own base model)."""
        cfg = self.config
        model = getattr(model, "module", model)  # a DDP wrapper: its model
        tok = getattr(self, "toks_", {}).get(getattr(model, "base", ""), self.tok_)
        enc = tok(
            list(a),
            None if b is None else list(b),
            truncation=True,
            max_length=cfg.max_length if b is not None else cfg.max_length_bi,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in enc.items()}

    def _new_cross(self, seed: int, base: str = "") -> nn.Module:
        """A cross-encoder from ``base`` ("" = the base model) with a fresh one-logit head."""
        from transformers import AutoModelForSequenceClassification

        path = check_model_dir(base, "mutual") if base else self._base()
        with _quiet(), seeded(seed):  # the fresh classification head
            cross = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=1, local_files_only=True
            ).to(self.device)
        cross.base = base
        return cross

    # -- scoring ------------------------------------------------------------------------------

    @torch.no_grad()
    def _embed(self, bi: _Bi, sentences: Sequence[str], bs: int = 128) -> torch.Tensor:
        """(n, d) unit-length embeddings, in eval mode, on CPU; batches of similar length."""
        bi.eval()
        order = _by_length(sentences)
        out = torch.empty(len(sentences), bi.model.config.hidden_size)
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            out[torch.as_tensor(idx)] = bi(self._tok(bi, [sentences[j] for j in idx])).float().cpu()
        return out

    def _bi_scores(self, bi: _Bi, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Cosines of the pairs (under torchrun: each process scores its share)."""
        return distributed.sharded(lambda part: self._bi_scores_here(bi, part), pairs)

    def _bi_scores_here(self, bi: _Bi, pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.empty(0, dtype=np.float32)
        a, b = zip(*pairs, strict=True)
        emb = self._embed(bi, [*a, *b])  # one pass: batches of similar length across sides
        return (emb[: len(a)] * emb[len(a) :]).sum(-1).numpy()

    def _cross_scores(self, cross: nn.Module, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Sigmoid scores of (a, b) (official ``CrossEncoder.predict``), or their mean with
        (b, a)'s when ``score_both_orders`` (under torchrun: each process scores its share)."""
        return distributed.sharded(lambda part: self._cross_scores_here(cross, part), pairs)

    @torch.no_grad()
    def _cross_scores_here(self, cross: nn.Module, pairs: list[tuple[str, str]], bs: int = 64):
        """:meth:`_cross_scores` in this process, in batches of similar length."""
        cross.eval()
        both = self.config.score_both_orders
        order = _by_length([a + " " + b for a, b in pairs])
        out = np.empty(len(pairs), dtype=np.float32)
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            a, b = [pairs[j][0] for j in idx], [pairs[j][1] for j in idx]
            enc = self._tok(cross, a + b, b + a) if both else self._tok(cross, a, b)
            s = torch.sigmoid(cross(**enc).logits[:, 0].float())
            out[idx] = (((s[: len(idx)] + s[len(idx) :]) / 2) if both else s).cpu().numpy()
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

    @staticmethod
    def _batches(n: int, steps: int, bs: int, seed: int):
        """``steps`` index batches of ``bs``, passes over a fresh permutation each time."""
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(n, generator=gen)
        pos = 0
        for _ in range(steps):
            if pos + bs > n and pos > 0:
                order, pos = torch.randperm(n, generator=gen), 0
            yield order[pos : pos + bs].numpy()
            pos += bs

    def _round(self, model, loss_fn, kind: str, n: int, seed: int, desc: str, dev_score=None):
        """AdamW updates of ``model`` (warm-up, linear decay, clipping) on batches of the ``n``
        pairs, ``cfg.steps(kind, n)`` of them (``kind``: "cross" / "bi"). With ``dev_score(model)``, the dev Spearman is measured every
        ``eval_steps`` updates and after the last, and the best state is kept (official:
        ``evaluation_steps=200``, the best checkpoint saved and reloaded)."""
        cfg = self.config
        steps = cfg.steps(kind, n)
        lr, warmup, bs = (
            (cfg.lr_cross, cfg.warmup_cross, cfg.batch_cross)
            if kind == "cross"
            else (cfg.lr_bi, cfg.warmup_bi, cfg.batch_bi)
        )
        # AdamW's weight decay 0.01 = sentence-transformers' fit default
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        sched = warmup_linear(opt, steps, warmup)
        best, best_state = -np.inf, None
        # under torchrun: DDP over the processes' shards (a bi-encoder leaves BERT's pooler unused)
        net = distributed.wrap(model, find_unused_parameters=kind == "bi")
        model.train()
        with seeded(seed):
            batches = self._batches(n, steps, bs, seed)
            bar = progress_bar(batches, total=steps, desc=desc, progress=self.progress)
            for step, idx in enumerate(bar, 1):
                idx, w = distributed.shard(idx)  # of the global batch of bs pairs
                # paper: official fits use fp16 AMP with a loss scaler (GPU); ours bf16 autocast
                # (CPU and GPU; bf16 keeps fp32's range, so no scaler)
                with torch.autocast(torch.device(self.device).type, torch.bfloat16, cfg.amp):
                    loss = loss_fn(net, idx)
                distributed.trace(loss, w)
                opt.zero_grad(set_to_none=True)
                (loss * w).backward()
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

    def _train_cross(self, pairs, labels: np.ndarray, seed: int, desc: str, dev=None, base=""):
        """A fresh cross-encoder from ``base``: BCE on the soft labels, both pair orders."""
        y = torch.as_tensor(np.clip(labels, 0, 1), dtype=torch.float32, device=self.device)

        def loss(cross, idx):
            a = [pairs[i][0] for i in idx]
            b = [pairs[i][1] for i in idx]
            logits = cross(**self._tok(cross, a + b, b + a)).logits[:, 0].float()  # both orders
            return nnf.binary_cross_entropy_with_logits(logits, y[idx].repeat(2))

        score = None if dev is None else (lambda m: spearman(self._cross_scores(m, dev[0]), dev[1]))
        return self._round(
            self._new_cross(seed, base), loss, "cross", len(pairs), seed, desc, score
        )

    def _train_bi(self, start: _Bi, pairs, labels: np.ndarray, seed: int, desc: str, dev=None):
        """The bi-encoder, fresh from the start every cycle: MSE of cosine to the labels."""
        y = torch.as_tensor(labels, dtype=torch.float32, device=self.device)

        def loss(bi, idx):
            a = bi(self._tok(bi, [pairs[i][0] for i in idx]))
            b = bi(self._tok(bi, [pairs[i][1] for i in idx]))
            return nnf.mse_loss((a * b).sum(-1), y[idx])

        score = None if dev is None else (lambda m: spearman(self._bi_scores(m, dev[0]), dev[1]))
        return self._round(copy.deepcopy(start), loss, "bi", len(pairs), seed, desc, score)

    def fit(
        self,
        pairs: Any,
        *,
        dev: tuple[Any, Sequence[float]] | None = None,
        on_cycle: Callable[[int, TransEncoder, dict[str, np.ndarray]], dict | None] | None = None,
        checkpoint: str | Path | None = None,
    ) -> TransEncoder:
        """``pairs``: unlabelled (sentence_a, sentence_b). ``dev``: (pairs, gold scores), used
        only to keep the best checkpoint inside a round and the best cycle (Spearman;
        ``best_cycle_``; official: the first best, as ``np.argmax``). Cycle 0 is the start: the
        starting bi-encoder and cycle 1's cross-encoder before training (recorded, never kept:
        the best is chosen among trained cycles, as the official code does); with ``cycles=0``
        the fitted model is that start.

        ``on_cycle(cycle, view, scores)`` after each cycle: ``view`` scores with that cycle's
        first student; ``scores`` holds each student's scores of ``pairs``: ``"bi"``,
        ``"cross"`` for the first, ``"bi_k"``, ``"cross_k"`` for mutual student k = 1, 2, …
        (at cycle 0 no cross of a mutual student). A dict it returns joins that cycle's
        ``history_`` row, which holds the dev Spearman under the same names (``dev_bi``,
        ``dev_cross_1``, …). ``checkpoint``: a file written (atomically) after each cycle; if it
        exists, training resumes after its cycle."""
        cfg = self.config
        pairs = check_pairs(pairs)
        dv = None
        if dev is not None:
            dev_pairs = check_pairs(dev[0], "dev pairs")
            dev_gold = as_array(dev[1], "dev gold scores", ndim=1, kind="fiu",
                                length=len(dev_pairs), length_of="dev pairs")  # fmt: skip
            dv = (dev_pairs, dev_gold)
        base = self._base()
        students = [(cfg.pooling, ""), *(parse_student(s) for s in cfg.mutual)]
        paths = {b: check_model_dir(b, "mutual") for _, b in students if b}
        self.tok_ = self._tokenizer(base)
        self.toks_ = {b: self._tokenizer(path) for b, path in paths.items()}
        self._check_tokens(pairs)
        starts = [_Bi(paths.get(b, base), p, b).to(self.device) for p, b in students]
        self.bi_, self.cross_ = starts[0], None
        self.best_cycle_ = {"bi": 0, "cross": 0}
        best = {"bi": -np.inf, "cross": -np.inf}
        ckpt = None if checkpoint is None else Path(checkpoint)
        key = _fingerprint(pairs, cfg)
        if ckpt is not None and ckpt.is_file():
            first, labels, best = self._resume(ckpt, key, starts[0])
        else:  # cycle 0: the starting bi-encoders and the untrained cross-encoder of cycle 1
            first = 1
            start_scores = [self._bi_scores(s, pairs) for s in starts]
            labels = np.mean(start_scores, axis=0)
            self.cross_ = self._new_cross(cfg.seed + 1000)
            row: dict[str, float] = {"cycle": 0}
            if dv is not None:  # recorded, never a candidate: only trained cycles are kept
                row |= self._dev_row(starts, [self.cross_], dv)
            if on_cycle is not None:
                scores = {f"bi{_sfx(k)}": s for k, s in enumerate(start_scores)}
                scores["cross"] = self._cross_scores(self.cross_, pairs)
                row |= on_cycle(0, _View(self, self.bi_, self.cross_), scores) or {}
            self.history_: list[dict[str, float]] = [row]
        for cycle in range(first, cfg.cycles + 1):
            seed = cfg.seed + 1000 * cycle
            crosses = [
                self._train_cross(pairs, labels, seed + k, f"cycle {cycle} cross {k}", dv, b)
                for k, (_, b) in enumerate(students)
            ]
            cross_scores = [self._cross_scores(c, pairs) for c in crosses]
            bis = [
                self._train_bi(s, pairs, np.mean(cross_scores, axis=0), seed + k,
                               f"cycle {cycle} bi {k}", dv)
                for k, s in enumerate(starts)
            ]  # fmt: skip
            bi_scores = [self._bi_scores(b, pairs) for b in bis]
            labels = np.mean(bi_scores, axis=0)
            row = {"cycle": cycle}
            if dv is None:
                self.bi_, self.cross_ = bis[0], crosses[0]
                self.best_cycle_ = {"bi": cycle, "cross": cycle}
            else:
                row |= self._dev_row(bis, crosses, dv)
                for kind, model in (("bi", bis[0]), ("cross", crosses[0])):
                    if row[f"dev_{kind}"] > best[kind]:  # the first best, as np.argmax
                        best[kind] = row[f"dev_{kind}"]
                        setattr(self, f"{kind}_", model)
                        self.best_cycle_[kind] = cycle
            if on_cycle is not None:
                scores = {f"bi{_sfx(k)}": s for k, s in enumerate(bi_scores)}
                scores |= {f"cross{_sfx(k)}": s for k, s in enumerate(cross_scores)}
                row |= on_cycle(cycle, _View(self, bis[0], crosses[0]), scores) or {}
            self.history_.append(row)
            if ckpt is not None:
                self._checkpoint(ckpt, key, cycle, labels, best)
        self.fitted_ = True
        return self

    def _dev_row(self, bis, crosses, dev) -> dict[str, float]:
        """Dev Spearman of each student's bi- and cross-encoder (``dev_bi``, ``dev_cross_1``…)."""
        row = {f"dev_bi{_sfx(k)}": spearman(self._bi_scores(m, dev[0]), dev[1])
               for k, m in enumerate(bis)}  # fmt: skip
        row |= {f"dev_cross{_sfx(k)}": spearman(self._cross_scores(m, dev[0]), dev[1])
                for k, m in enumerate(crosses)}  # fmt: skip
        return row

    def _check_tokens(self, pairs: list[tuple[str, str]]) -> None:
        """Every sentence must keep a token that is not special (nor unknown), for every
        student's tokenizer."""
        for tok in (self.tok_, *self.toks_.values()):
            special = set(tok.all_special_ids)
            for side in (0, 1):
                texts = [p[side] for p in pairs]
                ids = tok(texts, add_special_tokens=False)["input_ids"]
                for i, row in enumerate(ids):
                    if all(t in special for t in row):
                        raise ValueError(
                            f"pairs[{i}] sentence {'ab'[side]} {texts[i][:40]!r} tokenizes to "
                            f"no known token with the tokenizer of {tok.name_or_path}"
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
        self.toks_ = parent.toks_


def _sfx(k: int) -> str:
    """Key suffix of student ``k``: "" for the first, ``_k`` for mutual student k."""
    return f"_{k}" if k else ""


def best_cycle(history: Sequence[Mapping[str, float]], key: str) -> int:
    """The trained cycle (>= 1) with the highest ``key`` (e.g. ``dev_bi_1``), the first on a
    tie (official: ``np.argmax`` over trained cycles); 0 when no cycle was trained."""
    trained = [h for h in history if h["cycle"] >= 1]
    if not trained:
        return 0
    return int(trained[int(np.argmax([h[key] for h in trained]))]["cycle"])


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
