"""The batched fast path (env axis last) is the same transition as vmap over single envs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.environment import _agent_major, batch_reset_key


@pytest.mark.parametrize("obs_mode", ["seed", "extended"])
@pytest.mark.parametrize("tradeoff", [False, True])
def test_batch_step_equals_vmapped_single_steps(obs_mode, tradeoff):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=6, n_task_types=2, obs_mode=obs_mode)
    params = env.default_params.replace(max_steps_in_episode=5, arrival_rate=0.9)
    if tradeoff:
        params = params.with_collaboration_tradeoff()
    n_envs, key = 8, jax.random.key(0)
    obs_b, state_b = env.batch_reset(key, params, n_envs)
    u_reset = env.reset_uniforms(key, params, (n_envs,))
    obs_v, state_v = jax.vmap(env.reset_from_uniforms, (1, None))(u_reset, params)
    np.testing.assert_array_equal(obs_b, obs_v)

    single = jax.vmap(
        lambda u, ur, s, a: env._auto_reset_step(u, lambda: ur, s, _agent_major(a, 3), params),
        (1, 1, 0, 0),
    )
    truncations = 0
    for t in range(12):  # crosses two auto-resets
        k = jax.random.key(100 + t)
        a = jax.random.uniform(jax.random.key(t), (n_envs, 9), minval=-0.5, maxval=1.5)
        a = a.at[0, 0].set(jnp.nan)
        out_b = env.batch_step(k, state_b, a, params)
        u = env.step_uniforms(k, params, (n_envs,))
        u_reset = env.reset_uniforms(batch_reset_key(k), params, (n_envs,))
        out_v = single(u, u_reset, state_v, a)
        state_b, state_v = out_b[1], out_v[1]
        truncations += int(out_b[4].sum())
        for name, x, y in zip(("obs", "reward", "terminated", "truncated"),
                              (out_b[0], *out_b[2:5]), (out_v[0], *out_v[2:5]), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6, err_msg=name)
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6),
                     out_b[5], out_v[5])
        jax.tree.map(lambda x, y: np.testing.assert_allclose(jnp.moveaxis(x, -1, 0), y,
                                                             rtol=1e-6, atol=1e-6),
                     state_b, state_v)
    assert truncations == 2 * n_envs


def test_batch_step_shapes():
    env = MultiAgentTaskEnvironment()
    params = env.default_params
    obs, state = env.batch_reset(jax.random.key(1), params, 16)
    assert obs.shape == (16, env.obs_size()) and state.capacity.shape == (4, 16)
    obs, state, reward, terminated, truncated, info = jax.jit(env.batch_step)(
        jax.random.key(2), state, jnp.ones((16, 12)), params)
    assert obs.shape == (16, env.obs_size()) and reward.shape == (16,)
    assert info["agent_rewards"].shape == (16, 4)
    assert info["final_observation"].shape == (16, env.obs_size())
    assert info["episode_metrics"]["completion_rate"].shape == (16,)
