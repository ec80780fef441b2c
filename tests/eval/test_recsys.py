"""ItemRec / UserRec metrics, computed by hand."""

import numpy as np
import pytest

from reprkit.eval.recsys import assignment_metrics, top_k


def test_top_k_both_directions_and_exclusion():
    s = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    assert top_k(s, 1).tolist() == [[True, False, False], [False, True, False]]
    assert top_k(s, 1, axis=0).tolist() == [[True, False, False], [False, True, True]]
    ex = np.array([[True, False, False], [False, False, False]])
    assert top_k(s, 1, exclude=ex).tolist() == [[False, False, True], [False, True, False]]
    with pytest.raises(ValueError, match="k must be in"):
        top_k(s, 4)


def test_metrics_by_hand():
    a = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=bool)
    t = np.array([[1, 0, 0, 1], [0, 0, 1, 0]], dtype=bool)
    m = assignment_metrics(a, t)
    assert m["precision"] == pytest.approx(2 / 4)  # hits (0,0) and (1,2)
    assert m["recall"] == pytest.approx(2 / 3)
    # items receive 2, 1, 1, 0 of the 4 pairs: exp(entropy of (1/2, 1/4, 1/4))
    assert m["item_perplexity"] == pytest.approx(np.exp(-(0.5 * np.log(0.5) + 0.5 * np.log(0.25))))
    assert m["user_perplexity"] == pytest.approx(2.0)
    assert m["item_coverage"] == pytest.approx(0.75)
