"""Fixed features for DIVA's experiment, none of them downloading weights: standardised raw
features (sklearn's bundled sets), the offline MiniLM for text, and a small CNN trained on a
disjoint part of the CIFAR-10 subset for images."""

from __future__ import annotations

import numpy as np
import torch

FEATURE_SETS = ("digits", "breast_cancer", "wine", "cora_text", "cifar10_subset", "synthetic_blobs")


def load_features(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(features (N, D) float64, labels (N,), how the features were made)."""
    if name in ("digits", "breast_cancer", "wine"):
        from sklearn import datasets

        x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return x.astype(np.float64), y, "raw features (sklearn's bundled copy)"
    if name == "synthetic_blobs":
        rng = np.random.default_rng(seed)
        centers = rng.normal(0, 2.0, (5, 20))
        y = np.arange(1000) % 5
        return centers[y] + rng.normal(0, 1.0, (1000, 20)), y, "5 Gaussian blobs in 20-D"
    if name == "cora_text":
        from sentence_transformers import SentenceTransformer

        from reprkit.datasets.text_graphs import load_cora_text
        from reprkit.models.text import default_model_path

        data, texts = load_cora_text()
        y = data.y.numpy()
        keep = np.flatnonzero(y >= 0)  # 66 papers have no label
        model = SentenceTransformer(default_model_path(), device="cpu")
        model.max_seq_length = 128
        x = model.encode(
            [texts[i] for i in keep], batch_size=64, convert_to_numpy=True, show_progress_bar=False
        )
        how = "all-MiniLM-L6-v2 embeddings of the abstracts (max 128 tokens; unlabelled dropped)"
        return x.astype(np.float64), y[keep], how
    if name == "cifar10_subset":
        return _cifar_features(seed)
    raise ValueError(f"dataset must be one of {list(FEATURE_SETS)}, got {name!r}")


def _cifar_features(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    from reprkit.core.seed import seeded
    from reprkit.datasets.images import load_images
    from reprkit.methods.deepaa.config import TrainConfig
    from reprkit.methods.deepaa.nets import crop_flip_policy, train_classifier

    d = load_images("cifar10_subset")
    half = len(d.x_train) // 2  # the extractor is trained on the first half only
    cfg = TrainConfig(width=16, epochs=15, batch_size=128, lr=0.1)
    with seeded(seed) as (gen, _):
        net = train_classifier(
            d.x_train[:half], d.y_train[:half], d.n_classes, cfg, crop_flip_policy(), gen,
            device=torch.device("cpu"),
        )  # fmt: skip
    x = torch.cat([d.x_train[half:], d.x_test])
    y = torch.cat([d.y_train[half:], d.y_test])
    with torch.no_grad():
        feats = torch.cat(
            [net.features(x[i : i + 500].float() / 255) for i in range(0, len(x), 500)]
        )
    how = (
        f"penultimate layer (64-D) of a ResNet-8 trained {cfg.epochs} epochs with crop+flip on the "
        f"other {half} training images"
    )
    return feats.double().numpy(), y.numpy(), how
