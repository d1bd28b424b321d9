"""The chunk loop: state in, states out, driving the callbacks between compiled chunks.

    for state in run_chunks(state, tracker, schedule, compiled.chunk, callbacks, checkpoints):
        keep(state)                   # every accepted chunk's state, the last finite one kept

The next chunk is dispatched before the host works on the current one (JAX runs it
asynchronously), so logging, evaluation results and checkpoint writes overlap the device's work;
the dispatched chunk is dropped unused when a stopping rule or an error ends training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.system.callbacks import Callback, CheckpointCallback, Step
from agentic_jax.training.schedule import Schedule
from agentic_jax.training.tracker import STOP_MAX_TIMESTEPS, EvalTracker


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter."""


def run_chunks(state: Any, tracker: EvalTracker, schedule: Schedule,
               chunk: Callable[[int], Callable[[Any], Any]], callbacks: Sequence[Callback],
               checkpoints: CheckpointCallback | None = None) -> Iterator[Any]:
    """Train from `state` chunk by chunk, driving `callbacks`, until a stopping rule fires
    (recorded in `tracker`); yield the state after every accepted chunk, before its callbacks
    run, so the caller holds the last finite state after any error.

    Args:
        state: the runner state to continue (`state.update_step` updates done).
        tracker: the run's evaluation tracker (the callbacks fold evaluations into it).
        schedule: the run's intervals; chunks of `schedule.chunk` updates up to the budget.
        chunk: `chunk(length) -> (state -> (state, metrics [length], params finite))`.
        callbacks: called in order at every chunk (`Callback`).
        checkpoints: names the checkpoint kept in a `NonFiniteError`, when given.

    Raises:
        NonFiniteError: a chunk's loss or parameters became NaN/inf (its state is not
            yielded).
    """
    update = int(state.update_step)
    if tracker.stop_reason is None and update >= schedule.max_updates:
        tracker.stop_reason = STOP_MAX_TIMESTEPS
    pending = None if tracker.stop_reason else chunk(schedule.chunk_length(update))(state)
    while pending is not None:
        new_state, metrics, finite = pending
        metrics = jax.device_get(metrics)
        problem = non_finite(metrics, bool(finite))
        if problem is not None:
            kept = "" if checkpoints is None else f"; {checkpoints.describe_kept()}"
            raise NonFiniteError(f"training stopped: {problem}{kept}. Lower the learning "
                                 "rate or check the reward scale.")
        state = new_state
        yield state
        update = int(metrics["update"][-1])
        step = Step(update, int(metrics["timestep"][-1]), state, metrics,
                    final=update >= schedule.max_updates, tracker=tracker)
        for callback in callbacks:
            callback.on_chunk_ready(step)
        pending = None if step.final else chunk(schedule.chunk_length(update))(state)
        for callback in callbacks:
            callback.on_chunk_end(step)
        if step.stopping:
            pending = None


def non_finite(metrics: Mapping[str, np.ndarray], params_finite: bool) -> str | None:
    """What is NaN/inf in a chunk's results (`[K]` metrics with `update`), or None."""
    for name in METRIC_NAMES:
        values = np.asarray(metrics[name])
        if not np.all(np.isfinite(values)):
            i = int(np.argmax(~np.isfinite(values)))
            return f"non-finite {name} ({values[i]}) at update {int(metrics['update'][i])}"
    if not params_finite:
        return f"non-finite network parameters after update {int(metrics['update'][-1])}"
    return None
