"""The seed, extended and collab observation layouts, read back field by field."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from reference.builders import make_state

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.observations import agent_obs_block, obs_size

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
    assert obs_size("collab", 4, 10, 3) == 4 * 16 + 10 * 7 + 16 + 2
    assert agent_obs_block("collab", 4, 3) == (0, 4, 16)
    for mode in ("seed", "extended", "collab"):
        env = MultiAgentTaskEnvironment(obs_mode=mode)
        assert env.obs_size() == obs_size(mode, 4, 10, 3)
        assert env.agent_obs_block() == agent_obs_block(mode, 4, 3)


def test_collab_layout_adds_held_types_and_the_best_partner_expertise(env, quiet_params):
    """Per agent: the extended row, then active tasks per type / K, then per type the best
    expertise among the OTHER agents (E's column maxima, except the holder's own)."""
    collab = MultiAgentTaskEnvironment(n_agents=4, max_tasks=10, n_task_types=3,
                                       obs_mode="collab")
    extended = MultiAgentTaskEnvironment(n_agents=4, max_tasks=10, n_task_types=3,
                                         obs_mode="extended")
    held = [[(0.7, 0.5, 9.0, 0), (0.7, 0.5, 9.0, 2), (0.7, 0.5, 9.0, 2)], [], [(1, 1, 9.0, 1)], []]
    state = make_state(collab, quiet_params, queue=QUEUE3, active=held, expertise=E)
    obs = np.asarray(collab.get_obs(state, quiet_params))
    base = np.asarray(extended.get_obs(state, quiet_params))
    n, T, K = 4, 3, 4
    assert obs.shape == (collab.obs_size(),)
    agents = obs[: n * (7 + 3 * T)].reshape(n, 7 + 3 * T)
    np.testing.assert_array_equal(agents[:, : 7 + T], base[: n * (7 + T)].reshape(n, 7 + T))
    np.testing.assert_allclose(agents[:, 7 + T : 7 + 2 * T],
                               [[1 / K, 0, 2 / K], [0, 0, 0], [0, 1 / K, 0], [0, 0, 0]])
    best_other = [[0.6, 0.8, 0.95], [0.9, 0.7, 0.95], [0.9, 0.8, 0.95], [0.9, 0.8, 0.5]]
    np.testing.assert_allclose(agents[:, 7 + 2 * T :], best_other, rtol=1e-6)
    # everything after the per-agent rows is the extended layout's
    np.testing.assert_array_equal(obs[n * (7 + 3 * T) :], base[n * (7 + T) :])


def test_collab_best_partner_with_ties_and_a_lone_agent(quiet_params):
    tied = np.array([[0.5, 0.2], [0.5, 0.9], [0.1, 0.9]], np.float32)
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, n_task_types=2, obs_mode="collab")
    state = make_state(env, quiet_params, queue=[], active=[[], [], []], expertise=tied)
    agents = np.asarray(env.get_obs(state, quiet_params))[: 3 * 13].reshape(3, 13)
    np.testing.assert_allclose(agents[:, 11:], [[0.5, 0.9], [0.5, 0.9], [0.5, 0.9]])
    lone = MultiAgentTaskEnvironment(n_agents=1, max_tasks=4, n_task_types=2, obs_mode="collab")
    state = make_state(lone, quiet_params, queue=[], active=[[]], expertise=tied[:1])
    np.testing.assert_array_equal(np.asarray(lone.get_obs(state, quiet_params))[11:13], 0.0)
