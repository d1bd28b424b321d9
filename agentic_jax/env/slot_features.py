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
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env import small_ops as small
from agentic_jax.env.types import EnvState

FEATURES = ("own", "best_other", "rank", "load_after")
MIN_CAPACITY = 0.05  # floor of the capacity in load_after, so it stays finite


def agent_slot_features(state: EnvState) -> chex.Array:
    """``(n, Q, 4, *B)`` float32: :data:`FEATURES` of every agent for every queue slot."""
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
    valid = q.valid.astype(jnp.float32)  # (Q, *B)
    return jnp.stack([own, best_other, rank, load_after], 2) * valid[:, None]


def best_of_others(expertise: chex.Array) -> chex.Array:
    """``(n, T, *B)``: per agent and type, the highest expertise among the other agents (0 for
    a lone agent): the largest and second-largest per type, the second where the agent holds
    the largest (ties give both the same value, so that is still the others' best)."""
    if expertise.shape[0] == 1:
        return jnp.zeros_like(expertise)
    top2 = jnp.sort(expertise, axis=0)[-2:]
    return jnp.where(expertise == top2[1], top2[0], top2[1])
