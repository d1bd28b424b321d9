"""Collaboration: who collaborates with whom, and how often over training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agentic_jax.viz._mpl import Figure, subplots
from agentic_jax.viz.record import Episode


def collaboration_frequency(episode: Episode) -> float:
    """Share of agent-steps spent in a collaborating pair (the env's
    ``collaboration_frequency``)."""
    return float(episode.collaborating.mean())


def plot_collaboration(episodes: Mapping[str, Episode],
                       history: Sequence[Mapping[str, Any]] | None = None,
                       reference: Mapping[str, Mapping[str, float]] | None = None) -> Figure:
    """Collaboration matrices, one per policy, and collaboration frequency.

    Left: for each policy (all on the same episode) the ``(n, n)`` matrix of steps each
    ordered pair of agents spent collaborating (row agent, column partner; counts of steps).

    Right: with ``history`` (the run's evaluation records, ``read_records(run_dir, "eval")``,
    each with ``timestep`` and ``collaboration_frequency``), the evaluated collaboration
    frequency over training against env steps, with the rules of ``reference`` (rule name ->
    metrics, e.g. ``heuristics.json``) as dashed lines. Without a history (a run that logged no
    evaluations, or a policy that was not trained here) it is drawn over the recorded
    evaluation episodes instead: one bar per policy, the share of agent-steps in a pair on the
    episode shown.
    """
    names = list(episodes)
    fig, axes = subplots(1, len(names) + 1, figsize=(3.0 * len(names) + 5.5, 3.4),
                         gridspec_kw={"width_ratios": [1] * len(names) + [1.8]},
                         layout="constrained")
    vmax = max(1, max(int(episodes[k].pair_counts.max()) for k in names))
    for ax, name in zip(axes, names, strict=False):  # the last axes is the frequency
        counts = episodes[name].pair_counts
        image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=vmax)
        for (i, j), v in np.ndenumerate(counts):
            ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * vmax else "black")
        n = counts.shape[0]
        ax.set_xticks(range(n), [str(j) for j in range(n)])
        ax.set_yticks(range(n), [str(i) for i in range(n)])
        ax.set_xlabel("partner agent")
        ax.set_ylabel("agent")
        ax.set_title(f"{name}: steps together", fontsize=9)
    fig.colorbar(image, ax=axes[len(names) - 1], label="collaborating steps", fraction=0.05)
    ax = axes[-1]
    records = [r for r in history or () if "collaboration_frequency" in r]
    if records:
        ax.plot([r["timestep"] for r in records],
                [r["collaboration_frequency"] for r in records], "o-", color="black", ms=3,
                label="learned policy (evaluation)")
        for name, metrics in (reference or {}).items():
            if "collaboration_frequency" in metrics:
                ax.axhline(metrics["collaboration_frequency"], ls="--", lw=1, label=name,
                           color=f"C{1 + list(reference).index(name) % 9}")
        ax.set_xlabel("env steps")
        ax.set_title("collaboration frequency over training", fontsize=9)
    else:
        values = [collaboration_frequency(episodes[k]) for k in names]
        ax.bar(range(len(names)), values, color=[f"C{i}" for i in range(len(names))],
               label=names)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("policy")
        ax.set_title("collaboration frequency (evaluation episode; no training log)",
                     fontsize=9)
    ax.set_ylabel("share of agent-steps in a pair")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle("collaboration")
    return fig
