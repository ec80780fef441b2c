"""The run folder: ``config.json``, ``env.json``, ``metrics.json``, ``results.md``, plots, log.

:class:`RunRecorder` collects results while an experiment runs and writes the whole folder
atomically when it finishes; a run that fails leaves nothing behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from reprkit.core.config import check_same_config, flat_config
from reprkit.core.device import device_name
from reprkit.core.io import atomic_dir, atomic_write_json, atomic_write_text, remove_tree
from reprkit.eval.metrics import mean_std

log = logging.getLogger("reprkit")


@dataclass
class ResultRow:
    model: str
    metric: str
    per_seed: list[float]
    higher_is_better: bool = True
    paper: float | None = None
    paper_source: str | None = None
    seeds: list[int] | None = None  # the row's own seeds when they are not the run's

    def as_json(self) -> dict[str, Any]:
        """The ``metrics.json`` row. A seed whose value is undefined (NaN, e.g. an FCR when both
        one-sided models beat the GNN) is written as ``null`` and the row's mean and std are
        ``null`` too, rather than averaging it away or losing the finished run."""
        finite = all(math.isfinite(v) for v in self.per_seed)
        mean, std = mean_std(self.per_seed) if finite else (None, None)
        return {
            "model": self.model,
            "metric": self.metric,
            "mean": None if mean is None else round(mean, 6),
            "std": None if std is None else round(std, 6),
            "per_seed": [round(v, 6) if math.isfinite(v) else None for v in self.per_seed],
            "higher_is_better": self.higher_is_better,
            "paper": self.paper,
            "paper_source": self.paper_source,
        } | ({} if self.seeds is None else {"seeds": list(self.seeds)})


def default_out(method: str, dataset: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / method / dataset / stamp


def peak_mem_mb(device: torch.device) -> float:
    """Peak resident memory of this process (and peak CUDA memory when on a GPU), in MB."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    mb = rss_kb / 1024.0
    if device.type == "cuda":
        mb += torch.cuda.max_memory_allocated(device) / 2**20
    return round(mb, 1)


def env_info(device: torch.device) -> dict[str, Any]:
    import reprkit

    info: dict[str, Any] = {
        "reprkit": reprkit.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name(device),
        "cpu": device_name(torch.device("cpu")),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "argv": sys.argv,
    }
    try:
        import torch_geometric

        info["torch_geometric"] = torch_geometric.__version__
    except ImportError:
        pass
    try:
        root = Path(__file__).resolve().parents[3]
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


@dataclass
class RunRecorder:
    """Collects one experiment's results and writes its run folder atomically on success."""

    method: str
    dataset: str
    profile: str
    seeds: Sequence[int]
    config: dict[str, Any]
    out: str | Path | None  # None: runs/<method>/<dataset>/<timestamp>
    device: torch.device
    title: str = ""
    rows: list[ResultRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: list[tuple[str, Callable[[Path], None]]] = field(default_factory=list)
    fractions: bool = True  # metrics are fractions, shown as % in results.md
    raw: set[str] = field(default_factory=set)  # metrics in their own unit (seconds) even so
    _checkpoints: Path | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.out = (
            Path(self.out) if self.out is not None else default_out(self.method, self.dataset)
        )

    def add(
        self,
        model: str,
        metric: str,
        per_seed: Sequence[float],
        *,
        paper: float | None = None,
        source: str | None = None,
        higher_is_better: bool = True,
        fraction: bool = True,
        seeds: Sequence[int] | None = None,
    ) -> None:
        """One (model, metric) row; ``fraction=False``: a value in its own unit (seconds);
        ``seeds``: the row's own seeds (e.g. the fits of a feature extractor) when its values
        are not one per run seed."""
        if not fraction:
            self.raw.add(metric)
        own = None if seeds is None else [int(s) for s in seeds]
        self.rows.append(
            ResultRow(
                model, metric, [float(v) for v in per_seed], higher_is_better, paper, source, own
            )
        )

    def checkpoints(self, resume: bool) -> Path:
        """``<out>.checkpoints``: kept when resuming, else cleared; removed once the run folder
        is written."""
        path = Path(f"{self.out}.checkpoints")
        if not resume:
            remove_tree(path)
        stamp = path / "config.json"
        current = flat_config(self.config) | {"seeds": list(self.seeds)}
        if resume and stamp.exists():  # checkpoints trained with other settings are not reused
            stored = json.loads(stamp.read_text())
            check_same_config(stored, current, f"--resume: the checkpoints in {path}",
                              ignore=("seeds",))  # fmt: skip
        try:
            atomic_write_json(stamp, current)
        except OSError as e:  # e.g. a file where the run folder's parent should be
            raise ValueError(f"cannot write {str(self.out)!r}: {e.strerror or e}") from None
        self._checkpoints = path
        return path

    def note(self, text: str) -> None:
        self.notes.append(text)

    def plot(self, filename: str, fn: Callable[[Path], None]) -> None:
        self.plots.append((filename, fn))

    def run(self, body: Callable[[RunRecorder], None]) -> Path:
        """Run ``body(self)``, timing it, then write the folder; nothing is written on failure."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        with atomic_dir(self.out) as tmp:
            handler = logging.FileHandler(tmp / "run.log")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            try:
                atomic_write_json(tmp / "config.json", self.config)
                env = env_info(self.device)
                start = time.perf_counter()
                body(self)
                wall = time.perf_counter() - start
                metrics = {
                    "method": self.method,
                    "dataset": self.dataset,
                    "profile": self.profile,
                    "seeds": list(self.seeds),
                    "wall_time_s": round(wall, 2),
                    "peak_mem_mb": peak_mem_mb(self.device),
                    "results": [r.as_json() for r in self.rows],
                    "notes": self.notes,
                }
                atomic_write_json(tmp / "metrics.json", metrics)
                atomic_write_json(tmp / "env.json", env)
                atomic_write_text(
                    tmp / "results.md",
                    results_markdown(metrics, self.title, env, self.fractions, self.raw),
                )
                for filename, fn in self.plots:
                    fn(tmp / filename)
                log.info("wrote %s in %.1fs", self.out, wall)
            finally:
                log.removeHandler(handler)
                handler.close()
        if self._checkpoints is not None:  # the run folder is in place: no longer needed
            remove_tree(self._checkpoints)
        return self.out


def _fmt(v: float | None, scale: float, digits: int = 2) -> str:
    return "–" if v is None else f"{v * scale:.{digits}f}"


def results_markdown(
    metrics: dict[str, Any],
    title: str,
    env: dict[str, Any],
    fractions: bool = True,
    raw: set[str] | frozenset[str] = frozenset(),
) -> str:
    """A table per run: rows = models, columns = metrics, cells ``ours ± std [paper]``."""
    scale = 100.0 if fractions else 1.0
    digits = 2 if fractions else 3  # raw values (metres, losses) are often below 0.1
    results = metrics["results"]
    metric_names = list(dict.fromkeys(r["metric"] for r in results))
    models = list(dict.fromkeys(r["model"] for r in results))
    cell = {(r["model"], r["metric"]): r for r in results}
    n = len(metrics["seeds"])
    lines = [
        f"## {title or metrics['method']} — {metrics['dataset']} ({metrics['profile']} profile)",
        "",
        f"Mean ± std over {n} seed(s) {metrics['seeds']}"
        + (", in %" if fractions else "")
        + "; `[x]` is the paper's number. "
        f"Wall time {metrics['wall_time_s']:.1f} s, peak memory {metrics['peak_mem_mb']:.0f} MB on "
        f"{env.get('device_name', env.get('device'))}.",
        "",
        "| model | " + " | ".join(metric_names) + " |",
        "|---|" + "---|" * len(metric_names),
    ]
    for m in models:
        cells = []
        for k in metric_names:
            r = cell.get((m, k))
            if r is None:
                cells.append("")
                continue
            txt = (
                "undefined"
                if r["mean"] is None
                else f"{_fmt(r['mean'], scale, digits)} ± {_fmt(r['std'], scale, digits)}"
            )
            if k in raw:
                txt = f"{r['mean']:.3g} ± {r['std']:.2g}" if r["mean"] is not None else txt
            if r["paper"] is not None:
                txt += f" [{_fmt(r['paper'], 1.0 if k in raw else scale, digits)}]"
            cells.append(txt)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    sources = sorted({r["paper_source"] for r in results if r["paper_source"]})
    if sources:
        lines += ["", "Paper numbers: " + "; ".join(sources) + "."]
    if metrics["notes"]:
        lines += ["", "Notes:"] + [f"- {t}" for t in metrics["notes"]]
    return "\n".join(lines) + "\n"


def compare_runs(folders: Sequence[str | Path], fmt: str = "md") -> str:
    """One table of several run folders of the same method: a row per (model, metric), a
    ``mean ± std`` column per run, and the paper's number; ``fmt`` md, csv or json."""
    if fmt not in ("md", "csv", "json"):
        raise ValueError(f"--format must be md, csv or json, got {fmt!r}")
    if len(folders) < 1:
        raise ValueError("give at least one run folder")
    runs = []
    for f in folders:
        path = Path(f) / "metrics.json"
        if not path.is_file():
            raise ValueError(f"{f} is not a run folder (no metrics.json)")
        runs.append((Path(f).name or str(f), json.loads(path.read_text())))
    methods = {m["method"] for _, m in runs}
    if len(methods) > 1:
        raise ValueError(f"runs of different methods cannot be compared: {sorted(methods)}")
    names = [
        n if [x for x, _ in runs].count(n) == 1 else str(f)
        for (n, _), f in zip(runs, folders, strict=True)
    ]
    keys: dict[tuple[str, str], float | None] = {}
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for name, (_, m) in zip(names, runs, strict=True):
        for r in m["results"]:
            k = (r["model"], r["metric"])
            keys.setdefault(k, r["paper"])
            cells.setdefault(k, {})[name] = r
    if fmt == "json":
        return json.dumps(
            [{"model": k[0], "metric": k[1], "paper": p,
              "runs": {n: {"mean": c["mean"], "std": c["std"], "per_seed": c["per_seed"]}
                       for n, c in cells[k].items()}}
             for k, p in keys.items()], indent=2)  # fmt: skip

    def cell(r: dict[str, Any] | None) -> str:
        if r is None:
            return ""
        return "undefined" if r["mean"] is None else f"{r['mean']:.4g} ± {r['std']:.2g}"

    header = ["model", "metric", *names, "paper"]
    rows = [[k[0], k[1], *(cell(cells[k].get(n)) for n in names), "" if p is None else f"{p:.4g}"]
            for k, p in keys.items()]  # fmt: skip
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([header, *rows])
        return buf.getvalue()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
