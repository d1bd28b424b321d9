"""Observations and episode metrics of the NumPy reference env, read from a ``NumpyTaskEnv``.

The loop-by-loop counterparts of :mod:`agentic_jax.env.observations` and
:mod:`agentic_jax.env.metrics`: each function takes a
:class:`~reference.numpy_env.NumpyTaskEnv` ``env`` and reads its Python lists.
"""

from __future__ import annotations

import math

import numpy as np


def episode_metrics(env) -> dict[str, float]:
    """:func:`agentic_jax.env.episode_metrics` of ``env``'s counters."""
    c = env.counters
    steps = float(max(env.time, 1))
    agent_steps = steps * env.n_agents
    return {
        "episode_return": c["episode_return"],
        "completion_rate": c["completed"] / max(c["arrived"], 1),
        "on_time_rate": c["completed_on_time"] / max(c["arrived"], 1),
        "utilisation": c["busy"] / agent_steps,
        "collaboration_frequency": c["collaborating"] / agent_steps,
        "match": c["match_sum"] / max(c["assigned"], 1),
        "queue_length": c["queue_length"] / steps,
        "drops": float(c["dropped"]),
        "overdue": c["overdue"] / steps,
    }


def agent_features(env, i: int) -> list[float]:
    """The five features of agent ``i`` both layouts open with."""
    steps = float(max(env.time, 1))
    return [
        env.capacity[i],
        env.load(i),
        env.completed_tasks[i] / steps,
        env.success_rate[i],
        env.collaborations[i] / steps,
    ]


def seed_obs(env) -> np.ndarray:
    """The seed's layout: 7 per agent, 5 per queue slot, then the collaboration matrix."""
    n, Q = env.n_agents, env.max_tasks
    obs = []
    for i in range(n):
        e = env.expertise[i]
        obs += agent_features(env, i) + [
            e[0] if len(e) > 0 else 0.0,
            e[1] if len(e) > 1 else 0.0,
        ]
    for s in range(Q):
        if s < len(env.queue):
            t = env.queue[s]
            obs += [t.complexity, t.priority, t.deadline, 1.0, 0.0]
        else:
            obs += [0.0] * 5
    for i in range(n):
        obs += env.collaboration_matrix[i]
    return np.array(obs, dtype=np.float32)


def extended_obs(env, collab: bool = False) -> np.ndarray:
    """The JAX env's ``"extended"`` layout, or with ``collab`` its ``"collab"`` layout
    (:func:`agentic_jax.env.observations.extended_obs`)."""
    p = env.p
    n, Q, T, K = env.n_agents, env.max_tasks, env.n_task_types, env.max_active_per_agent
    now = float(env.time)
    obs = []
    for i in range(n):
        held = [t for t in env.active[i] if t is not None]
        obs += agent_features(env, i) + [
            len(held) / K,
            sum(1 for t in held if now > t.deadline) / K,
        ]
        obs += env.expertise[i]
        if collab:
            obs += [sum(1 for t in held if t.task_type == k) / K for k in range(T)]
            obs += [max([env.expertise[j][k] for j in range(n) if j != i], default=0.0)
                    for k in range(T)]
    for s in range(Q):
        if s < len(env.queue):
            t = env.queue[s]
            obs += [
                t.complexity / p["complexity_max"],
                t.priority,
                (t.deadline - now) / p["deadline_max"],
                1.0,
            ]
            obs += [1.0 if t.task_type == k else 0.0 for k in range(T)]
        else:
            obs += [0.0] * (4 + T)
    log_growth = math.log(max(p["collaboration_growth"], 1.0 + 1e-6))
    scale = env.max_steps * log_growth
    for i in range(n):
        obs += [math.log(x) / scale for x in env.collaboration_matrix[i]]
    obs += [env.time / env.max_steps, len(env.queue) / Q]
    return np.array(obs, dtype=np.float32)
