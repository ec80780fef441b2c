"""DIVA (Dukler et al., ICLR 2022): the dataset derivative of a weighted ridge head.

On fixed features ``z`` (with one-hot targets ``y``) and per-sample weights ``alpha``, the
weighted ridge solution ``W = C Z^T diag(alpha) Y`` with ``C = (Z^T diag(alpha) Z + lam I)^-1``
has closed-form leave-one-out predictions

    f^{-i}(z_i) = (p_i - s_i y_i) / (1 - s_i),   p_i = z_i^T W,   s_i = alpha_i z_i^T C z_i,

valid at ``alpha_i = 0`` (then ``s_i = 0`` and the LOO prediction is the fit's). The LOO loss (or
a validation loss) is differentiated with respect to ``alpha`` by autograd through this form:
O(N D^2 + D^3) with a Cholesky factor, never an N x N matrix. A positive derivative means
up-weighting the sample raises the loss (harmful).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from reprkit.core.base import BaseEstimator
from reprkit.core.validate import encode_labels
from reprkit.methods.diva.config import DIVAConfig

OBJECTIVES = (None, "loo", "val")
RULES = {"normalised": 0.5, "plain": 0.1}  # reweighting rule -> its default step size


def as_features(x: Any, name: str = "features", dtype=torch.float64) -> torch.Tensor:
    """A finite 2-D float tensor, or a clear error naming ``name``."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (N, D), got shape {tuple(t.shape)}")
    t = t.to(dtype)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contain NaN or inf")
    return t


def as_labels(
    y: Any, n: int, name: str = "labels", classes: Any = None
) -> tuple[torch.Tensor, np.ndarray]:
    """Labels of any hashable type -> (int64 codes, ``classes_``); with ``classes`` (a fitted
    model's), labels outside them are refused."""
    codes, classes_ = encode_labels(y, name, classes=classes)
    if len(codes) != n:
        raise ValueError(f"{name} must have {n} entries (one per row), got {len(codes)}")
    return torch.from_numpy(codes), classes_


def ridge_fit(Z: torch.Tensor, Y: torch.Tensor, alpha: torch.Tensor, lam: float):
    """(W, in-sample predictions P, leverages s) of the weighted ridge regression."""
    d = Z.shape[1]
    A = Z.T @ (alpha[:, None] * Z) + lam * torch.eye(d, dtype=Z.dtype, device=Z.device)
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) != 0:
        raise ValueError(
            "the weighted Gram matrix is singular: use lam > 0 (ridge) or more samples than "
            "features with positive weight"
        )
    W = torch.cholesky_solve(Z.T @ (alpha[:, None] * Y), L)
    CZt = torch.cholesky_solve(Z.T, L)  # D x N
    s = alpha * (Z * CZt.T).sum(1)
    return W, Z @ W, s


def loo_predictions(Z: torch.Tensor, Y: torch.Tensor, alpha: torch.Tensor, lam: float):
    """Closed-form LOO predictions f^{-i}(z_i), one row per sample."""
    _, P, s = ridge_fit(Z, Y, alpha, lam)
    return (P - s[:, None] * Y) / (1 - s)[:, None]


def sample_loss(F_: torch.Tensor, y: torch.Tensor, loss: str, temperature: float) -> torch.Tensor:
    """Per-sample loss of predictions ``F_`` (N, K) for labels ``y``."""
    if loss == "squared":
        return ((F_ - F.one_hot(y, F_.shape[1]).to(F_.dtype)) ** 2).sum(1)
    return F.cross_entropy(F_ / temperature, y, reduction="none")


class DIVA(BaseEstimator):
    """Dataset derivative of a weighted ridge head on fixed features.

    ``fit(features, labels, val=None, sample_weight=None)``; then ``score_samples()`` (the
    derivative of the LOO loss, or of the validation loss when ``val`` was given, per sample
    weight; positive = harmful), ``detect(eps)``, ``reweight(steps, lr, objective, rule)``,
    ``extend(pool)``, ``loo_predictions()``, ``predict(features)`` and ``transform()``.

    With a small clean validation set, ``fit(..., val=(features, labels))`` then
    ``reweight(steps=3)`` (the validation objective) or ``extend(pool)`` is the recommended
    use: under class-conditional noise and class imbalance the validation derivative moves test
    accuracy by several points where the LOO derivative, scored against the noisy labels
    themselves, barely moves it (docs/methods/diva.md).
    """

    name: ClassVar[str] = "diva"
    config_cls: ClassVar[type] = DIVAConfig

    def _dtype(self) -> torch.dtype:
        return torch.float64 if self.config.dtype == "float64" else torch.float32

    def _design(self, x: Any, name: str) -> torch.Tensor:
        Z = as_features(x, name, self._dtype())
        if hasattr(self, "n_features_") and Z.shape[1] != self.n_features_:
            raise ValueError(f"{name} must have {self.n_features_} columns, got {Z.shape[1]}")
        if self.config.fit_intercept:
            Z = torch.cat([Z, torch.ones(len(Z), 1, dtype=Z.dtype)], 1)
        return Z

    def fit(self, features: Any, labels: Any, *, val: Any = None, sample_weight: Any = None):
        cfg: DIVAConfig = self.config
        cfg.validate()
        for attr in ("n_features_",):
            self.__dict__.pop(attr, None)
        Z = self._design(features, "features")
        y, self.classes_ = as_labels(labels, len(Z))
        if len(self.classes_) < 2:
            raise ValueError("labels must contain at least 2 classes")
        if cfg.lam == 0 and len(Z) < Z.shape[1]:
            raise ValueError(
                f"lam=0 needs at least as many samples as features (+1 for the intercept): "
                f"N={len(Z)} < D={Z.shape[1]}; use lam > 0 or lam=None"
            )
        if sample_weight is None:
            alpha = torch.ones(len(Z), dtype=Z.dtype)
        else:
            alpha = torch.as_tensor(np.asarray(sample_weight), dtype=Z.dtype)
            if alpha.shape != (len(Z),) or not torch.isfinite(alpha).all() or (alpha < 0).any():
                raise ValueError(
                    f"sample_weight must be {len(Z)} finite non-negative numbers, one per row"
                )
        self.n_features_ = Z.shape[1] - int(cfg.fit_intercept)
        self.n_classes_ = len(self.classes_)
        self.Z_, self.y_ = Z, y
        self.Y_ = F.one_hot(y, self.n_classes_).to(Z.dtype)
        self.val_ = None
        if val is not None:
            vz = self._design(val[0], "val features")
            self.val_ = (vz, as_labels(val[1], len(vz), "val labels", self.classes_)[0])
        self.lam_ = float(cfg.lam) if cfg.lam is not None else self._choose_lam()
        self.alpha_ = alpha
        self.fitted_ = True
        return self

    def _choose_lam(self) -> float:
        """The grid value with the lowest closed-form LOO squared error at weights 1."""
        ones = torch.ones(len(self.Z_), dtype=self.Z_.dtype)
        errs = []
        for lam in self.config.lam_grid:
            f = loo_predictions(self.Z_, self.Y_, ones, lam)
            errs.append(float(((f - self.Y_) ** 2).sum(1).mean()))
        self.lam_errors_ = dict(zip(self.config.lam_grid, errs, strict=True))
        return float(self.config.lam_grid[int(np.argmin(errs))])

    # --- the objective and its derivative ---------------------------------------------------

    def _use_val(self, objective: str | None) -> bool:
        """True for the validation objective: ``objective`` "val" / "loo", or None for the
        validation loss when validation data was given at fit, else the LOO loss."""
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
        if objective == "val" and self.val_ is None:
            raise ValueError(
                "objective='val' needs validation data: fit(..., val=(features, labels))"
            )
        return self.val_ is not None if objective is None else objective == "val"

    def objective(self, alpha: torch.Tensor | None = None, objective: str | None = None):
        """Mean LOO loss over the training samples ("loo") or mean validation loss ("val") at
        weights ``alpha``; None: "val" when validation data was given at fit, else "loo"."""
        self._check_fitted()
        a = self.alpha_ if alpha is None else alpha
        return self._objective(self.Z_, self.Y_, self.y_, a, self._use_val(objective))

    def _objective(self, Z, Y, y, alpha, use_val: bool, n_scored: int | None = None):
        """Mean validation loss of the ridge fit on (Z, Y, alpha), or mean LOO loss over the
        first ``n_scored`` rows (all by default)."""
        loss, t = self.config.loss, self.config.temperature
        if use_val:
            W, _, _ = ridge_fit(Z, Y, alpha, self.lam_)
            return sample_loss(self.val_[0] @ W, self.val_[1], loss, t).mean()
        f = loo_predictions(Z, Y, alpha, self.lam_)[:n_scored]
        return sample_loss(f, y[:n_scored], loss, t).mean()

    def score_samples(self, objective: str | None = None) -> np.ndarray:
        """d objective / d alpha_i at the current weights (positive: the sample hurts);
        ``objective`` as in :meth:`objective`."""
        self._check_fitted()
        a = self.alpha_.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(self.objective(a, objective), a)
        return g.detach().numpy()

    def detect(self, eps: float = 0.0, objective: str | None = None) -> np.ndarray:
        """Boolean mask of samples whose derivative exceeds ``eps`` (flagged as harmful)."""
        return self.score_samples(objective) > eps

    def loo_predictions(self) -> np.ndarray:
        self._check_fitted()
        return loo_predictions(self.Z_, self.Y_, self.alpha_, self.lam_).numpy()

    def reweight(
        self,
        steps: int = 1,
        lr: float | None = None,
        objective: str | None = None,
        rule: str = "normalised",
    ) -> DIVA:
        """``steps`` of projected gradient descent on the weights (clipped at 0).

        ``rule="normalised"`` (default, lr 0.5): ``alpha <- alpha - lr * g / max|g|``, so the
        most harmful sample loses ``lr`` whatever the objective's scale. ``rule="plain"`` (lr
        0.1): the paper's ``alpha <- alpha - lr * g`` on the gradient ``g`` of the *mean*
        objective, whose entries are O(1/N): use ``lr`` of order N for a visible step.
        ``objective`` "val" (recommended when a clean validation set exists; the default
        then), "loo" or None, as in :meth:`objective`."""
        self._check_fitted()
        if rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
        lr = RULES[rule] if lr is None else lr
        if steps < 0 or lr <= 0:
            raise ValueError(f"steps must be >= 0 and lr > 0, got steps={steps}, lr={lr}")
        self._use_val(objective)  # a bad objective fails before any work
        for _ in range(steps):
            g = torch.as_tensor(self.score_samples(objective))
            scale = g.abs().max() if rule == "normalised" else 1.0
            if scale == 0:
                break
            self.alpha_ = (self.alpha_ - lr * g / scale).clamp_min(0).detach()
        return self

    def extend(
        self, pool_features: Any, pool_labels: Any, max_add: int | None = None
    ) -> np.ndarray:
        """Greedily add pool samples (weight 0 -> 1) whose derivative is the most negative,
        one at a time, until none would lower the objective (or ``max_add``). Returns the pool
        indices in the order added; the added samples join the training set."""
        self._check_fitted()
        Zp = self._design(pool_features, "pool_features")
        yp = as_labels(pool_labels, len(Zp), "pool_labels", self.classes_)[0]
        n = len(self.Z_)
        Z = torch.cat([self.Z_, Zp])
        Y = torch.cat([self.Y_, F.one_hot(yp, self.n_classes_).to(Z.dtype)])
        y = torch.cat([self.y_, yp])
        alpha = torch.cat([self.alpha_, torch.zeros(len(Zp), dtype=Z.dtype)])
        added: list[int] = []
        cap = len(Zp) if max_add is None else max_add
        while len(added) < cap:
            a = alpha.clone().requires_grad_(True)
            # validation loss, or the LOO loss over the original training samples only
            obj = self._objective(Z, Y, y, a, self.val_ is not None, n_scored=n)
            (g,) = torch.autograd.grad(obj, a)
            gp = g[n:].clone()
            gp[alpha[n:] > 0] = float("inf")
            j = int(torch.argmin(gp))
            if not gp[j] < 0:
                break
            alpha[n + j] = 1.0
            added.append(j)
        keep = torch.cat([torch.arange(n), n + torch.as_tensor(added, dtype=torch.long)])
        self.Z_, self.Y_, self.y_ = Z[keep], Y[keep], y[keep]
        self.alpha_ = alpha[keep]
        return np.asarray(added, dtype=np.int64)

    def predict_scores(self, features: Any) -> np.ndarray:
        """Ridge outputs (N, K) of the head fitted with the current weights."""
        self._check_fitted()
        W, _, _ = ridge_fit(self.Z_, self.Y_, self.alpha_, self.lam_)
        return (self._design(features, "features") @ W).numpy()

    def predict(self, features: Any) -> np.ndarray:
        """Predicted labels (in ``classes_``) of the ridge head."""
        return self.classes_[self.predict_scores(features).argmax(1)]

    def transform(self, drop_zero: bool = True):
        """The reweighted training set: (features, labels, weights), without zero-weight rows
        when ``drop_zero``."""
        self._check_fitted()
        keep = self.alpha_ > 0 if drop_zero else torch.ones_like(self.y_, dtype=bool)
        Z = self.Z_[:, : self.n_features_]
        return Z[keep].numpy(), self.classes_[self.y_[keep].numpy()], self.alpha_[keep].numpy()

    @property
    def sample_weights_(self) -> np.ndarray:
        """The training samples' weights α (numpy, like ``score_samples``)."""
        self._check_fitted()
        return self.alpha_.detach().numpy().copy()

    def _get_state(self) -> dict[str, Any]:
        st = {"Z": self.Z_, "y": self.y_, "alpha": self.alpha_, "lam": self.lam_}
        st |= {"n_features": self.n_features_, "n_classes": self.n_classes_}
        st |= {"classes": self.classes_.tolist()}
        if self.val_ is not None:
            st |= {"val_z": self.val_[0], "val_y": self.val_[1]}
        return st

    def _set_state(self, state: dict[str, Any]) -> None:
        self.Z_, self.y_ = state["Z"], state["y"]
        self.alpha_, self.lam_ = state["alpha"], float(state["lam"])
        self.n_features_, self.n_classes_ = int(state["n_features"]), int(state["n_classes"])
        self.classes_ = np.asarray(state.get("classes", range(self.n_classes_)))
        self.Y_ = F.one_hot(self.y_, self.n_classes_).to(self.Z_.dtype)
        self.val_ = (state["val_z"], state["val_y"]) if "val_z" in state else None
