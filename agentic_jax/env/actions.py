"""The action side of `MultiAgentTaskEnvironment`: its action mode's layout, space and
sanitizing, read from ``self.mode`` (a :mod:`agentic_jax.env.modes` object) and the shapes
``n_agents`` and ``max_tasks``. The environment class inherits it; the modes hold the rules of
each layout, this class only asks its mode.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp
from gymnax.environments import spaces

from agentic_jax.env.modes.base import ActionMode
from agentic_jax.env.types import EnvParams


class ActionInterface:
    """The environment's action methods (needs ``mode``, ``n_agents`` and ``max_tasks``)."""

    mode: ActionMode
    n_agents: int
    max_tasks: int

    def agent_major(self, action: chex.Array) -> chex.Array:
        """The sanitized per-agent action from a flat one ``(num_actions, *B)``.

        ``(n, fields, *B)`` as the action mode reads it: seed mode float32 ``(n, 3, *B)``
        clipped to ``[0, 1]``, NaN read as 0; select mode int32 ``(n, 2, *B)`` with invalid
        choices read as none (see :mod:`.modes.select`).
        """
        self.check_action_size(jnp.shape(action)[0])
        clean = self.mode.sanitize(action, self.max_tasks)
        return self.mode.from_clean(clean, self.n_agents)

    def check_action_size(self, size: int) -> None:
        """Raise ``ValueError`` (at trace time) unless an action has ``num_actions`` entries."""
        if size != self.num_actions:
            raise ValueError(
                f"action of {size} entries for action_mode={self.action_mode!r} with "
                f"n_agents={self.n_agents}; need num_actions={self.num_actions}"
            )

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        """The action mode's space: seed mode float ``Box(0, 1, (n*3,))``; select mode the int32
        :class:`~agentic_jax.env.modes.MultiDiscrete` of :meth:`action_nvec` (a ``Box`` with
        integer bounds ``0 .. nvec - 1``)."""
        return self.mode.space(self.n_agents, self.max_tasks)

    @property
    def action_mode(self) -> str:
        """The action mode's name."""
        return self.mode.name

    @property
    def discrete_actions(self) -> bool:
        """Whether the action is integer categories (:meth:`action_nvec`), e.g. select mode."""
        return self.mode.discrete

    def action_nvec(self) -> tuple[int, ...]:
        """Categories per action dimension of a discrete mode; select mode:
        ``(max_tasks + 1, 2) * n_agents``, agent ``i``'s choice at ``2i`` (slot, or
        ``max_tasks`` for none) and its collaboration request at ``2i + 1`` (0 or 1).
        """
        nvec = self.mode.nvec(self.n_agents, self.max_tasks)
        if nvec is None:
            raise ValueError(
                f"action_nvec() needs a discrete action mode such as 'select' (got "
                f"{self.action_mode!r}: its actions are continuous)"
            )
        return nvec

    @property
    def num_actions(self) -> int:
        return self.n_agents * self.mode.fields
