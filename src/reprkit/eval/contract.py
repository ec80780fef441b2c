"""The ``metrics.json`` contract: its JSON schema and each method's required (model, metric) rows.

Names follow ``../shared/DESIGN.md`` ("Names in metrics.json"); this module is the one place in
code that declares them. ``REQUIRED`` lists the rows every run of a method writes, smoke runs on
synthetic data included; rows of models the fidelity issues (#23-#27) add (the PSA-GAN
ablations, ``real`` floors) join the list when those land. ``FRACTIONS`` lists the metrics that must lie in [0, 1] (FCR may exceed 1).
"""

from __future__ import annotations

import math
import re
from typing import Any

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "method",
        "dataset",
        "profile",
        "seeds",
        "wall_time_s",
        "peak_mem_mb",
        "results",
        "notes",
    ],  # fmt: skip
    "properties": {
        "method": {"type": "string"},
        "dataset": {"type": "string"},
        "profile": {"type": "string"},
        "seeds": {"type": "array", "items": {"type": "integer"}},
        "wall_time_s": {"type": "number", "minimum": 0},
        "peak_mem_mb": {"type": "number", "minimum": 0},
        "notes": {"type": "array", "items": {"type": "string"}},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "model",
                    "metric",
                    "mean",
                    "std",
                    "per_seed",
                    "higher_is_better",
                    "paper",
                    "paper_source",
                ],  # fmt: skip
                "properties": {
                    "model": {"type": "string", "pattern": r"^[a-z0-9_*+@=.\-]+$"},
                    "metric": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
                    "mean": {"type": ["number", "null"]},
                    "std": {"type": ["number", "null"]},
                    "per_seed": {"type": "array", "items": {"type": ["number", "null"]}},
                    "higher_is_better": {"type": "boolean"},
                    "paper": {"type": ["number", "null"]},
                    "paper_source": {"type": ["string", "null"]},
                    # optional: the row's own seeds (e.g. feature-extractor fits), when its
                    # values are not one per run seed
                    "seeds": {"type": "array", "items": {"type": "integer"}},
                },
            },
        },
    },
}

_ACC = ("isolated_acc", "tail_acc", "head_acc", "overall_acc")
_RIM = ("userrec_prec", "itemrec_prec", "userrec_recall", "itemrec_recall")
_SPLITS = ("r2_random", "r2_composition", "r2_interpolation", "r2_extrapolation")
_TRAJ = ("ade", "fde", "ade_no_neighbors", "fde_no_neighbors", "phi_past", "phi_social",
         "phi_neighbor_mean", "phi_random", "phi_random_max")  # fmt: skip


def _rows(models: tuple[str, ...], metrics: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(m, k) for m in models for k in metrics}


REQUIRED: dict[str, set[tuple[str, str]]] = {
    "coldbrew": _rows(
        ("coldbrew", "coldbrew_paper", "teacher", "gcn", "sage", "mlp", "graphmlp", "glnn", "lp"),
        _ACC,
    )
    | {("dataset", "fcr")},
    "giant": {("mlp@tfidf", "acc"), ("mlp@giant", "acc")},
    "grda": _rows(
        ("grda", "grda_index_aligned", "source_only", "dann", "adda", "cdann", "mdd"),
        ("target_acc",),
    ),  # fmt: skip
    "psagan": {
        *((m, "context_fid") for m in ("real", "noise_matched", "seasonal_profile")),
        ("psagan", "context_fid"),
        ("wgan_gp", "context_fid"),
        ("forecast@real", "nrmse"),
        ("forecast@real+psagan", "nrmse"),
    },  # fmt: skip
    "rim": _rows(
        ("rnn*hawkes", "rnn*hp", "rnn", "pop", "hawkes", "hp", "als", "bpr", "random"), _RIM
    )
    | {("rnn*hp", "online_offline_ratio")},
    "transencoder": _rows(
        ("start", "start_as_cross", "bi", "cross", "mutual_bi", "mutual_cross"), ("sts_avg",)
    ),  # fmt: skip
    "deepaa": _rows(
        (
            "deepaa",
            "deepaa_official",
            "none",
            "cropflip",
            "randaugment",
            "trivialaugment",
            "autoaugment",
        ),
        ("test_acc",),
    )
    | {("deepaa", "search_time_s")},  # fmt: skip
    "diva": _rows(
        (
            "diva",
            "diva_loo",
            "diva_val",
            "loo_residual",
            "influence",
            "knn_shapley",
            "data_oob",
            "random",
        ),
        ("detect_auc", "detect_f1"),
    )
    | _rows(("original", "oracle"), ("test_acc",)),  # fmt: skip
    "indomain": _rows(("mlp", "conv"), _SPLITS),
    "trajshap": _rows(("cv", "lstm", "social"), _TRAJ),
}

# metrics that are fractions in [0, 1] (DESIGN.md: accuracies, R² at most 1, precisions, AUCs)
FRACTIONS = frozenset({*_ACC, "val_acc", "acc", "target_acc", "test_acc", *_RIM, "itemrec_coverage",
                       "match_prec", "match_coverage", "detect_auc", "detect_f1", "vn_label_agree",
                       "isolated_auc", "tail_auc", "head_auc", "overall_auc", "cluster_p1",
                       "cluster_p5", "train_cluster_p1", "cka"})  # fmt: skip


def check_metrics(metrics: dict[str, Any], method: str | None = None) -> list[str]:
    """Problems of one ``metrics.json`` (empty: it keeps the contract). Checks the schema by
    hand (no jsonschema dependency), the ranges, and the method's required rows."""
    problems: list[str] = []
    for key in SCHEMA["required"]:
        if key not in metrics:
            problems.append(f"missing key {key!r}")
    if problems:
        return problems
    types = {"string": str, "number": (int, float), "integer": int, "array": list, "boolean": bool}
    for key, spec in SCHEMA["properties"].items():
        if key != "results" and not isinstance(metrics[key], types[spec["type"]]):
            problems.append(f"{key} must be a {spec['type']}")
    seen: set[tuple[str, str]] = set()
    item = SCHEMA["properties"]["results"]["items"]
    for r in metrics["results"]:
        missing = [k for k in item["required"] if k not in r]
        if missing:
            problems.append(f"row {r.get('model')}/{r.get('metric')} lacks {missing}")
            continue
        row = (r["model"], r["metric"])
        if row in seen:
            problems.append(f"row {row} appears twice")
        seen.add(row)
        for k in ("model", "metric"):
            if not re.match(item["properties"][k]["pattern"], r[k]):
                problems.append(f"{k} {r[k]!r} is not a short lowercase name")
        row_seeds = r.get("seeds", metrics["seeds"])  # a row may name its own seeds
        if len(r["per_seed"]) != len(row_seeds):
            problems.append(f"row {row}: {len(r['per_seed'])} per-seed values for "
                            f"{len(row_seeds)} seeds")  # fmt: skip
        values = [v for v in [r["mean"], r["paper"], *r["per_seed"]] if v is not None]
        if any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
            problems.append(f"row {row}: values must be finite numbers or null")
            continue
        if r["metric"] in FRACTIONS and any(not -1e-9 <= v <= 1 + 1e-9 for v in values):
            problems.append(f"row {row}: {r['metric']} is a fraction, got values outside [0, 1]")
        if r["metric"].split("_")[0] == "r2" and any(v > 1 + 1e-9 for v in values):
            problems.append(f"row {row}: R² cannot exceed 1")
    method = method or metrics["method"]
    # a row of a model under a named setting (``model@setting``) stands for the model
    seen |= {(m.split("@")[0], k) for m, k in seen}
    for row in sorted(REQUIRED.get(method, set()) - seen):
        problems.append(f"required row {row} of {method} is missing")
    return problems
