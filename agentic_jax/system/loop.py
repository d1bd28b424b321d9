"""The training loop: the system's own callbacks, and the chunk loop that drives them.

    logger, checkpoints, callbacks = default_callbacks(system, reference)
    run_chunks(system, [*callbacks, *more], checkpoints)

The next chunk is dispatched before the host works on the current one (JAX runs it
asynchronously), so logging, evaluation results and checkpoint writes overlap the device's work;
the dispatched chunk is dropped unused when a stopping rule or an error ends training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.system.callbacks import (
    BestModelCallback,
    Callback,
    CheckpointCallback,
    EvalCallback,
    PlotCallback,
    Step,
    StopAtBudget,
)
from agentic_jax.system.logging import RunLogger
from agentic_jax.training.checkpoint import Checkpointer
from agentic_jax.training.tracker import STOP_MAX_TIMESTEPS

if TYPE_CHECKING:
    from agentic_jax.system.system import AgenticRLSystem


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter."""


def default_callbacks(system: AgenticRLSystem, reference: Mapping[str, Mapping[str, float]]
                      ) -> tuple[RunLogger, CheckpointCallback | None, list[Callback]]:
    """The system's own callbacks, in the order the loop calls them: the logger, evaluation
    (stopping rules), the update budget, then with a run directory the checkpoints, the best
    model and the plot.

    Returns:
        `(logger, checkpoint callback or None, callbacks)`.
    """
    cfg, rs, files = system.system_config, system.runner_state, system.files
    writer = system.writer  # None in the processes but the first of a multi-process run
    stores: list[Callback] = []
    checkpoints = None
    if files is not None:
        checkpoints = CheckpointCallback(
            Checkpointer(files.checkpoints, cfg.max_to_keep, cfg.async_checkpointing),
            system.checkpoint_every, system.checkpoint_meta)
        best = Checkpointer(files.best_model, 1, cfg.async_checkpointing)
        stores = [checkpoints, BestModelCallback(best, system.checkpoint_meta)]
        if cfg.plot and writer is not None:
            stores.append(PlotCallback(files.path, reference))
    quiet = writer is None and files is not None
    logger = RunLogger(writer, system.max_updates * system.ppo.buffer_size, int(rs.timestep),
                       int(rs.update_step), cfg.progress and not quiet,
                       cfg.verbose and not quiet, cfg.tensorboard, reference)
    evaluation = EvalCallback(system.compiled.evaluate(cfg.n_eval_episodes), system.keys[1],
                              system.eval_every, cfg, logger.log_eval)
    return logger, checkpoints, [logger, evaluation, StopAtBudget(), *stores]


def run_chunks(system: AgenticRLSystem, callbacks: Sequence[Callback],
               checkpoints: CheckpointCallback | None = None) -> None:
    """Train `system` chunk by chunk, driving `callbacks`, until a stopping rule fires.

    `system.runner_state` follows every accepted chunk, so after an error it holds the last
    finite state. `checkpoints` (when given) names the checkpoint kept in a `NonFiniteError`.
    """
    rs, tracker = system.runner_state, system.tracker
    update = int(rs.update_step)
    if tracker.stop_reason is None and update >= system.max_updates:
        tracker.stop_reason = STOP_MAX_TIMESTEPS
    pending = None if tracker.stop_reason else _dispatch(system, rs, update)
    while pending is not None:
        new_rs, metrics, finite = pending
        metrics = jax.device_get(metrics)
        problem = non_finite(metrics, bool(finite))
        if problem is not None:
            kept = "" if checkpoints is None else f"; {checkpoints.describe_kept()}"
            raise NonFiniteError(f"training stopped: {problem}{kept}. Lower the learning "
                                 "rate or check the reward scale.")
        rs = system.runner_state = new_rs
        update = int(metrics["update"][-1])
        step = Step(update, int(metrics["timestep"][-1]), rs, metrics,
                    final=update >= system.max_updates, tracker=tracker)
        for callback in callbacks:
            callback.on_chunk_ready(step)
        pending = None if step.final else _dispatch(system, rs, update)
        for callback in callbacks:
            callback.on_chunk_end(step)
        if step.stopping:
            pending = None


def _dispatch(system: AgenticRLSystem, rs: Any, update: int) -> Any:
    length = min(system.chunk_updates, system.max_updates - update)
    return system.compiled.chunk(length)(rs)


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
