"""`SweepConfig`: the `sweep:` section parsed, validated, expanded and round-tripped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentic_jax.config import RunConfig, SweepConfig, load
from agentic_jax.config.sweep import TRACED, TRACED_ENV, TRACED_PPO
from agentic_jax.env import EnvParams
from agentic_jax.ppo import PPOHParams

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_traced_settings_are_the_hparams_and_the_float_env_params():
    assert set(TRACED_PPO) == set(PPOHParams.__dataclass_fields__)
    assert "arrival_rate" in TRACED_ENV and "max_steps_in_episode" not in TRACED_ENV
    assert all(isinstance(getattr(EnvParams(), n), float) for n in TRACED_ENV)
    assert "ppo.reward_scale" in TRACED and "ppo.n_envs" not in TRACED


def test_shipped_sweep_config_and_single_runs_ignore_the_section():
    config = load(CONFIGS / "sweep.yaml")
    assert config.sweep.seeds == 4 and config.sweep.n_members == 8
    assert [s["ppo.learning_rate"] for s in config.sweep.settings()] == [5e-4, 1e-3]
    assert load(CONFIGS / "quick.yaml").sweep is None


def test_grid_random_and_overrides():
    config = load({"sweep": {"seeds": 2, "grid": {"ppo.gamma": [0.9, 0.99],
                                                  "ppo.net_arch": [[8], [16, 16]]}}},
                  ["sweep.random.n=3", "sweep.random.ppo.learning_rate={log_uniform: [1e-5, 1e-2]}",
                   "sweep.random.seed=4"])
    sweep = config.sweep
    settings = sweep.settings()
    assert len(settings) == 2 * 2 * 3 and sweep.n_members == 24
    assert [s["ppo.gamma"] for s in settings[:6]] == [0.9] * 6
    lrs = [s["ppo.learning_rate"] for s in settings]
    assert all(1e-5 <= lr <= 1e-2 for lr in lrs) and lrs[:3] == lrs[3:6]  # drawn once
    assert sweep.settings() == settings  # seeded: the same draws every time
    assert load({"sweep": {"random": {"n": 3, "seed": 5, "ppo.learning_rate":
                                      {"uniform": [0.1, 0.2]}}}}).sweep.settings() != settings


def test_round_trip_through_yaml_and_hash():
    config = load({"sweep": {"seeds": 3, "grid": {"ppo.net_arch": [{"pi": [8], "vf": [4]}],
                                                  "env.arrival_rate": [0.5, 0.7]},
                             "random": {"n": 2, "ppo.ent_coef": {"uniform": [0.0, 0.01]}},
                             "memory_budget_mb": 512}})
    again = load(yaml.safe_load(config.to_yaml()))
    assert again == config and hash(again) == hash(config)
    assert RunConfig.from_dict(config.to_dict()).sweep == config.sweep
    assert "sweep" not in load(None).to_dict()


@pytest.mark.parametrize(
    "sweep, message",
    [
        ({"seeds": 0}, "sweep.seeds"),
        ({"grid": {"ppo.learning_rte": [1e-3]}}, r"sweep\.grid\.ppo\.learning_rte: unknown"),
        ({"grid": {"ppo.gamma": []}}, r"sweep\.grid\.ppo\.gamma=\[\] must be a non-empty list"),
        ({"grid": {"system.seed": [1, 2]}}, "system settings are shared"),
        ({"random": {"n": 4, "ppo.n_envs": {"uniform": [4, 8]}}},
         r"sweep\.random\.ppo\.n_envs: ppo\.n_envs changes array shapes"),
        ({"random": {"n": 4, "ppo.gamma": {"normal": [0, 1]}}}, "uniform"),
        ({"random": {"n": 4, "ppo.gamma": {"log_uniform": [0.0, 1]}}}, "log_uniform"),
        ({"random": {"ppo.gamma": {"uniform": [0.9, 0.99]}}}, "needs n"),
        ({"random": {"n": 2}}, "no setting to draw"),
        ({"grid": {"ppo.gamma": [0.9]}, "random": {"n": 2, "ppo.gamma": {"uniform": [0, 1]}}},
         "both in grid and random"),
        ({"trials": 3}, "unknown key sweep.trials"),
        ({"memory_budget_mb": -1}, "sweep.memory_budget_mb"),
    ],
)
def test_errors_name_the_key(sweep, message):
    with pytest.raises(ValueError, match=message):
        load({"sweep": sweep})


def test_parse_of_to_dict_is_equal():
    sweep = SweepConfig.parse({"seeds": 2, "grid": {"ppo.learning_rate": ["3e-4", 1e-3]}})
    assert SweepConfig.parse(sweep.to_dict()) == sweep
