"""What the environment declares (agentic_jax.env.spec): its observation blocks and actions."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from agentic_jax.env import EnvSpec, MultiAgentTaskEnvironment
from agentic_jax.env.spec import DeclaresSpec


@pytest.mark.parametrize("obs_mode", ["seed", "extended", "collab"])
def test_shared_blocks_are_the_queue_and_scalars(obs_mode):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, obs_mode=obs_mode)
    spec = env.spec()
    start, n, feats = spec.agent_block
    (q_start, q_size), *rest = spec.shared_blocks
    assert q_start == start + n * feats
    tail = sum(size for _, size in rest)
    assert q_start + q_size + n * n + tail == spec.obs_size  # then the matrix, then scalars
    # the queue span holds the queue: its `valid` column matches the state's
    obs, state = env.reset(jax.random.PRNGKey(0), env.default_params)
    per_slot = q_size // env.max_tasks
    valid_col = 3
    rows = np.asarray(obs[q_start : q_start + q_size]).reshape(env.max_tasks, per_slot)
    np.testing.assert_array_equal(rows[:, valid_col], np.asarray(state.queue.valid, np.float32))


@pytest.mark.parametrize("action_mode", ["seed", "select"])
def test_spec_declares_what_the_env_does(action_mode):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, action_mode=action_mode)
    spec = env.spec()
    assert isinstance(env, DeclaresSpec) and isinstance(spec, EnvSpec)
    obs, _ = env.reset(jax.random.PRNGKey(0), env.default_params)
    assert spec.obs_size == obs.shape[0] == env.obs_size()
    assert spec.agent_block == env.agent_obs_block()
    assert (spec.obs_mode, spec.max_tasks, spec.action_mode) == ("extended", 5, action_mode)
    assert spec.action_size == env.action_space(env.default_params).shape[0] == env.num_actions
    assert spec.discrete == (action_mode == "select") == env.discrete_actions
    assert spec.nvec == ((6, 2) * 3 if action_mode == "select" else None)


def test_spec_is_frozen_and_hashable():
    spec = MultiAgentTaskEnvironment().spec()
    with pytest.raises(AttributeError):
        spec.max_tasks = 3
    assert hash(spec) == hash(MultiAgentTaskEnvironment().spec())
