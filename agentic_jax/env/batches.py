"""Any number of evaluation episodes as batches of ONE compiled program of ``batch`` episodes.

An evaluation of ``N`` episodes runs a ``batch``-episode program ``ceil(N / batch)`` times and
keeps the first ``N`` episodes, so the periodic evaluation (``N == batch``), the final one and
any other count share one compile. Batch ``b`` meets the episodes of :func:`batch_key`
``(key, b)``: ``key`` itself for batch 0 (an ``N <= batch`` evaluation meets the first
episodes of the ``batch``-episode program on ``key``) and ``fold_in(key, b)`` after, so the
episodes of ``(key, N)`` are the first ``N`` of ``(key, N')`` for any ``N' >= N``, and every
policy evaluated on ``key`` meets the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import numpy as np

PerEpisode = Mapping[str, np.ndarray]  # metric -> (..., n_episodes), episodes on the last axis


def batch_key(key: jax.Array, b: int) -> jax.Array:
    """The key of batch ``b`` of the episodes of ``key`` (batch 0: ``key`` itself)."""
    return key if b == 0 else jax.random.fold_in(key, b)


def check_count(n_episodes: object, batch: object) -> None:
    """Raise ValueError (one line, naming the value) unless both are ints >= 1."""
    for name, value in (("n_episodes", n_episodes), ("batch", batch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} is invalid; allowed: an integer >= 1")


def run_batches(program: Callable[[jax.Array], PerEpisode], key: jax.Array, n_episodes: int,
                batch: int) -> dict[str, np.ndarray]:
    """The first ``n_episodes`` episodes of ``key``, as host arrays.

    Args:
        program: ``program(key) -> {metric: (..., batch)}`` (device or host arrays; leading
            axes, e.g. sweep members ``M``, are kept).
        batch: the episodes of one call of ``program``.

    Returns:
        ``{metric: (..., n_episodes)}``: the batches' episodes in order, cut to
        ``n_episodes``. Every batch is dispatched before the one transfer back.
    """
    check_count(n_episodes, batch)
    outs = [program(batch_key(key, b)) for b in range(-(-n_episodes // batch))]
    host = jax.device_get(outs)
    return {name: np.concatenate([np.asarray(o[name]) for o in host], axis=-1)[..., :n_episodes]
            for name in host[0]}


def summarize(per_episode: PerEpisode, episode_rewards: bool = False) -> dict[str, np.ndarray]:
    """Means over the episodes (last axis) of every metric, as :func:`evaluate_policy`
    returns them, computed on the host in float32: each metric's mean, ``mean_reward`` and
    ``std_reward`` (population std) of ``episode_return``, and with ``episode_rewards`` the
    ``(..., n_episodes)`` returns themselves. Scalars for ``(n,)`` inputs, ``[M]`` for
    ``[M, n]``."""
    out = {k: np.mean(np.asarray(v, np.float32), axis=-1, dtype=np.float32)
           for k, v in per_episode.items()}
    returns = np.asarray(per_episode["episode_return"], np.float32)
    out["mean_reward"] = out["episode_return"]
    out["std_reward"] = np.std(returns, axis=-1, dtype=np.float32)
    if episode_rewards:
        out["episode_rewards"] = returns
    return out
