"""What a rule ranks and who it lets act: ``(n, Q)`` agent x queue-slot scores and ``(n,)``
eligibility masks, read from one environment's :class:`EnvState`.

A score says how good agent ``i`` is for the task in queue slot ``s`` (larger first); the rule
builders (:mod:`.build`) match eligible agents to valid tasks by it. Times are in environment
steps, at full effort (rules always work at full effort).
"""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax.numpy as jnp

from agentic_jax.env.types import EnvState

ATC_K = 2.0
"""Look-ahead constant ``k`` of :func:`atc_score`: slack is measured in units of ``k`` mean
processing times. 2 is the usual middle of the range the dispatching literature recommends
(about 1.5 to 4.5; smaller favours urgent tasks, larger approaches WSPT)."""

MIN_CHANCE = 1e-3
"""Floor of :func:`completion_chance`, so an expected processing time stays finite (<= 1000
steps) for an agent with no expertise or capacity."""


def one_hot_types(state: EnvState, task_type: chex.Array) -> chex.Array:
    """bool ``(*S, T)``: ``task_type`` ``(*S,)`` as one-hot over the task types (-1: none)."""
    return task_type[..., None] == jnp.arange(state.expertise.shape[1])


def expertise_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` expertise of agent ``i`` for the type of the task in slot ``s``."""
    one_hot = one_hot_types(state, state.queue.task_type)  # (Q, T)
    return (one_hot[None] * state.expertise[:, None, :]).sum(-1)


def expected_rate_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` expected gain in priority-weighted completions per step if agent ``i`` takes
    the task in slot ``s``: its work rate with the task minus without it.

    An agent's rate is ``capacity * sum over its tasks of expertise * priority / max(1, load)``
    (the completion probabilities of :func:`agentic_jax.env.dynamics.completion_probability` at
    full effort, weighted by priority), so a task that slows the agent's other tasks more than it
    adds scores below zero and is left in the queue.
    """
    held = (one_hot_types(state, state.active.task_type) * state.expertise[:, None]).sum(-1)
    work = (held * state.active.priority * state.active.valid).sum(-1)  # (n,)
    load, cap = state.current_load, state.capacity
    new = expertise_score(state) * state.queue.priority[None]  # (n, Q)
    after = (work[:, None] + new) * cap[:, None] / jnp.maximum(
        1.0, load[:, None] + state.queue.complexity[None])
    return after - (work * cap / jnp.maximum(1.0, load))[:, None]


def positive(state: EnvState, score: chex.Array) -> chex.Array:
    """``(n, Q)`` pairs worth taking for :data:`expected_rate`: a positive expected gain."""
    return score > 0


def completion_chance(state: EnvState) -> chex.Array:
    """``(n, Q)`` per-step completion probability of the task in slot ``s`` if agent ``i``
    takes it: ``expertise * capacity / max(1, load + complexity)`` (the env's rule at full
    effort, without collaboration), clipped to ``[MIN_CHANCE, 1]``. The task is done after a
    geometric number of steps, ``1 / chance`` on average (its expected processing time)."""
    load = state.current_load[:, None] + state.queue.complexity[None]
    chance = expertise_score(state) * state.capacity[:, None] / jnp.maximum(1.0, load)
    return jnp.clip(chance, MIN_CHANCE, 1.0)


def wspt_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` weighted shortest processing time: ``priority / expected processing time``
    of the task for the agent (:func:`completion_chance`)."""
    return state.queue.priority[None] * completion_chance(state)


def atc_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` apparent tardiness cost:
    ``priority / p * exp(-max(0, slack) / (ATC_K * p_mean))``.

    ``p`` is the agent's expected processing time of the task (``1 / completion_chance``),
    ``slack = deadline - time - p`` the steps to spare if it starts now (deadlines are absolute
    steps; a task taken at ``time`` is done at ``time + p`` on average) and ``p_mean`` the mean
    ``p`` over every agent and queued task (one scale for the whole team, so agents compare
    for the same task). Tasks past their slack score as WSPT.
    """
    p = 1.0 / completion_chance(state)  # (n, Q)
    valid = jnp.broadcast_to(state.queue.valid[None], p.shape)
    p_mean = jnp.maximum(1.0, (p * valid).sum() / jnp.maximum(1, valid.sum()))
    slack = state.queue.deadline[None] - state.time.astype(jnp.float32) - p
    urgency = jnp.exp(-jnp.maximum(0.0, slack) / (ATC_K * p_mean))
    return state.queue.priority[None] / p * urgency


def _order_score(key: Callable[[EnvState], chex.Array]) -> Callable[[EnvState], chex.Array]:
    """Tasks in order of ``key(state)`` ``(Q,)`` (smaller first), the same for every agent."""
    def score(state):
        n = state.capacity.shape[0]
        return jnp.broadcast_to(-key(state)[None], (n, state.queue.valid.shape[0]))

    return score


fifo_score = _order_score(lambda s: jnp.arange(s.queue.valid.shape[0], dtype=jnp.float32))
deadline_score = _order_score(lambda s: s.queue.deadline)
priority_score = _order_score(lambda s: -s.queue.priority)


# ---------------------------------------------------------------- eligibility: (n,) bool

def has_slot(state: EnvState) -> chex.Array:
    """Agents with a free active slot."""
    return ~state.active.valid.all(-1)


def idle(state: EnvState) -> chex.Array:
    """Agents holding no task."""
    return ~state.active.valid.any(-1)


def everyone(state: EnvState) -> chex.Array:
    return jnp.ones(state.capacity.shape, bool)


def least_loaded(state: EnvState) -> chex.Array:
    """Agents with a free slot at the lowest load among those."""
    free = has_slot(state)
    load = state.current_load
    return free & (load <= jnp.min(jnp.where(free, load, jnp.inf)))
