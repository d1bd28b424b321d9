"""The ``"seed"`` action mode: the seed's float thresholds, the queue head first-come first-served.

Action, per environment: float32 ``(n_agents * 3,)`` laid out per agent as
``(accept, effort, collaborate)`` in ``[0, 1]`` (clipped; NaN reads as 0).

Step 1 (SPEC §2): agents in index order; agent ``i`` with ``a[i, 0] > accept_threshold`` and a
free active slot takes the queue head while the queue is non-empty, so ``m`` accepting agents
pop the first ``m`` tasks (FIFO); reward ``+= expertise(i, type) * priority``. Agent ``i``
works at ``effort_i = a[i, 1]`` of its capacity, and the ordered pairs ``i != j`` with both
``a[i, 2]`` and ``a[j, 2]`` above ``collaboration_threshold`` collaborate.

Arrays keep the small axes first and batch axes ``B`` last, as in
:mod:`agentic_jax.env.dynamics`.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from agentic_jax.env import small_ops as small
from agentic_jax.env.modes.base import Assignment
from agentic_jax.env.rules import RULES, Policy
from agentic_jax.env.types import EnvParams, EnvState

FIELDS = 3  # (accept, effort, collaborate) per agent


def sanitize(action: chex.Array) -> chex.Array:
    """float32 action clipped to the box ``[0, 1]``, NaN read as 0."""
    a = jnp.asarray(action, jnp.float32)
    return jnp.clip(jnp.where(jnp.isnan(a), 0.0, a), 0.0, 1.0)


def assign(state: EnvState, wants: chex.Array) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 1 for ``wants`` ``(n, *B)``; returns state, match reward ``(n, *B)``, match sum."""
    n, Q = wants.shape[0], state.queue.valid.shape[0]
    free = ~state.active.valid  # (n, K, *B)
    accepts = wants & small.any_axis(free, 1)
    rank = small.exclusive_cumsum(accepts)  # the queue position this agent would take
    takes = accepts & (rank < state.queue_length)
    n_taken = small.sum_axis(takes.astype(jnp.int32))

    # rank_i <= i, so agent i can only take one of the first min(n, Q) slots.
    taken = jax.tree.map(lambda x: small.take(x, rank, min(n, Q)), state.queue)  # (n, *B)
    first_free = free & (small.exclusive_cumsum(free, 1) == 0)
    place = first_free & takes[:, None]  # (n, K, *B)
    active = small.where_tree(place, jax.tree.map(lambda x: x[:, None], taken), state.active)
    queue = jax.tree.map(lambda x: small.shift_left(x, n_taken, min(n, Q)), state.queue)

    match = small.lookup(state.expertise, taken.task_type) * takes
    c = state.counters
    state = state.replace(
        active=active, queue=queue, counters=c.replace(assigned=c.assigned + n_taken)
    )
    return state, match * taken.priority, small.sum_axis(match)


class SeedMode:
    """The seed's action mode (module docstring)."""

    name = "seed"
    judged_by = "seed"
    fields = FIELDS
    discrete = False

    def sanitize(self, action: chex.Array, max_tasks: int, axis: int = 0) -> chex.Array:
        return sanitize(action)  # elementwise: the same on any axis

    def from_clean(self, clean: chex.Array, n_agents: int) -> chex.Array:
        return clean.reshape((n_agents, FIELDS) + clean.shape[1:])

    def nvec(self, n_agents: int, max_tasks: int) -> None:
        return None

    def space(self, n_agents: int, max_tasks: int) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (n_agents * FIELDS,), jnp.float32)

    def assign(self, state: EnvState, a: chex.Array, params: EnvParams) -> Assignment:
        state, reward, match = assign(state, a[:, 0] > params.accept_threshold)
        wants = a[:, 2] > params.collaboration_threshold
        return Assignment(state, reward, match, wants, a[:, 1])

    @property
    def rules(self) -> dict[str, Policy]:
        return RULES
