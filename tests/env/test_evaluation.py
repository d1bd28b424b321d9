"""The evaluation loop (agentic_jax.env.evaluation): a policy over a batch of whole episodes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_heuristics, evaluate_policy
from agentic_jax.env.rules import HEURISTICS, SELECT_RULES


def test_evaluate_policy_is_deterministic_and_complete():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=20)
    out1 = evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 8)
    out2 = evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 8)
    assert set(out1) >= {"mean_reward", "completion_rate", "utilisation",
                         "collaboration_frequency", "match"}
    for k in out1:
        assert float(out1[k]) == float(out2[k]) and np.isfinite(float(out1[k]))
    with pytest.raises(ValueError, match="n_episodes"):
        evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 0)


def test_evaluate_policy_returns_episode_rewards_paired_by_key():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=20)
    key = jax.random.key(4)
    out = evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8,
                          return_episode_rewards=True)
    rewards = np.asarray(out["episode_rewards"])
    assert rewards.shape == (8,)
    np.testing.assert_allclose(rewards.mean(), float(out["mean_reward"]), rtol=1e-5)
    np.testing.assert_allclose(rewards.std(), float(out["std_reward"]), rtol=1e-4)
    assert "episode_rewards" not in evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8)
    # the same key gives the same episodes: a policy against itself differs by exactly 0
    again = evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8,
                            return_episode_rewards=True)
    np.testing.assert_array_equal(rewards, np.asarray(again["episode_rewards"]))


def test_learned_policy_signature_works_through_observations():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=10)

    def from_obs(key, state, params):
        obs = env.get_obs(state, params)
        return jnp.full((env.num_actions,), 0.9) * (obs.sum() > -1e9)

    out = evaluate_policy(from_obs, env, params, jax.random.key(0), 4)
    assert float(out["collaboration_frequency"]) == pytest.approx(1.0)


SHAPE = dict(n_agents=3, max_tasks=5, n_task_types=2, max_active_per_agent=2)
SELECT_ENV = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)
FIFO_PARAMS = MultiAgentTaskEnvironment().default_params.replace(max_steps_in_episode=30)


def test_evaluate_heuristics_uses_the_env_modes_table():
    # the select env gets the select rule
    key = jax.random.key(3)
    table = evaluate_heuristics(SELECT_ENV, FIFO_PARAMS, key, 8, ("always_accept",))
    want = evaluate_policy(SELECT_RULES["always_accept"], SELECT_ENV, FIFO_PARAMS, key, 8)
    assert set(table) == {"always_accept"}
    assert table["always_accept"]["mean_reward"] == float(want["mean_reward"])
    with pytest.raises(ValueError, match="unknown heuristic"):
        evaluate_heuristics(SELECT_ENV, FIFO_PARAMS, key, 4, ("fastest",))
