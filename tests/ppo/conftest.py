"""Fixtures for the PPO tests: a tiny config and a tiny deterministic Box-action gymnax env."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from flax import struct
from gymnax.environments import environment, spaces

from agentic_jax.ppo import PPOConfig


@struct.dataclass
class CountState(environment.EnvState):
    pos: jax.Array
    time: int


@struct.dataclass
class CountParams(environment.EnvParams):
    max_steps_in_episode: int = 5


class CountEnv(environment.Environment):
    """Reward 1 per step, episodes truncate after `max_steps_in_episode`; obs = (pos, time).

    Reports `info["episode_metrics"]` like the project's env (the running step count here).
    """

    @property
    def default_params(self) -> CountParams:
        return CountParams()

    def step_env(self, key, state, action, params):
        pos = state.pos + jnp.sum(action) - 0.5 * action.shape[0]
        state = CountState(pos=pos, time=state.time + 1)
        info = {"episode_metrics": {"steps": jnp.asarray(state.time, jnp.float32)}}
        return self.get_obs(state), state, jnp.asarray(1.0), jnp.asarray(False), info

    def reset_env(self, key, params):
        state = CountState(pos=jax.random.normal(key), time=0)
        return self.get_obs(state), state

    def get_obs(self, state, params=None, key=None):
        return jnp.stack([state.pos, jnp.asarray(state.time, jnp.float32)])

    def is_terminated(self, state, params):
        return jnp.asarray(False)

    def action_space(self, params=None):
        return spaces.Box(0.0, 1.0, (2,), jnp.float32)

    def observation_space(self, params=None):
        return spaces.Box(-jnp.inf, jnp.inf, (2,), jnp.float32)


@pytest.fixture
def count_env():
    env = CountEnv()
    return env, env.default_params


@pytest.fixture
def pendulum():
    import gymnax

    return gymnax.make("Pendulum-v1")


@pytest.fixture
def tiny_config() -> PPOConfig:
    """2 envs x 16 steps, 4 minibatches of 8, 2 epochs, 3 updates, (16, 16) MLPs."""
    return PPOConfig(
        n_envs=2,
        n_steps=16,
        batch_size=8,
        n_epochs=2,
        total_timesteps=2 * 16 * 3,
        net_arch={"pi": (16, 16), "vf": (16, 16)},
    )
