"""The chunk loop of runs and sweeps on a NumPy stand-in program: evaluations when due on the
same episodes, per-member stopping (a stopped member keeps its state), non-finite chunks, the
caller ending training, padding members."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import SystemConfig
from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.training.loop import NonFiniteError, non_finite, train_chunks
from agentic_jax.training.schedule import Schedule
from agentic_jax.training.tracker import MemberTracker

SCHEDULE = Schedule(eval_every=2, checkpoint_every=4, chunk=2, max_updates=8, buffer_size=64)


class Counting:
    """A program whose state is each member's update count; rewards are scripted per
    evaluation (`rewards[i]`: `[M]`), and `bad` maps an update to members that go NaN there."""

    def __init__(self, rewards, bad=None):
        self.rewards, self.bad = [np.asarray(r, float) for r in rewards], bad or {}
        self.chunks, self.evaluated_states = [], []

    def chunk(self, length):
        def run(state, active):
            self.chunks.append((length, active.copy()))
            new = state + length * active
            updates = state[:, None] + np.arange(1, length + 1)[None]
            metrics = {name: np.zeros(updates.shape) for name in METRIC_NAMES}
            metrics.update(update=updates, timestep=64 * updates)
            ok = ~np.isin(np.arange(len(state)), self.bad.get(int(new.max()), []))
            return new, metrics, ok

        return run

    def evaluate(self, state):
        self.evaluated_states.append(state.copy())
        reward = self.rewards[min(len(self.evaluated_states), len(self.rewards)) - 1]
        return {"mean_reward": reward, "completion_rate": np.zeros_like(reward)}

    @staticmethod
    def select(is_best, state, best):
        return np.where(is_best, state, best)


def run(program, members, rules=None, **kwargs):
    rules = rules or SystemConfig()
    tracker = MemberTracker.create(members)
    state = np.zeros(members, np.int64)
    chunks = list(train_chunks(state, state.copy(), tracker, SCHEDULE, program, rules,
                               update=0, **kwargs))
    return chunks, tracker


def test_evaluates_when_due_and_keeps_the_best():
    program = Counting([[1, 5], [3, 2], [2, 9], [4, 1]])
    chunks, tracker = run(program, 2)
    assert [c.update for c in chunks] == [2, 4, 6, 8]
    assert all(c.evaluation is not None for c in chunks)  # every 2 updates
    assert chunks[-1].metrics["update"].shape == (2, 2)
    np.testing.assert_array_equal(tracker.best_update, [8, 6])
    np.testing.assert_array_equal(chunks[-1].best, [8, 6])  # the states of those updates
    assert list(tracker.stop_reason) == ["max_timesteps"] * 2 and chunks[-1].last


def test_a_stopped_member_keeps_its_state_and_is_not_trained():
    program = Counting([[1, 5], [2, 4], [3, 3], [4, 2]])  # member 1 declines
    chunks, tracker = run(program, 2, SystemConfig(plateau_patience=1))
    assert list(tracker.stop_reason) == ["max_timesteps", "plateau"]
    assert tracker.stop_update[1] == 4
    np.testing.assert_array_equal(chunks[-1].state, [8, 4])
    assert [a.tolist() for _, a in program.chunks] == [[True, True], [True, True],
                                                       [True, False], [True, False]]


def test_non_finite_stops_the_member_or_raises():
    program = Counting([[1, 1]], bad={4: [0]})
    chunks, tracker = run(program, 2)
    assert tracker.stop_reason[0] == "non_finite" and tracker.stop_update[0] == 2
    assert not chunks[1].trained[0] and chunks[1].trained[1]

    def refuse(members, metrics):
        raise NonFiniteError(f"members {np.flatnonzero(members).tolist()}")

    with pytest.raises(NonFiniteError, match=r"members \[0\]"):
        run(Counting([[1, 1]], bad={4: [0]}), 2, on_non_finite=refuse)


def test_the_caller_ends_training_and_the_dispatched_chunk_is_dropped():
    program = Counting([[1.0]])
    tracker = MemberTracker.create(1)
    seen = []
    for chunk in train_chunks(np.zeros(1, np.int64), None, tracker, SCHEDULE, program,
                              SystemConfig(), update=0, ready=lambda c: seen.append(c.update)):
        if chunk.update == 4:
            chunk.stop("mine")
    assert seen == [2, 4] and tracker.stop_reason[0] == "mine"
    assert len(program.chunks) == 3  # the third was dispatched, then dropped unused


def test_every_evaluation_meets_the_same_state_shape_and_padding_never_keeps_training():
    program = Counting([[1, 9]])  # the padding member would plateau never; it does not count
    chunks, tracker = run(program, 2, SystemConfig(plateau_patience=1), real=np.array([1, 0]))
    assert tracker.stop_reason[0] == "plateau" and chunks[-1].update == 4


def test_nothing_runs_when_the_budget_is_spent():
    tracker = MemberTracker.create(1)
    program = Counting([[1.0]])
    assert list(train_chunks(np.full(1, 8), None, tracker, SCHEDULE, program, SystemConfig(),
                             update=8)) == []
    assert tracker.stop_reason[0] == "max_timesteps" and not program.chunks


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.floats(-10, 10), min_size=3, max_size=3), min_size=1, max_size=5),
       st.integers(1, 3))
def test_each_member_ends_at_its_stop_update_with_its_best(rewards, patience):
    program = Counting(rewards)
    chunks, tracker = run(program, 3, SystemConfig(plateau_patience=patience))
    np.testing.assert_array_equal(chunks[-1].state, tracker.stop_update)
    np.testing.assert_array_equal(chunks[-1].best, tracker.best_update)
    assert not tracker.active.any()


def test_non_finite_names_the_first_bad_metric():
    metrics = {name: np.zeros(2) for name in METRIC_NAMES}
    metrics["update"] = np.array([5, 6])
    assert non_finite(metrics, True) is None
    assert non_finite(metrics, False) == "non-finite network parameters after update 6"
    metrics["entropy"] = np.array([0.0, np.inf])
    assert non_finite(metrics, True) == "non-finite entropy (inf) at update 6"
