"""Each plotting function on short recorded episodes: labels, titles and the data drawn."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage

from agentic_jax.viz import (
    plot_collaboration,
    plot_load,
    plot_schedule,
    plot_specialisation,
    specialisation_scores,
)
from agentic_jax.viz._mpl import save
from agentic_jax.viz.specialisation import assignment_shares


def test_schedule_has_one_bar_per_assignment(seed_recordings, select_recording, tmp_path):
    for ep in (seed_recordings["random"][1][0], select_recording[1][0]):
        fig = plot_schedule(ep, "schedule of random")
        ax = fig.axes[0]
        assert len(ax.patches) == len(ep.agent) > 0
        assert ax.get_xlabel() == "env step" and ax.get_ylabel().startswith("agent")
        assert ax.get_title().startswith(f"schedule of random: {len(ep.agent)} tasks taken, "
                                         f"{ep.completed} completed")
        # bars start at the step before the one the task was taken, in assignment order
        np.testing.assert_allclose([p.get_x() for p in ax.patches], ep.start - 1)
        late_marks = [line for line in ax.lines if line.get_marker() == "x"]
        assert len(late_marks) == int(ep.late.sum())
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "deadline missed" in legend and "collaborating" in legend
    # the select episode always collaborates: one shaded band per agent
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    assert save(fig, tmp_path / "s.png").stat().st_size > 0


def test_figures_leave_pyplot_alone(seed_recordings):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_schedule(seed_recordings["random"][1][0])
    assert plt.get_fignums() == before  # nothing opened through pyplot (notebooks, loops)


def test_specialisation_shows_shares_and_separates_greedy_from_random(seed_recordings):
    episodes = {name: eps for name, (_, eps) in seed_recordings.items()}
    random = specialisation_scores(episodes["random"])
    greedy = specialisation_scores(episodes["expertise_greedy"])
    # same 8 episodes: the expertise rule's assignments follow expertise, the random rule's
    # do not
    assert greedy["expertise_correlation"] > random["expertise_correlation"] + 0.2
    assert greedy["expertise_lift"] > random["expertise_lift"] + 0.02
    fig = plot_specialisation(episodes)
    images = [ax for ax in fig.axes if any(isinstance(a, AxesImage) for a in ax.images)]
    assert len(images) == 3  # expertise, random, expertise_greedy
    expertise, *panels = images
    np.testing.assert_allclose(expertise.images[0].get_array(),
                               episodes["random"][0].expertise.T)
    for ax, name in zip(panels, episodes, strict=True):
        assert ax.get_title().startswith(name) and "bits" in ax.get_title()
        np.testing.assert_allclose(ax.images[0].get_array(),
                                   assignment_shares(episodes[name][0]))
        assert ax.get_xlabel() == "agent"
    assert expertise.get_ylabel() == "task type"
    assert fig.get_suptitle().startswith("specialisation")


def test_assignment_shares_rows_sum_to_one(seed_recordings):
    ep = seed_recordings["random"][1][0]
    shares = assignment_shares(ep)
    counts = ep.assignment_counts()
    assert counts.sum() == len(ep.agent)
    taken = counts.sum(1) > 0
    np.testing.assert_allclose(shares[taken].sum(1), 1.0)


def test_load_draws_each_agent_queue_and_overdue(seed_recordings):
    first = {name: eps[0] for name, (_, eps) in seed_recordings.items()}
    fig = plot_load(first)
    axes = np.array(fig.axes).reshape(2, 2)
    for (load_ax, queue_ax), (name, ep) in zip(axes, first.items(), strict=True):
        assert len(load_ax.lines) == ep.n_agents
        for i, line in enumerate(load_ax.lines):
            np.testing.assert_allclose(line.get_ydata(), ep.load[:, i])
        queue, overdue = queue_ax.lines
        np.testing.assert_array_equal(queue.get_ydata(), ep.queue_length)
        np.testing.assert_array_equal(overdue.get_ydata(), ep.overdue)
        assert load_ax.get_title().startswith(name)
        assert load_ax.get_ylabel() == "load (work units)" and queue_ax.get_ylabel() == "tasks"
    assert axes[-1, 0].get_xlabel() == "env step"
    assert [t.get_text() for t in axes[0, 1].get_legend().get_texts()] == [
        "queue length", "overdue held tasks"]


def test_collaboration_matrix_and_frequency(seed_recordings, select_recording):
    first = {"random": seed_recordings["random"][1][0], "collab": select_recording[1][0]}
    # without a training log: bars over the recorded episodes
    fig = plot_collaboration(first)
    for ax, ep in zip(fig.axes[:2], first.values(), strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), ep.pair_counts)
        assert ax.get_xlabel() == "partner agent" and ax.get_ylabel() == "agent"
    freq = fig.axes[2]
    heights = [p.get_height() for p in freq.patches]
    np.testing.assert_allclose(heights, [ep.collaborating.mean() for ep in first.values()])
    assert heights[1] == 1.0 and "no training log" in freq.get_title()
    # with a training log: the evaluated frequency against env steps, rules dashed
    history = [{"timestep": 64 * i, "collaboration_frequency": 0.1 * i} for i in range(4)]
    fig = plot_collaboration(first, history, {"random": {"collaboration_frequency": 0.3}})
    freq = [ax for ax in fig.axes if ax.get_title() == "collaboration frequency over training"]
    learned, rule = freq[0].lines
    np.testing.assert_allclose(learned.get_ydata(), [0.0, 0.1, 0.2, 0.3])
    assert rule.get_linestyle() == "--" and freq[0].get_xlabel() == "env steps"
