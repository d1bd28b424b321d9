"""The ``"select"`` action mode: each agent chooses which queued task to take, or none.

Action, per environment: ``(n_agents * 2,)`` laid out per agent as ``(choice, collaborate)``,
integers (any dtype; floats are floored):

* ``choice`` in ``{0, ..., Q}``: take the task in queue slot ``choice``; ``Q`` (= max_tasks)
  means none. NaN, infinities and values outside ``[0, Q]`` read as none (XLA on a CPU reads
  subnormal floats as zero).
* ``collaborate`` in ``{0, 1}``: request collaboration (a value above 0.5; NaN reads as 0).

The categories per dimension (:meth:`SelectMode.nvec`) are ``(Q + 1, 2) * n_agents``.

Assignment rule (step 1 of the seed's order; every other step is the seed mode's):

* A request is void, and the agent does nothing, if it picks none, an empty queue slot, or the
  agent holds ``max_active_per_agent`` tasks (no free active slot).
* Conflicts: when several agents pick the same task, the one with the highest expertise for
  its type wins; ties go to the lowest agent index. Losers take nothing this step.
* Each winner moves its task into its first free active slot and gets the seed's match reward
  ``expertise(agent, type) * priority``. The queue closes up, keeping the remaining tasks in
  their arrival order (so slot 0 is still the oldest task).

Effort: there is none. In the seed's rules spending less than full capacity has no benefit
(work is never penalised and effort only slows completion), so an effort dimension would only
give a learner a way to hurt itself; agents always work at full capacity (effort 1, and
utilisation counts each agent that holds a task as fully busy). Collaboration pairs form as in
the seed mode, between every two requesting agents; ``collaboration_threshold`` and
``accept_threshold`` are not used.

Arrays keep the small axes first and batch axes ``B`` last, as in
:mod:`agentic_jax.env.dynamics`.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import small_ops as small
from agentic_jax.env.modes.base import Assignment, MultiDiscrete
from agentic_jax.env.rules import SELECT_RULES, Policy
from agentic_jax.env.types import EnvParams, EnvState, Tasks

FIELDS = 2  # (choice, collaborate) per agent


def sanitize(action: chex.Array, max_tasks: int, axis: int = 0) -> chex.Array:
    """float32 action with every entry a valid category (choice in ``[0, Q]``, collab 0/1).

    ``axis`` is the action axis of ``action`` (``0`` for ``(n*2, *B)``, ``-1`` for
    ``(B, n*2)``). The result is finite, so it can be transposed by a product (see
    :func:`agentic_jax.env.batched.batch_step_from_uniforms`).
    """
    a = jnp.asarray(action).astype(jnp.float32)
    axis = axis % a.ndim
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    is_choice = (jnp.arange(a.shape[axis]) % FIELDS == 0).reshape(shape)
    floor = jnp.floor(a)
    in_range = (floor >= 0) & (floor <= max_tasks)  # False for NaN and infinities
    choice = jnp.where(in_range, floor, float(max_tasks))
    collab = jnp.where(a > 0.5, 1.0, 0.0)
    return jnp.where(is_choice, choice, collab)


def winners(requests: chex.Array, choice: chex.Array, expertise: chex.Array) -> chex.Array:
    """``(n, *B)`` bool: agents whose valid request wins the conflict rule.

    ``requests`` ``(n, *B)`` bool (a valid request), ``choice`` ``(n, *B)`` int, ``expertise``
    ``(n, *B)`` each agent's expertise for the type of the task it picked. Agent ``i`` loses to
    ``j`` if both request the same slot and ``j`` has more expertise, or as much and ``j < i``.
    """
    n = requests.shape[0]
    out = []
    for i in range(n):
        beaten = jnp.zeros_like(requests[i])
        for j in range(n):
            if j == i:
                continue
            better = expertise[j] > expertise[i]
            if j < i:
                better = better | (expertise[j] == expertise[i])
            beaten = beaten | (requests[j] & (choice[j] == choice[i]) & better)
        out.append(requests[i] & ~beaten)
    return jnp.stack(out)


def compact(tasks: Tasks, kept: chex.Array) -> Tasks:
    """``tasks`` ``(Q, *B)`` with the ``kept`` ``(Q, *B)`` slots moved to the front in order,
    empty (zero) slots behind.

    The source slot of every output position is found once, then each field is gathered with
    :func:`small_ops.take`: ``O(Q)`` whole-array operations per field rather than ``O(Q^2)``
    scalar ones, which keeps compilation quick at large queues.
    """
    Q = kept.shape[0]
    position = small.exclusive_cumsum(kept)  # (Q, *B) where each kept slot lands
    targets = small.trailing(jnp.arange(Q), kept.ndim - 1)  # (Q, 1...)
    source = jnp.zeros(kept.shape, jnp.int32)  # (Q, *B) output position -> source slot
    filled = jnp.zeros(kept.shape, bool)
    for s in range(Q):
        lands = kept[s] & (position[s] == targets)
        source, filled = jnp.where(lands, s, source), filled | lands
    return jax.tree.map(lambda x: jnp.where(filled, small.take(x, source, Q), jnp.zeros_like(x)),
                        tasks)


def assign(state: EnvState, choice: chex.Array) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 1 in select mode for ``choice`` int ``(n, *B)`` (``Q`` = none).

    Returns the new state, the match reward ``(n, *B)`` and the match sum ``(*B)``, as
    :func:`agentic_jax.env.modes.seed.assign` does.
    """
    Q = state.queue.valid.shape[0]
    free = ~state.active.valid  # (n, K, *B)
    slot = jnp.minimum(choice, Q - 1)
    picked = jax.tree.map(lambda x: small.take(x, slot, Q), state.queue)  # (n, *B)
    requests = (choice < Q) & small.any_axis(free, 1) & picked.valid
    expertise = small.lookup(state.expertise, picked.task_type)  # (n, *B)
    takes = winners(requests, choice, expertise)
    n_taken = small.sum_axis(takes.astype(jnp.int32))

    first_free = free & (small.exclusive_cumsum(free, 1) == 0)
    place = first_free & takes[:, None]  # (n, K, *B)
    active = jax.tree.map(lambda new, old: jnp.where(place, new[:, None], old),
                          picked, state.active)
    slots = small.trailing(jnp.arange(Q), choice.ndim - 1)  # (Q, 1...)
    removed = small.any_axis(takes[:, None] & (choice[:, None] == slots[None]), 0)  # (Q, *B)
    kept = state.queue.valid & ~removed
    queue = compact(state.queue, kept)

    match = expertise * takes
    c = state.counters
    state = state.replace(
        active=active, queue=queue, counters=c.replace(assigned=c.assigned + n_taken)
    )
    return state, match * picked.priority, small.sum_axis(match)


class SelectMode:
    """The select action mode (module docstring)."""

    name = "select"
    judged_by = "select"
    fields = FIELDS
    discrete = True

    def sanitize(self, action: chex.Array, max_tasks: int, axis: int = 0) -> chex.Array:
        return sanitize(action, max_tasks, axis)

    def from_clean(self, clean: chex.Array, n_agents: int) -> chex.Array:
        """int32 ``(n, 2, *B)`` from a sanitized float ``(n*2, *B)``."""
        return clean.astype(jnp.int32).reshape((n_agents, FIELDS) + clean.shape[1:])

    def nvec(self, n_agents: int, max_tasks: int) -> tuple[int, ...]:
        """Agent ``i``'s choice is entry ``2i`` (slot, or ``max_tasks`` for none) and its
        collaboration request ``2i + 1`` (0 or 1)."""
        return (max_tasks + 1, 2) * n_agents

    def space(self, n_agents: int, max_tasks: int) -> MultiDiscrete:
        return MultiDiscrete(self.nvec(n_agents, max_tasks))

    def assign(self, state: EnvState, a: chex.Array, params: EnvParams) -> Assignment:
        state, reward, match = assign(state, a[:, 0])
        effort = jnp.ones(a[:, 0].shape, jnp.float32)
        return Assignment(state, reward, match, a[:, 1] > 0, effort)

    @property
    def rules(self) -> dict[str, Policy]:
        return SELECT_RULES
