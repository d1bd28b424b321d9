"""The Gymnasium adapters: check_env, seeding, text rendering, and the vector env's transitions
equal to the JAX env's batch_step on the same seed (across an auto-reset)."""

from __future__ import annotations

import warnings
from pathlib import Path

import jax
import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

from agentic_jax.compat.gymnasium import (  # noqa: E402
    ENV_ID,
    GymnasiumEnv,
    GymnasiumVectorEnv,
)
from agentic_jax.env import MultiAgentTaskEnvironment  # noqa: E402

ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2)
PARAMS = ENV.default_params.replace(max_steps_in_episode=4).with_collaboration_tradeoff()
SEED_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def test_check_env_passes_on_the_env_and_through_gymnasium_make():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded observation Box: a warning by design
        check_env(GymnasiumEnv(ENV, PARAMS, render_mode="ansi"))
        check_env(gymnasium.make(ENV_ID, env=ENV, params=PARAMS).unwrapped)


def test_reset_with_a_seed_is_reproducible_and_seeds_differ():
    env = GymnasiumEnv(ENV, PARAMS)
    first, _ = env.reset(seed=3)
    steps = [env.step(np.full(9, 0.8, np.float32)) for _ in range(3)]
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, again)
    for out in steps:
        repeat = env.step(np.full(9, 0.8, np.float32))
        np.testing.assert_array_equal(out[0], repeat[0])
        assert out[1] == repeat[1]
    other, _ = env.reset(seed=4)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.shape == env.observation_space.shape


def test_single_env_truncates_after_the_window_and_does_not_reset_itself():
    env = GymnasiumEnv(ENV, PARAMS)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(4)]
    assert flags == [False, False, False, True]
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(4, np.float32))


def test_render_ansi_shows_the_queue_and_the_agents():
    env = GymnasiumEnv(ENV, PARAMS, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.startswith("step 0/4") and "queue" in text and "agent" in text
    assert len([line for line in text.splitlines() if line.lstrip()[:1].isdigit()]) >= 3
    assert GymnasiumEnv(ENV, PARAMS).render() is None


@pytest.mark.slow
def test_vector_env_transitions_equal_the_jax_env_on_the_same_seed():
    n, seed = 5, 11
    venv = GymnasiumVectorEnv(n, ENV, PARAMS)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = venv.reset(seed=seed)

    batch_reset = jax.jit(ENV.batch_reset, static_argnums=2)
    batch_step = jax.jit(ENV.batch_step)
    key = jax.random.key(seed)  # the key chain the adapter documents
    key, k = jax.random.split(key)
    jobs, jstate = batch_reset(k, PARAMS, n)
    np.testing.assert_array_equal(obs, np.asarray(jobs))
    actions = np.random.default_rng(0).uniform(size=(6, n, 9)).astype(np.float32)
    for t, a in enumerate(actions):  # 6 steps: the 4-step episodes reset on step 4
        obs, reward, terminated, truncated, info = venv.step(a)
        key, k = jax.random.split(key)
        jobs, jstate, jreward, jterm, jtrunc, jinfo = batch_step(k, jstate, a, PARAMS)
        np.testing.assert_array_equal(obs, np.asarray(jobs))
        np.testing.assert_array_equal(reward, np.asarray(jreward))
        np.testing.assert_array_equal(terminated, np.asarray(jterm))
        np.testing.assert_array_equal(truncated, np.asarray(jtrunc))
        final = np.asarray(jinfo["final_observation"])
        np.testing.assert_array_equal(info["final_observation"], final)
        np.testing.assert_array_equal(info["_final_obs"], truncated)
        assert truncated.all() == (t == 3)
        for i in np.flatnonzero(truncated):
            np.testing.assert_array_equal(info["final_obs"][i], final[i])
            assert not np.array_equal(obs[i], final[i])  # the row is the new episode's


def test_vector_env_through_make_vec_and_render():
    venv = gymnasium.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                              env=ENV, params=PARAMS, render_mode="ansi")
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (3, ENV.obs_size()) and venv.action_space.shape == (3, 9)
    frames = venv.render()
    assert len(frames) == 3 and all(f.startswith("step 0/4") for f in frames)
    with pytest.raises(ValueError, match="one int"):
        venv.reset(seed=[1, 2, 3])


def test_config_builds_the_configured_environment():
    env = GymnasiumEnv(config=SEED_CONFIG)
    assert env.params.collaboration_cost == pytest.approx(0.3)
    assert env.observation_space.shape == (env.jax_env.obs_size(),)
    with pytest.raises(ValueError, match="either env or config"):
        GymnasiumEnv(ENV, config=SEED_CONFIG)


SELECT_ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2,
                                       action_mode="select")


def test_select_mode_is_a_multidiscrete_env_that_passes_check_env():
    env = GymnasiumEnv(SELECT_ENV, PARAMS)
    assert isinstance(env.action_space, gymnasium.spaces.MultiDiscrete)
    np.testing.assert_array_equal(env.action_space.nvec, [6, 2] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env)
    env.reset(seed=0)
    env.step(np.array([5, 0] * 3))  # every agent takes none: a valid action
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(9, np.int64))  # a seed-mode action size is refused by shape
    venv = GymnasiumVectorEnv(2, SELECT_ENV, PARAMS)
    assert venv.action_space.shape == (2, 6)
    venv.reset(seed=0)
    assert venv.step(venv.action_space.sample())[0].shape == (2, SELECT_ENV.obs_size())


@pytest.mark.slow
def test_adapters_of_both_modes_in_one_process_each_step_like_their_jax_env():
    """The jitted functions are cached by every constructor argument: two adapters of the same
    shapes but different action modes each step their own mode (the issue's cache key left out
    the action mode, so the second one stepped the first one's env)."""
    seed_env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2)
    adapters = {env.action_mode: GymnasiumEnv(env, PARAMS) for env in (seed_env, SELECT_ENV)}
    actions = {"seed": np.full(9, 0.8, np.float32), "select": np.array([0, 1, 1, 0, 5, 0])}
    for _ in range(2):  # interleaved: each call after the other mode's
        for mode, adapter in adapters.items():
            jax_env = adapter.jax_env
            obs, _ = adapter.reset(seed=1)
            key, k = jax.random.split(jax.random.key(1))
            jobs, jstate = jax_env.reset_env(k, PARAMS)  # eager: equal up to float rounding
            np.testing.assert_allclose(obs, np.asarray(jobs), atol=1e-6)
            obs, reward, *_ = adapter.step(actions[mode])
            _, k = jax.random.split(key)
            jobs, _, jreward, _, _ = jax_env.step_env(k, jstate, actions[mode], PARAMS)
            np.testing.assert_allclose(obs, np.asarray(jobs), atol=1e-6)
            assert reward == pytest.approx(float(jreward))


def test_select_config_file_gives_the_select_mode_adapter():
    env = GymnasiumEnv(config=SEED_CONFIG.with_name("select.yaml"))
    assert env.jax_env.action_mode == "select"
    np.testing.assert_array_equal(env.action_space.nvec, env.jax_env.action_nvec())
    env.reset(seed=0)
    env.step(env.action_space.sample())
