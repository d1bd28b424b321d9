"""Load balance over an episode: per-agent load, queue length and overdue tasks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agentic_jax.viz._mpl import Figure, subplots
from agentic_jax.viz.record import Episode


def plot_load(episodes: Mapping[str, Episode]) -> Figure:
    """One row per policy (all on the same episode): left, each agent's load (summed
    complexity of its held tasks, work units) after every step, one line per agent; right, the
    queue length and the number of held tasks past their deadline after every step.

    Rows share their y axes so the policies compare at a glance; x is the env step.
    """
    names = list(episodes)
    fig, axes = subplots(len(names), 2, figsize=(11, 2.4 * len(names) + 0.6), sharex=True,
                         sharey="col", squeeze=False)
    for row, name in zip(axes, names, strict=True):
        e = episodes[name]
        steps = np.arange(1, e.n_steps + 1)
        load_ax, queue_ax = row
        for i in range(e.n_agents):
            load_ax.plot(steps, e.load[:, i], lw=1.2, label=f"agent {i}")
        spread = float(e.load.std(1).mean())
        load_ax.set_title(f"{name}: load per agent (mean spread {spread:.2f})", fontsize=9)
        load_ax.set_ylabel("load (work units)")
        queue_ax.plot(steps, e.queue_length, color="black", lw=1.2, label="queue length")
        queue_ax.plot(steps, e.overdue, color="tab:red", lw=1.2, label="overdue held tasks")
        queue_ax.set_title(f"{name}: queue and overdue tasks", fontsize=9)
        queue_ax.set_ylabel("tasks")
        for ax in row:
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("env step")
    axes[0, 0].legend(fontsize=7, loc="upper left", ncol=2)
    axes[0, 1].legend(fontsize=7, loc="upper left")
    fig.suptitle("load balance over one episode")
    fig.tight_layout()
    return fig
