"""Random generators of the environment: new tasks and a new team of agents.

Each generator takes its uniforms in ``[0, 1)`` as an argument instead of a key, so a step draws
all of its random numbers in one call (one PRNG invocation per step is the main CPU cost) and a
NumPy reference can replay exactly the same numbers.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env.types import EnvParams, Tasks

TASK_DRAWS = 4  # uniforms per task: complexity, priority, deadline, type


def agent_draws(n_agents: int, n_task_types: int) -> int:
    """Uniforms needed by :func:`sample_agents`: capacity, success rate, expertise."""
    return n_agents * (2 + n_task_types)


def _between(u: chex.Array, lo, hi) -> chex.Array:
    return lo + u * (hi - lo)


def sample_tasks(
    u: chex.Array, now: chex.Array, n_task_types: int, params: EnvParams
) -> Tasks:
    """Tasks from uniforms ``u`` of shape ``(S, 4)``; deadlines are ``now`` + U[min, max].

    Returns a :class:`Tasks` of shape ``(S,)`` with ``valid`` all True.
    """
    deadline = now + _between(u[:, 2], params.deadline_min, params.deadline_max)
    task_type = jnp.minimum((u[:, 3] * n_task_types).astype(jnp.int32), n_task_types - 1)
    return Tasks(
        complexity=_between(u[:, 0], params.complexity_min, params.complexity_max),
        priority=_between(u[:, 1], params.priority_min, params.priority_max),
        deadline=deadline,
        task_type=task_type,
        valid=jnp.ones(u.shape[:1], bool),
    )


def sample_agents(
    u: chex.Array, n_agents: int, n_task_types: int, params: EnvParams
) -> tuple[chex.Array, chex.Array, chex.Array]:
    """Capacity ``(n,)``, success rate ``(n,)`` and expertise ``(n, T)`` from flat uniforms."""
    capacity = _between(u[:n_agents], params.capacity_min, params.capacity_max)
    success = _between(u[n_agents : 2 * n_agents], params.success_rate_min, params.success_rate_max)
    expertise = _between(
        u[2 * n_agents :].reshape(n_agents, n_task_types),
        params.expertise_min,
        params.expertise_max,
    )
    return capacity, success, expertise
