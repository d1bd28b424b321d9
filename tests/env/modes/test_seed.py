"""The seed action mode (agentic_jax.env.modes.seed): float thresholds, the queue head FIFO."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.modes import mutual_pairs

ENV2 = MultiAgentTaskEnvironment(n_agents=2)


def test_agent_major_rows_are_agents_and_sanitized():
    flat = jnp.array([0.1, 0.2, 0.3, jnp.nan, 1.5, -0.5], jnp.float32)
    a = np.asarray(ENV2.agent_major(flat))
    np.testing.assert_allclose(a, [[0.1, 0.2, 0.3], [0.0, 1.0, 0.0]])
    batch = jnp.stack([flat, flat + 0.1], -1)  # (n*3, B): batch axis last
    assert ENV2.agent_major(batch).shape == (2, 3, 2)


def test_collaborating_pairs_are_ordered_strictly_above_threshold_without_self():
    env = MultiAgentTaskEnvironment(n_agents=4)
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    requests = jnp.array([[0.0, 1.0, 0.8], [0.0, 1.0, 0.7], [0.0, 1.0, 0.9], [0.0, 1.0, 0.1]])
    wants = env.mode.assign(state, requests, params).wants  # threshold 0.7
    assert params.collaboration_threshold == 0.7
    pairs = np.asarray(mutual_pairs(wants))
    expected = np.zeros((4, 4), bool)
    expected[0, 2] = expected[2, 0] = True
    np.testing.assert_array_equal(pairs, expected)
