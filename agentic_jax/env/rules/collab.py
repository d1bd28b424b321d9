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


def set_rates(state: EnvState, params: EnvParams, taken: Tasks, sets: chex.Array) -> chex.Array:
    """``(M,)`` :func:`team_rate` of each requesting set of ``sets`` ``(M, n)`` bool, at once.

    The same sum regrouped so a set costs ``O(n T)``, not ``O(n^2 T + n K T)``: an agent's
    chance is the same for all its tasks of one type, so its tasks enter as the priority they
    hold per type; a requester's best partner for a type is the best requester, or the second
    best where it is that one itself. :func:`team_rate` says what is computed; a test holds
    the two equal on every set.
    """
    n = sets.shape[1]
    tasks = jax.tree.map(lambda a, t: jnp.concatenate([a, t[:, None]], 1), state.active, taken)
    per_load = state.capacity / jnp.maximum(1.0, (tasks.complexity * tasks.valid).sum(1))  # (n,)
    held = one_hot_types(state, tasks.task_type)  # (n, K + 1, T)
    priority_held = ((tasks.priority * tasks.valid)[..., None] * held).sum(1)  # (n, T)
    requesters = jnp.where(sets[:, :, None], state.expertise[None], 0.0)  # (M, n, T)
    is_best = jnp.arange(n)[None, :, None] == jnp.argmax(requesters, 1)[:, None]  # (M, n, T)
    second = jnp.where(is_best, 0.0, requesters).max(1, keepdims=True)  # (M, 1, T)
    partner = jnp.where(is_best, second, requesters.max(1, keepdims=True))  # (M, n, T)
    paired = sets & (sets.sum(1, keepdims=True) >= 2)  # (M, n): a requester with a partner
    partner = jnp.where(paired[:, :, None], partner, 0.0)
    expertise = jnp.maximum(state.expertise, params.collaboration_sharing * partner)
    capacity = (1.0 - params.collaboration_cost * paired) * per_load  # (M, n)
    chance = jnp.clip(expertise * capacity[:, :, None], 0.0, 1.0)
    return (chance * priority_held).sum((1, 2))


def _prefer(params: EnvParams, size: chex.Array) -> chex.Array:
    """Tie-break between requester sets of equal rate: the largest when collaboration pays a
    bonus, else the smallest (no request that changes nothing)."""
    return jnp.where(params.collaboration_bonus > 0, size, -size)


def _exact(state, params, taken) -> chex.Array:
    n = state.capacity.shape[0]
    sets = jnp.asarray((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1, bool)  # (2^n, n)
    rates = set_rates(state, params, taken, sets)
    tied = rates >= rates.max()
    prefer = _prefer(params, sets.sum(1).astype(jnp.float32))
    return sets[jnp.argmax(jnp.where(tied, prefer, -jnp.inf))]


def _greedy(state, params, taken) -> chex.Array:
    """From the whole team, drop the agent whose leaving raises the rate most, while it does
    (ties drop unless collaboration pays a bonus); then the empty set if that is better."""
    n = state.capacity.shape[0]
    bonus = params.collaboration_bonus > 0

    def drop(wants, _):
        # rows 0..n-1: wants less agent i; row n: wants itself
        candidates = jnp.concatenate([wants[None] & ~jnp.eye(n, dtype=bool), wants[None]])
        rates = set_rates(state, params, taken, candidates)
        now, rates = rates[n], jnp.where(wants, rates[:n], -jnp.inf)
        i = jnp.argmax(rates)
        better = jnp.where(bonus, rates[i] > now, rates[i] >= now)
        return jnp.where(better, candidates[i], wants), None

    wants, _ = jax.lax.scan(drop, jnp.ones(n, bool), None, length=n)
    none = jnp.zeros(n, bool)
    with_none, with_wants = set_rates(state, params, taken, jnp.stack([none, wants]))
    empty_wins = jnp.where(bonus, with_none > with_wants, with_none >= with_wants)
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
