"""What an action mode is: the interface every mode module fills, and its shared pieces.

An action mode decides what an agent's action means. It holds how a flat action becomes the
per-agent action the step reads (``sanitize``, then ``from_clean``), the action space and its
categories, step 1 of the seed's step order (who takes which task, who collaborates, how hard
each agent works) and its rules table. Every other step of the transition is the same for
every mode (:mod:`agentic_jax.env.dynamics`).

Arrays keep the small axes first and batch axes ``B`` last, as in
:mod:`agentic_jax.env.small_ops`.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import chex
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from agentic_jax.env import small_ops as small
from agentic_jax.env.rules import Policy
from agentic_jax.env.types import EnvParams, EnvState


class Assignment(NamedTuple):
    """Step 1 of a transition, as an action mode decides it.

    Attributes:
        state: the state after the assignment.
        reward: the match reward per agent ``(n, *B)``.
        match: the summed match ``(*B)`` (expertise of the agents that took a task).
        wants: bool ``(n, *B)``: the agents that request collaboration this step; every two
            requesting agents collaborate (:func:`mutual_pairs`).
        effort: float32 ``(n, *B)``: the share of its capacity each agent works at.
    """

    state: EnvState
    reward: chex.Array
    match: chex.Array
    wants: chex.Array
    effort: chex.Array


class ActionMode(Protocol):
    """One action mode; ``name`` is the ``env.action_mode`` string that selects it."""

    name: str
    fields: int  # action entries per agent
    discrete: bool  # integer categories (nvec) rather than a float box
    # the mode whose rules table judges this mode's policies, on the same episodes (a mode
    # whose own table lacks rules a user would compare with names a wider one)
    judged_by: str

    def sanitize(self, action: chex.Array, max_tasks: int, axis: int = 0) -> chex.Array:
        """Finite float32 ``action`` with every entry valid; ``axis`` is the action axis."""
        ...

    def from_clean(self, clean: chex.Array, n_agents: int) -> chex.Array:
        """The per-agent action ``(n, fields, *B)`` from a sanitized ``(n * fields, *B)``."""
        ...

    def nvec(self, n_agents: int, max_tasks: int) -> tuple[int, ...] | None:
        """Categories per action entry of a discrete mode; None for a continuous one."""
        ...

    def space(self, n_agents: int, max_tasks: int) -> spaces.Box:
        """The gymnax action space of one environment."""
        ...

    def assign(self, state: EnvState, a: chex.Array, params: EnvParams) -> Assignment:
        """Step 1 for the per-agent action ``a`` ``(n, fields, *B)``."""
        ...

    @property
    def rules(self) -> dict[str, Policy]:
        """The mode's rules (heuristics), by name."""
        ...


def mutual_pairs(wants: chex.Array) -> chex.Array:
    """``(n, n, *B)`` bool: the ordered pairs ``i != j`` of agents that both want to
    collaborate (``wants`` bool ``(n, *B)``); what every mode's requests come down to."""
    n = wants.shape[0]
    others = small.trailing(~jnp.eye(n, dtype=bool), wants.ndim - 1)
    return wants[:, None] & wants[None, :] & others


class MultiDiscrete(spaces.Box):
    """A gymnax ``Box`` of int32 categories: entry ``d`` takes values ``0 .. nvec[d] - 1``.

    gymnax 1.x has ``Discrete`` (one category) and ``Box`` but no multi-discrete space; this
    ``Box`` with integer bounds (``low = 0``, ``high = nvec - 1``) samples and checks integers.
    """

    def __init__(self, nvec: tuple[int, ...]):
        self.nvec = tuple(int(k) for k in nvec)
        super().__init__(0, jnp.asarray(self.nvec, jnp.int32) - 1, (len(self.nvec),), jnp.int32)

    def sample(self, key: chex.PRNGKey) -> chex.Array:
        return jax.random.randint(key, self.shape, 0, jnp.asarray(self.nvec, jnp.int32))

    def contains(self, x: chex.Array) -> chex.Array:
        x = jnp.asarray(x)
        return super().contains(x) & jnp.all(x == jnp.floor(x))
