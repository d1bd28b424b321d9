"""A Stable-Baselines3 ``VecEnv`` of the batched environment (needs the ``baselines`` extra).

:class:`SB3VecEnv` gives SB3 ``num_envs`` copies stepped by ONE jitted ``batch_step``
(through :class:`agentic_jax.compat.gymnasium.GymnasiumVectorEnv`), instead of a Python loop
over Gymnasium envs as ``DummyVecEnv`` does::

    from stable_baselines3 import PPO
    from agentic_jax.compat.sb3 import SB3VecEnv
    model = PPO("MlpPolicy", SB3VecEnv(64, config="configs/default.yaml"), seed=0)

SB3's conventions: ``step`` returns ``(obs, rewards, dones, infos)`` with a list of per-copy
info dicts; a copy whose episode ended has been reset, ``infos[i]["terminal_observation"]``
holds its last observation, ``infos[i]["TimeLimit.truncated"]`` says the episode was cut by
the time limit, and ``infos[i]["episode"]`` (``r``, ``l``, ``t``, as SB3's ``Monitor`` writes)
its return and length, so SB3 logs ``rollout/ep_rew_mean`` without a wrapper.
``VecEnv.seed(s)`` (which ``PPO(seed=s)`` calls) seeds the next ``reset()``: the batch's key
chain starts from ``s`` (see :mod:`agentic_jax.compat.gymnasium`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from agentic_jax.compat.gymnasium import ConfigLike, GymnasiumVectorEnv
from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment


class SB3VecEnv(VecEnv):
    """``num_envs`` copies of the environment as an SB3 ``VecEnv`` (one jitted step for all).

    Args:
        num_envs: copies stepped at once.
        env: the JAX environment (default ``MultiAgentTaskEnvironment()``).
        params: its ``EnvParams`` (default: the env's, or the config's).
        config: a YAML path, ``RunConfig`` or ``EnvConfig`` instead of ``env``/``params``.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        num_envs: int = 4,
        env: MultiAgentTaskEnvironment | None = None,
        params: EnvParams | None = None,
        *,
        config: ConfigLike | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.venv = GymnasiumVectorEnv(num_envs, env, params, config=config,
                                       render_mode=render_mode)
        super().__init__(num_envs, self.venv.single_observation_space,
                         self.venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(num_envs, np.float64)
        self._lengths = np.zeros(num_envs, np.int64)
        self._start = time.time()

    def reset(self) -> np.ndarray:
        """Reset every copy: obs ``(num_envs, obs_size)``; uses the seed set by ``seed()``."""
        obs, _ = self.venv.reset(seed=self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """``(obs (num_envs, obs_size), rewards (num_envs,), dones (num_envs,), infos)``."""
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        self._returns += reward
        self._lengths += 1
        infos: list[dict[str, Any]] = [
            {"TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
            for i in range(self.num_envs)
        ]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_observation"][i]
            infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                   "t": round(time.time() - self._start, 6)}
        self._returns[dones] = 0.0
        self._lengths[dones] = 0
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def render(self, mode: str | None = None) -> str | None:
        """The copies as text, one after another (``render_mode="ansi"``), else None."""
        frames = self.venv.render()
        return None if frames is None else "\n".join(frames)

    def _indices(self, indices: Any) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The vector env's attribute, once per requested copy (the copies share it)."""
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set an attribute of the vector env (shared by every copy)."""
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of the vector env once; its result is given for every copy."""
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """No copy is wrapped."""
        return [False] * len(self._indices(indices))


__all__ = ["SB3VecEnv"]
