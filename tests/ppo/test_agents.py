"""IPPO / MAPPO actors: local inputs, parameters independent of n_agents, shared obs spans,
and a zero-shot transfer of a trained actor from 2 to 3 agents."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import PPOConfig, env_spec, make_init, make_update
from agentic_jax.ppo.agents import local_inputs
from agentic_jax.ppo.train import network_for
from agentic_jax.ppo.transfer import (
    evaluate_transfer,
    state_mover,
    transfer_obs_rms,
    transfer_state,
    warm_start,
)

CONFIG = dict(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=8 * 8 * 2,
              net_arch={"pi": [16], "vf": [16]}, normalize_obs=True)


def test_local_inputs_are_own_team_id_and_shared():
    obs = jnp.arange(2 * 13, dtype=jnp.float32).reshape(2, 13)  # 3 agents x 3 features + 4
    x = local_inputs(obs, (0, 3, 3), ((9, 4),))
    assert x.shape == (2, 3, 3 + 3 + 1 + 4)
    o = np.asarray(obs)
    for i in range(3):
        np.testing.assert_array_equal(x[:, i, :3], o[:, 3 * i : 3 * i + 3])
        np.testing.assert_allclose(x[:, i, 3:6], o[:, :9].reshape(2, 3, 3).mean(1))
        np.testing.assert_allclose(x[:, i, 6], i / 2)
        np.testing.assert_array_equal(x[:, i, 7:], o[:, 9:])


@pytest.mark.parametrize("actor,policy,mode", [("ippo", "discrete", "select"),
                                               ("mappo", "gaussian", "seed")])
def test_actor_parameters_do_not_depend_on_n_agents(actor, policy, mode):
    config = PPOConfig(actor=actor, policy=policy, **CONFIG)
    shapes = []
    for n in (2, 5):
        env = MultiAgentTaskEnvironment(n_agents=n, max_tasks=4, action_mode=mode)
        spec = env_spec(env, env.default_params)
        net = network_for(config, spec)
        params = jax.eval_shape(net.init, jax.random.PRNGKey(0), jnp.zeros((1, spec.obs_dim)))
        actor_params = {k: v for k, v in params["params"].items() if not k.startswith("vf")}
        shapes.append(jax.tree.map(lambda x: x.shape, actor_params))
    assert shapes[0] == shapes[1]


def test_decentralised_critic_is_the_mean_of_per_agent_values():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4)
    spec = env_spec(env, env.default_params)
    net = network_for(PPOConfig(actor="ippo", **CONFIG), spec)
    obs = jax.random.normal(jax.random.PRNGKey(1), (5, spec.obs_dim))
    params = net.init(jax.random.PRNGKey(0), obs)
    value = net.apply(params, obs, method="critic")
    x = local_inputs(obs, spec.agent_block, spec.shared_blocks)
    per_agent = net.apply(params, x, method=lambda m, x: m.vf_head(m.vf_body(x))[..., 0])
    np.testing.assert_allclose(value, per_agent.mean(-1), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def two_agents_trained():
    """`(config, env2, p2, env3, p3, rs)`: a discrete IPPO state after 2 updates with 2 agents
    and 4 queue slots, and a 3-agent env with 6 slots (slot scoring: the queue may change size
    with the team). Trained once for the module's transfer tests."""
    config = PPOConfig(actor="ippo", policy="discrete", **CONFIG)
    env2 = MultiAgentTaskEnvironment(n_agents=2, max_tasks=4, action_mode="select")
    env3 = MultiAgentTaskEnvironment(n_agents=3, max_tasks=6, action_mode="select")
    p2 = env2.make_params(max_steps_in_episode=8)
    p3 = env3.make_params(max_steps_in_episode=8)
    rs = jax.jit(make_init(config, env2, p2))(jax.random.PRNGKey(0))
    traces, update_fn = [], make_update(config, env2, p2)

    @jax.jit
    def update(rs):
        traces.append(1)  # runs once per trace
        return update_fn(rs)

    for _ in range(2):
        rs, metrics = update(rs)
        chex.assert_tree_all_finite((metrics, rs.train_state.params))
    assert len(traces) == 1  # discrete PPO compiles once per config
    return config, env2, p2, env3, p3, rs


@pytest.mark.slow
def test_zero_shot_transfer_from_2_to_3_agents_and_a_longer_queue(two_agents_trained):
    config, env2, p2, env3, p3, rs = two_agents_trained
    params_before = rs.train_state.params
    out = evaluate_transfer(config, rs, env2, p2, env3, p3, jax.random.PRNGKey(5), n_episodes=4)
    assert out["episode_rewards"].shape == (4,)
    assert np.all(np.isfinite(np.asarray(out["episode_rewards"])))
    assert 0.0 <= float(out["completion_rate"]) <= 1.0
    rms = transfer_obs_rms(rs.obs_rms, env_spec(env2, p2), env_spec(env3, p3), True)
    assert rms.mean.shape == (env3.obs_size(),)
    moved = transfer_state(config, rs, env2, p2, env3, p3)
    assert moved.train_state.params is params_before  # the same params object, not a copy
    # the mover traces: under vmap over a member axis it maps each member's statistics
    two = jax.tree.map(lambda x: jnp.stack([x, x]), rs)
    moved_two = jax.jit(jax.vmap(state_mover(config, env2, p2, env3, p3)))(two)
    np.testing.assert_array_equal(moved_two.obs_rms.mean[1], moved.obs_rms.mean)
    np.testing.assert_array_equal(moved_two.obs_rms.var[0], moved.obs_rms.var)


@pytest.mark.slow
def test_warm_start_continues_training_with_another_team_size(two_agents_trained):
    """Curriculum: a state trained with 2 agents starts a training with 3. The parameters and
    the Adam state carry over, the obs statistics are the mapped ones updated with the new
    envs' reset observations, the counters restart; an unmoved state is refused."""
    config, env2, p2, env3, p3, rs = two_agents_trained
    ws = jax.jit(warm_start(config, env2, p2, env3, p3))(jax.random.PRNGKey(7), rs)
    chex.assert_trees_all_equal(ws.train_state.params, rs.train_state.params)
    chex.assert_trees_all_equal(ws.train_state.opt_state, rs.train_state.opt_state)
    assert int(ws.update_step) == 0 and int(ws.timestep) == 0
    assert ws.obs.shape == (config.n_envs, env3.obs_size())
    raw = env3.get_obs(ws.env_state, p3).T  # the batched state is env-axis-last
    expected = transfer_state(config, rs, env2, p2, env3, p3).obs_rms.update(raw)
    np.testing.assert_allclose(ws.obs_rms.mean, expected.mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ws.obs, expected.normalize(raw), rtol=1e-5, atol=1e-5)
    ws, metrics = jax.jit(make_update(config, env3, p3))(ws)  # trains at the new size
    chex.assert_tree_all_finite((metrics, ws.train_state.params))
    assert int(ws.update_step) == 1
    with pytest.raises(ValueError, match="move it first"):
        make_init(config, env3, p3)(jax.random.PRNGKey(1), start=rs)


def test_transfer_across_sizes_needs_a_per_agent_actor():
    from agentic_jax.ppo.transfer import check_transferable

    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=4)
    spec = env_spec(env, env.default_params)
    check_transferable(PPOConfig(actor="per_agent"), spec, spec)  # same shapes: any actor
    bigger = MultiAgentTaskEnvironment(n_agents=4, max_tasks=4)
    with pytest.raises(ValueError, match="ppo.actor='ippo' or 'mappo'"):
        check_transferable(PPOConfig(actor="per_agent"), spec,
                           env_spec(bigger, bigger.default_params))
    other = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5)
    with pytest.raises(ValueError, match="max_tasks"):
        check_transferable(PPOConfig(actor="ippo"), spec, env_spec(other, other.default_params))


def test_slot_scores_follow_the_queue_slots():
    """Discrete IPPO scores each queue slot with one shared scorer: permuting the queue rows
    permutes every agent's slot logits the same way (none/collaborate logits change only through
    the queue mean, which a permutation keeps)."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, action_mode="select")
    spec = env_spec(env, env.default_params)
    net = network_for(PPOConfig(actor="ippo", policy="discrete", **CONFIG), spec)
    assert net.slot_block is not None
    start, n_slots, per_slot = net.slot_block
    obs = jax.random.normal(jax.random.PRNGKey(2), (spec.obs_dim,))
    params = net.init(jax.random.PRNGKey(0), obs[None])
    perm = np.array([2, 0, 3, 1])
    rows = obs[start : start + n_slots * per_slot].reshape(n_slots, per_slot)
    permuted = obs.at[start : start + n_slots * per_slot].set(rows[perm].ravel())
    (a,) = net.apply(params, obs, method="actor")
    (b,) = net.apply(params, permuted, method="actor")
    a, b = np.asarray(a).reshape(3, n_slots + 3), np.asarray(b).reshape(3, n_slots + 3)
    np.testing.assert_allclose(b[:, :n_slots], a[:, perm], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b[:, n_slots:], a[:, n_slots:], rtol=1e-5, atol=1e-6)
