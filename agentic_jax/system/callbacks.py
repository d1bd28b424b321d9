"""What a run does between compiled chunks besides training: checkpoints, the best model and
the learning-curve plot, as small callback objects (SB3's callbacks, Brax's `progress_fn`);
`train(callbacks=...)` adds the caller's own.

The chunk loop (`training.loop`) evaluates, keeps the best state and applies the stopping rules;
for every chunk the run builds a `Step` and calls, in list order, `on_chunk_ready` on each
callback (before the next chunk is dispatched), then `on_chunk_end` (host work while it runs).
A callback stops training with `step.stop(reason)` and may leave a flag on the step for the
callbacks after it (`checkpointed`). `close` always runs when training ends, after an error
too; `on_train_end` follows it once a stopping rule ended the run (so every file is complete).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agentic_jax.system.plots import plot_learning_curve
from agentic_jax.training.checkpoint import Checkpointer
from agentic_jax.training.logs import Logger
from agentic_jax.training.tracker import EvalTracker


@dataclasses.dataclass
class Step:
    """One finished training chunk, as the callbacks see it.

    Attributes:
        update: PPO updates done after the chunk.
        timestep: env steps done after the chunk (all training envs).
        runner_state: the training state after the chunk.
        metrics: the chunk's per-update metrics, `[K]` host arrays (`update`, `timestep`, ...).
        final: the update budget is spent.
        tracker: the run's evaluation tracker; its `stop_reason` ends training after the chunk.
        evaluation: the evaluation metrics, when the loop evaluated after this chunk.
        is_best: that evaluation is the best so far.
        checkpointed: set by `CheckpointCallback` when it saved this chunk's state.
    """

    update: int
    timestep: int
    runner_state: Any
    metrics: dict[str, np.ndarray]
    final: bool
    tracker: EvalTracker
    evaluation: dict[str, float] | None = None
    is_best: bool = False
    checkpointed: bool = False

    @property
    def stopping(self) -> bool:
        """A stopping rule fired (at this chunk or before)."""
        return self.tracker.stop_reason is not None

    def stop(self, reason: str) -> None:
        """End training after this chunk (the first reason given is kept)."""
        self.tracker.stop(reason, self.update)


class Callback:
    """Base class: every hook does nothing. `phase`: the `training.timings` phase its time
    counts to."""

    phase = "host"

    def on_chunk_ready(self, step: Step) -> None:
        """The chunk's results arrived; the next chunk is dispatched after this returns."""

    def on_chunk_end(self, step: Step) -> None:
        """Host work for the chunk, while the next one runs on the device."""

    def close(self) -> None:
        """Release files and threads (always called when training ends)."""

    def on_train_end(self) -> None:
        """Training ended by a stopping rule; every callback is closed (not after an error)."""


class LogCallback(Callback):
    """Logs each chunk of the run through the logger of runs and sweeps (`training/logs.py`),
    the run being its one member: records, evaluations.csv, TensorBoard, progress, tables."""

    def __init__(self, logger: Logger) -> None:
        self.logger = logger

    def on_chunk_end(self, step: Step) -> None:
        m = step.metrics
        self.logger.log_train(m["update"], m["timestep"], {k: v[None] for k, v in m.items()})
        if step.evaluation is not None:
            self.logger.log_eval(step.update, step.timestep,
                                 {k: np.array([v]) for k, v in step.evaluation.items()},
                                 np.array([step.is_best]))
        self.logger.progress(step.timestep)

    def close(self) -> None:
        self.logger.close()


class CheckpointCallback(Callback):
    """Save the whole runner state every `every` updates and when training stops.

    Args:
        checkpointer: where the checkpoints go (closed by `close`).
        every: checkpoint interval in updates.
        meta: `meta() -> dict`, the JSON metadata saved with each checkpoint (config,
            callback state), read at save time.
    """

    phase = "checkpoints"

    def __init__(self, checkpointer: Checkpointer, every: int,
                 meta: Callable[[], dict[str, Any]]) -> None:
        self.checkpointer, self.every, self.meta = checkpointer, every, meta

    def on_chunk_end(self, step: Step) -> None:
        if step.update % self.every == 0 or step.stopping:
            self.checkpointer.save(step.update, step.runner_state, self.meta())
            step.checkpointed = True

    def describe_kept(self) -> str:
        """Which checkpoint is left (for the message of an error that ends training)."""
        self.checkpointer.wait()
        steps = self.checkpointer.steps()
        if not steps:
            return "no checkpoint was written yet"
        return (f"the last good checkpoint (update {steps[-1]}) in "
                f"{self.checkpointer.directory} is kept")

    def close(self) -> None:
        self.checkpointer.close()


class BestModelCallback(Callback):
    """Keep the best evaluated state in its own checkpoint directory.

    The best state is written along with the next regular checkpoint (put this callback after
    the `CheckpointCallback`): a killed run recomputes it identically, and it costs one orbax
    write per checkpoint rather than one per improvement.
    """

    phase = "checkpoints"

    def __init__(self, checkpointer: Checkpointer, meta: Callable[[], dict[str, Any]]) -> None:
        self.checkpointer, self.meta = checkpointer, meta
        self._best: tuple[int, Any] | None = None

    def on_chunk_end(self, step: Step) -> None:
        if step.is_best:
            self._best = (step.update, step.runner_state)
        if step.checkpointed and self._best is not None:
            self.checkpointer.save(*self._best, self.meta())
            self._best = None

    def close(self) -> None:
        self.checkpointer.close()


class PlotCallback(Callback):
    """Draw `learning_curve.png` from the run's metrics once training ends."""

    def __init__(self, run_dir: str | Path, reference: Mapping[str, Mapping[str, float]]) -> None:
        self.run_dir, self.reference = Path(run_dir), dict(reference)

    def on_train_end(self) -> None:
        plot_learning_curve(self.run_dir, self.reference)
