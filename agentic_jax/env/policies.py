"""Heuristic allocation policies and the evaluation loop shared with learned policies.

A policy is a pure function ``policy(key, state, params) -> action`` of one environment copy:
``state`` is the :class:`EnvState` (heuristics read it directly; a learned policy computes the
observation with ``env.get_obs(state, params)``) and ``action`` is, in the seed action mode,
float32 ``(n_agents * 3,)`` laid out per agent as ``(accept, effort, collaborate)``; in the
select mode int32 ``(n_agents * 2,)`` of ``(choice, collaborate)`` (:mod:`.select`).

The heuristics work at full effort and, by default, never request collaboration; their
``*_collab`` variants always request it (and so collect the seed's free collaboration bonus),
their ``*_helps`` variants per agent when it is expected to pay
(:func:`agentic_jax.env.rules.collaboration_helps`).

Tables: :data:`RULES` (seed mode) and :data:`SELECT_RULES` (select mode,
:mod:`agentic_jax.env.select`) hold every rule under the same names; :func:`heuristics_for`
picks the one that fits an environment's action mode, and :func:`evaluate_heuristics` does so
itself. :data:`HEURISTICS` is the default baseline set (the first seven seed-mode rules, the
names the configs accept today): each rule costs one compilation (~3 s on a CPU) wherever the
baselines are evaluated, so the larger table is asked for by name. The rules are described in
:mod:`agentic_jax.env.rules`.
"""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import rules
from agentic_jax.env.environment import MultiAgentTaskEnvironment
from agentic_jax.env.metrics import episode_metrics
from agentic_jax.env.types import EnvParams, EnvState

Policy = Callable[[chex.PRNGKey, EnvState, EnvParams], chex.Array]


def _action(accept: chex.Array, collaborate: bool) -> chex.Array:
    n = accept.shape[0]
    collab = jnp.full((n,), 1.0 if collaborate else 0.0)
    return jnp.stack([accept.astype(jnp.float32), jnp.ones(n), collab], -1).ravel()


def random_policy(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
    """Uniform random action in the box (accepts, effort and collaboration at random)."""
    return jax.random.uniform(key, (state.capacity.shape[0] * 3,))


def _always_accept(collaborate: bool) -> Policy:
    def policy(key, state, params):
        return _action(jnp.ones(state.capacity.shape[0], bool), collaborate)

    return policy


def _ordered_matching(score: Callable[[EnvState], chex.Array], collaborate: bool) -> Policy:
    """Give queue tasks, head first, to the best-scoring eligible agent.

    The environment hands the ``r``-th queue task to the ``r``-th accepting agent in index
    order, so after an agent is picked for task ``r`` only agents with a larger index can take
    task ``r + 1``. ``score(state)`` is ``(n, Q)``: how good agent ``i`` is for queue slot ``s``;
    eligible agents hold no task (``idle``).
    """

    def policy(key, state, params):
        n = state.capacity.shape[0]
        Q = state.queue.valid.shape[0]
        scores = score(state)
        idle = ~state.active.valid.any(-1)
        index = jnp.arange(n)

        def pick(carry, slot):
            accept, last = carry
            eligible = idle & (index > last) & state.queue.valid[slot]
            best = jnp.argmax(jnp.where(eligible, scores[:, slot], -jnp.inf))
            ok = eligible.any()
            accept = accept | (ok & (index == best))
            return (accept, jnp.where(ok, best, last)), None

        init = (jnp.zeros(n, bool), jnp.asarray(-1))
        (accept, _), _ = jax.lax.scan(pick, init, jnp.arange(min(n, Q)))
        return _action(accept, collaborate)

    return policy


def _expertise_score(state: EnvState) -> chex.Array:
    one_hot = state.queue.task_type[None, :, None] == jnp.arange(state.expertise.shape[1])
    return (one_hot * state.expertise[:, None, :]).sum(-1)  # (n, Q)


def _least_loaded(collaborate: bool) -> Policy:
    """Every agent with a free slot whose load is at most the team's lowest accepts."""

    def policy(key, state, params):
        load = state.current_load
        has_slot = ~state.active.valid.all(-1)
        lowest = jnp.min(jnp.where(has_slot, load, jnp.inf))
        return _action(has_slot & (load <= lowest), collaborate)

    return policy


HEURISTICS: dict[str, Policy] = {
    "random": random_policy,
    "always_accept": _always_accept(False),
    "always_accept_collab": _always_accept(True),
    "expertise_greedy": _ordered_matching(_expertise_score, False),
    "expertise_greedy_collab": _ordered_matching(_expertise_score, True),
    "least_loaded": _least_loaded(False),
    "least_loaded_collab": _least_loaded(True),
}

_FIFO_IDLE = rules.seed_rule(rules.fifo_score, rules.idle, rules.never)

RULES: dict[str, Policy] = {
    **HEURISTICS,
    # The seed mode hands out the queue head only: these two are first-come first-served to
    # idle agents (one function, so they share one compilation).
    "earliest_deadline": _FIFO_IDLE,
    "highest_priority": _FIFO_IDLE,
    "expertise_greedy_helps": rules.seed_rule(rules.expertise_score, rules.idle,
                                              rules.collaboration_helps),
    "least_loaded_helps": rules.seed_rule(rules.fifo_score, rules.least_loaded,
                                          rules.collaboration_helps),
    "expected_rate": rules.seed_rule(rules.expected_rate_score, rules.has_slot, rules.never,
                                     rules.positive),
    "expected_rate_collab": rules.seed_rule(rules.expected_rate_score, rules.has_slot,
                                            rules.always, rules.positive),
    "expected_rate_helps": rules.seed_rule(rules.expected_rate_score, rules.has_slot,
                                           rules.collaboration_helps, rules.positive),
}


def _select_table() -> dict[str, Policy]:
    collab = {"": rules.never, "_collab": rules.always, "_helps": rules.collaboration_helps}
    task_rules = {
        "always_accept": (rules.fifo_score, rules.has_slot),  # FIFO
        "earliest_deadline": (rules.deadline_score, rules.idle),
        "highest_priority": (rules.priority_score, rules.idle),
        "expertise_greedy": (rules.expertise_score, rules.idle),
        "least_loaded": (rules.fifo_score, rules.least_loaded),
        "expected_rate": (rules.expected_rate_score, rules.has_slot, rules.positive),
    }
    table = {"random": rules.select_random}
    for name in RULES:
        if name == "random":
            continue
        base, suffix = name, ""
        for end in ("_collab", "_helps"):
            if name.endswith(end):
                base, suffix = name[: -len(end)], end
        score, eligible, *pairs = task_rules[base]
        table[name] = rules.select_rule(score, eligible, collab[suffix], *pairs)
    return table


SELECT_RULES: dict[str, Policy] = _select_table()


def heuristics_for(action_mode: str) -> dict[str, Policy]:
    """The rules table of an action mode (``env.action_mode``); both have the same names."""
    return SELECT_RULES if action_mode == "select" else RULES


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
    """``{heuristic name: metrics}`` for the :data:`HEURISTICS` names (or ``names``, any of
    :data:`RULES`), as Python floats.

    The rules are those of the environment's action mode (:func:`heuristics_for`).
    """
    env.validate_params(params)
    policies = heuristics_for(env.action_mode)
    names = tuple(HEURISTICS) if names is None else names
    unknown = [n for n in names if n not in policies]
    if unknown:
        raise ValueError(f"unknown heuristic(s) {unknown}; allowed: {', '.join(policies)}")
    table = {}
    for name in names:
        metrics = evaluate_policy(policies[name], env, params, key, n_episodes)
        table[name] = {k: float(v) for k, v in metrics.items()}
    return table
