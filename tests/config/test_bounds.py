"""Issue 28: every count has an upper bound, checked by `load` before anything is built."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import load
from agentic_jax.config.env import PARAM_BOUNDS
from agentic_jax.config.env import SIZE_BOUNDS as ENV_BOUNDS
from agentic_jax.config.ppo import SIZE_BOUNDS as PPO_BOUNDS
from agentic_jax.config.system import SIZE_BOUNDS as SYSTEM_BOUNDS

BOUNDS = {**{f"env.{k}": v for k, v in ENV_BOUNDS.items()},
          **{f"env.{k}": high for k, (_, high) in PARAM_BOUNDS.items()},
          **{f"ppo.{k}": v for k, v in PPO_BOUNDS.items()},
          **{f"system.{k}": v for k, v in SYSTEM_BOUNDS.items()}}


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(BOUNDS)), excess=st.integers(1, 10**18))
def test_any_count_above_its_bound_is_refused_by_name_with_the_bound(name, excess):
    value = BOUNDS[name] + excess
    with pytest.raises(ValueError) as info:
        load(None, [f"{name}={value}"])
    assert str(info.value).startswith(f"{name}={value} is out of range (allowed: an int in [")
    assert f", {BOUNDS[name]}]" in str(info.value)


def test_counts_at_their_bounds_are_accepted():
    load(None, ["env.n_agents=1024", "ppo.n_envs=1048576", "ppo.n_steps=1",
                "ppo.batch_size=1024", "ppo.total_timesteps=1048576",
                "system.n_eval_episodes=1048576"])
