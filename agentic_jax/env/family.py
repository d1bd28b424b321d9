"""A family of environment settings a research user would vary, and fixed-seed draws from it.

    family = SettingsFamily()                      # the ranges below
    settings = family.draw(seed=2026, count=12)    # [{"n_agents": 9, "arrival_rate": 0.71, ...}]

Each setting is a flat `env:` section override (YAML-ready): the team size, the number of task
types, the queue sized for the team, and a value of every float `EnvParams` field a user would
change first (load, deadlines, priorities, capacities, expertise, success rates, collaboration
sharing and cost). A recipe tuned at one setting is judged on a draw it never saw
(`configs/heldout.yaml`, `benchmarks/heldout.py`).

Min/max pairs are drawn from ranges that do not overlap, so every draw is a valid `EnvParams`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

# (low, high) of each float EnvParams field; uniform draws, rounded to `DECIMALS`
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "arrival_rate": (0.6, 1.0),
    "complexity_min": (0.3, 0.7),
    "complexity_max": (1.0, 2.0),
    "priority_min": (0.05, 0.4),
    "priority_max": (0.8, 1.0),
    "deadline_min": (2.0, 6.0),
    "deadline_max": (8.0, 20.0),
    "capacity_min": (0.3, 0.7),
    "capacity_max": (0.8, 1.0),
    "expertise_min": (0.0, 0.3),
    "expertise_max": (0.6, 1.0),
    "success_rate_min": (0.5, 0.9),
    "collaboration_sharing": (0.0, 1.0),
    "collaboration_cost": (0.0, 0.6),
}
DECIMALS = 3


@dataclasses.dataclass(frozen=True)
class SettingsFamily:
    """Where held-out settings come from.

    Attributes:
        floats: `(low, high)` per float `EnvParams` field.
        n_agents: team sizes, inclusive range.
        n_task_types: numbers of task types, inclusive range.
        slots_per_agent: queue slots `max_tasks` per agent (select.yaml: 10 for 4 agents).
    """

    floats: tuple[tuple[str, tuple[float, float]], ...] = tuple(FLOAT_RANGES.items())
    n_agents: tuple[int, int] = (4, 16)
    n_task_types: tuple[int, int] = (2, 6)
    slots_per_agent: float = 2.5

    def draw(self, seed: int, count: int) -> list[dict[str, Any]]:
        """`count` settings drawn with NumPy's PCG64 seeded by `seed` (the same list on every
        machine and NumPy version that keeps `Generator.uniform`/`integers` streams)."""
        rng = np.random.Generator(np.random.PCG64(seed))
        return [self._one(rng) for _ in range(count)]

    def _one(self, rng: np.random.Generator) -> dict[str, Any]:
        n = int(rng.integers(self.n_agents[0], self.n_agents[1] + 1))
        setting: dict[str, Any] = {
            "n_agents": n,
            "n_task_types": int(rng.integers(self.n_task_types[0], self.n_task_types[1] + 1)),
            # the load per agent of select.yaml (4 agents: 10 slots, 2 arrivals, 3 initial)
            "max_tasks": math.ceil(self.slots_per_agent * n),
            "max_arrivals_per_step": math.ceil(n / 2),
            "initial_tasks": math.ceil(3 * n / 4),
        }
        for name, (low, high) in self.floats:
            setting[name] = round(float(rng.uniform(low, high)), DECIMALS)
        return setting
