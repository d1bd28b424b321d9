"""Evaluation on one fixed episode set, and the best model's final evaluation on fresh ones."""

from __future__ import annotations

import json

import jax
import numpy as np

from agentic_jax.system import AgenticRLSystem
from agentic_jax.system.compiled import RunProgram
from agentic_jax.training.final_eval import FINAL_FILE
from agentic_jax.training.schedule import final_eval_key


def test_every_evaluation_meets_the_same_episodes(tiny):
    keys = []

    class RecordingKeys:
        def evaluate(self, n):
            def run(rs, key):
                keys.append(np.asarray(jax.random.key_data(key)))
                return {"mean_reward": 0.0, "completion_rate": 0.0}

            return run

    program = RunProgram(RecordingKeys(), jax.random.key(3), 4)
    for _ in range(3):
        metrics = program.evaluate(None)  # one member's: [1] arrays
        assert {k: v.tolist() for k, v in metrics.items()} == {"mean_reward": [0.0],
                                                               "completion_rate": [0.0]}
    assert len(keys) == 3 and all(np.array_equal(k, keys[0]) for k in keys)

    system = AgenticRLSystem(tiny())
    first, second = system.evaluate(4), system.evaluate(4)
    assert first == second  # the same parameters score the same: no luck of the draw


def test_train_reports_the_best_model_on_fresh_episodes(tiny, tmp_path):
    run_dir = tmp_path / "run"
    system = AgenticRLSystem(tiny(final_eval_episodes=8, max_timesteps=64 * 8), run_dir)
    result = system.train()
    final = result["final_eval"]
    assert final["update"] == system.tracker.best_update and final["episodes"] == 8
    assert set(final["heuristics"]) == {"random"}
    assert json.loads((run_dir / FINAL_FILE).read_text()) == final
    best = AgenticRLSystem.load(run_dir)  # the best model, evaluated on the final key
    # the final evaluation is the periodic evaluation's program (4 episodes) run twice
    again = best.evaluate(8, key=final_eval_key(system.keys[1]), batch=4)
    assert again["mean_reward"] == final["learned"]["mean_reward"]
    rule = best.evaluate_heuristics(8, final_eval_key(system.keys[1]), batch=4)
    assert rule == final["heuristics"]
    off = AgenticRLSystem(tiny(final_eval_episodes=None, max_timesteps=64 * 2)).train()
    assert off["final_eval"] is None
