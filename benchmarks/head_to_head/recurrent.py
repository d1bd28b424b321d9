"""The fixed evaluation episodes for a policy with a carried state (a recurrent actor).

:func:`agentic_jax.env.evaluation.evaluate_policy` takes a stateless ``policy(key, state,
params)``; a GRU actor's hidden state has to travel from step to step. :func:`evaluate_carried`
splits the key and steps the episodes exactly as ``evaluate_policy`` does, so a carried policy
meets the same episodes (agents, initial queue, per-step random numbers) as every stateless
policy and rule evaluated with the same key; tests/benchmarks/test_jaxmarl_head_to_head.py
checks that a stateless policy gets identical returns from both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.env.metrics import episode_metrics

# step(carry, key, state, params) -> (carry, action) for one environment copy
CarriedPolicy = Callable[[Any, jax.Array, Any, EnvParams], tuple[Any, jax.Array]]


def evaluate_carried(step: CarriedPolicy, carry0: Any, env: MultiAgentTaskEnvironment,
                     params: EnvParams, key: jax.Array, n_episodes: int) -> dict[str, jax.Array]:
    """Run ``n_episodes`` whole episodes of a carried policy, every episode from ``carry0``.

    Args:
        step: ``step(carry, key, state, params) -> (carry, action)`` of one env copy.
        carry0: the policy's state at an episode's start (any pytree; the same for every
            episode).
        env, params: the environment.
        key: the evaluation key (the same key as ``evaluate_policy``'s gives the same episodes).
        n_episodes: episodes, run in parallel.

    Returns:
        As ``evaluate_policy(..., return_episode_rewards=True)``: float32 scalars
        ``mean_reward``, ``std_reward`` and every :func:`episode_metrics` key (means over
        episodes), and ``episode_rewards [n_episodes]``. Jit-able with ``step``, ``env`` and
        ``n_episodes`` static.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is invalid; allowed: an integer >= 1")
    reset_key, run_key = jax.random.split(key)
    _, states = jax.vmap(env.reset_env, (0, None))(jax.random.split(reset_key, n_episodes),
                                                   params)
    carries = jax.tree.map(lambda x: jnp.broadcast_to(x, (n_episodes,) + jnp.shape(x)), carry0)

    def one_step(state_and_carry, step_key):
        states, carries = state_and_carry
        policy_keys, env_keys = jnp.split(jax.random.split(step_key, 2 * n_episodes), 2)
        carries, actions = jax.vmap(step, (0, 0, 0, None))(carries, policy_keys, states, params)
        _, states, _, _, _ = jax.vmap(env.step_env, (0, 0, 0, None))(env_keys, states, actions,
                                                                     params)
        return (states, carries), None

    steps = int(params.max_steps_in_episode)
    (states, _), _ = jax.lax.scan(one_step, (states, carries), jax.random.split(run_key, steps))
    metrics = jax.vmap(episode_metrics)(states)
    summary = {k: v.mean() for k, v in metrics.items()}
    summary["mean_reward"] = metrics["episode_return"].mean()
    summary["std_reward"] = metrics["episode_return"].std()
    summary["episode_rewards"] = metrics["episode_return"]
    return summary


__all__ = ["CarriedPolicy", "evaluate_carried"]
