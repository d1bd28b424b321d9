"""Actors on the "slots" observation layout (per-agent, per-slot rows declared in the env's
spec): one IPPO discrete actor, trained at `n_task_types=3`, runs at 2..6 types with the same
parameters; the slot scorer reads agent `i`'s row for slot `j` when it scores slot `j`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import PPOConfig, env_spec, make_train
from agentic_jax.ppo.agents import local_inputs
from agentic_jax.ppo.train import network_for
from agentic_jax.ppo.transfer import check_transferable, evaluate_transfer, transfer_obs_rms

CONFIG = PPOConfig(actor="ippo", policy="discrete", n_envs=4, n_steps=16, batch_size=32,
                   n_epochs=1, total_timesteps=4 * 16 * 2, net_arch={"pi": [16], "vf": [16]},
                   normalize_obs=True)


def _env(T: int, obs_mode: str = "slots", n: int = 3, Q: int = 6) -> MultiAgentTaskEnvironment:
    return MultiAgentTaskEnvironment(n_agents=n, max_tasks=Q, n_task_types=T,
                                     obs_mode=obs_mode, action_mode="select")


@pytest.fixture(scope="module")
def trained_at_three_types():
    env = _env(3)
    params = env.make_params(max_steps_in_episode=8)
    out = jax.jit(make_train(CONFIG, env, params))(jax.random.PRNGKey(0))
    return env, params, out.runner_state


@pytest.mark.slow
@pytest.mark.parametrize("T", [2, 3, 4, 5, 6])
def test_one_actor_trained_at_three_types_runs_at_two_to_six(trained_at_three_types, T):
    env, params, runner_state = trained_at_three_types
    dst = _env(T)
    dst_params = dst.make_params(max_steps_in_episode=8)
    src_spec, dst_spec = env_spec(env, params), env_spec(dst, dst_params)
    for field in ("obs_dim", "action_dim", "agent_block", "shared_blocks", "agent_slot_block",
                  "nvec"):  # nothing to move: the same layout
        assert getattr(src_spec, field) == getattr(dst_spec, field)
    result = evaluate_transfer(CONFIG, runner_state, env, params, dst, dst_params,
                               jax.random.PRNGKey(T), n_episodes=4)
    rewards = np.asarray(result["episode_rewards"])
    assert rewards.shape == (4,) and np.all(np.isfinite(rewards))
    assert float(result["completion_rate"]) > 0.0


def test_the_extended_layout_cannot_move_across_task_types():
    src, dst = _env(3, "extended"), _env(5, "extended")
    with pytest.raises(ValueError, match="same per-agent features and shared spans"):
        check_transferable(CONFIG, env_spec(src, src.default_params),
                           env_spec(dst, dst.default_params))


def test_the_slot_scorer_reads_each_agents_row_for_that_slot():
    env = _env(3)
    spec = env_spec(env, env.default_params)
    net = network_for(CONFIG, spec)
    obs = jax.random.uniform(jax.random.PRNGKey(1), (spec.obs_dim,))
    params = net.init(jax.random.PRNGKey(0), obs[None])
    # a slot scorer initialised at 0.01 gain barely reacts: scale its output up for the test
    params = jax.tree_util.tree_map_with_path(
        lambda path, x: x * 100 if "slot_score" in jax.tree_util.keystr(path) else x, params)
    start, n, Q, P = spec.agent_slot_block
    agent, slot = 1, 4
    changed = obs.at[start + (agent * Q + slot) * P].add(1.0)  # agent 1's own expertise, slot 4
    (logits,) = net.apply(params, obs[None], method="actor")
    (logits2,) = net.apply(params, changed[None], method="actor")
    per_agent = (Q + 1) + 2  # slot choices and none, then the request's two logits
    diff = np.abs(np.asarray(logits2 - logits)[0]).reshape(n, per_agent)
    assert diff[agent, slot] > 1e-4
    # other slots of agent 1 move only through the pooled mean in its hidden state; the slot
    # itself moves most, as its own row enters its score directly
    assert diff[agent, slot] > diff[agent, [q for q in range(Q) if q != slot]].max()


def test_local_inputs_hold_the_rows_pooled_with_slot_scoring_and_flat_without():
    env = _env(2)
    spec = env.spec()
    obs = jax.random.uniform(jax.random.PRNGKey(2), (2, spec.obs_size))
    start, n, Q, P = spec.agent_slot_block
    rows = np.asarray(obs[:, start : start + n * Q * P]).reshape(2, n, Q, P)
    slot_block = (spec.shared_blocks[0][0], Q, 4)
    pooled = local_inputs(obs, spec.agent_block, spec.shared_blocks, slot_block,
                          spec.agent_slot_block)
    flat = local_inputs(obs, spec.agent_block, spec.shared_blocks,
                        agent_slot_block=spec.agent_slot_block)
    np.testing.assert_allclose(pooled[..., 15:15 + P], rows.mean(2), rtol=1e-6)
    np.testing.assert_array_equal(flat[..., 15:15 + Q * P], rows.reshape(2, n, Q * P))


@pytest.mark.slow
def test_obs_statistics_of_the_slot_rows_move_to_another_team_size(trained_at_three_types):
    env, params, runner_state = trained_at_three_types
    dst = _env(4, n=6, Q=12)
    src_spec, dst_spec = env_spec(env, params), env_spec(dst, dst.default_params)
    check_transferable(CONFIG, src_spec, dst_spec)
    rms = transfer_obs_rms(runner_state.obs_rms, src_spec, dst_spec, slot_scoring=True)
    s, n, Q, P = src_spec.agent_slot_block
    d, n_d, Q_d, _ = dst_spec.agent_slot_block
    src_rows = np.asarray(runner_state.obs_rms.mean[s : s + n * Q * P]).reshape(n * Q, P)
    dst_rows = np.asarray(rms.mean[d : d + n_d * Q_d * P]).reshape(n_d * Q_d, P)
    np.testing.assert_allclose(dst_rows, np.broadcast_to(src_rows.mean(0), dst_rows.shape),
                               rtol=1e-5, atol=1e-6)
    assert jnp.all(rms.var > 0)
