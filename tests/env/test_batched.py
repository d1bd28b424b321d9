"""The batched fast path (env axis last) is the same transition as vmap over single envs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.batched import auto_reset_step, batch_reset_key


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
    # both compiled (batch_reset is jitted): XLA rounds the same way in both
    obs_v, state_v = jax.jit(jax.vmap(env.reset_from_uniforms, (1, None)))(u_reset, params)
    np.testing.assert_array_equal(obs_b, obs_v)

    single = jax.jit(jax.vmap(
        lambda u, ur, s, a: auto_reset_step(env, u, lambda: ur, s, env.agent_major(a), params),
        (1, 1, 0, 0),
    ))
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


def test_credited_rewards_move_reward_between_agents_only_where_they_pair():
    env = MultiAgentTaskEnvironment(n_agents=5, max_tasks=6, action_mode="select")
    params = env.make_params().with_collaboration_tradeoff(sharing=0.9, cost=0.2)
    _, state = env.batch_reset(jax.random.key(1), params, 64)
    step = jax.jit(env.batch_step)
    moved = 0.0
    for t in range(12):
        k_act, k_step = jax.random.split(jax.random.key(10 + t))
        choice = jax.random.randint(k_act, (64, 5), 0, 7)
        asks = jax.random.bernoulli(k_act, 0.5, (64, 5)).astype(jnp.int32)
        actions = jnp.stack([choice, asks], -1).reshape(64, 10)
        _, state, reward, _, _, info = step(k_step, state, actions, params)
        credited, own = np.asarray(info["credited_rewards"]), np.asarray(info["agent_rewards"])
        np.testing.assert_allclose(credited.sum(-1), reward, rtol=1e-4, atol=1e-4)
        alone = np.asarray(asks).sum(-1) < 2  # no pair formed in these envs
        np.testing.assert_array_equal(credited[alone], own[alone])
        moved += float(np.abs(credited - own).sum())
    assert moved > 0  # some lent expertise was credited


def test_batch_step_from_pre_drawn_uniforms_is_batch_step():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=3)
    n_envs, n_steps = 4, 5
    _, state_a = env.batch_reset(jax.random.key(1), params, n_envs)
    state_b = state_a
    keys = jax.random.split(jax.random.key(2), n_steps)
    # a rollout's uniforms in one draw: (step_draws, n_steps, n_envs), one slice per step
    rollout_u = env.step_uniforms(jax.random.key(3), params, (n_steps, n_envs))
    assert rollout_u.shape == (env.step_draws(params), n_steps, n_envs)
    assert not np.array_equal(rollout_u[:, 0], rollout_u[:, 1])
    step, step_from_u = jax.jit(env.batch_step), jax.jit(env.batch_step_from_uniforms)
    truncations = 0
    for t in range(n_steps):  # crosses an auto-reset
        a = jax.random.uniform(jax.random.key(10 + t), (n_envs, 12))
        out_a = step(keys[t], state_a, a, params)
        out_b = step_from_u(env.step_uniforms(keys[t], params, (n_envs,)), keys[t], state_b, a,
                            params)
        jax.tree.map(np.testing.assert_array_equal, out_a, out_b)
        state_a, state_b = out_a[1], out_b[1]
        truncations += int(out_a[4].sum())
        out_r = step_from_u(rollout_u[:, t], keys[t], state_b, a, params)
        assert out_r[0].shape == out_a[0].shape
    assert truncations == n_envs  # the episode window (3 steps) ended once


@pytest.mark.parametrize("mode, randomize", [
    ("select", ()), ("select_team", ()),
    # the team's requests read each copy's drawn sharing and cost
    ("select_team", (("collaboration_sharing", 0.0, 1.0), ("collaboration_cost", 0.0, 0.6)))])
def test_select_mode_batch_step_equals_vmapped_single_steps(mode, randomize):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, n_task_types=2, action_mode=mode)
    params = env.default_params.replace(max_steps_in_episode=4, arrival_rate=0.9)
    params = params.with_collaboration_tradeoff(sharing=0.5).replace(randomize=randomize)
    n_envs = 8
    _, state_b = env.batch_reset(jax.random.key(0), params, n_envs)
    state_v = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0), state_b)
    assigned = 0
    batch = jax.jit(env.batch_step)
    single = jax.jit(jax.vmap(
        lambda u, ur, s, a: auto_reset_step(env, u, lambda: ur, s, env.agent_major(a), params),
        (1, 1, 0, 0)))
    for t in range(6):  # crosses an auto-reset
        k = jax.random.key(100 + t)
        a = jax.random.randint(jax.random.key(t), (n_envs, 6), -1, 7).astype(jnp.float32)
        a = a.at[0, 0].set(jnp.nan).at[1, 1].set(jnp.inf)
        out_b = batch(k, state_b, a, params)
        # the batch draws its step from k and its resets from batch_reset_key(k); replay both
        u = env.step_uniforms(k, params, (n_envs,))
        u_reset = env.reset_uniforms(batch_reset_key(k), params, (n_envs,))
        out_v = single(u, u_reset, state_v, a)
        state_b, state_v = out_b[1], out_v[1]
        for x, y in zip((out_b[0], *out_b[2:5]), (out_v[0], *out_v[2:5]), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
        jax.tree.map(lambda x, y: np.testing.assert_allclose(jnp.moveaxis(x, -1, 0), y,
                                                             rtol=1e-6, atol=1e-6),
                     state_b, state_v)
        assigned += int(out_b[5]["episode_metrics"]["match"].astype(bool).sum())
    assert assigned > 0  # tasks were taken
