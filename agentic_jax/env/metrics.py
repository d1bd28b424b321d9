"""Episode statistics read from the running counters of an :class:`EnvState`."""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env.types import EnvState


def episode_metrics(state: EnvState) -> dict[str, chex.Array]:
    """Episode statistics so far (float32 ``(*B)``), the seed's §7 evaluation metrics and more.

    ``completion_rate``: completed / arrived; ``on_time_rate``: on-time completions / arrived;
    ``utilisation``: mean over agent-steps of effort spent while holding a task;
    ``collaboration_frequency``: share of agent-steps spent in a collaborating pair;
    ``match``: mean expertise of the assigned agent for the task's type;
    ``queue_length``: mean queue length; ``drops``: arrivals lost to a full queue;
    ``overdue``: mean number of overdue active tasks per step.
    """
    c = state.counters
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    agent_steps = steps * state.capacity.shape[0]
    f = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return {
        "episode_return": f(c.episode_return),
        "completion_rate": f(c.completed / jnp.maximum(c.arrived, 1)),
        "on_time_rate": f(c.completed_on_time / jnp.maximum(c.arrived, 1)),
        "utilisation": f(c.busy / agent_steps),
        "collaboration_frequency": f(c.collaborating / agent_steps),
        "match": f(c.match_sum / jnp.maximum(c.assigned, 1)),
        "queue_length": f(c.queue_length / steps),
        "drops": f(c.dropped),
        "overdue": f(c.overdue / steps),
    }
