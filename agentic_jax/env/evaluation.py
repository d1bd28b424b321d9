"""Evaluating a policy over whole episodes: learned policies and the rules alike.

A policy is a :data:`~agentic_jax.env.rules.Policy`, ``policy(key, state, params) -> action``
of one environment copy. :func:`evaluate_policy` runs a batch of episodes of one policy.
:func:`evaluate_rules` (and :func:`evaluate_heuristics`, its host floats) runs rules of the
environment's action mode by name through ONE compiled program per ``(env, n_episodes,
episode length)``: the program holds the mode's whole rules table and takes the rule's index
as a traced argument (:func:`switch_policy`), so asking for more rules, or other ones, adds
run time and no compilation. :func:`evaluate_indexed` is that program's body for any tuple of
policies, e.g. a learned policy and the rules in one program; :func:`indexed_episodes` the
same with per-episode metrics (a run's evaluation program, summarised on the host by
:mod:`~agentic_jax.env.batches`). :func:`rule_episodes` gives the rules' per-episode metrics in
batches, as a sweep's report and ``heuristics.json`` take them.
"""

from __future__ import annotations

from collections.abc import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env import modes
from agentic_jax.env.batches import run_batches
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


def _episodes(policy, env, params, key, n_episodes, steps):
    """``(summary, returns (n_episodes,))`` of ``policy`` on the episodes of ``key``."""
    metrics = _per_episode(policy, env, params, key, n_episodes, steps)
    summary = {k: v.mean() for k, v in metrics.items()}
    summary["mean_reward"] = metrics["episode_return"].mean()
    summary["std_reward"] = metrics["episode_return"].std()
    return summary, metrics["episode_return"]


def _per_episode(policy, env, params, key, n_episodes, steps):
    """``{metric: (n_episodes,)}`` (:func:`episode_metrics`) of ``policy`` on ``key``'s."""
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
    return jax.vmap(episode_metrics)(states)


_evaluate = jax.jit(_episodes, static_argnums=(0, 1, 4, 5))


def switch_policy(policies: Sequence[Policy], index: chex.Array) -> Policy:
    """The policy ``policies[index]``, chosen inside the program: ``index`` is a traced int32
    scalar and ``lax.switch`` runs only the chosen branch. Every policy must return actions
    of one shape and dtype (those of the action mode)."""
    branches = tuple(policies)

    def policy(key, state, params):
        return jax.lax.switch(index, branches, key, state, params)

    return policy


def evaluate_indexed(
    policies: Sequence[Policy],
    index: chex.Array,
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int = 64,
    return_episode_rewards: bool = False,
) -> dict[str, chex.Array]:
    """:func:`evaluate_policy` of ``policies[index]``, with ``index`` traced.

    Traceable (call it inside ``jit``, ``policies`` closing over traced values such as network
    parameters): one compilation serves every index, e.g. index 0 a learned policy and
    ``1 ..`` the rules, all on the same episodes of ``key``. ``index`` is clamped into range
    by ``lax.switch``.
    """
    steps = int(params.max_steps_in_episode)
    summary, returns = _episodes(switch_policy(policies, index), env, params, key, n_episodes,
                                 steps)
    if return_episode_rewards:
        summary["episode_rewards"] = returns
    return summary


def indexed_episodes(
    policies: Sequence[Policy],
    index: chex.Array,
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int,
) -> dict[str, chex.Array]:
    """Per-episode metrics of ``policies[index]`` (``index`` traced, as in
    :func:`evaluate_indexed`): ``{metric: float32 (n_episodes,)}``, the
    :func:`episode_metrics` keys (``episode_return`` the episode's return). Traceable;
    :mod:`~agentic_jax.env.batches` summarises them on the host."""
    steps = int(params.max_steps_in_episode)
    return _per_episode(switch_policy(policies, index), env, params, key, n_episodes, steps)


def _table_program(table, env, index, params, key, n_episodes, steps):
    return _episodes(switch_policy(table, index), env, params, key, n_episodes, steps)


_table_program = jax.jit(_table_program, static_argnums=(0, 1, 5, 6))


def rules_table(env: MultiAgentTaskEnvironment, names: Sequence[str]
                ) -> tuple[tuple[Policy, ...], dict[str, int]]:
    """`(the mode's whole rules table, {rule name: its index})`, the table programs' static
    table and their traced index; ValueError (one line) when a name is not in the table."""
    policies = env.mode.rules
    unknown = [n for n in names if n not in policies]
    if unknown:
        raise ValueError(f"unknown heuristic(s) {unknown}; allowed: {', '.join(policies)}")
    return tuple(policies.values()), {name: i for i, name in enumerate(policies)}


def evaluate_rules(
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int = 64,
    names: Sequence[str] | None = None,
    return_episode_rewards: bool = False,
) -> dict[str, dict[str, chex.Array]]:
    """``{rule name: metrics}`` as :func:`evaluate_policy` returns them (device arrays), for
    the :data:`~agentic_jax.env.rules.HEURISTICS` names or ``names`` (any of the mode's table).

    Every rule meets the same episodes of ``key`` and equals its own ``evaluate_policy``. The
    rules run one after another through one compiled program over the mode's whole table
    (``env.mode.rules``), the rule chosen by a traced index; the results are not waited for.
    """
    env.validate_params(params)
    if not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes!r} is invalid; allowed: an integer >= 1")
    if isinstance(names, str):
        raise ValueError(f"names={names!r} is one string; allowed: a tuple of rule names")
    names = tuple(HEURISTICS) if names is None else tuple(names)
    table, position = rules_table(env, names)
    steps = int(params.max_steps_in_episode)
    out = {}
    for name in names:
        index = jnp.asarray(position[name], jnp.int32)
        summary, returns = _table_program(table, env, index, params, key, n_episodes, steps)
        out[name] = {**summary, "episode_rewards": returns} if return_episode_rewards else summary
    return out


def evaluate_heuristics(
    env: MultiAgentTaskEnvironment,
    params: EnvParams,
    key: chex.PRNGKey,
    n_episodes: int = 64,
    names: tuple[str, ...] | None = None,
) -> dict[str, dict[str, float]]:
    """``{heuristic name: metrics}`` for the :data:`~agentic_jax.env.rules.HEURISTICS` names (or
    ``names``, any of the mode's table), as Python floats.

    The rules are those of the environment's action mode (``env.mode.rules``), run by
    :func:`evaluate_rules` (one compiled program for the whole table, one transfer at the end).
    """
    table = evaluate_rules(env, params, key, n_episodes, names)
    host = jax.device_get(table)  # one transfer (its dicts come back in sorted key order)
    return {name: {k: float(host[name][k]) for k in table[name]} for name in table}


def _table_episodes(table, env, index, params, key, n_episodes, steps):
    return _per_episode(switch_policy(table, index), env, params, key, n_episodes, steps)


_table_episodes = jax.jit(_table_episodes, static_argnums=(0, 1, 5, 6))


def rule_episodes(env: MultiAgentTaskEnvironment, params: EnvParams, key: chex.PRNGKey,
                  n_episodes: int, batch: int, names: Sequence[str]
                  ) -> dict[str, dict[str, np.ndarray]]:
    """`{rule: {metric: (n_episodes,)}}`: per-episode metrics (:func:`episode_metrics` keys) of
    each rule in `names` on the first `n_episodes` episodes of `key` in batches of `batch`
    (`env.batches`), the episodes a run's or sweep's evaluations and final evaluation meet.
    One compiled program per `(env, batch)` for the mode's whole table, as
    :func:`evaluate_rules`; summarise with `env.batches.summarize`."""
    table, position = rules_table(env, names)
    steps = int(params.max_steps_in_episode)

    def rules(k):  # keyed (rule, metric): every batch of every rule dispatched, one transfer
        return {(name, metric): values for name in names
                for metric, values in _table_episodes(
                    table, env, jnp.asarray(position[name], jnp.int32), params, k, batch,
                    steps).items()}

    flat = run_batches(rules, key, n_episodes, batch) if names else {}
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for (name, metric), values in flat.items():
        out[name][metric] = values
    return out
