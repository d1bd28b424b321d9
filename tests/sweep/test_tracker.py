"""`MemberTracker` applies `EvalTracker`'s rules to every member at once."""

from __future__ import annotations

import numpy as np
import pytest

from agentic_jax.config import SystemConfig
from agentic_jax.sweep.tracker import MemberTracker
from agentic_jax.system import EvalTracker


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
    singles = [EvalTracker() for _ in range(6)]
    for e in range(12):
        was_active = batch.active.copy()
        is_best = batch.record(config, e, rewards[e], completion[e])
        for m, single in enumerate(singles):
            if single.stop_reason is None:
                best, _ = single.record(config, e, 0, {"mean_reward": rewards[e, m],
                                                      "completion_rate": completion[e, m]})
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
