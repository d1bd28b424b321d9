"""Specialisation: which agents take which task types, beside their expertise, and a score.

The agents' expertise is drawn anew at every reset, so agent indices mean nothing across
episodes: every score is computed per episode and then averaged over episodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from agentic_jax.viz._mpl import Figure, subplots
from agentic_jax.viz.record import Episode


def assignment_shares(episode: Episode) -> np.ndarray:
    """float ``(T, n)``: of the tasks of each type, the share each agent took (rows sum to 1;
    a type never taken is a row of zeros)."""
    counts = episode.assignment_counts().astype(float)
    total = counts.sum(1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def mutual_information(episode: Episode) -> float:
    """Mutual information between agent and task type over the assignments, in bits.

    0 when who takes a task says nothing about its type (e.g. the random rule, up to the
    sampling noise of a finite episode); at most ``log2(min(n, T))``. The plug-in estimate is
    biased upwards on few assignments (a 20-step episode of 3 agents gives the random rule
    ~0.3 bits), so compare it only between policies on the same, long enough episodes;
    :func:`expertise_correlation` is the steadier score.
    """
    counts = episode.assignment_counts().astype(float)
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts / total
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / outer[nz])).sum())


def expertise_correlation(episode: Episode) -> float:
    """Whether agents take more of the types they are relatively good at, in ``[-1, 1]``.

    Pearson correlation, over the ``(type, agent)`` cells, of the assignments in excess of
    independence (``counts - row total * column total / total``) with the expertise, both
    double-centred: the agent effect (a fast agent frees its slots sooner and takes more of
    every type, even under the random rule) and the type effect (frequent types) are removed,
    so a choice blind to expertise scores about 0. NaN without assignments or spread.
    """
    counts = episode.assignment_counts().astype(float)
    total = counts.sum()
    if total == 0:
        return float("nan")
    excess = counts - counts.sum(1, keepdims=True) * counts.sum(0, keepdims=True) / total
    skill = episode.expertise.T
    skill = skill - skill.mean(0, keepdims=True) - skill.mean(1, keepdims=True) + skill.mean()
    excess, skill = excess.ravel(), skill.ravel()
    if excess.std() < 1e-12 or skill.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(excess, skill)[0, 1])


def expertise_lift(episode: Episode) -> float:
    """Mean expertise of the agent that took each task for its type, minus the team's mean
    expertise for that type (0 for a choice blind to expertise; expertise units)."""
    if episode.agent.size == 0:
        return float("nan")
    own = episode.expertise[episode.agent, episode.task_type]
    team = episode.expertise.mean(0)[episode.task_type]
    return float((own - team).mean())


SCORES = {"mutual_information": mutual_information,
          "expertise_correlation": expertise_correlation,
          "expertise_lift": expertise_lift}


def specialisation_scores(episodes: Sequence[Episode]) -> dict[str, float]:
    """Each of :data:`SCORES` averaged over ``episodes`` (episodes where it is NaN skipped)."""
    out = {}
    for name, score in SCORES.items():
        values = np.array([score(e) for e in episodes], float)
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out


def plot_specialisation(episodes: Mapping[str, Sequence[Episode]]) -> Figure:
    """Heatmaps of task type x agent share of assignments, one per policy, beside the agents'
    expertise, with each policy's scores in its panel title.

    ``episodes`` maps a policy name to its episodes, all recorded on the same key (so episode
    0 of each has the same agents). The heatmaps show episode 0; the scores
    (:func:`specialisation_scores`: mutual information in bits, correlation of assignments with
    expertise) are means over all the policy's episodes. Axes: x agent, y task type; the first
    axes is the expertise, then one per policy in the mapping's order.
    """
    names = list(episodes)
    first = episodes[names[0]][0]
    n, T = first.n_agents, first.n_types
    fig, axes = subplots(1, len(names) + 1, figsize=(2.2 + 2.6 * (len(names) + 1), 3.2),
                         sharey=True, squeeze=False, layout="constrained")
    axes = axes[0]
    panels = [("agents' expertise (episode 0)", first.expertise.T, "viridis")]
    for name in names:
        s = specialisation_scores(episodes[name])
        label = (f"{name}\nMI {s['mutual_information']:.3f} bits, "
                 f"corr {s['expertise_correlation']:+.2f}")
        panels.append((label, assignment_shares(episodes[name][0]), "magma"))
    for ax, (label, values, cmap) in zip(axes, panels, strict=True):
        image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        for (t, i), v in np.ndenumerate(values):
            ax.text(i, t, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 else "black")
        ax.set_xticks(range(n), [str(i) for i in range(n)])
        ax.set_xlabel("agent")
        ax.set_title(label, fontsize=9)
    axes[0].set_yticks(range(T), [str(t) for t in range(T)])
    axes[0].set_ylabel("task type")
    fig.colorbar(image, ax=list(axes), label="share of the type's tasks / expertise",
                 fraction=0.025)
    fig.suptitle("specialisation: who takes which task type (learned vs rules)")
    return fig
