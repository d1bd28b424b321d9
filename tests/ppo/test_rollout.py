"""Rollout collection: the batched-env protocol, the vmap fallback, sampling, episode sums."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import (
    BatchedEnv,
    PPOConfig,
    env_spec,
    gaussian_sample,
    make_collect,
    make_init,
    policy_distribution,
    vector_env,
)


def test_gaussian_sample_matches_the_policy_distribution():
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    mean = jax.random.normal(k1, (6, 4))
    log_std = jnp.array([-1.0, 0.0, 0.5, -0.3])
    noise = jax.random.normal(k2, (6, 4))
    action, log_prob = gaussian_sample(mean, log_std, noise)
    np.testing.assert_allclose(action, mean + jnp.exp(log_std) * noise, rtol=1e-6)
    expected = policy_distribution(mean, log_std).log_prob(action)
    np.testing.assert_allclose(log_prob, expected, rtol=1e-5, atol=1e-5)


def test_project_env_is_a_batched_env_and_a_plain_gymnax_env_is_not(count_env, pendulum):
    assert isinstance(MultiAgentTaskEnvironment(n_agents=2, max_tasks=3), BatchedEnv)
    assert not isinstance(count_env[0], BatchedEnv)
    assert not isinstance(pendulum[0], BatchedEnv)


def test_env_spec(count_env):
    spec = env_spec(*count_env)
    assert (spec.obs_dim, spec.action_dim) == (2, 2)
    np.testing.assert_array_equal(spec.action_low, [0.0, 0.0])
    np.testing.assert_array_equal(spec.action_high, [1.0, 1.0])
    assert spec.episode_metric_keys == ("steps",)
    assert spec.agent_block is None
    assert spec.nvec is None and spec.shared_blocks == ()
    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3)
    assert env_spec(env, env.default_params).agent_block == tuple(env.agent_obs_block())


class DeclaresOneSharedBlock(MultiAgentTaskEnvironment):
    """The project env, declaring only its queue rows as shared and the select mode's nvec."""

    def spec(self):
        declared = super().spec()
        return dataclasses.replace(declared, shared_blocks=declared.shared_blocks[:1])


def test_ppo_reads_what_the_env_declares():
    env = DeclaresOneSharedBlock(n_agents=2, max_tasks=3, action_mode="select")
    declared = env.spec()
    facts = env_spec(env, env.default_params)
    assert (facts.agent_block, facts.nvec) == (declared.agent_block, declared.nvec)
    assert facts.shared_blocks == declared.shared_blocks
    assert facts.shared_blocks != MultiAgentTaskEnvironment(n_agents=2, max_tasks=3).spec(
    ).shared_blocks
    # the network PPO builds reads the declared spans: the per-agent inputs lose 2 scalars
    config = PPOConfig(actor="ippo", policy="discrete", n_envs=2, n_steps=2, batch_size=4,
                       net_arch={"pi": [8], "vf": [8]})
    full = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, action_mode="select")
    widths = []
    for e in (full, env):
        params = make_init(config, e, e.default_params)(jax.random.PRNGKey(0)).train_state.params
        widths.append(params["params"]["pi_body"]["Dense_0"]["kernel"].shape[0])
    assert widths[0] - widths[1] == 2


@pytest.mark.slow
def test_vector_env_steps_every_copy_batch_first(count_env):
    batched = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3)
    for env, params in (count_env, (batched, batched.default_params)):
        spec = env_spec(env, params)
        envs = vector_env(env, 3)
        obs, states = envs.reset(jax.random.PRNGKey(0), params)
        assert obs.shape == (3, spec.obs_dim)
        randomness = envs.draw(jax.random.PRNGKey(1), params, 4)
        assert all(x.shape[0] == 4 for x in jax.tree.leaves(randomness))
        step_0 = jax.tree.map(lambda x: x[0], randomness)
        actions = jnp.full((3, spec.action_dim), 0.5)
        obs, states, reward, terminated, truncated, info = envs.step(
            step_0, states, actions, params
        )
        assert obs.shape == info["final_observation"].shape == (3, spec.obs_dim)
        assert reward.shape == terminated.shape == truncated.shape == (3,)


def test_collect_sums_the_episodes_that_end(tiny_config, count_env):
    env, params = count_env  # every episode: 5 steps, return 5, episode_metrics steps == 5
    rs = make_init(tiny_config, env, params)(jax.random.PRNGKey(0))
    collect = jax.jit(make_collect(tiny_config, env, params))
    k_noise, k_envs = jax.random.split(jax.random.PRNGKey(1))
    after, traj, sums = collect(rs, k_noise, k_envs)
    T, B = tiny_config.n_steps, tiny_config.n_envs
    assert traj.obs.shape == traj.final_obs.shape == (T, B, 2)
    assert traj.action.shape == (T, B, 2)
    assert traj.reward.shape == traj.log_prob.shape == traj.truncated.shape == (T, B)
    # 2 envs x 16 steps: episodes end at steps 5, 10, 15 of each env
    assert float(sums["count"]) == 6
    np.testing.assert_allclose(sums["episode_return"], 6 * 5.0)
    np.testing.assert_allclose(sums["episode_length"], 6 * 5.0)
    np.testing.assert_allclose(sums["env/steps"], 6 * 5.0)
    np.testing.assert_array_equal(after.episode_length, [1, 1])  # 16 = 3 * 5 + 1
    np.testing.assert_array_equal(np.asarray(traj.truncated).sum(0), [3, 3])
    # params and RNG are the update's business, not the rollout's
    np.testing.assert_array_equal(after.rng, rs.rng)
