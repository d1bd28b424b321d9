"""The SB3 VecEnv view: SB3's info conventions, equal to the Gymnasium vector env, and SB3's
PPO("MlpPolicy") training on it unchanged (skipped without the baselines extra)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402

from agentic_jax.compat.gymnasium import GymnasiumEnv, GymnasiumVectorEnv  # noqa: E402
from agentic_jax.compat.sb3 import SB3VecEnv  # noqa: E402
from agentic_jax.env import MultiAgentTaskEnvironment  # noqa: E402

ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2)
PARAMS = ENV.default_params.replace(max_steps_in_episode=4).with_collaboration_tradeoff()


def test_vec_env_follows_sb3_conventions_and_the_vector_env():
    n = 4
    vec = SB3VecEnv(n, ENV, PARAMS)
    ref = GymnasiumVectorEnv(n, ENV, PARAMS)
    vec.seed(7)
    obs = vec.reset()
    ref_obs, _ = ref.reset(seed=7)
    np.testing.assert_array_equal(obs, ref_obs)
    rng = np.random.default_rng(1)
    for t in range(5):
        a = rng.uniform(size=(n, 9)).astype(np.float32)
        obs, rewards, dones, infos = vec.step(a)
        ref_obs, ref_rewards, _, ref_trunc, ref_info = ref.step(a)
        np.testing.assert_array_equal(obs, ref_obs)
        np.testing.assert_allclose(rewards, ref_rewards)
        assert rewards.dtype == np.float32 and dones.dtype == bool and len(infos) == n
        np.testing.assert_array_equal(dones, ref_trunc)
        assert dones.all() == (t == 3)
        for i, info in enumerate(infos):
            assert info["TimeLimit.truncated"] == bool(dones[i])
            assert ("terminal_observation" in info) == bool(dones[i])
            if dones[i]:
                np.testing.assert_array_equal(info["terminal_observation"],
                                              ref_info["final_observation"][i])
                assert info["episode"]["l"] == 4
    assert vec.get_attr("render_mode") == [None] * n
    assert vec.env_is_wrapped(object) == [False] * n


def test_sb3_ppo_trains_on_the_vec_env_and_on_gymnasium_envs():
    sb3_check_env(GymnasiumEnv(ENV, PARAMS), warn=False)
    vec = SB3VecEnv(4, ENV, PARAMS)
    model = PPO("MlpPolicy", vec, n_steps=32, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256
    assert len(model.ep_info_buffer) > 0  # episodes reported through infos["episode"]
    actions, _ = model.predict(vec.reset(), deterministic=True)
    assert actions.shape == (4, 9) and np.all((actions >= 0) & (actions <= 1))


SELECT_ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2,
                                       action_mode="select")


def test_sb3_ppo_trains_in_select_mode_on_its_multidiscrete_space():
    sb3_check_env(GymnasiumEnv(SELECT_ENV, PARAMS), warn=False)
    vec = SB3VecEnv(4, SELECT_ENV, PARAMS)
    assert vec.action_space.nvec.tolist() == [6, 2] * 3
    model = PPO("MlpPolicy", vec, n_steps=32, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256 and len(model.ep_info_buffer) > 0
    actions, _ = model.predict(vec.reset(), deterministic=True)
    assert actions.shape == (4, 6)
    assert np.all((actions >= 0) & (actions < np.array([6, 2] * 3)))
