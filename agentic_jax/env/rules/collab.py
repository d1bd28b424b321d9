"""Who requests collaboration: ``collab(state, params, taken) -> (n,)`` bool per agent.

``taken`` is a :class:`Tasks` ``(n,)``: the task each agent takes this step (``valid`` False:
none), as the rule's own assignment decided it. Two requesting agents collaborate
(:func:`agentic_jax.env.modes.base.mutual_pairs`): each one's tasks are processed with
``max(own, sharing * best partner's)`` expertise and each works at ``(1 - cost)`` of its
capacity (:func:`agentic_jax.env.dynamics.completion_probability`).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env.rules.scores import one_hot_types
from agentic_jax.env.types import EnvParams, EnvState, Tasks

MAX_EXACT_AGENTS = 8
""":func:`team_collaboration` enumerates every subset of requesting agents (``2 ** n``) up to
this team size; larger teams use a greedy backward elimination."""


def never(state: EnvState, params: EnvParams, taken: Tasks) -> chex.Array:
    return jnp.zeros(state.capacity.shape, bool)


def always(state: EnvState, params: EnvParams, taken: Tasks) -> chex.Array:
    return jnp.ones(state.capacity.shape, bool)


def _type_counts(state: EnvState, taken: Tasks) -> chex.Array:
    """``(n, T)`` tasks per type each agent holds after this step's assignment."""
    held = (state.active.valid[..., None] * one_hot_types(state, state.active.task_type)).sum(1)
    return held + one_hot_types(state, jnp.where(taken.valid, taken.task_type, -1))


def collaboration_helps(state: EnvState, params: EnvParams, taken: Tasks) -> chex.Array:
    """``(n,)`` bool: agents for whom a collaboration request is expected to pay.

    Work rate of agent ``i`` = ``capacity * sum over its tasks of expertise``. A beneficiary
    gains when ``(1 - cost) * max(own, sharing * best other's)`` beats its own expertise summed
    over its tasks; a lender requests when what it lends to the beneficiaries beats the
    ``cost`` share of its own rate. Where collaboration costs nothing and pays a bonus
    (the seed's rules) everyone requests.
    """
    n = state.capacity.shape[0]
    counts = _type_counts(state, taken)
    own, cap = state.expertise, state.capacity
    sharing, cost = params.collaboration_sharing, params.collaboration_cost
    others = ~jnp.eye(n, dtype=bool)
    best = jnp.max(jnp.where(others[:, :, None], own[None], 0.0), 1)  # (n, T)
    lent = jnp.maximum(own, sharing * best) * (1.0 - cost) - own
    beneficiary = (counts * lent).sum(-1) * cap > 0
    # what j could lend to each beneficiary i: (i, j) summed over i's tasks
    lend = jnp.maximum(0.0, sharing * own[None] * (1.0 - cost) - own[:, None])  # (i, j, T)
    give = ((counts[:, None] * lend).sum(-1) * cap[:, None] * (beneficiary[:, None] & others))
    loss = cost * (counts * own).sum(-1) * cap
    free_bonus = (params.collaboration_bonus > 0) & (params.collaboration_cost == 0)
    return beneficiary | (give.sum(0) > loss) | free_bonus


def team_rate(state: EnvState, params: EnvParams, taken: Tasks, wants: chex.Array) -> chex.Array:
    """Scalar expected priority-weighted completions of the team this step if exactly the
    agents ``wants`` ``(n,)`` bool request collaboration, at full effort.

    The sum over every agent's tasks after the assignment (its active tasks and ``taken``) of
    ``priority * clip(expertise * capacity / max(1, load), 0, 1)`` with the collaboration
    effects of the env: an agent with another requester uses ``max(own, sharing * best
    requesting partner's)`` expertise and ``(1 - cost)`` of its capacity.
    """
    n = wants.shape[0]
    partners = wants[None, :] & wants[:, None] & ~jnp.eye(n, dtype=bool)  # (i, j)
    best = jnp.max(jnp.where(partners[:, :, None], state.expertise[None], 0.0), 1)  # (n, T)
    expertise = jnp.maximum(state.expertise, params.collaboration_sharing * best)
    capacity = state.capacity * (1.0 - params.collaboration_cost * partners.any(1))
    tasks = jax.tree.map(lambda a, t: jnp.concatenate([a, t[:, None]], 1), state.active, taken)
    load = (tasks.complexity * tasks.valid).sum(1)
    skill = (one_hot_types(state, tasks.task_type) * expertise[:, None]).sum(-1)  # (n, K + 1)
    chance = jnp.clip(skill * (capacity / jnp.maximum(1.0, load))[:, None], 0.0, 1.0)
    return (chance * tasks.priority * tasks.valid).sum()


def _prefer(params: EnvParams, size: chex.Array) -> chex.Array:
    """Tie-break between requester sets of equal rate: the largest when collaboration pays a
    bonus, else the smallest (no request that changes nothing)."""
    return jnp.where(params.collaboration_bonus > 0, size, -size)


def _exact(state, params, taken) -> chex.Array:
    n = state.capacity.shape[0]
    masks = jnp.asarray((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1, bool)  # (2^n, n)
    rates = jax.vmap(lambda m: team_rate(state, params, taken, m))(masks)
    tied = rates >= rates.max()
    prefer = _prefer(params, masks.sum(1).astype(jnp.float32))
    return masks[jnp.argmax(jnp.where(tied, prefer, -jnp.inf))]


def _greedy(state, params, taken) -> chex.Array:
    """From the whole team, drop the agent whose leaving raises the rate most, while it does
    (ties drop unless collaboration pays a bonus); then the empty set if that is better."""
    n = state.capacity.shape[0]
    bonus = params.collaboration_bonus > 0

    def rate(wants):
        return team_rate(state, params, taken, wants)

    def drop(wants, _):
        without = wants[None] & ~jnp.eye(n, dtype=bool)  # (n, n): row i = wants less i
        rates = jnp.where(wants, jax.vmap(rate)(without), -jnp.inf)
        i, now = jnp.argmax(rates), rate(wants)
        better = jnp.where(bonus, rates[i] > now, rates[i] >= now)
        return jnp.where(better, without[i], wants), None

    wants, _ = jax.lax.scan(drop, jnp.ones(n, bool), None, length=n)
    none = jnp.zeros(n, bool)
    empty_wins = jnp.where(bonus, rate(none) > rate(wants), rate(none) >= rate(wants))
    return jnp.where(empty_wins, none, wants)


def team_collaboration(state: EnvState, params: EnvParams, taken: Tasks,
                       exact: bool | None = None) -> chex.Array:
    """``(n,)`` bool: the set of requesting agents that maximises :func:`team_rate`.

    ``exact`` (static; default: ``n <= MAX_EXACT_AGENTS``) enumerates all ``2 ** n`` sets;
    otherwise a greedy backward elimination (``n`` rounds of ``n`` candidates) finds a local
    optimum. Ties go to the largest set when collaboration pays a bonus, else the smallest.
    """
    n = state.capacity.shape[0]
    exact = n <= MAX_EXACT_AGENTS if exact is None else exact
    return (_exact if exact else _greedy)(state, params, taken)
