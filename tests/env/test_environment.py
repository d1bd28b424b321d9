"""The gymnax contract of MultiAgentTaskEnvironment: reset, auto-reset, spaces, validation."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.wrappers.purerl import LogWrapper
from reference.builders import action

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment

# ---------------------------------------------------------------- reset


def test_reset_state(env):
    params = env.default_params
    obs, state = env.reset(jax.random.key(3), params)
    assert int(state.queue_length) == 3 and np.asarray(state.queue.valid[:3]).all()
    assert not bool(state.active.valid.any()) and float(state.current_load.sum()) == 0.0
    np.testing.assert_array_equal(state.collaboration_matrix, np.ones((4, 4)))
    assert int(state.time) == 0 and int(state.counters.arrived) == 3
    for name in ("completed", "assigned", "dropped", "overdue", "collaborating"):
        assert int(getattr(state.counters, name)) == 0
    assert np.all((state.capacity >= 0.5) & (state.capacity <= 1.0))
    assert obs.shape == (env.obs_size(),) and obs.dtype == jnp.float32


# ---------------------------------------------------------------- gymnax contract


def test_auto_reset_at_max_steps_is_a_truncation(env):
    params = env.default_params.replace(max_steps_in_episode=3)
    obs, state = env.reset(jax.random.key(0), params)
    a = action(accept=(1, 1, 1, 1), effort=(1, 1, 1, 1))
    for t in range(3):
        obs, state, reward, terminated, truncated, info = env.step(
            jax.random.key(10 + t), state, a, params
        )
        assert not bool(terminated)
        assert bool(truncated) == (t == 2)
    assert int(state.time) == 0 and int(state.counters.assigned) == 0
    assert not np.array_equal(info["final_observation"], obs)
    assert float(info["episode_metrics"]["completion_rate"]) >= 0.0


def test_same_key_same_trajectory_and_vmapped_jit():
    env = MultiAgentTaskEnvironment()
    params = env.default_params

    @jax.jit
    def rollout(key, n_envs=4096, steps=8):
        keys = jax.random.split(key, n_envs)
        _, states = jax.vmap(env.reset, (0, None))(keys, params)

        def body(states, k):
            a = jax.random.uniform(k, (n_envs, 12))
            obs, states, r, _, _, _ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k, n_envs), states, a, params)
            return states, (obs, r)

        return jax.lax.scan(body, states, jax.random.split(key, steps))[1]

    obs1, r1 = rollout(jax.random.key(5))
    obs2, r2 = rollout(jax.random.key(5))
    assert obs1.shape == (8, 4096, env.obs_size())
    np.testing.assert_array_equal(obs1, obs2)
    np.testing.assert_array_equal(r1, r2)
    assert np.isfinite(np.asarray(obs1)).all()
    assert not np.array_equal(r1, rollout(jax.random.key(6))[1])


def test_gymnax_log_wrapper_works_unchanged(env):
    params = env.default_params.replace(max_steps_in_episode=4)
    wrapped = LogWrapper(env)
    obs, state = wrapped.reset(jax.random.key(0), params)
    total = 0.0
    for t in range(4):
        obs, state, reward, _, truncated, info = wrapped.step(
            jax.random.key(t), state, action(accept=(1, 1, 1, 1)), params)
        total += float(reward)
    assert bool(info["returned_episode"])
    assert float(info["returned_episode_returns"]) == pytest.approx(total, rel=1e-5)
    assert wrapped.action_space(params).shape == (12,)


def test_spaces(env):
    params = env.default_params
    space = env.action_space(params)
    assert space.shape == (12,) and float(space.low) == 0.0 and float(space.high) == 1.0
    assert env.observation_space(params).shape == (94,)
    sample = space.sample(jax.random.key(0))
    assert sample.shape == (12,)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_agents": 0}, "n_agents"),
        ({"max_tasks": 0}, "max_tasks"),
        ({"n_task_types": -1}, "n_task_types"),
        ({"max_active_per_agent": 0}, "max_active_per_agent"),
        ({"n_agents": 2.5}, "n_agents"),
        ({"obs_mode": "pixels"}, "obs_mode"),
    ],
)
def test_invalid_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiAgentTaskEnvironment(**kwargs)


@pytest.mark.parametrize(
    "overrides, name",
    [
        ({"arrival_rate": 1.5}, "arrival_rate"),
        ({"arrival_rate": -0.1}, "arrival_rate"),
        ({"collaboration_cost": 2.0}, "collaboration_cost"),
        ({"complexity_min": 2.0, "complexity_max": 1.0}, "complexity_min"),
        ({"deadline_min": 0.0}, "deadline_min"),
        ({"capacity_max": 1.5}, "capacity_max"),
        ({"max_steps_in_episode": 0}, "max_steps_in_episode"),
        ({"initial_tasks": 11}, "initial_tasks"),
        ({"queue_penalty": float("nan")}, "queue_penalty"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_invalid_params_name_the_field(env, overrides, name):
    with pytest.raises(ValueError, match=name):
        env.make_params(**overrides)


def test_default_params_are_valid():
    env = MultiAgentTaskEnvironment()
    assert env.validate_params(env.default_params) == env.default_params
    assert isinstance(env.default_params.with_collaboration_tradeoff().validate(), EnvParams)


# ---------------------------------------------------------------- eager use


def _mapped_regions() -> int:
    return len(Path("/proc/self/maps").read_text().splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_eager_step_and_batch_step_are_compiled_once():
    """Called outside `jit` as the README shows, a step is one compiled call: fast, and a loop
    of them maps no new memory (each eager call compiled new code before, until LLVM ran out
    of memory)."""
    env = MultiAgentTaskEnvironment()
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    _, states = env.batch_reset(jax.random.key(1), params, 8)
    a = action(accept=(1, 1, 1, 1), effort=(1, 1, 1, 1))
    actions = jnp.tile(a, (8, 1))

    def steps(n):
        nonlocal state, states
        for t in range(n):
            state = env.step(jax.random.key(t), state, a, params)[1]
            states = env.batch_step(jax.random.key(t), states, actions, params)[1]
        jax.block_until_ready((state, states))

    steps(2)  # compiles both
    regions = _mapped_regions()
    start = time.perf_counter()
    steps(25)
    seconds = time.perf_counter() - start
    assert seconds < 2.5, f"{seconds / 25:.3f} s per eager step + batch_step"
    assert _mapped_regions() - regions < 10
