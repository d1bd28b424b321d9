"""What the environment declares to a learner: its observation layout and its actions.

:meth:`MultiAgentTaskEnvironment.spec` returns an :class:`EnvSpec`; a learner (e.g.
:mod:`agentic_jax.ppo`) reads it instead of probing the environment, so any environment that
has a ``spec()`` returning one (:class:`DeclaresSpec`) gets the same treatment.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Static facts about an environment's observations and actions (sizes in floats).

    Attributes:
        obs_mode: the observation layout's name.
        obs_size: length of the flat observation.
        agent_block: ``(start, n_agents, features per agent)``: the observation opens with one
            row of features per agent, agent after agent, matching the agent-major action.
        shared_blocks: ``(start, size)`` spans every agent sees whose sizes do not depend on
            ``n_agents`` (the queue rows first, then any episode scalars).
        max_tasks: queue slots ``Q``.
        action_mode: the action mode's name.
        action_size: entries of the flat action, ``n_agents * fields``.
        nvec: categories per action entry of a discrete action mode; None for continuous
            (float box) actions.
        agent_slot_block: ``(start, n_agents, max_tasks, features)``: per agent, one row of
            features per queue slot (agent-major, then slot), e.g. the agent's expertise for
            the slot's task; None when the layout has none.
    """

    obs_mode: str
    obs_size: int
    agent_block: tuple[int, int, int]
    shared_blocks: tuple[tuple[int, int], ...]
    max_tasks: int
    action_mode: str
    action_size: int
    nvec: tuple[int, ...] | None
    agent_slot_block: tuple[int, int, int, int] | None = None

    @property
    def discrete(self) -> bool:
        """Whether the actions are integer categories (:attr:`nvec`)."""
        return self.nvec is not None


@runtime_checkable
class DeclaresSpec(Protocol):
    """An environment that declares its interface."""

    def spec(self) -> EnvSpec: ...
