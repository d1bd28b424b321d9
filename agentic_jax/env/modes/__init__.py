"""Action modes by name: what ``env.action_mode`` selects.

A mode is one object with the :class:`ActionMode` interface (:mod:`.base`); the environment
holds it and asks it how to read an action, its space and categories, step 1 of the
transition and its rules table. A new mode is one new module with such an object, made known
here with :func:`register` (the built-in ones below, or from the module that defines it).
"""

from __future__ import annotations

from agentic_jax.env.modes.base import ActionMode, Assignment, MultiDiscrete, mutual_pairs
from agentic_jax.env.modes.seed import SeedMode
from agentic_jax.env.modes.seed_discrete import SeedDiscreteMode
from agentic_jax.env.modes.select import SelectMode
from agentic_jax.env.modes.select_team import SelectTeamMode

_REGISTRY: dict[str, ActionMode] = {}


def register(mode: ActionMode) -> ActionMode:
    """Make ``mode`` selectable as ``action_mode=mode.name``; returns it."""
    _REGISTRY[mode.name] = mode
    return mode


def unregister(name: str) -> None:
    """Forget the mode called ``name`` (a mode registered for a while, e.g. by a test)."""
    del _REGISTRY[name]


def names() -> tuple[str, ...]:
    """The registered modes' names, in order of registration."""
    return tuple(_REGISTRY)


def get(name: str) -> ActionMode:
    """The mode called ``name``; ``ValueError`` listing the registered ones otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"action_mode={name!r} is unknown (allowed: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


SEED = register(SeedMode())
SELECT = register(SelectMode())
SEED_DISCRETE = register(SeedDiscreteMode())
SELECT_TEAM = register(SelectTeamMode())

__all__ = ["SEED", "SEED_DISCRETE", "SELECT", "SELECT_TEAM", "ActionMode", "Assignment",
           "MultiDiscrete", "get", "mutual_pairs", "names", "register", "unregister"]
