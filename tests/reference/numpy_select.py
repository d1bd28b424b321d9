"""Plain-Python reference of the ``"select"`` action mode (:mod:`agentic_jax.env.modes.select`).

:class:`NumpySelectEnv` is :class:`~reference.numpy_env.NumpyTaskEnv` with the select
mode's action and assignment step, written the plain way: agents walk the queue (a list), the
conflicts are settled with a dict of claims, and the queue is rebuilt without the taken tasks.
Every other step (collaboration, processing at full effort, penalties, arrivals) and the
uniforms' layout are the seed mode's, so it replays the JAX env given the same uniforms.

Action: ``(n_agents * 2,)`` of ``(choice, collaborate)``; ``choice`` is floored, and NaN,
infinities or values outside ``[0, max_tasks]`` read as none (``max_tasks``); ``collaborate``
requests collaboration when above 0.5.
"""

from __future__ import annotations

import math

import numpy as np

from reference.numpy_env import NumpyTaskEnv

_TINY = float(np.finfo(np.float32).tiny)


class NumpySelectEnv(NumpyTaskEnv):
    """One environment in select mode; arguments as :class:`NumpyTaskEnv`."""

    def _clean_action(self, action) -> list[list[float]]:
        """Rows ``[choice, effort=1, collaborate (0/1)]`` per agent."""
        flat = np.asarray(action, dtype=np.float64).reshape(-1)
        rows = []
        for i in range(self.n_agents):
            x, c = float(np.float32(flat[2 * i])), float(np.float32(flat[2 * i + 1]))
            x = 0.0 if abs(x) < _TINY else x  # XLA on a CPU reads subnormals as zero
            choice = self.max_tasks
            if math.isfinite(x) and 0 <= math.floor(x) <= self.max_tasks:
                choice = math.floor(x)
            rows.append([choice, 1.0, 1.0 if c > 0.5 else 0.0])
        return rows

    def _collaboration_requests(self, a) -> list[bool]:
        return [a[i][2] > 0.5 for i in range(self.n_agents)]

    def _assign(self, a, rewards: list[float]) -> float:
        """Agents claim queue slots; the most expert claimant of each slot wins (ties: the
        lowest index); winners take their task into their first free active slot."""
        queue = list(self.queue)
        claims: dict[int, tuple[int, float]] = {}
        for i in range(self.n_agents):
            slot = a[i][0]
            if slot >= len(queue) or None not in self.active[i]:
                continue  # none, an empty slot, or no free active slot
            e = self.expertise[i][queue[slot].task_type]
            if slot not in claims or e > claims[slot][1]:
                claims[slot] = (i, e)
        match_sum = 0.0
        for slot, (i, e) in sorted(claims.items(), key=lambda kv: kv[1][0]):
            task = queue[slot]
            self.active[i][self.active[i].index(None)] = task
            rewards[i] += e * task.priority
            match_sum += e
            self.counters["assigned"] += 1
        self.queue.clear()
        self.queue.extend(t for s, t in enumerate(queue) if s not in claims)
        return match_sum
