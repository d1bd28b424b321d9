"""Varied environment states for the rules' tests, and one state's arrays as NumPy."""

from __future__ import annotations

import jax
import numpy as np


def varied_states(env, params, key, n_envs=4, steps=8):
    """``n_envs * steps`` states (busy arrivals, random actions), batch-first."""

    @jax.jit
    def collect(key):
        _, state = jax.vmap(env.reset_env, (0, None))(jax.random.split(key, n_envs), params)

        def one(state, k):
            a = jax.vmap(env.action_space(params).sample)(jax.random.split(k, n_envs))
            keys = jax.random.split(jax.random.fold_in(k, 1), n_envs)
            state = jax.vmap(env.step_env, (0, 0, 0, None))(keys, state, a, params)[1]
            return state, state

        return jax.lax.scan(one, state, jax.random.split(key, steps))[1]

    out = collect(key)
    return jax.tree.map(lambda x: x.reshape((n_envs * steps,) + x.shape[2:]), out)


def numpy_state(batch, e: int) -> dict[str, np.ndarray]:
    """The arrays of state ``e`` of a batch, by field (``queue_*``, ``active_*``)."""
    out = {k: np.asarray(getattr(batch, k))[e] for k in ("capacity", "expertise", "time")}
    for part in ("queue", "active"):
        for k in ("complexity", "priority", "deadline", "task_type", "valid"):
            out[f"{part}_{k}"] = np.asarray(getattr(getattr(batch, part), k))[e]
    return out
