"""Evaluating a policy over whole episodes: learned policies and the rules alike.

A policy is a :data:`~agentic_jax.env.rules.Policy`, ``policy(key, state, params) -> action``
of one environment copy. :func:`evaluate_policy` runs a batch of episodes of one policy;
:func:`evaluate_heuristics` does so for rules of the environment's action mode by name.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import modes
from agentic_jax.env.environment import MultiAgentTaskEnvironment
from agentic_jax.env.metrics import episode_metrics
from agentic_jax.env.rules import HEURISTICS, Policy
from agentic_jax.env.types import EnvParams


def heuristics_for(action_mode: str) -> dict[str, Policy]:
    """The rules table of the action mode called ``action_mode`` (``env.action_mode``)."""
    return modes.get(action_mode).rules


def evaluate_policy(
    policy: Policy,
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int = 64,
    return_episode_rewards: bool = False,
) -> dict[str, chex.Array]:
    """Run ``n_episodes`` full episodes in parallel and average their statistics.

    Every episode lasts exactly ``params.max_steps_in_episode`` steps (episodes end only by
    truncation). Jit-able with ``policy``, ``env``, ``n_episodes`` and
    ``return_episode_rewards`` static. Two policies evaluated with the same ``key`` meet the
    same episodes (agents, initial queue, per-step random numbers), so their per-episode
    returns can be compared pairwise.

    Returns:
        float32 scalars: ``mean_reward`` (mean episode return) and ``std_reward``, the seed's
        metrics ``completion_rate``, ``utilisation``, ``collaboration_frequency``, plus
        ``match`` and the other :func:`episode_metrics` keys, each a mean over episodes.
        With ``return_episode_rewards`` (as SB3's ``evaluate_policy``), also
        ``episode_rewards``: the ``(n_episodes,)`` episode returns.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is invalid; allowed: an integer >= 1")
    steps = int(params.max_steps_in_episode)
    summary, returns = _evaluate(policy, env, params, key, n_episodes, steps)
    if return_episode_rewards:
        summary["episode_rewards"] = returns
    return summary


def _evaluate(policy, env, params, key, n_episodes, steps):
    reset_key, run_key = jax.random.split(key)
    _, states = jax.vmap(env.reset_env, (0, None))(jax.random.split(reset_key, n_episodes), params)

    def one_step(states, step_key):
        policy_keys, env_keys = jnp.split(jax.random.split(step_key, 2 * n_episodes), 2)
        actions = jax.vmap(policy, (0, 0, None))(policy_keys, states, params)
        _, states, _, _, _ = jax.vmap(env.step_env, (0, 0, 0, None))(
            env_keys, states, actions, params
        )
        return states, None

    states, _ = jax.lax.scan(one_step, states, jax.random.split(run_key, steps))
    metrics = jax.vmap(episode_metrics)(states)
    summary = {k: v.mean() for k, v in metrics.items()}
    summary["mean_reward"] = metrics["episode_return"].mean()
    summary["std_reward"] = metrics["episode_return"].std()
    return summary, metrics["episode_return"]


_evaluate = jax.jit(_evaluate, static_argnums=(0, 1, 4, 5))


def evaluate_heuristics(
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int = 64,
    names: tuple[str, ...] | None = None,
) -> dict[str, dict[str, float]]:
    """``{heuristic name: metrics}`` for the :data:`~agentic_jax.env.rules.HEURISTICS` names (or
    ``names``, any of the mode's table), as Python floats.

    The rules are those of the environment's action mode (``env.mode.rules``).
    """
    env.validate_params(params)
    policies = env.mode.rules
    names = tuple(HEURISTICS) if names is None else names
    unknown = [n for n in names if n not in policies]
    if unknown:
        raise ValueError(f"unknown heuristic(s) {unknown}; allowed: {', '.join(policies)}")
    table = {}
    for name in names:
        metrics = evaluate_policy(policies[name], env, params, key, n_episodes)
        table[name] = {k: float(v) for k, v in metrics.items()}
    return table
