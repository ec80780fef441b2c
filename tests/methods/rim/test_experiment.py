"""The RIM experiment end to end (smoke profile, generated events) and its baselines."""

import json

import numpy as np
import pytest

from reprkit.datasets.interactions import load_events, synthetic_events
from reprkit.methods.rim.experiment import resolve_config, run


def test_smoke_run_writes_every_row_and_the_curves(tmp_path):
    wider = {"item_frac": 0.05, "user_frac": 0.05}  # 1 % of 100 items / 200 users is too few
    out = run("synthetic_events", [0], "smoke", wider, out=tmp_path / "r", progress=False)
    m = json.loads((out / "metrics.json").read_text())
    rows = {(r["model"], r["metric"]): r for r in m["results"]}
    for name in ("random", "pop", "hawkes", "hp", "rnn", "rnn*hawkes", "rnn*hp", "als"):
        assert "itemrec_prec" in {k for n, k in rows if n == name}, name
        assert (name, "userrec_prec") in rows
    # the diagnostics: held-out NLL, λ's spread, the true-count ceiling
    for key in (("rnn", "heldout_nll"), ("item_pop", "heldout_nll"), ("hp", "lambda_max_min"),
                ("hawkes", "lambda_log_std"), ("truecount*rnn", "userrec_prec")):  # fmt: skip
        assert key in rows, key
    assert rows[("rnn", "heldout_nll")]["higher_is_better"] is False
    assert rows[("hp", "lambda_max_min")]["mean"] >= 1.0
    assert rows[("rnn*hp", "userrec_prec")]["paper"] == pytest.approx(0.047)
    # skewed item popularity: recommending popular items beats chance by far (1.15 vs 0.14 %)
    pop = rows[("pop", "itemrec_prec")]["mean"]
    assert pop > 3 * rows[("random", "itemrec_prec")]["mean"]
    assert any(k[0].startswith("match_online_dual") for k in rows)
    assert (out / "relevance_diversity.png").is_file()
    lp = [n for n in m["notes"] if "objective ratio" in n][0]
    # rounding costs a little (0.88 on this tight 20 x 10 sub-problem with k = 1: every item
    # at exactly its target); the dual against the LP is tested in test_matching.py
    assert float(lp.rsplit(" ", 1)[1].rstrip(".")) > 0.8


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match="models must be a subset"):
        resolve_config("smoke", {"models": ("rnn", "nope")})
    with pytest.raises(ValueError, match="match_model"):
        resolve_config("smoke", {"match_model": "als"})
    with pytest.raises(ValueError, match="item_frac"):
        resolve_config("smoke", {"item_frac": 0.0})
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_events("ml20m")


def test_implicit_baselines_score_co_occurring_items():
    pytest.importorskip("implicit")
    from reprkit.methods.rim.baselines import implicit_scores

    e = synthetic_events(n_users=200, n_items=40, seed=0)
    for kind in ("als", "bpr"):
        s = implicit_scores(e, np.arange(200), kind, factors=8, iterations=10, seed=0)
        assert s.shape == (200, 40) and np.isfinite(s).all()
        # the users' own items score above the rest on average
        seen = np.zeros((200, 40), dtype=bool)
        seen[e.user, e.item] = True
        assert s[seen].mean() > s[~seen].mean()
    with pytest.raises(ValueError, match="kind must be one of"):
        implicit_scores(e, np.arange(3), "svd")


def test_ml1m_download_code_reads_an_archive_in_its_format(fake_download, tmp_path):
    """ML-1M is not staged here: its download path runs on a tiny archive in GroupLens'
    format (``ml-1m/ratings.dat``, ``UserID::MovieID::Rating::Timestamp``)."""
    import io
    import zipfile

    from reprkit.datasets import interactions

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-1m/ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
                   "2::1193::4::978298413\n")  # fmt: skip
    calls = fake_download(buf.getvalue())
    e = interactions.load_ml1m()
    assert calls == ["https://files.grouplens.org/datasets/movielens/ml-1m.zip"]
    assert (e.n_users, e.n_items, len(e.time)) == (2, 2, 3) and e.time[0] == 978298413
    assert (tmp_path / "cache/reprkit/movielens_1m/ml-1m.zip").is_file()
