"""`EvalTracker`: best evaluation and the stopping rules on scripted evaluations."""

from __future__ import annotations

from agentic_jax.system import EvalTracker, SystemConfig


def _feed(config: SystemConfig, rewards, completion=0.0):
    tracker = EvalTracker()
    out = []
    for i, r in enumerate(rewards):
        out.append(tracker.record(config, i + 1, 64 * (i + 1),
                                  {"mean_reward": r, "completion_rate": completion}))
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
