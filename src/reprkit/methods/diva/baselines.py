"""Data-valuation baselines on the same features, each returning a *suspicion* score per
training sample (higher = more likely harmful / mislabelled), so that all share one AUC code."""

from __future__ import annotations

import numpy as np
import torch

from reprkit.methods.diva.method import DIVA, ridge_fit, sample_loss


def loo_residual(m: DIVA) -> np.ndarray:
    """The sample's own LOO loss (how badly the others predict it)."""
    f = torch.as_tensor(m.loo_predictions())
    return sample_loss(f, m.y_, m.config.loss, m.config.temperature).numpy()


def self_confidence(m: DIVA) -> np.ndarray:
    """Minus the fitted head's in-sample score of the given label."""
    _, P, _ = ridge_fit(m.Z_, m.Y_, m.alpha_, m.lam_)
    return -P.gather(1, m.y_[:, None]).squeeze(1).numpy()


def influence(m: DIVA) -> np.ndarray:
    """Exact influence of up-weighting each sample on the validation loss (Koh & Liang), with
    the ridge Hessian inverted explicitly: ``grad_W L_val . (-H^-1 grad_W l_j)``. For a ridge
    head this equals DIVA's validation derivative (tested)."""
    if m.val_ is None:
        raise ValueError("influence needs validation data: fit(..., val=(features, labels))")
    Z, Y, a = m.Z_, m.Y_, m.alpha_
    A = Z.T @ (a[:, None] * Z) + m.lam_ * torch.eye(Z.shape[1], dtype=Z.dtype)
    C = torch.linalg.inv(A)
    W = (C @ Z.T @ (a[:, None] * Y)).requires_grad_(True)
    vz, vy = m.val_
    lv = sample_loss(vz @ W, vy, m.config.loss, m.config.temperature).mean()
    (gW,) = torch.autograd.grad(lv, W)  # D x K
    R = Y - Z @ W.detach()  # residuals y_j - p_j
    # dW/dalpha_j = C z_j r_j^T  =>  dL/dalpha_j = z_j^T C gW r_j
    return ((Z @ C @ gW) * R).sum(1).numpy()


def knn_shapley(m: DIVA, k: int = 10) -> np.ndarray:
    """Exact KNN-Shapley (Jia et al., 2019) of each sample for a K-NN classifier on the
    validation points, averaged over them; suspicion = minus the value."""
    if m.val_ is None:
        raise ValueError("knn_shapley needs validation data: fit(..., val=(features, labels))")
    Z, y = m.Z_[:, : m.n_features_], m.y_
    vz, vy = m.val_[0][:, : m.n_features_], m.val_[1]
    n = len(Z)
    order = torch.cdist(vz, Z).argsort(1)  # (V, N) nearest first
    match = (y[order] == vy[:, None]).to(torch.float64)  # (V, N)
    s = torch.zeros_like(match)
    s[:, n - 1] = match[:, n - 1] / n
    for i in range(n - 2, -1, -1):  # i is 0-based: rank i + 1
        s[:, i] = s[:, i + 1] + (match[:, i] - match[:, i + 1]) / k * min(k, i + 1) / (i + 1)
    values = torch.zeros(n, dtype=torch.float64)
    values.scatter_add_(0, order.flatten(), s.flatten())
    return -(values / len(vz)).numpy()


def data_oob(m: DIVA, n_bags: int = 50, seed: int = 0) -> np.ndarray:
    """Data-OOB (Kwon & Zou, 2023) with ridge heads: fit on bootstrap samples (the bootstrap
    counts are the ridge weights), score each sample by how often its out-of-bag prediction
    misses its label."""
    gen = torch.Generator().manual_seed(seed)
    n = len(m.Z_)
    hits = torch.zeros(n, dtype=torch.float64)
    seen = torch.zeros(n, dtype=torch.float64)
    for _ in range(n_bags):
        counts = torch.bincount(torch.randint(n, (n,), generator=gen), minlength=n).to(m.Z_.dtype)
        _, P, _ = ridge_fit(m.Z_, m.Y_, counts, m.lam_)
        oob = counts == 0
        hits[oob] += (P[oob].argmax(1) == m.y_[oob]).to(torch.float64)
        seen[oob] += 1
    return -(hits / seen.clamp_min(1)).numpy()


def random_scores(m: DIVA, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(len(m.Z_))


def diva_loo(m: DIVA) -> np.ndarray:
    return m.score_samples("loo")


def diva_val(m: DIVA) -> np.ndarray:
    return m.score_samples("val")


SCORERS = {
    "diva_loo": diva_loo,
    "diva_val": diva_val,
    "loo_residual": loo_residual,
    "self_confidence": self_confidence,
    "influence": influence,
    "knn_shapley": knn_shapley,
    "data_oob": data_oob,
    "random": random_scores,
}
