from __future__ import annotations

import math

import pytest

from reprkit.eval.metrics import feature_contribution_ratio, mean_std


def test_mean_std():
    assert mean_std([1.0]) == (1.0, 0.0)
    m, s = mean_std([1.0, 3.0])
    assert m == 2.0 and math.isclose(s, math.sqrt(2))
    with pytest.raises(ValueError, match="NaN"):
        mean_std([1.0, float("nan")])


def test_fcr_branches():
    # GNN 0.85, MLP 0.70, LP 0.78: graph adds 0.15, features add 0.07 -> 0.07 / 0.22
    assert math.isclose(feature_contribution_ratio(0.85, 0.70, 0.78), 0.07 / 0.22)
    assert feature_contribution_ratio(0.60, 0.70, 0.40) > 1.0  # MLP beats the GNN
    assert feature_contribution_ratio(0.60, 0.40, 0.70) < 0.0  # LP beats the GNN
    assert math.isnan(feature_contribution_ratio(0.5, 0.5, 0.5))


def test_undefined_seed_is_null_not_a_crash():
    from reprkit.eval.report import ResultRow

    row = ResultRow("dataset", "fcr", [0.3, float("nan")]).as_json()
    assert row["mean"] is None and row["std"] is None and row["per_seed"] == [0.3, None]
    assert ResultRow("m", "acc", [0.5, 0.7]).as_json()["mean"] == 0.6
