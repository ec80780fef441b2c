from __future__ import annotations

import dataclasses

import pytest

from reprkit.core.config import apply_overrides, config_from_dict, config_to_dict, parse_set
from reprkit.methods.coldbrew.config import ColdBrewConfig, ColdBrewExperimentConfig


def test_typed_overrides_convert_strings():
    cfg = apply_overrides(
        ColdBrewConfig(),
        {
            "teacher.lr": "0.02",
            "student.top_k": "5",
            "student.exclude_self": "false",
            "teacher.se": "all",
        },
    )
    assert cfg.teacher.lr == 0.02 and cfg.student.top_k == 5
    assert cfg.student.exclude_self is False and cfg.teacher.se == "all"


def test_unknown_key_suggests_the_nearest():
    with pytest.raises(KeyError, match="did you mean 'coldbrew.teacher.lr'"):
        apply_overrides(ColdBrewExperimentConfig(), {"coldbrew.teacher.lrr": "1"})


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("student.top_k", "three", "expected an integer"),
        ("student.top_k", "2.5", "expected an integer"),
        ("teacher.se", "some", "expected one of"),
        ("student.exclude_self", "maybe", "expected a boolean"),
        ("student.top_k", "0", "top_k must be >= 1"),
        ("seed", "-1", "seed must be >= 0"),
    ],
)
def test_bad_values_are_rejected(key, value, match):
    with pytest.raises(ValueError, match=match):
        apply_overrides(ColdBrewConfig(), {key: value})


def test_overrides_do_not_mutate_and_roundtrip():
    base = ColdBrewConfig()
    new = apply_overrides(base, {"teacher.hidden": 8})
    assert base.teacher.hidden == 128 and new.teacher.hidden == 8
    assert config_from_dict(ColdBrewConfig, config_to_dict(new)) == new
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.seed = 3  # type: ignore[misc]


def test_seed_zero_is_a_seed():
    assert apply_overrides(ColdBrewConfig(seed=5), {"seed": "0"}).seed == 0


def test_parse_set():
    assert parse_set(["a.b=1", "c = x=y"]) == {"a.b": "1", "c": "x=y"}
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["novalue"])
