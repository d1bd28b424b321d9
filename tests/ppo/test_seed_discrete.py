"""The seed_discrete recipe (configs/seed_discrete.yaml) shrunk: discrete IPPO heads over the
seed mode's (accept, collaborate) categories train a few updates in one compile and evaluate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem

pytestmark = pytest.mark.slow  # a module-wide fixture compiles for ~20-40 s

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "seed_discrete.yaml"
SMALL = ["env.max_steps_in_episode=16", "ppo.n_envs=4", "ppo.n_steps=8", "ppo.batch_size=16",
         "ppo.n_epochs=1", "ppo.total_timesteps=128", "ppo.net_arch={pi: [8], vf: [8]}",
         "system.eval_freq=64", "system.checkpoint_freq=128", "system.n_eval_episodes=4",
         "system.heuristics=[expertise_greedy_helps]", "system.progress=false",
         "system.verbose=false", "system.async_checkpointing=false"]


@pytest.fixture(scope="module")
def trained():
    config = load(RECIPE, SMALL)
    system = AgenticRLSystem(config)
    system.train()
    return config, system


def test_the_recipe_is_discrete_heads_on_the_seed_mode(trained):
    config, system = trained
    assert (config.env.action_mode, config.ppo.policy, config.ppo.actor) == (
        "seed_discrete", "discrete", "ippo")
    assert system.env.spec().nvec == (4,) * config.env.n_agents


def test_it_trains_in_one_compile_and_evaluates(trained):
    config, system = trained
    assert system.update_step == 4 and system.trace_count() == 1
    metrics = system.evaluate(n_episodes=4)
    for key in ("mean_reward", "completion_rate", "collaboration_frequency"):
        assert np.isfinite(metrics[key])
    obs = np.zeros((3, system.env.obs_size()), np.float32)
    action = system.predict(obs)
    assert action.shape == (3, config.env.n_agents)
    assert set(np.unique(action)) <= {0, 1, 2, 3}
    heuristics = system.evaluate_heuristics(4)
    assert np.isfinite(heuristics["expertise_greedy_helps"]["mean_reward"])
