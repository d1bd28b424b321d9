"""Gymnasium views of :class:`MultiAgentTaskEnvironment`: one copy, and a vector of copies.

:class:`GymnasiumEnv` is a ``gymnasium.Env`` (NumPy in and out, one jitted call per step; it
does not reset itself: call ``reset()`` when an episode is truncated, as Gymnasium expects).
:class:`GymnasiumVectorEnv` is a ``gymnasium.vector.VectorEnv`` whose copies are all stepped by
ONE jitted ``batch_step``; like the JAX environment it resets a finished copy in the same step
(``metadata["autoreset_mode"] = AutoresetMode.SAME_STEP``) and puts the observation before the
reset in the info.

Seeding (both): ``reset(seed=s)`` starts the key chain ``key = jax.random.key(s)``; every reset
and step then draws ``key, k = jax.random.split(key)`` and uses ``k``: ``reset_env(k, params)``
or ``batch_reset(k, params, num_envs)``, ``step_env(k, ...)`` or ``batch_step(k, ...)``. So the
vector env's transitions are exactly the JAX env's for the same seed and actions, and
``reset()`` without a seed continues the chain (the first unseeded reset draws ``s`` from
Gymnasium's ``np_random``).

Importing this module registers ``agentic_jax/MultiAgentTask-v0`` with Gymnasium::

    gymnasium.make("agentic_jax/MultiAgentTask-v0", config="configs/default.yaml")
    gymnasium.make_vec("agentic_jax/MultiAgentTask-v0", num_envs=64,
                       vectorization_mode="vector_entry_point")
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium
import jax
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from agentic_jax.compat.render import env_copy, render_text
from agentic_jax.config import EnvConfig, RunConfig, load
from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment

ENV_ID = "agentic_jax/MultiAgentTask-v0"
RENDER_MODES = ["ansi"]

ConfigLike = str | Path | RunConfig | EnvConfig


def resolve(
    env: MultiAgentTaskEnvironment | None = None,
    params: EnvParams | None = None,
    config: ConfigLike | None = None,
) -> tuple[MultiAgentTaskEnvironment, EnvParams]:
    """The JAX environment and its validated params from an env, a config, or the defaults.

    Args:
        env: the environment (default: ``MultiAgentTaskEnvironment()``).
        params: its params (default: the env's or the config's).
        config: a YAML path, a ``RunConfig`` or an ``EnvConfig``; not together with ``env``.
    """
    if config is not None:
        if env is not None:
            raise ValueError("pass either env or config, not both")
        if isinstance(config, (str, Path)):
            config = load(config)
        env, config_params = (config.env if isinstance(config, RunConfig) else config).make_env()
        params = config_params if params is None else params
    env = MultiAgentTaskEnvironment() if env is None else env
    return env, env.validate_params(env.default_params if params is None else params)


class _Functions(NamedTuple):
    """The jitted functions behind the adapters; each also returns the next chain key."""

    reset: Callable  # (key, params) -> (key, obs, state)
    step: Callable  # (key, state, action, params) -> (key, obs, state, r, term, trunc, info)
    batch_reset: Callable  # (key, params, n_envs) -> (key, obs, state)
    batch_step: Callable  # (key, state, actions, params) -> (key, obs, state, r, ..., info)


@functools.lru_cache(maxsize=32)
def _functions(shape: tuple) -> _Functions:
    """Jitted reset/step functions (single and batched), shared by envs of the same shapes."""
    env = MultiAgentTaskEnvironment(*shape)

    def reset(key, params):
        key, k = jax.random.split(key)
        return (key, *env.reset_env(k, params))

    def step(key, state, action, params):
        key, k = jax.random.split(key)
        obs, state, reward, terminated, info = env.step_env(k, state, action, params)
        return key, obs, state, reward, terminated, env.is_truncated(state, params), info

    def batch_reset(key, params, n_envs):
        key, k = jax.random.split(key)
        return (key, *env.batch_reset(k, params, n_envs))

    def batch_step(key, state, action, params):
        key, k = jax.random.split(key)
        return (key, *env.batch_step(k, state, action, params))

    return _Functions(jax.jit(reset), jax.jit(step), jax.jit(batch_reset, static_argnums=2),
                      jax.jit(batch_step))


def _shape(env: MultiAgentTaskEnvironment) -> tuple:
    """Every constructor argument of ``env``, in order: the key of its jitted functions."""
    return (env.n_agents, env.max_tasks, env.n_task_types, env.max_active_per_agent,
            env.obs_mode, env.action_mode)


def _spaces(env: MultiAgentTaskEnvironment) -> tuple[gymnasium.spaces.Box, gymnasium.Space]:
    """``(observation space (obs_size,), action space (num_actions,))``: the observation Box is
    float32; the action space a float32 ``Box(0, 1)`` in seed mode, in select mode the
    ``MultiDiscrete(env.action_nvec())`` of (queue slot or none, collaborate) per agent."""
    obs = gymnasium.spaces.Box(-np.inf, np.inf, (env.obs_size(),), np.float32)
    if env.discrete_actions:
        return obs, gymnasium.spaces.MultiDiscrete(np.array(env.action_nvec()), np.int64)
    return obs, gymnasium.spaces.Box(0.0, 1.0, (env.num_actions,), np.float32)


def _next_key(gym_env: Any, seed: int | None) -> jax.Array:
    """The key chain after ``reset(seed)``: new from ``seed``, else continued (or drawn)."""
    if seed is not None:
        return jax.random.key(int(seed))
    if gym_env._key is None:
        return jax.random.key(int(gym_env.np_random.integers(0, 2**31 - 1)))
    return gym_env._key


def _actions(actions: Any, space: gymnasium.Space) -> np.ndarray:
    """Actions of ``space``'s shape, as float32 (a Box) or int32 (select mode's
    MultiDiscrete); ``ValueError`` naming the shapes otherwise."""
    dtype = np.int32 if isinstance(space, gymnasium.spaces.MultiDiscrete) else np.float32
    a = np.asarray(actions, dtype)
    if a.shape != space.shape:
        raise ValueError(f"action has shape {a.shape}; expected {space.shape}")
    return a


class GymnasiumEnv(gymnasium.Env):
    """One copy of the environment as a ``gymnasium.Env`` (NumPy in and out).

    Args:
        env: the JAX environment (shapes, observation mode); default
            ``MultiAgentTaskEnvironment()``.
        params: its ``EnvParams`` (default: the env's defaults, or the config's).
        config: a YAML path, ``RunConfig`` or ``EnvConfig`` instead of ``env``/``params``.
        render_mode: ``"ansi"`` (``render()`` returns the queue and the agents as text) or None.

    Observations are float32 ``(obs_size,)``; actions are float32 ``(n_agents * 3,)`` in
    ``[0, 1]`` (``env.action_mode="seed"``) or, in select mode, integers of
    ``MultiDiscrete(env.action_nvec())`` ``(n_agents * 2,)``; the info holds
    ``agent_rewards``, ``credited_rewards`` and ``request_gains`` ``(n_agents,)`` and
    ``episode_metrics``.
    Episodes end by truncation after ``params.max_steps_in_episode`` steps.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self,
        env: MultiAgentTaskEnvironment | None = None,
        params: EnvParams | None = None,
        *,
        config: ConfigLike | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode={render_mode!r} (allowed: {RENDER_MODES} or None)")
        self.jax_env, self.params = resolve(env, params, config)
        self.render_mode = render_mode
        self.observation_space, self.action_space = _spaces(self.jax_env)
        self._fns = _functions(_shape(self.jax_env))
        self._key: jax.Array | None = None
        self.state: Any = None  # the EnvState of the current episode (JAX arrays)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``seed`` restarts the key chain (see the module docstring)."""
        super().reset(seed=seed)
        self._key, obs, self.state = self._fns.reset(_next_key(self, seed), self.params)
        return np.array(obs), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step: ``(obs (obs_size,), reward, terminated, truncated, info)``."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        a = _actions(action, self.action_space)
        self._key, obs, self.state, *out = self._fns.step(self._key, self.state, a, self.params)
        reward, terminated, truncated, info = jax.device_get(out)
        return np.array(obs), float(reward), bool(terminated), bool(truncated), info

    def render(self) -> str | None:
        """The queue and the agents as text (``render_mode="ansi"``), else None."""
        if self.render_mode != "ansi" or self.state is None:
            return None
        return render_text(jax.device_get(self.state), int(self.params.max_steps_in_episode),
                           self.jax_env.obs_mode)


class GymnasiumVectorEnv(VectorEnv):
    """``num_envs`` copies as a ``gymnasium.vector.VectorEnv``, stepped by one jitted call.

    Args:
        num_envs: copies stepped at once.
        env, params, config, render_mode: as :class:`GymnasiumEnv`.

    ``step(actions (num_envs, num_actions))`` (the single action space, batched) returns
    ``(obs (num_envs, obs_size), rewards, terminations, truncations (num_envs,), infos)``.
    A copy whose episode ended is reset in the same step (SAME_STEP autoreset): its ``obs`` row
    is the new episode's first observation and
    ``infos["final_obs"][i]`` (mask ``infos["_final_obs"]``) the last one. ``infos`` also holds
    the JAX env's dense ``final_observation`` ``(num_envs, obs_size)``, ``agent_rewards``,
    ``credited_rewards`` and ``request_gains`` ``(num_envs, n_agents)`` and
    ``episode_metrics`` (each ``(num_envs,)``, before the reset).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": RENDER_MODES,
                "render_fps": 4}

    def __init__(
        self,
        num_envs: int,
        env: MultiAgentTaskEnvironment | None = None,
        params: EnvParams | None = None,
        *,
        config: ConfigLike | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} is invalid (allowed: an int >= 1)")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode={render_mode!r} (allowed: {RENDER_MODES} or None)")
        self.jax_env, self.params = resolve(env, params, config)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space, self.single_action_space = _spaces(self.jax_env)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._fns = _functions(_shape(self.jax_env))
        self._key: jax.Array | None = None
        self.state: Any = None  # the batch's EnvState, environment axis last (JAX arrays)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every copy; ``seed`` (one int for the batch) restarts the key chain."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed={seed!r}: one int seeds the whole batch (or None)")
        super().reset(seed=seed)
        self._key, obs, self.state = self._fns.batch_reset(
            _next_key(self, seed), self.params, self.num_envs
        )
        return np.array(obs), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every copy with one jitted ``batch_step`` (see the class docstring)."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        a = _actions(actions, self.action_space)
        self._key, obs, self.state, *out = self._fns.batch_step(
            self._key, self.state, a, self.params
        )
        obs, reward, terminated, truncated, info = jax.device_get((obs, *out))
        done = terminated | truncated
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(done):
            final_obs[i] = info["final_observation"][i]
        info = {**info, "final_obs": final_obs, "_final_obs": done}
        return np.array(obs), reward, terminated, truncated, info

    def render(self) -> tuple[str, ...] | None:
        """One text picture per copy (``render_mode="ansi"``), else None."""
        if self.render_mode != "ansi" or self.state is None:
            return None
        state = jax.device_get(self.state)
        steps = int(self.params.max_steps_in_episode)
        return tuple(render_text(env_copy(state, i), steps, self.jax_env.obs_mode)
                     for i in range(self.num_envs))


if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        ENV_ID,
        entry_point=f"{__name__}:GymnasiumEnv",
        vector_entry_point=f"{__name__}:GymnasiumVectorEnv",
        nondeterministic=False,
    )
