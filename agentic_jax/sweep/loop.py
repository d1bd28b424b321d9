"""The chunk loop of one sweep call: all its members train in each compiled chunk.

Per chunk: the metrics arrive (`[M, K]`, one transfer); members whose chunk went non-finite
stop (they kept their last finite state); when due, every member is evaluated on the fixed
episodes, the tracker folds the results in (best, stopping rules) and the best states are
selected on the device; the next chunk is dispatched; then, while it runs, the host writes the
records, TensorBoard, the checkpoint and the progress. No host work per member happens inside a
chunk, and none of it is a Python loop over members except writing their log files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from agentic_jax.config import RunConfig
from agentic_jax.sweep.engine import GroupFunctions
from agentic_jax.sweep.logs import SweepLogger
from agentic_jax.sweep.memory import Call
from agentic_jax.sweep.space import Member
from agentic_jax.training.checkpoint import Checkpointer
from agentic_jax.training.schedule import Schedule
from agentic_jax.training.tracker import STOP_NON_FINITE, MemberTracker


def train_call(config: RunConfig, members: Sequence[Member], eval_key: jax.Array, call: Call,
               fns: GroupFunctions, tree: dict[str, Any], tracker: MemberTracker, update: int,
               env_values: dict[str, np.ndarray], logger: SweepLogger,
               checkpointer: Checkpointer | None, done_before: int = 0) -> dict[str, Any]:
    """Train the call's members from `update` until each stopped; return `{"state", "best"}`
    (the tracker is updated in place).

    Args:
        config: the call's shape group config (its schedule and stopping rules).
        members: the call's real members (`call.real`, in call order).
        eval_key: the sweep's evaluation key (the same episodes for every member).
        done_before: member env steps of the calls before (for the progress bar).
    """
    system, schedule = config.system, Schedule.of(config)
    buffer, max_updates = schedule.buffer_size, schedule.max_updates
    members = list(members)
    real = np.arange(call.size) < call.real
    evaluate = fns.evaluate(system.n_eval_episodes)
    state, best = tree["state"], tree["best"]
    if update >= max_updates:
        tracker.finish(update)

    def dispatch(rs, at):
        length = schedule.chunk_length(at)
        return at, length, fns.chunk(length)(rs, env_values, tracker.active & real)

    pending = dispatch(state, update) if (tracker.active & real).any() else None
    while pending is not None:
        start, length, (new, metrics, ok) = pending
        trained = tracker.active & real
        metrics, ok = jax.device_get((metrics, ok))
        update = start + length
        tracker.stop(trained & ~ok, STOP_NON_FINITE, start)
        trained &= ok
        state = new
        evaluation = is_best = None
        if schedule.evaluates_at(update):
            evaluated = tracker.active.copy()
            evaluation = jax.device_get(evaluate(state, eval_key, env_values))
            is_best = tracker.record(system, update, np.asarray(evaluation["mean_reward"]),
                                     np.asarray(evaluation["completion_rate"])) & real
            best = fns.select(is_best, state, best)
        if update >= max_updates:
            tracker.finish(update)
        running = tracker.active & real
        pending = dispatch(state, update) if running.any() else None
        # ---- host work while the next chunk runs
        logger.log_chunk(call.index, members, start + 1, buffer,
                         {k: v[:call.real] for k, v in metrics.items()}, trained[:call.real])
        if evaluation is not None:
            logger.log_eval(call.index, members, update, update * buffer,
                            {k: np.asarray(v)[:call.real] for k, v in evaluation.items()},
                            is_best[:call.real], evaluated[:call.real])
        if checkpointer is not None and (schedule.checkpoints_at(update) or pending is None):
            meta = {"config": config.to_dict(), "call": call.index,
                    "members": list(call.members), "tracker": tracker.to_dict()}
            checkpointer.save(update, {"state": state, "best": best}, meta)
        done = np.where(running, update, max_updates)[:call.real].sum() * buffer
        logger.progress(call.index, done_before + int(done), int(running.sum()))
    return {"state": state, "best": best}
