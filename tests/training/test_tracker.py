"""The tracker runs and sweeps share: `MemberTracker` (vectorised over members, the rules) and
`EvalTracker`, a run's one-member tracker read as plain values with its history; best
evaluation and stopping rules on scripted evaluations, and the JSON checkpoints store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agentic_jax.config import SystemConfig
from agentic_jax.system import EvalTracker
from agentic_jax.training.tracker import MemberTracker

# a run checkpoint's `callbacks` as the dataclass `EvalTracker` (before the training core)
# wrote it: `dataclasses.asdict`, None before the first evaluation
OLD_CALLBACKS = {
    "best_reward": 2.5, "best_update": 4, "evals_without_improvement": 1,
    "declining_evals": 1,
    "history": [{"update": 2, "timestep": 128, "mean_reward": 1.0, "completion_rate": 0.1},
                {"update": 4, "timestep": 256, "mean_reward": 2.5, "completion_rate": 0.2},
                {"update": 6, "timestep": 384, "mean_reward": 2.0, "completion_rate": 0.2}],
    "stop_reason": None,
}
OLD_FRESH = {"best_reward": None, "best_update": None, "evals_without_improvement": 0,
             "declining_evals": 0, "history": [], "stop_reason": None}


def _record(tracker: EvalTracker, config: SystemConfig, update: int, reward: float,
            completion: float) -> tuple[bool, str | None]:
    """One evaluation of a run, as the chunk loop and the trainer fold it in."""
    is_best = tracker.members.record(config, update, np.array([reward]), np.array([completion]))
    tracker.history.append({"update": update, "timestep": 64 * update, "mean_reward": reward,
                            "completion_rate": completion})
    return bool(is_best[0]), tracker.stop_reason


def _feed(config: SystemConfig, rewards, completion=0.0):
    tracker = EvalTracker()
    out = [_record(tracker, config, i + 1, r, completion) for i, r in enumerate(rewards)]
    return tracker, out


def test_best_and_plateau():
    tracker, out = _feed(SystemConfig(plateau_patience=2, min_delta=0.5), [1.0, 2.0, 2.2, 2.4])
    assert [best for best, _ in out] == [True, True, True, True]
    assert [stop for _, stop in out] == [None, None, None, "plateau"]
    assert tracker.best_reward == 2.4 and tracker.best_update == 4


def test_decline_counts_consecutive_drops():
    config = SystemConfig(decline_patience=2, decline_fraction=0.1)
    _, out = _feed(config, [10.0, 8.0, 9.5, 8.5, 8.9])
    assert [stop for _, stop in out] == [None, None, None, None, "decline"]


def test_target_completion():
    _, out = _feed(SystemConfig(target_completion_rate=0.5), [1.0], completion=0.5)
    assert out[0][1] == "target_completion_rate"


def test_tracker_json_round_trip():
    tracker, _ = _feed(SystemConfig(), [1.0, 0.5])
    assert EvalTracker.from_dict(tracker.to_dict()) == tracker
    assert EvalTracker.from_dict(tracker.to_dict()) != EvalTracker()


@pytest.mark.parametrize("old", [OLD_CALLBACKS, OLD_FRESH])
def test_checkpoint_meta_of_the_old_tracker_loads_and_is_written_the_same(old):
    stored = json.loads(json.dumps(old))  # as it reads back from a checkpoint's meta
    tracker = EvalTracker.from_dict(stored)
    assert json.dumps(tracker.to_dict()) == json.dumps(old)  # same keys, order and values
    assert (tracker.best_reward, tracker.best_update) == (old["best_reward"],
                                                          old["best_update"])


def test_old_tracker_state_continues_under_the_rules():
    tracker = EvalTracker.from_dict(json.loads(json.dumps(OLD_CALLBACKS)))
    config = SystemConfig(decline_patience=2, decline_fraction=0.1)
    best, stop = _record(tracker, config, 8, 2.0, 0.2)
    assert not best and stop == "decline"  # the stored count (1) went on to 2
    assert tracker.evals_without_improvement == 2 and tracker.best_update == 4
    assert tracker.members.stop_update[0] == 8


@pytest.mark.parametrize("settings", [
    {"plateau_patience": 2, "min_delta": 0.5},
    {"decline_patience": 2, "decline_fraction": 0.2},
    {"target_completion_rate": 0.7},
])
def test_each_member_follows_the_single_run_rules(settings):
    config = SystemConfig(**settings)
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(12, 6)).cumsum(0)
    completion = rng.uniform(0.4, 0.8, size=(12, 6))
    batch = MemberTracker.create(6)
    singles = [EvalTracker() for _ in range(6)]  # six runs
    for e in range(12):
        was_active = batch.active.copy()
        is_best = batch.record(config, e, rewards[e], completion[e])
        for m, single in enumerate(singles):
            if single.stop_reason is None:
                best, _ = _record(single, config, e, rewards[e, m], completion[e, m])
                assert was_active[m] and is_best[m] == best
            else:
                assert not was_active[m] and not is_best[m]
    for m, single in enumerate(singles):
        member = batch.member(m, single.history)
        assert member.best_reward == pytest.approx(single.best_reward)
        assert member.best_update == single.best_update
        assert member.stop_reason == single.stop_reason


def test_stop_finish_and_round_trip():
    tracker = MemberTracker.create(3)
    tracker.stop(np.array([False, True, False]), "non_finite", 4)
    tracker.record(SystemConfig(), 6, np.array([1.0, 2.0, 3.0]), np.zeros(3))
    tracker.finish(8)
    assert list(tracker.stop_reason) == ["max_timesteps", "non_finite", "max_timesteps"]
    assert list(tracker.stop_update) == [8, 4, 8]
    assert np.isnan(tracker.best_reward[1])  # stopped before it was evaluated
    again = MemberTracker.from_dict(tracker.to_dict())
    assert again.to_dict() == tracker.to_dict()


def test_to_dict_is_a_copy_that_later_evaluations_leave_alone():
    """A checkpoint written in the background holds the state of its update."""
    tracker, _ = _feed(SystemConfig(), [1.0])
    saved = tracker.to_dict()
    _record(tracker, SystemConfig(), 2, 2.0, 0.0)
    assert len(saved["history"]) == 1 and saved["best_reward"] == 1.0


def test_a_run_stops_once_with_its_first_reason():
    tracker = EvalTracker()
    tracker.stop("early", 4)
    tracker.stop("late", 6)  # a second reason leaves the first
    assert tracker.stop_reason == "early" and tracker.members.stop_update[0] == 4
    assert not tracker.members.active[0]


def test_a_run_tracker_has_one_member():
    with pytest.raises(ValueError, match="one member, got 3"):
        EvalTracker(MemberTracker.create(3))
    assert MemberTracker.create(3).member(2).members.best_reward.shape == (1,)
