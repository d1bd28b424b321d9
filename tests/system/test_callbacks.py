"""Callbacks on hand-made steps; then stopping rules and injected callbacks in `train()` (the
loop itself: tests/training/test_loop.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem, Callback, EvalTracker, Step
from agentic_jax.system.callbacks import BestModelCallback, CheckpointCallback
from agentic_jax.system.compiled import compiled_functions


def _step(update, final=False, tracker=None):
    metrics = {"update": np.array([update]), "timestep": np.array([64 * update])}
    return Step(update, 64 * update, f"state{update}", metrics, final, tracker or EvalTracker())


class FakeCheckpointer:
    def __init__(self):
        self.saved, self.closed = [], False

    def save(self, step, state, meta):
        self.saved.append((step, state, meta))

    def close(self):
        self.closed = True


def test_checkpoint_and_best_model_order():
    tracker = EvalTracker()
    checkpoints, best = FakeCheckpointer(), FakeCheckpointer()
    callbacks = [CheckpointCallback(checkpoints, every=4, meta=lambda: {"m": 1}),
                 BestModelCallback(best, meta=lambda: {"m": 2})]
    for update in (2, 4, 6):
        step = _step(update, final=update == 6, tracker=tracker)
        step.is_best = update == 2
        if step.final:
            step.stop("max_timesteps")  # as the loop stops a run at its budget
        for callback in callbacks:
            callback.on_chunk_end(step)
    assert tracker.stop_reason == "max_timesteps"
    assert [s for s, _, _ in checkpoints.saved] == [4, 6]  # every 4 updates, and at the stop
    assert best.saved == [(2, "state2", {"m": 2})]  # the best state, with the next checkpoint
    for callback in callbacks:
        callback.close()
    assert checkpoints.closed and best.closed


class ScriptedEvaluations:
    """A config's compiled functions, but the learned policy's evaluations return scripted
    rewards (the rules, evaluated by the same `evaluate` with `rule`, are the real ones)."""

    def __init__(self, config, rewards, completion=0.0):
        self.base = compiled_functions(config.env, config.ppo)
        self.rewards, self.completion, self.calls = rewards, completion, 0

    def __getattr__(self, name):
        return getattr(self.base, name)

    def evaluate(self, n_episodes, batch=None, rule=None):
        if rule is not None:
            return self.base.evaluate(n_episodes, batch, rule)

        def run(rs, key):
            reward = self.rewards[min(self.calls, len(self.rewards) - 1)]
            self.calls += 1
            return {"mean_reward": reward, "completion_rate": self.completion}

        return run


@pytest.mark.parametrize(
    "system_settings, rewards, completion, reason, updates",
    [
        ({"plateau_patience": 2}, [5.0, 4.0, 4.0, 9.0], 0.0, "plateau", 6),
        ({"decline_patience": 1, "decline_fraction": 0.5}, [5.0, 6.0, 1.0], 0.0, "decline", 6),
        ({"target_completion_rate": 0.9}, [1.0], 0.95, "target_completion_rate", 2),
        ({"max_timesteps": 300}, [1.0], 0.0, "max_timesteps", 5),
    ],
)
def test_train_stops_with_reason(system_settings, rewards, completion, reason, updates, tiny):
    config = load(tiny(**system_settings))
    system = AgenticRLSystem(config, compiled=ScriptedEvaluations(config, rewards, completion))
    result = system.train()
    assert result["stop_reason"] == reason
    assert result["updates"] == updates
    assert system.tracker.stop_reason == reason
    assert result["stop_message"]


class Recorder(Callback):
    def __init__(self, raise_at=None):
        self.calls, self.raise_at = [], raise_at

    def on_chunk_ready(self, step):
        self.calls.append(("ready", step.update))

    def on_chunk_end(self, step):
        self.calls.append(("end", step.update, step.evaluation is not None, step.checkpointed))
        if step.update == self.raise_at:
            raise KeyboardInterrupt("stop here")

    def close(self):
        self.calls.append(("close",))

    def on_train_end(self):
        self.calls.append(("train_end",))


def test_injected_callback_sees_every_chunk(tiny):
    recorder = Recorder()
    AgenticRLSystem(tiny(max_timesteps=64 * 4)).train(callbacks=[recorder])
    assert recorder.calls == [("ready", 2), ("end", 2, True, False),
                              ("ready", 4), ("end", 4, True, False), ("close",), ("train_end",)]


def test_a_raising_callback_ends_training_and_closes_everything(tiny, tmp_path):
    recorder = Recorder(raise_at=4)
    system = AgenticRLSystem(tiny(), tmp_path / "run")
    with pytest.raises(KeyboardInterrupt, match="stop here"):
        system.train(callbacks=[recorder])
    assert recorder.calls[-2:] == [("end", 4, True, True), ("close",)]  # no train_end
    assert system.update_step == 4
    steps = [p.name for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.isdigit()]
    assert steps == ["4"]  # written by the system's checkpoint callback before the raise
