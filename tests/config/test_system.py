"""`SystemConfig` (the `system:` section): defaults and validation (no compilation)."""

from __future__ import annotations

import pytest

from agentic_jax.config import SystemConfig


def test_default_checkpoint_freq_is_seed_value():
    assert SystemConfig().checkpoint_freq == 10_000
    assert SystemConfig().validate() == SystemConfig()


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"eval_freq": 0}, r"system\.eval_freq=0 is out of range"),
        ({"seed": -1}, r"system\.seed"),
        ({"max_timesteps": 0}, r"system\.max_timesteps"),
        ({"decline_fraction": -0.1}, r"system\.decline_fraction"),
        ({"target_completion_rate": 1.5}, r"system\.target_completion_rate.*\[0, 1\]"),
        ({"heuristics": ("oracle",)}, r"system\.heuristics"),
        ({"tensorboard": "yes"}, r"system\.tensorboard"),
        ({"devices": -1}, r"system\.devices=-1 is out of range \(allowed: an int in \[0, 65536\]"),
        ({"devices": 1.5}, r"system\.devices=1\.5 must be an int"),
    ],
)
def test_invalid_values_name_the_field(changes, match):
    with pytest.raises(ValueError, match=match) as err:
        SystemConfig(**changes).validate()
    assert "allowed" in str(err.value)


def test_heuristics_list_becomes_a_tuple():
    assert SystemConfig(heuristics=["random"]).heuristics == ("random",)


def test_heuristics_accept_every_rule_name():
    """Any rule of `RULES` (both action modes use the same names) is a valid baseline."""
    config = SystemConfig(heuristics=["expected_rate_helps", "earliest_deadline"])
    assert config.validate().heuristics == ("expected_rate_helps", "earliest_deadline")
