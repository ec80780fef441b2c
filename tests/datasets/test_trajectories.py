"""Trajectory scenes: windowing of a recording, the staged ETH/UCY files, the synthetic
leader-follower generator."""

from __future__ import annotations

import numpy as np
import pytest

from reprkit.datasets.trajectories import (
    ETH_UCY,
    check_scenes,
    load_eth_ucy,
    scenes_from_rows,
    synthetic_interaction,
)
from tests.conftest import shared_file


def test_windows_of_a_tiny_recording():
    # ped 1 walks 25 frames along x; ped 2 is seen for the first 10 frames only
    rows = [(f * 10, 1, 0.5 * f, 0.0) for f in range(25)]
    rows += [(f * 10, 2, 0.5 * f, 1.0) for f in range(10)]
    s = scenes_from_rows(np.array(rows, float), max_neighbours=3)
    assert len(s) == 6  # ped 1: 25 - 20 + 1 windows; ped 2 never full
    np.testing.assert_allclose(s.past[0, 0, -1], 0)  # relative to the last observed position
    np.testing.assert_allclose(s.future[0, :, 0], 0.5 * np.arange(1, 13))
    assert s.present[0].tolist() == [True, True, False, False]  # ped 2 seen in frames 0-7
    assert s.present[3].tolist() == [True, False, False, False]
    np.testing.assert_allclose(s.past[0, 1, :, 1], 1.0)
    check_scenes(s)


def test_eth_ucy_leave_one_out():
    shared_file("eth_ucy/all_data/biwi_eth.txt.gz")
    test = load_eth_ucy("eth", "test")
    train = load_eth_ucy("eth", "train")
    assert len(test) == 364 and len(train) > 20_000
    assert test.past.shape[1:] == (7, 8, 2) and test.future.shape[1:] == (12, 2)
    check_scenes(test)
    # pedestrians move about 0.2-0.6 m per 0.4 s step
    speed = np.linalg.norm(np.diff(test.future, axis=1), axis=-1).mean()
    assert 0.1 < speed < 1.0
    with pytest.raises(ValueError, match="scene must be one of"):
        load_eth_ucy("paris", "test")
    assert set(ETH_UCY) == {"eth", "hotel", "univ", "zara1", "zara2"}


def test_synthetic_follower_repeats_its_leader():
    s = synthetic_interaction(50, seed=0, noise=0.0)
    assert s.present[:, 1].all()  # the leader is always there
    # the follower's observed path is the leader's path `delay` steps earlier
    lead = s.past[:, 1:].copy()
    ok = 0
    for i in range(50):
        j = int(np.argmin([np.abs(s.past[i, 0, 4:] - s.past[i, a, :4]).max() if s.present[i, a]
                           else np.inf for a in range(1, 7)]))  # fmt: skip
        ok += np.abs(s.past[i, 0, 4:] - lead[i, j, :4]).max() < 1e-4
    assert ok == 50
    with pytest.raises(ValueError, match="delay"):
        synthetic_interaction(5, delay=0)
