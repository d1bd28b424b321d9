"""Hand-made environment states and actions for tests: exact queues, active tasks, agents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env import Tasks


def make_tasks(shape, rows) -> Tasks:
    """Tasks of ``shape`` with the leading slots filled from ``rows`` of
    ``(complexity, priority, deadline, type)``; remaining slots empty."""
    empty = Tasks.empty(shape)
    flat = jax.tree.map(lambda x: np.array(x).reshape(-1), empty)
    for i, (c, p, d, t) in enumerate(rows):
        flat.complexity[i], flat.priority[i], flat.deadline[i] = c, p, d
        flat.task_type[i], flat.valid[i] = t, True
    return jax.tree.map(lambda x: jnp.asarray(x.reshape(shape)), flat)


def make_state(env, params, queue=(), active=None, expertise=None, capacity=None, success=None,
               time=0):
    """A reset state with the given queue rows, active rows per agent and agent attributes."""
    _, state = env.reset(jax.random.key(0), params)  # jitted, compiled once per env
    n, K = env.n_agents, env.max_active_per_agent
    state = state.replace(queue=make_tasks((env.max_tasks,), queue), time=jnp.int32(time))
    if active is not None:
        flat = jax.tree.map(np.array, Tasks.empty((n, K)))
        for i, agent_rows in enumerate(active):
            for k, (c, p, d, t) in enumerate(agent_rows):
                flat.complexity[i, k], flat.priority[i, k], flat.deadline[i, k] = c, p, d
                flat.task_type[i, k], flat.valid[i, k] = t, True
        state = state.replace(active=jax.tree.map(jnp.asarray, flat))
    if expertise is not None:
        state = state.replace(expertise=jnp.asarray(expertise, jnp.float32))
    if capacity is not None:
        state = state.replace(capacity=jnp.asarray(capacity, jnp.float32))
    if success is not None:
        state = state.replace(success_rate=jnp.asarray(success, jnp.float32))
    return state


def action(accept=(0, 0, 0, 0), effort=(0, 0, 0, 0), collab=(0, 0, 0, 0)):
    return jnp.stack([jnp.asarray(accept, jnp.float32), jnp.asarray(effort, jnp.float32),
                      jnp.asarray(collab, jnp.float32)], -1).ravel()
