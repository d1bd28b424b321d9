"""Evaluate a NumPy policy (an SB3 or SBX model, any ``predict``) on the JAX evaluation loop.

:func:`host_policy` turns ``predict(obs) -> actions`` into an :data:`agentic_jax.env.rules.
Policy` for :func:`agentic_jax.env.evaluation.evaluate_policy`: the observations are computed in
JAX and handed to ``predict`` through ``jax.pure_callback``, one call per step for all episodes
at once. So a PyTorch model meets exactly the episodes (agents, initial queue, per-step random
numbers) that a JAX policy or a heuristic evaluated with the same key meets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env import EnvParams, EnvState, MultiAgentTaskEnvironment
from agentic_jax.env.rules import Policy

Predict = Callable[[np.ndarray], Any]


def host_policy(predict: Predict, env: MultiAgentTaskEnvironment) -> Policy:
    """A JAX policy that asks ``predict`` on the host for the action of each observation.

    Args:
        predict: ``predict(obs (B, obs_size) float32) -> actions (B, n_agents * 3)``; called
            once per evaluation step with every episode's observation.
        env: the environment (its observation and action sizes).

    Returns:
        ``policy(key, state, params) -> action (n_agents * 3,)`` (the key is unused), to be
        ``vmap``ped by :func:`evaluate_policy`. Build it once and reuse it: ``evaluate_policy``
        compiles once per policy object, and ``predict`` is looked up at every call, so a model
        that keeps training is evaluated with its current weights.
    """
    action_dim = env.num_actions

    def on_host(obs: np.ndarray) -> np.ndarray:
        batch = np.asarray(obs, np.float32).reshape(-1, obs.shape[-1])
        actions = np.asarray(predict(batch), np.float32).reshape(batch.shape[0], action_dim)
        return actions.reshape(obs.shape[:-1] + (action_dim,))

    def policy(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
        obs = env.get_obs(state, params)
        out = jax.ShapeDtypeStruct(obs.shape[:-1] + (action_dim,), jnp.float32)
        return jax.pure_callback(on_host, out, obs, vmap_method="broadcast_all")

    return policy


def model_predict(model: Any) -> Predict:
    """``predict(obs (B, obs_size)) -> actions (B, A)``: an SB3 or SBX model's deterministic
    actions (clipped to the action space by the model's own ``predict``)."""

    def predict(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    return predict
