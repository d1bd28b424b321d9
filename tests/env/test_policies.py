"""Heuristic policies and evaluate_policy at the default parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.builders import make_state

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.policies import HEURISTICS, evaluate_heuristics, evaluate_policy


@pytest.fixture(scope="module")
def table():
    env = MultiAgentTaskEnvironment()
    return evaluate_heuristics(env, env.default_params, jax.random.key(0), n_episodes=32)


def test_defaults_make_a_hard_problem(table):
    greedy, rand = table["expertise_greedy"], table["random"]
    assert greedy["completion_rate"] > rand["completion_rate"] + 0.2
    for name, row in table.items():
        assert row["completion_rate"] < 0.9, name  # nobody completes nearly everything
    assert greedy["match"] > table["always_accept"]["match"] + 0.03
    assert greedy["mean_reward"] > table["least_loaded"]["mean_reward"] > rand["mean_reward"]


def test_collaboration_variants_collect_the_free_bonus(table):
    for base in ("always_accept", "expertise_greedy", "least_loaded"):
        plain, collab = table[base], table[base + "_collab"]
        assert plain["collaboration_frequency"] == 0.0
        assert collab["collaboration_frequency"] == pytest.approx(1.0)
        bonus = 0.5 * 4 * 3 * 200  # every ordered pair, every step
        assert collab["mean_reward"] - plain["mean_reward"] == pytest.approx(bonus, rel=1e-4)
        assert collab["completion_rate"] == pytest.approx(plain["completion_rate"])


def test_expertise_greedy_gives_head_task_to_best_idle_agent():
    env = MultiAgentTaskEnvironment(obs_mode="seed")
    params = env.default_params
    expertise = np.array([[0.2, 0.9, 0.5], [0.8, 0.1, 0.5], [0.9, 0.3, 0.5], [0.1, 0.2, 0.5]])
    state = make_state(env, params, queue=[(1.0, 0.5, 10.0, 0), (1.0, 0.5, 10.0, 1)],
                       active=[[], [], [(0.5, 0.5, 50.0, 2)], []], expertise=expertise)
    a = np.asarray(HEURISTICS["expertise_greedy"](jax.random.key(0), state, params)).reshape(4, 3)
    # Agent 2 is busy; best idle for type 0 is agent 1; then only agent 3 (index > 1) remains.
    assert a[:, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert (a[:, 1] == 1.0).all() and (a[:, 2] == 0.0).all()


def test_least_loaded_accepts_with_lowest_load():
    env = MultiAgentTaskEnvironment(obs_mode="seed")
    params = env.default_params
    state = make_state(env, params, active=[[(1.0, 0.5, 9.0, 0)], [(0.6, 0.5, 9.0, 0)], [],
                                            [(0.5, 0.5, 9.0, 0)]])
    a = np.asarray(HEURISTICS["least_loaded"](jax.random.key(0), state, params)).reshape(4, 3)
    assert a[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0]


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
