"""Evaluation on one fixed episode set, and the best model's final evaluation on fresh ones."""

from __future__ import annotations

import json

import jax
import numpy as np

from agentic_jax.config import SystemConfig
from agentic_jax.system import AgenticRLSystem, EvalTracker, Step
from agentic_jax.system.callbacks import EvalCallback
from agentic_jax.system.final_eval import FINAL_FILE
from agentic_jax.training.schedule import final_eval_key


def test_every_evaluation_meets_the_same_episodes(tiny):
    keys = []

    def evaluate(rs, key):
        keys.append(np.asarray(jax.random.key_data(key)))
        return {"mean_reward": 0.0, "completion_rate": 0.0}

    callback = EvalCallback(evaluate, jax.random.key(3), every=1, config=SystemConfig())
    tracker = EvalTracker()
    for update in (1, 2, 3):
        step = Step(update, 64 * update, None, {}, update == 3, tracker)
        callback.on_chunk_ready(step)
        callback.on_chunk_end(step)
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
    again = best.evaluate(8, key=final_eval_key(system.keys[1]))
    assert again["mean_reward"] == final["learned"]["mean_reward"]
    off = AgenticRLSystem(tiny(final_eval_episodes=None, max_timesteps=64 * 2)).train()
    assert off["final_eval"] is None
