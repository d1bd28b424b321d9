"""Views of the flat observation for per-agent policies: spans every agent shares.

The layouts (:mod:`agentic_jax.env.observations`) open with the per-agent rows
(:meth:`MultiAgentTaskEnvironment.agent_obs_block`), then the queue rows, then the n-by-n
collaboration matrix, then (extended layout only) two episode scalars.
"""

from __future__ import annotations

from typing import Any


def shared_obs_blocks(env: Any) -> tuple[tuple[int, int], ...]:
    """``(start, size)`` spans of the observation that every agent sees and whose sizes do not
    depend on ``n_agents``: the queue rows (``max_tasks * 5`` seed, ``max_tasks * (4 + T)``
    extended) and, in the extended layout, the episode progress and queue fill (2 floats).
    """
    start, n_agents, per_agent = env.agent_obs_block()
    per_slot = 5 if env.obs_mode == "seed" else 4 + env.n_task_types
    queue = (start + n_agents * per_agent, env.max_tasks * per_slot)
    if env.obs_mode == "seed":
        return (queue,)
    return queue, (env.obs_size() - 2, 2)
