"""The seed and extended observation layouts, read back field by field."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.observations import agent_obs_block, obs_size
from agentic_jax.testing.builders import make_state

E = np.array(
    [[0.9, 0.2, 0.4], [0.3, 0.8, 0.5], [0.6, 0.7, 0.1], [0.2, 0.3, 0.95]], np.float32
)
QUEUE3 = [(1.0, 0.5, 10.0, 0), (0.8, 0.6, 10.0, 1), (0.6, 0.7, 10.0, 2)]


def test_seed_observation_layout(env, quiet_params):
    state = make_state(env, quiet_params, queue=QUEUE3[:2], active=[[(0.7, 0.5, 9.0, 0)], [], [],
                       []], expertise=E, capacity=[0.6, 0.7, 0.8, 0.9], success=[0.5] * 4)
    state = state.replace(completed_tasks=jnp.array([2, 0, 0, 0]), time=jnp.int32(4),
                          collaborations=jnp.array([0, 1, 0, 0]))
    obs = np.asarray(env.get_obs(state, quiet_params))
    n, Q = 4, 10
    assert obs.shape == (n * 7 + Q * 5 + n * n,) == (94,)
    agents = obs[: n * 7].reshape(n, 7)
    np.testing.assert_allclose(agents[0], [0.6, 0.7, 2 / 4, 0.5, 0.0, E[0, 0], E[0, 1]], rtol=1e-6)
    np.testing.assert_allclose(agents[1, 4], 1 / 4)
    queue = obs[n * 7 : n * 7 + Q * 5].reshape(Q, 5)
    np.testing.assert_allclose(queue[0], [1.0, 0.5, 10.0, 1.0, 0.0])
    np.testing.assert_allclose(queue[1], [0.8, 0.6, 10.0, 1.0, 0.0])
    np.testing.assert_array_equal(queue[2:], 0.0)
    np.testing.assert_array_equal(obs[-n * n :], 1.0)


def test_extended_observation_layout():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=4, obs_mode="extended")
    params = env.default_params
    state = make_state(env, params, queue=[(1.0, 0.5, 10.0, 3), (0.8, 0.6, 2.0, 1)], time=4)
    obs = np.asarray(env.get_obs(state, params))
    n, Q, T = 3, 5, 4
    assert obs.shape == (env.obs_size(),) == (n * (7 + T) + Q * (4 + T) + n * n + 2,)
    queue = obs[n * (7 + T) : n * (7 + T) + Q * (4 + T)].reshape(Q, 4 + T)
    np.testing.assert_allclose(queue[0, :4], [1.0 / 1.5, 0.5, (10 - 4) / 20, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(queue[0, 4:], [0, 0, 0, 1])
    assert queue[1, 2] < 0  # overdue while still queued
    np.testing.assert_array_equal(queue[2:], 0.0)
    agents = obs[: n * (7 + T)].reshape(n, 7 + T)
    np.testing.assert_allclose(agents[:, 7:], state.expertise, rtol=1e-6)


def test_obs_size_and_agent_block_match_the_layouts():
    assert obs_size("seed", 4, 10, 3) == 4 * 7 + 10 * 5 + 16
    assert obs_size("extended", 4, 10, 3) == 4 * 10 + 10 * 7 + 16 + 2
    assert agent_obs_block("seed", 4, 3) == (0, 4, 7)
    assert agent_obs_block("extended", 4, 3) == (0, 4, 10)
    for mode in ("seed", "extended"):
        env = MultiAgentTaskEnvironment(obs_mode=mode)
        assert env.obs_size() == obs_size(mode, 4, 10, 3)
        assert env.agent_obs_block() == agent_obs_block(mode, 4, 3)
