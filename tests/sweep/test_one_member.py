"""A run is a sweep of one: `train` and a one-seed sweep of the same config go through the same
chunk loop (`training.loop`) and end with the same parameters, the same best model, the same
stop and the same `heuristics.json`; the sweep's member loads back as that run (`load_member`)."""

from __future__ import annotations

import copy

import jax
import numpy as np
import pytest
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.sweep import Sweep, load_member
from agentic_jax.sweep.engine import member_slice
from agentic_jax.sweep.files import SweepDir
from agentic_jax.system import AgenticRLSystem

from .conftest import StandInReport


@pytest.mark.slow
def test_one_seed_sweep_equals_train(tmp_path):
    config = copy.deepcopy(TINY)
    config["system"].update(final_eval_episodes=4, seed=3)
    run = AgenticRLSystem(load(config))
    result = run.train()
    report = StandInReport()
    sweep = Sweep(load({**copy.deepcopy(config), "sweep": {"seeds": 1, "member_loop": "map"}}),
                  tmp_path / "sweep", report=report, plots=report)
    sweep.run()
    assert sweep.members[0].seed == 3 and sweep.calls[0].size == 1
    state = member_slice(sweep.states[0]["state"], 0)
    for ours, theirs in zip(jax.tree.leaves(run.params),
                            jax.tree.leaves(state.train_state.params), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    final = sweep.final(0)
    assert final["stop_reason"][0] == result["stop_reason"]
    assert final["best_update"][0] == run.tracker.best_update
    assert final["best_reward"][0] == result["best_mean_reward"]
    assert final["mean_reward"][0] == result["final_eval"]["learned"]["mean_reward"]
    # the heuristics on the evaluation episodes: the run's numbers, the file a run writes
    assert SweepDir(tmp_path / "sweep").read_heuristics() == run.heuristics
    assert set(run.heuristics["random"]) >= {"mean_reward", "std_reward", "completion_rate"}
    member = load_member(tmp_path / "sweep", 0)
    assert member.tracker.best_update == run.tracker.best_update
    assert [h["mean_reward"] for h in member.tracker.history] == [
        h["mean_reward"] for h in run.tracker.history]
