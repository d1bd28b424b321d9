"""Per-agent, per-queue-slot features that do not depend on the number of task types.

What agent ``i`` would bring to the task in queue slot ``j``, read against its team, as four
numbers (all 0 for an empty slot):

0. ``own``: its expertise for the slot's type, ``expertise[i, type_j]``;
1. ``best_other``: the best teammate's expertise for that type (0 for a lone agent);
2. ``rank``: how many teammates are strictly better at that type, over ``n - 1``
   (0: nobody is better; 1: everyone is; 0 for a lone agent);
3. ``load_after``: its load after taking the task over its capacity, per active slot,
   ``(load_i + complexity_j) / (K * max(capacity_i, 0.05))``: about the steps of work
   it would hold at full effort, spread over its ``K`` slots.

A policy that reads these instead of type one-hots and an expertise matrix has the same input
size for any ``n_task_types`` (see the ``"slots"`` observation layout).

The ``"slots_rates"`` layout adds two more, read from what the agent holds (its active tasks'
expertise and priorities, which no layout shows otherwise), the scores of the scheduling rules
(:mod:`agentic_jax.env.rules.scores`) as inputs rather than as decisions:

4. ``gain``: the expected gain in priority-weighted completions per step if the agent takes the
   task, its work rate with it minus without it (the ``expected_rate`` rules' score);
5. ``chance``: its per-step completion probability of the task at full effort, clipped to
   ``[MIN_CHANCE, 1]`` (``1 /`` the expected processing time of the ``wspt``/``atc`` rules).
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env import small_ops as small
from agentic_jax.env.rules.scores import MIN_CHANCE
from agentic_jax.env.types import EnvState

FEATURES = ("own", "best_other", "rank", "load_after")
RATE_FEATURES = ("gain", "chance")  # added by the "slots_rates" layout
MIN_CAPACITY = 0.05  # floor of the capacity in load_after, so it stays finite


def agent_slot_features(state: EnvState, rates: bool = False) -> chex.Array:
    """``(n, Q, F, *B)`` float32: :data:`FEATURES` of every agent for every queue slot, then
    :data:`RATE_FEATURES` with ``rates`` (``F`` = 4, or 6)."""
    expertise = state.expertise  # (n, T, *B)
    n = expertise.shape[0]
    q = state.queue
    types = jnp.broadcast_to(q.task_type, (n,) + q.task_type.shape)  # (n, Q, *B)
    own = small.lookup(expertise, types)
    best_other = small.lookup(best_of_others(expertise), types)
    better = sum((own[k] > own).astype(jnp.float32) for k in range(n))  # own[k]: (Q, *B)
    rank = better / max(n - 1, 1)
    K = state.active.valid.shape[1]
    capacity = jnp.maximum(state.capacity, MIN_CAPACITY)  # (n, *B)
    load_after = (state.current_load[:, None] + q.complexity) / (K * capacity[:, None])
    features = [own, best_other, rank, load_after]
    if rates:
        features += _rates(state, own)
    valid = q.valid.astype(jnp.float32)  # (Q, *B)
    return jnp.stack(features, 2) * valid[:, None]


def _rates(state: EnvState, own: chex.Array) -> list[chex.Array]:
    """``[gain, chance]``, each ``(n, Q, *B)``, from ``own`` (the agents' expertise for each
    slot's type): the ``expected_rate`` score and the completion chance of the rules.

    The formulas of ``rules.scores.expected_rate_score`` and ``completion_chance``, written
    again with the batch axes last: those take one env with its small axes last, and the
    observation of every env copy at every step is computed batch-last (``small_ops``).
    ``test_rate_features_are_the_rules_scores`` holds the two equal."""
    held = small.lookup(state.expertise, state.active.task_type)  # (n, K, *B)
    work = small.sum_axis(held * state.active.priority * state.active.valid, 1)  # (n, *B)
    load, capacity = state.current_load, state.capacity
    spread = jnp.maximum(1.0, load[:, None] + state.queue.complexity)  # (n, Q, *B) with the task
    rate_with = (work[:, None] + own * state.queue.priority) * capacity[:, None] / spread
    gain = rate_with - (work * capacity / jnp.maximum(1.0, load))[:, None]
    chance = jnp.clip(own * capacity[:, None] / spread, MIN_CHANCE, 1.0)
    return [gain, chance]


def best_of_others(expertise: chex.Array) -> chex.Array:
    """``(n, T, *B)``: per agent and type, the highest expertise among the other agents (0 for
    a lone agent): the largest and second-largest per type, the second where the agent holds
    the largest (ties give both the same value, so that is still the others' best)."""
    if expertise.shape[0] == 1:
        return jnp.zeros_like(expertise)
    top2 = jnp.sort(expertise, axis=0)[-2:]
    return jnp.where(expertise == top2[1], top2[0], top2[1])
