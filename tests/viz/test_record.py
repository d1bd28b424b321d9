"""The recorder's extraction against the env's own counters and hand-computed episodes."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from agentic_jax.env.evaluation import heuristics_for
from agentic_jax.viz import extract, record

N_EPISODES = 8  # as in conftest.py: the hand cases reuse its compilation


def _check_against_counters(rec, episodes):
    c = rec.states.counters
    for e, ep in enumerate(episodes):
        def final(x, e=e):
            return np.asarray(x[e, -1])

        assert ep.completed == int((ep.end > 0).sum()) == int(final(c.completed))
        assert len(ep.agent) == int(final(c.assigned))
        assert int(((ep.end > 0) & ~ep.late).sum()) == int(final(c.completed_on_time))
        assert int(ep.collaborating.sum()) == int(final(c.collaborating))
        assert int(ep.overdue.sum()) == int(final(c.overdue))
        assert int(ep.queue_length.sum()) == int(final(c.queue_length))
        assert ep.reward == pytest.approx(float(final(c.episode_return)), rel=1e-5)
        # a task ends no earlier than it starts; still-held tasks are the ones held at the end
        done = ep.end > 0
        assert (ep.end[done] >= ep.start[done]).all()
        held = np.asarray(rec.states.active.valid[e, -1]).sum()
        assert int((~done).sum()) == int(held)


@pytest.mark.parametrize("rule", ["random", "expertise_greedy"])
def test_seed_mode_extraction_matches_env_counters(seed_recordings, rule):
    rec, episodes = seed_recordings[rule]
    assert rec.n_episodes == N_EPISODES and episodes[0].n_steps == 20
    _check_against_counters(rec, episodes)
    assert sum(len(e.agent) for e in episodes) > 0


def test_select_mode_extraction_matches_env_counters(select_recording):
    rec, episodes = select_recording
    _check_against_counters(rec, episodes)
    ep = episodes[0]
    # everyone always requests: every ordered pair collaborates at every step
    assert (ep.pair_counts == 20 * (1 - np.eye(3, dtype=int))).all()
    assert ep.collaborated.all()


def _hand_params(env, **overrides):
    """Agents with expertise and capacity 1, no arrivals, 3 initial tasks of complexity <= 1."""
    return env.make_params(max_steps_in_episode=20, arrival_rate=0.0, initial_tasks=3,
                           expertise_min=1.0, expertise_max=1.0, complexity_min=0.5,
                           complexity_max=1.0, deadline_min=5.0, deadline_max=5.0,
                           **overrides)


def test_tasks_taken_and_done_in_one_step_are_seen(seed_env):
    """Capacity 1 and expertise 1: each idle agent takes one initial task at step 1 and
    completes it within that step (probability 1), so the slot is never seen full after a
    step; the recorder still finds three tasks, started and ended at step 1, on time."""
    env, _ = seed_env
    params = _hand_params(env, capacity_min=1.0, capacity_max=1.0)
    rec = record(heuristics_for("seed")["expertise_greedy"], env, params, jax.random.key(5),
                 N_EPISODES)  # the fixture's compilation: params are traced
    ep = extract(rec, 0)
    assert ep.agent.tolist() == [0, 1, 2]
    assert ep.start.tolist() == [1, 1, 1] and ep.end.tolist() == [1, 1, 1]
    assert not ep.late.any() and ep.completed == 3
    assert ep.load.max() == 0 and ep.queue_length.max() == 0 and ep.overdue.max() == 0


def test_tasks_never_done_are_held_and_late(seed_env):
    """Capacity 0: the three tasks taken at step 1 are never completed; due at step 5, they
    are overdue from step 6 on and late at the end."""
    env, _ = seed_env
    params = _hand_params(env, capacity_min=0.0, capacity_max=0.0)
    rec = record(heuristics_for("seed")["expertise_greedy"], env, params, jax.random.key(6),
                 N_EPISODES)
    ep = extract(rec, 0)
    assert ep.agent.tolist() == [0, 1, 2] and ep.start.tolist() == [1, 1, 1]
    assert ep.end.tolist() == [-1, -1, -1] and ep.late.all() and ep.completed == 0
    expected_overdue = np.where(np.arange(1, 21) > 5, 3, 0)
    np.testing.assert_array_equal(ep.overdue, expected_overdue)
    np.testing.assert_allclose(ep.load.sum(1), ep.load[0].sum())  # nothing leaves
