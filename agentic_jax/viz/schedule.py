"""The schedule (Gantt chart) of one episode: who held which task from when to when."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from agentic_jax.viz._mpl import Figure, subplots, type_colour
from agentic_jax.viz.record import Episode


def plot_schedule(episode: Episode, title: str = "schedule") -> Figure:
    """One row per agent (a lane per active slot), one bar per assignment.

    A bar runs from the start of the step a task was taken to the end of the step it completed
    (x: env steps), or to the end of the window if it is still held; its colour is the task
    type, a red edge and a red ``x`` at its end mark a deadline miss (late or overdue at the
    end), and a grey band behind a row marks the steps the agent spent in a collaborating
    pair. The bars are ``ax.patches`` (one per assignment, in assignment order); the bands are
    one ``broken_barh`` collection per agent (``ax.collections``).
    """
    n, S = episode.n_agents, episode.n_steps
    lanes = max(1, int(episode.slot.max()) + 1) if episode.slot.size else 1
    fig, ax = subplots(figsize=(10, 1.0 + 0.7 * n))
    for i in range(n):
        steps = np.flatnonzero(episode.collaborating[:, i])
        if steps.size:
            ax.broken_barh([(t, 1) for t in steps], (i - 0.45, 0.9), color="0.85", zorder=0)
    height = 0.9 / lanes
    for a, k, typ, start, end, late in zip(episode.agent, episode.slot, episode.task_type,
                                           episode.start, episode.end, episode.late,
                                           strict=True):
        stop = end if end > 0 else S
        y = a - 0.45 + k * height
        ax.barh(y, stop - (start - 1), left=start - 1, height=height * 0.9, align="edge",
                color=type_colour(typ), edgecolor="red" if late else "black",
                linewidth=1.5 if late else 0.4, zorder=2)
        if late:
            ax.plot(stop, y + height * 0.45, "x", color="red", ms=6, mew=2, zorder=3)
    ax.set_yticks(range(n), [f"agent {i}" for i in range(n)])
    ax.set_ylim(n - 0.5, -0.5)  # agent 0 on top
    ax.set_xlim(0, S)
    ax.set_xlabel("env step")
    ax.set_ylabel("agent (one lane per active slot)")
    n_late = int(episode.late.sum())
    ax.set_title(f"{title}: {len(episode.agent)} tasks taken, {episode.completed} completed, "
                 f"{n_late} deadline misses")
    handles = [Patch(color=type_colour(t), label=f"task type {t}")
               for t in range(episode.n_types)]
    handles += [Line2D([], [], ls="", marker="x", color="red", mew=2, label="deadline missed"),
                Patch(color="0.85", label="collaborating")]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
