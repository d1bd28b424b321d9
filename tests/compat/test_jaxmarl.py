"""`agentic_jax.compat.jaxmarl`: JaxMARL's `MultiAgentEnv` contract on our env, its LogWrapper
on top, and trajectories equal to the native env's."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("jaxmarl")
from jaxmarl.environments.multi_agent_env import MultiAgentEnv  # noqa: E402
from jaxmarl.environments.spaces import Box, Discrete  # noqa: E402
from jaxmarl.wrappers.baselines import LogWrapper  # noqa: E402

from agentic_jax.compat.jaxmarl import JaxMARLEnv  # noqa: E402
from agentic_jax.ppo.agents import local_inputs  # noqa: E402

SHORT = {"max_steps_in_episode": 6}  # episodes end within the tests' trajectories


def select_env(**kw) -> JaxMARLEnv:
    return JaxMARLEnv({"env": {"n_agents": 3, "max_tasks": 5, "action_mode": "select",
                               **SHORT}}, **kw)


def seed_env(**kw) -> JaxMARLEnv:
    return JaxMARLEnv({"env": {"n_agents": 3, "max_tasks": 5, **SHORT}}, **kw)


@pytest.fixture(scope="module", params=["select", "seed"])
def marl(request):
    return select_env() if request.param == "select" else seed_env()


def same(a, b) -> bool:
    """Equal, floats up to float32 rounding (the adapter's step is jitted, the reference is not,
    so XLA may fuse a mean differently): ints and flags exactly."""
    a, b = np.asarray(a), np.asarray(b)
    if np.issubdtype(a.dtype, np.floating):
        return np.allclose(a, b, rtol=1e-6, atol=1e-6)
    return np.array_equal(a, b)


def random_actions(env: JaxMARLEnv, key: jax.Array) -> dict[str, jax.Array]:
    keys = jax.random.split(key, env.num_agents)
    return {a: env.action_space(a).sample(k) for a, k in zip(env.agents, keys, strict=True)}


def test_interface_contract(marl):
    """Agents, spaces, dict keys, shapes, done flags and per-agent info leaves as JaxMARL's
    baselines read them."""
    assert isinstance(marl, MultiAgentEnv)
    assert marl.agents == ["agent_0", "agent_1", "agent_2"] and marl.num_agents == 3
    obs, state = marl.reset(jax.random.key(0))
    assert set(obs) == set(marl.agents)
    for agent in marl.agents:
        assert obs[agent].shape == marl.observation_space(agent).shape
        assert isinstance(marl.observation_space(agent), Box)
    space = marl.action_space("agent_0")
    if marl.spec.discrete:
        assert isinstance(space, Discrete) and space.n == 2 * (marl.spec.max_tasks + 1)
    else:
        assert isinstance(space, Box) and space.shape == (3,)
    step = jax.jit(marl.step)
    obs, state, rewards, dones, infos = step(jax.random.key(1), state,
                                             random_actions(marl, jax.random.key(2)))
    assert set(obs) == set(rewards) == set(marl.agents)
    assert set(dones) == {*marl.agents, "__all__"}
    assert all(jnp.shape(r) == () for r in rewards.values())
    assert all(jnp.shape(d) == () and d.dtype == bool for d in dones.values())
    assert all(leaf.shape == (marl.num_agents,) for leaf in jax.tree.leaves(infos))
    avail = marl.get_avail_actions(state)
    assert set(avail) == set(marl.agents) and avail["agent_0"].dtype == bool


def test_trajectory_equals_the_native_env(marl):
    """Stepped through the adapter or the env itself with the same keys and actions, every
    observation, reward, state and done flag is the same (`same`); at the episode's end JaxMARL's
    auto-reset gives the native reset of the step's reset key."""
    native, params = marl.task_env, marl.params
    key = jax.random.key(3)
    obs, state = marl.reset(key)
    native_obs, native_state = native.reset_env(key, params)
    ends = 0
    for t in range(2 * SHORT["max_steps_in_episode"]):
        step_key, action_key = jax.random.split(jax.random.fold_in(key, t))
        actions = random_actions(marl, action_key)
        obs, state, rewards, dones, _ = marl.step(step_key, state, actions)

        key_step, key_reset = jax.random.split(step_key)
        flat = marl.flat_action(actions)
        n_obs, n_state, n_reward, n_term, n_info = native.step_env(key_step, native_state,
                                                                   flat, params)
        done = bool(n_term | native.is_truncated(n_state, params))
        if done:
            n_obs, n_state = native.reset_env(key_reset, params)
            ends += 1
        native_obs, native_state = n_obs, n_state
        rows = local_inputs(native_obs, marl.spec.agent_block, marl.spec.shared_blocks)
        for i, agent in enumerate(marl.agents):
            assert same(obs[agent], rows[i]) and same(rewards[agent], n_reward)
            assert bool(dones[agent]) == done
        assert bool(dones["__all__"]) == done
        assert all(jax.tree.leaves(jax.tree.map(same, state, native_state)))
    assert ends == 2


def test_select_actions_are_the_envs_choices():
    """`a = 2 * choice + collaborate` per agent, agent-major in the flat action; empty slots
    are masked, "none" never is."""
    env = select_env()
    q = env.spec.max_tasks
    actions = {"agent_0": jnp.int32(2 * 1 + 1), "agent_1": jnp.int32(2 * q), "agent_2": 4}
    np.testing.assert_array_equal(env.flat_action(actions), [1, 1, q, 0, 2, 0])
    _, state = env.reset(jax.random.key(0))
    mask = env.get_avail_actions(state)["agent_0"]
    valid = np.asarray(state.queue.valid)
    expected = np.repeat(np.append(valid, True), 2)
    np.testing.assert_array_equal(mask, expected)
    assert not valid.all()  # the reset leaves some slots empty, so the mask does mask


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=11))
def test_encode_inverts_decode(action):
    env = select_env()
    categories = env.decode(jnp.int32(action))
    assert categories.tolist() == [action // 2, action % 2]
    assert int(env.encode(categories)) == action


def test_log_wrapper_runs_vmapped_and_counts_shared_returns():
    """JaxMARL's LogWrapper, vmapped over envs and jitted: the returned episode return of
    every agent is the sum of the team rewards over the episode (shared rewards)."""
    env = LogWrapper(select_env())
    n_envs, horizon = 4, SHORT["max_steps_in_episode"]
    obs, state = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), n_envs))
    step = jax.jit(jax.vmap(env.step))
    total = jnp.zeros(n_envs)
    for t in range(horizon):
        keys = jax.random.split(jax.random.key(t + 1), n_envs)
        actions = jax.vmap(random_actions, (None, 0))(env._env, keys)
        obs, state, rewards, dones, infos = step(keys, state, actions)
        total = total + rewards["agent_0"]
    assert bool(dones["__all__"].all()) and bool(infos["returned_episode"].all())
    np.testing.assert_allclose(infos["returned_episode_returns"],
                               np.repeat(np.asarray(total)[:, None], 3, 1), rtol=1e-5)


def test_individual_rewards_sum_to_the_team_reward():
    env = select_env(reward="individual")
    _, state = env.reset(jax.random.key(0))
    for t in range(3):
        _, state, rewards, _, infos = env.step(jax.random.key(t), state,
                                               random_actions(env, jax.random.key(10 + t)))
        team = infos["team_reward"][0]
        np.testing.assert_allclose(sum(rewards.values()), team, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="reward='team' must be one of shared, individual"):
        select_env(reward="team")


def test_missing_jaxmarl_names_the_extra():
    code = ("import sys; sys.modules['jaxmarl'] = None\n"
            "import agentic_jax.compat.jaxmarl")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert 'pip install -e ".[marl]"' in done.stderr.strip().splitlines()[-1]
