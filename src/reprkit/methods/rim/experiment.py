"""RIM's headline experiment: recommendation in both directions and constrained matching.

Split (Ma et al., ICLR 2022; ``datasets.interactions.rim_split``): the second half of each
user's events; users split 50/50 (test / validation) by the seed; each user's test window starts
at its first kept event + the median kept span and lasts that span (the horizon). Every model
scores the test users at their own test start from the events before it.

* Models: λ(x) · p(y | x) with p from the GRU (``rnn``) or a causal Transformer, or item
  popularity; λ from user popularity (``pop``), EMA, Hawkes, Hawkes-Poisson (``hp``) or a
  constant (the sequence model alone). One GRU and one Hawkes fit per seed serve every row that
  uses them. ``random``, and ALS / BPR (``implicit``) on the training interactions.
* ItemRec: each test user's top k = ``item_frac`` of the items; UserRec: each item's top
  C = ``user_frac`` of the test users; precision and recall against the test window, pairs of
  the user's history excluded (``exclude_train``).
* Matching (scores of ``match_model``): each user gets ``k`` items and every item at least
  ``c_min`` users, ``c_min`` swept up to the most the capacity allows: offline dual, online dual
  (item duals fitted on the validation users), greedy with item capacity ``c_min``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from reprkit.core.cells import Cell, Engine, run_cells
from reprkit.core.config import check, config_to_dict, resolve_profile
from reprkit.core.device import resolve_device
from reprkit.core.seed import check_run_args
from reprkit.datasets.interactions import (
    EVENT_DATASETS,
    Events,
    RIMSplit,
    load_events,
    rim_split,
)
from reprkit.eval.recsys import assignment_metrics, top_k
from reprkit.eval.report import RunRecorder, log
from reprkit.methods.rim.baselines import IMPLICIT_MODELS, implicit_scores
from reprkit.methods.rim.config import RIMConfig
from reprkit.methods.rim.matching import (
    dual_match,
    greedy_match,
    lp_match,
    online_match,
    round_dual,
)
from reprkit.methods.rim.method import RIM

DATASETS = EVENT_DATASETS
# row -> (p(y|x): "rnn" | "transformer" | "pop", λ(x): an intensity kind); ALS, BPR, random apart
PRODUCTS: dict[str, tuple[str, str]] = {
    "pop": ("pop", "user_pop"),
    "ema": ("pop", "ema"),
    "hawkes": ("pop", "hawkes"),
    "hp": ("pop", "hp"),
    "rnn": ("rnn", "constant"),
    "rnn_x_pop": ("rnn", "user_pop"),
    "rnn_x_ema": ("rnn", "ema"),
    "rnn_x_hawkes": ("rnn", "hawkes"),
    "rnn_x_hp": ("rnn", "hp"),
    "transformer_x_hp": ("transformer", "hp"),
}
MODELS = ("random", *PRODUCTS, *IMPLICIT_MODELS)
RAW = ("heldout_nll", "lambda_max_min", "lambda_log_std")  # diagnostics in their own units
# paper, ML-1M (not ML-100K), as fractions: Ma et al. (ICLR 2022) Table 2
_SRC = "RIM (ICLR 2022) Table 2, ML-1M — another dataset than ours, for scale"
PAPER = {
    ("rnn_x_hp", "userrec_prec"): 0.047,
    ("transformer_x_hp", "userrec_prec"): 0.049,
    ("rnn", "userrec_prec"): 0.017,
    ("pop", "userrec_prec"): 0.018,
    ("als", "userrec_prec"): 0.017,
    ("bpr", "userrec_prec"): 0.017,
    ("rnn", "itemrec_prec"): 0.025,
    ("pop", "itemrec_prec"): 0.0108,
    ("als", "itemrec_prec"): 0.014,
}


@dataclass(frozen=True)
class RIMExperimentConfig:
    rim: RIMConfig = field(default_factory=RIMConfig)
    models: tuple[str, ...] = MODELS
    item_frac: float = 0.01  # ItemRec k = this share of the items
    user_frac: float = 0.01  # UserRec C = this share of the test users
    exclude_train: bool = True
    implicit_factors: int = 64
    implicit_iterations: int = 15
    # rime's D.auto_regressive: the models also learn from the validation users' whole kept
    # half (their windows included); False: only events before each user's test start
    val_in_training: bool = True
    trained_items_only: bool = True  # rime: candidates = items with a training event
    match_model: str = "rnn_x_hp"
    exposure_steps: int = 4  # c_min from 0 to the most the capacity allows
    lp_size: tuple[int, int] = (60, 40)  # users x items of the dual-vs-LP check

    def validate(self) -> None:
        bad = [m for m in self.models if m not in MODELS]
        check(not bad and self.models, f"models must be a subset of {list(MODELS)}, got {bad}")
        check(
            self.match_model in PRODUCTS,
            f"match_model must be one of {list(PRODUCTS)}, got {self.match_model!r}",
        )
        for name in ("item_frac", "user_frac"):
            v = getattr(self, name)
            check(0 < v <= 1, f"{name} must be in (0, 1], got {v}")
        check(self.exposure_steps >= 2, f"exposure_steps must be >= 2, got {self.exposure_steps}")
        check(
            len(self.lp_size) == 2 and min(self.lp_size) >= 2,
            f"lp_size must be two sizes >= 2, got {self.lp_size}",
        )
        self.rim.validate()


PROFILES: dict[str, dict[str, object]] = {
    "smoke": {
        "rim.hidden": 16,
        "rim.layers": 1,
        "rim.epochs": 2,
        "rim.max_len": 20,
        "implicit_factors": 8,
        "implicit_iterations": 3,
        "exposure_steps": 3,
        "lp_size": (20, 10),
    },
    # the defaults: rime's GRU recipe (2 x 128, Adagrad 0.1, 20 epochs). The Transformer row
    # (rime's recipe: 20 epochs over 256 items with full attention) alone takes about 2.5 min a
    # seed on 2 cores; it runs with --set models=... (docs/methods/rim.md) to keep the paper
    # profile under 10 minutes for 5 seeds
    "paper": {"models": tuple(m for m in MODELS if m != "transformer_x_hp")},
}


def resolve_config(
    profile: str = "smoke", overrides: Mapping[str, Any] | None = None
) -> RIMExperimentConfig:
    """Default config, then the profile, then the user's ``--set`` overrides (all validated)."""
    return resolve_profile(RIMExperimentConfig(), PROFILES, profile, overrides)


def run(
    dataset: str = "ml100k",
    seeds: Sequence[int] = (0, 1, 2),
    profile: str = "smoke",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    engine: Engine | None = None,
) -> Path:
    """Score, recommend both ways and match on every seed's split; write the run folder. Each
    seed is a cell run on ``engine`` (default: serially; core/cells.py)."""
    seeds = check_run_args(dataset, DATASETS, seeds, resume=resume, out=out)
    engine = (engine or Engine()).validate()
    cfg = resolve_config(profile, overrides)
    dev = resolve_device(device)
    events = load_events(dataset)
    rec = RunRecorder(
        "rim", dataset, profile, seeds, config_to_dict(cfg), out, dev, title="RIM: both ways"
    )

    ckpt = rec.checkpoints(resume)  # finished cells, for --resume

    def body(rec: RunRecorder) -> None:
        res: dict[tuple[str, str], list[float]] = {}
        curves: list[dict[str, list[dict[str, float]]]] = []
        cells = [Cell(f"seed={seed}", run_seed, (events, cfg, seed, dev)) for seed in seeds]
        for values, curve in run_cells(
            cells, engine, checkpoints=ckpt, desc=f"rim/{dataset}", progress=progress
        ):
            for key, v in values.items():
                res.setdefault(key, []).append(v)
            curves.append(curve)
        for (name, key), vals in res.items():
            if name == "dual_vs_lp":
                continue
            paper = PAPER.get((name, key))
            rec.add(_row_name(name), key, vals, paper=paper,
                    source=_SRC if paper is not None else None,
                    higher_is_better=key != "heldout_nll", fraction=key not in RAW)  # fmt: skip
        _report_matching(rec, curves, res[("dual_vs_lp", "objective_ratio")], cfg)
        rec.note(
            f"k = {cfg.item_frac:.0%} of the items with a training event (rime), C = "
            f"{cfg.user_frac:.0%} of the test users; pairs in a user's history "
            + ("excluded from recommendations and targets." if cfg.exclude_train else "allowed.")
        )
        rec.note(
            "Rows: pop = user activity × item popularity (so that UserRec is not a tie); ema, "
            "hawkes, hp = that intensity × item popularity; rnn = the GRU's p(y|x) alone; "
            "rnn*X = GRU × intensity; transformer*hp = causal Transformer × Hawkes-Poisson. "
            "Diagnostics: heldout_nll = mean -log p(item | history) of the test users' window "
            "items (rnn, transformer, item_pop); lambda_max_min / lambda_log_std = the spread of "
            "λ over the test users (hawkes, hp, pop = user activity); truecount*rnn / "
            "truecount*pop = UserRec with each test user's true number of window items as λ "
            "(the ceiling of any intensity with that p)."
        )
        rec.plot("relevance_diversity.png", lambda p: plot_relevance_diversity(curves, p))

    return rec.run(body)


def run_seed(events: Events, cfg, seed: int, dev) -> tuple[dict[tuple[str, str], float], dict]:
    """One seed's cell: fit, score, recommend both ways and match on the seed's split;
    ({(row, metric): value}, the matching curves)."""
    res: dict[tuple[str, str], float] = {}
    test, val, train = rim_split(events, seed)
    fit = _fit_all(train, test, val, cfg, seed, dev, False)
    # rime keeps the items with at least one training event; k is 1 % of those
    keep = np.bincount(fit["pop"].events_.item, minlength=events.n_items) > 0
    keep |= not cfg.trained_items_only
    scores, seen, v_scores = _score_all(fit, train, test, val, cfg, seed)
    scores = {name: v[:, keep] for name, v in scores.items()}
    seen, v_scores, target = seen[:, keep], v_scores[:, keep], test.target[:, keep]
    truth = target & ~seen if cfg.exclude_train else target
    k = max(1, round(cfg.item_frac * int(keep.sum())))
    c = max(1, round(cfg.user_frac * len(test.users)))
    excl = seen if cfg.exclude_train else None
    for (name, key), v in _diagnostics(fit, test, keep, truth, c, excl).items():
        res[(name, key)] = v
    for name, s in scores.items():
        item = assignment_metrics(top_k(s, k, axis=1, exclude=excl), truth)
        user = assignment_metrics(top_k(s, c, axis=0, exclude=excl), truth)
        for key, val_ in {
            "itemrec_prec": item["precision"],
            "itemrec_recall": item["recall"],
            "userrec_prec": user["precision"],
            "userrec_recall": user["recall"],
            "itemrec_coverage": item["item_coverage"],
        }.items():
            res[(name, key)] = val_
        log.info(
            "seed %d %s: ItemRec prec@%d %.4f, UserRec prec@%d %.4f",
            seed, name, k, item["precision"], c, user["precision"],
        )  # fmt: skip
    s = np.where(seen, 0.0, scores[cfg.match_model])  # seen pairs: never worth a slot
    vs = v_scores  # the validation users' scores of the same model
    curve = _matching(s, vs, truth, k, len(val.users), cfg.exposure_steps)
    res[("dual_vs_lp", "objective_ratio")] = _lp_check(s, cfg.lp_size, seed)
    return res, curve


def _fit_all(train: Events, test: RIMSplit, val: RIMSplit, cfg, seed, dev, progress) -> dict:
    """One fitted RIM per sequence model the rows need ("pop": no sequence model, carries the
    Hawkes and Hawkes-Poisson intensities every row shares). As rime's ``D.auto_regressive``,
    the models learn from every user's events before its test start plus the validation users'
    whole kept half (``val.after``); the Hawkes from the test users' histories (validation
    users are observed without end, so left out), Hawkes-Poisson from the validation users'
    true counts in their own windows."""
    events = _concat(train, val.after if cfg.val_in_training else None)
    until = np.full(train.n_users, np.inf)
    until[test.users] = test.start
    needs = {PRODUCTS[m][0] for m in cfg.models if m in PRODUCTS} | {"pop"}
    needs.add(PRODUCTS[cfg.match_model][0])
    fitted: dict[str, RIM] = {}
    # the validation users' true counts in their own windows (Hawkes-Poisson's targets)
    win = val.after.time < val.start[np.searchsorted(val.users, val.after.user)] + val.horizon
    counts = np.bincount(np.searchsorted(val.users, val.after.user[win]), minlength=len(val.users))
    for seq in sorted(needs):
        kind = "hp" if seq == "pop" else "constant"  # one Hawkes (+ HP) fit serves every row
        rim_cfg = replace(
            cfg.rim, seed=seed, sequence="gru" if seq == "rnn" else seq, intensity=kind
        )
        fitted[seq] = RIM(rim_cfg, device=dev, progress=progress).fit(
            events, horizon=test.horizon, observed_until=until, hp_users=val.users,
            hp_at=val.start, hp_counts=counts,
        )  # fmt: skip
    return fitted


def _concat(a: Events, b: Events | None) -> Events:
    if b is None:
        return a
    return Events(np.concatenate([a.user, b.user]), np.concatenate([a.item, b.item]),
                  np.concatenate([a.time, b.time]), a.n_users, a.n_items, a.name)  # fmt: skip


def _factor(fitted: dict, name: str, split: RIMSplit, cache: dict) -> np.ndarray:
    """λ(x) · p(y|x) of a row on a split; ``cache`` keeps each factor of the split once."""
    seq, kind = PRODUCTS[name]
    if kind not in cache:
        cache[kind] = fitted["pop"].user_intensity(split.users, split.start, kind=kind)
    if seq not in cache:
        cache[seq] = fitted[seq].item_probs(split.users, split.start)
    return cache[kind][:, None] * cache[seq]


def _score_all(fitted: dict, train: Events, test: RIMSplit, val: RIMSplit, cfg, seed):
    """{row: (n_test, n_items) scores}, the test users' seen pairs, and the validation users'
    scores of ``match_model`` (for the online item duals)."""
    base = fitted["pop"]
    cache: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    for name in cfg.models:
        if name == "random":
            rng = np.random.default_rng(seed)
            scores[name] = rng.random((len(test.users), train.n_items))
        elif name in IMPLICIT_MODELS:
            try:
                scores[name] = implicit_scores(
                    base.events_,
                    test.users,
                    name,
                    factors=cfg.implicit_factors,
                    iterations=cfg.implicit_iterations,
                    seed=seed,
                )
            except ImportError as err:
                log.warning("%s skipped: %s", name, err)
        else:
            scores[name] = _factor(fitted, name, test, cache)
    seen = base.seen(test.users, test.start)
    v = _factor(fitted, cfg.match_model, val, {})
    return scores, seen, np.where(base.seen(val.users, val.start), 0.0, v)


def _diagnostics(fitted, test: RIMSplit, keep, truth, c: int, excl) -> dict:
    """Why a product row wins or not: the sequence models' held-out NLL against item
    popularity, the spread of each intensity over the test users, and the ceiling of UserRec
    with the true count as λ."""
    out: dict[tuple[str, str], float] = {}
    base = fitted["pop"]
    rows, cols = np.nonzero(test.target)  # every (user, item) of the test windows
    probs = {"item_pop": base.item_probs(test.users[:1], test.start[:1])[0][None]}
    for seq in ("rnn", "transformer"):
        if seq in fitted:
            probs[seq] = fitted[seq].item_probs(test.users, test.start)
    for name, p in probs.items():
        pick = p[rows if len(p) > 1 else 0, cols]
        out[(name, "heldout_nll")] = float(-np.log(np.maximum(pick, 1e-30)).mean())
    for kind in ("hawkes", "hp", "user_pop"):
        lam = np.maximum(base.user_intensity(test.users, test.start, kind=kind), 1e-30)
        name = "pop" if kind == "user_pop" else kind
        out[(name, "lambda_max_min")] = float(lam.max() / lam.min())
        out[(name, "lambda_log_std")] = float(np.log(lam).std())
    count = test.target.sum(1).astype(np.float64)[:, None]
    for seq, p in probs.items():
        if seq == "transformer":
            continue
        s = count * np.broadcast_to(p, test.target.shape)[:, keep]
        name = "truecount*" + ("pop" if seq == "item_pop" else seq)
        out[(name, "userrec_prec")] = assignment_metrics(top_k(s, c, axis=0, exclude=excl), truth)[
            "precision"
        ]
    return out


def _matching(s, v_scores, truth, k: int, n_val: int, steps: int) -> dict[str, list[dict]]:
    """Precision and diversity of the three matchers at each exposure target."""
    n_users, n_items = s.shape
    c_max = n_users * k // n_items
    out: dict[str, list[dict]] = {"offline dual": [], "online dual": [], "greedy": []}
    for c_min in sorted({int(round(x)) for x in np.linspace(0, c_max, steps)}):
        if c_min:
            pi = dual_match(s, k, c_min)[0]
            v = dual_match(v_scores, k, c_min * n_val / n_users)[2]
        else:  # no exposure target: the duals are 0 and every user takes its top k
            pi, v = s, np.zeros(n_items)
        assigned = {
            "offline dual": round_dual(pi, k, c_min),
            "online dual": online_match(s, v, k),
            "greedy": greedy_match(s, k, c_min) if c_min else top_k(s, k, axis=1),
        }
        for name, a in assigned.items():
            m = assignment_metrics(a, truth)
            m["c_min"] = c_min
            m["min_exposure"] = float(a.sum(0).min())
            out[name].append(m)
    return out


def _lp_check(s: np.ndarray, size: tuple[int, int], seed: int) -> float:
    """Objective of the rounded dual / the exact LP optimum on a random sub-problem."""
    rng = np.random.default_rng(seed)
    n_u, n_i = min(size[0], s.shape[0]), min(size[1], s.shape[1])
    sub = s[np.ix_(rng.choice(s.shape[0], n_u, replace=False), np.argsort(-s.sum(0))[:n_i])]
    k = max(1, n_i // 10)
    c = n_u * k // n_i
    best = lp_match(sub, k, c)[1]
    got = float((sub * round_dual(dual_match(sub, k, c)[0], k, c)).sum())
    return got / best if best > 0 else 1.0


def _report_matching(rec: RunRecorder, curves, lp_ratio: list[float], cfg) -> None:
    names = list(curves[0])
    for i, point in enumerate(curves[0][names[0]]):
        c_min = point["c_min"]
        for name in names:
            rows = [cur[name][i] for cur in curves]
            tag = f"match_{name.replace(' ', '_')}@c_min={c_min}"
            rec.add(tag, "match_prec", [r["precision"] for r in rows])
            rec.add(tag, "match_coverage", [r["item_coverage"] for r in rows])
        if i == len(curves[0][names[0]]) - 1:  # the tightest exposure constraint
            ratio = [
                cur["online dual"][i]["precision"] / cur["offline dual"][i]["precision"]
                if cur["offline dual"][i]["precision"] > 0 else float("nan")
                for cur in curves
            ]  # fmt: skip
            rec.add(_row_name(cfg.match_model), "online_offline_ratio", ratio)
        off = np.mean([cur["offline dual"][i]["precision"] for cur in curves])
        on = np.mean([cur["online dual"][i]["precision"] for cur in curves])
        gap = abs(on - off) / off if off > 0 else 0.0
        rec.note(
            f"matching c_min={c_min}: online dual precision {on:.4f} vs offline {off:.4f} "
            f"({gap:.1%} apart; the issue asks for <= 5 %)"
        )
    rec.note(
        f"Matching scores: {cfg.match_model}; each user gets k items, every item at least c_min "
        "users (offline: the test users' own dual; online: item duals fitted on the validation "
        "users, target scaled to their number; greedy: item capacity c_min, plain top-k at 0). "
        "Dual vs exact LP (HiGHS) on a "
        f"{cfg.lp_size[0]} x {cfg.lp_size[1]} sub-problem per seed: objective ratio "
        + ", ".join(f"{r:.4f}" for r in lp_ratio)
        + "."
    )


def plot_relevance_diversity(curves: list[dict[str, list[dict]]], path: Path) -> None:
    """Precision vs item perplexity of each matcher while the exposure target grows (means over
    seeds; labels: c_min)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in curves[0]:
        for ax, div in zip(axes, ("item_perplexity", "user_perplexity"), strict=True):
            pts = [
                [np.mean([cur[name][i][key] for cur in curves]) for key in (div, "precision")]
                for i in range(len(curves[0][name]))
            ]
            x, y = zip(*pts, strict=True)
            ax.plot(x, y, marker="o", label=name)
            if name == "offline dual":
                for i, (a, b) in enumerate(pts):
                    ax.annotate(str(curves[0][name][i]["c_min"]), (a, b), fontsize=7)
            ax.set_xlabel(div.replace("_", " "))
    axes[0].set_ylabel("precision")
    axes[0].legend()
    fig.suptitle("relevance vs diversity as the item exposure target c_min grows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _row_name(name: str) -> str:
    """DESIGN.md's row names: a sequence model times an intensity is ``rnn*hawkes``."""
    return name.replace("_x_", "*")
