"""A text picture of one environment copy: the queue and the agents (Gymnasium's "ansi" mode).

Reads a host (NumPy) copy of an :class:`agentic_jax.env.EnvState` of ONE environment; for a
batch stepped by ``batch_step`` (environment axis last), pick a copy with :func:`env_copy`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def env_copy(state: Any, index: int) -> Any:
    """Copy ``index`` of a batched state (environment axis last), as NumPy arrays."""
    return jax.tree.map(lambda x: np.asarray(x)[..., index], state)


def render_text(state: Any, max_steps: int, obs_mode: str = "") -> str:
    """The queue (head first) and the agents of one environment copy as a text table.

    Args:
        state: an ``EnvState`` of one environment (leaves ``(n,)``, ``(n, K)``, ``(Q,)``, ...).
        max_steps: the episode window (``EnvParams.max_steps_in_episode``).
        obs_mode: shown in the header when given.

    Returns:
        Lines: a header (step, return, queue fill, completions), one line per queued task
        (type, complexity, priority, steps to its deadline) and one per agent (capacity, load,
        active tasks of ``K``, expertise per type, success rate, tasks completed).
    """
    s = jax.tree.map(np.asarray, state)
    now = int(s.time)
    c = s.counters
    q_valid = s.queue.valid.astype(bool)
    mode = f"  [{obs_mode}]" if obs_mode else ""
    lines = [
        f"step {now}/{max_steps}  return {float(c.episode_return):.1f}  "
        f"queue {int(q_valid.sum())}/{q_valid.shape[0]}  completed {int(c.completed)}"
        f"/{int(c.arrived)}  on time {int(c.completed_on_time)}  dropped {int(c.dropped)}{mode}",
        "queue  slot type complexity priority  due in",
    ]
    for slot in np.flatnonzero(q_valid):
        lines.append(
            f"       {slot:4d} {int(s.queue.task_type[slot]):4d} {s.queue.complexity[slot]:10.2f} "
            f"{s.queue.priority[slot]:8.2f} {s.queue.deadline[slot] - now:7.0f}"
        )
    if not q_valid.any():
        lines.append("       (empty)")
    lines.append("agent  capacity  load active  expertise" + " " * 10 + "success done")
    load = (s.active.complexity * s.active.valid).sum(-1)
    slots = s.active.valid.shape[1]
    for i in range(s.capacity.shape[0]):
        expertise = " ".join(f"{e:.2f}" for e in s.expertise[i])
        lines.append(
            f"{i:5d}  {s.capacity[i]:8.2f} {load[i]:5.2f} {int(s.active.valid[i].sum()):3d}/"
            f"{slots:<2d}  {expertise:18s} {s.success_rate[i]:7.2f} "
            f"{int(s.completed_tasks[i]):4d}"
        )
    return "\n".join(lines) + "\n"
