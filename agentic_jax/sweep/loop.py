"""One sweep call through the chunk loop of runs and sweeps (`training.loop`): all its members
train in each compiled chunk, and between chunks the host writes the records, TensorBoard, the
checkpoint and the progress while the next chunk runs. No host work per member happens inside a
chunk, and none of it is a Python loop over members except writing their log files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from agentic_jax.config import RunConfig
from agentic_jax.sweep.engine import GroupFunctions
from agentic_jax.sweep.memory import Call
from agentic_jax.sweep.space import Member
from agentic_jax.training.checkpoint import Checkpointer
from agentic_jax.training.logs import Logger
from agentic_jax.training.loop import train_chunks
from agentic_jax.training.schedule import Schedule
from agentic_jax.training.timings import Timings
from agentic_jax.training.tracker import MemberTracker


def train_call(config: RunConfig, members: Sequence[Member], eval_key: jax.Array, call: Call,
               fns: GroupFunctions, tree: dict[str, Any], tracker: MemberTracker, update: int,
               env_values: dict[str, np.ndarray], logger: Logger,
               checkpointer: Checkpointer | None, done_before: int = 0,
               timings: Timings | None = None) -> dict[str, Any]:
    """Train the call's members from `update` until each stopped; return `{"state", "best"}`
    (the tracker is updated in place).

    Args:
        config: the call's shape group config (its schedule and stopping rules).
        members: the call's real members (`call.real`, in call order).
        eval_key: the sweep's evaluation key (the same episodes for every member).
        done_before: member env steps of the calls before (for the progress bar).
        timings: where the phases go (`training.timings`), or None.
    """
    timings = timings or Timings()
    schedule, n = Schedule.of(config), call.real
    buffer, max_updates = schedule.buffer_size, schedule.max_updates
    members = list(members)
    real = np.arange(call.size) < n
    program = fns.program(env_values, eval_key, config.system.n_eval_episodes)
    for chunk in train_chunks(tree["state"], tree["best"], tracker, schedule, program,
                              config.system, update=update, real=real, timings=timings):
        tree = {"state": chunk.state, "best": chunk.best}
        updates = np.arange(chunk.start + 1, chunk.update + 1)
        logger.log_train(updates, updates * buffer, {k: v[:n] for k, v in chunk.metrics.items()},
                         chunk.trained[:n], members, call.index)
        if chunk.evaluation is not None:
            logger.log_eval(chunk.update, chunk.update * buffer,
                            {k: np.asarray(v)[:n] for k, v in chunk.evaluation.items()},
                            chunk.is_best[:n], chunk.evaluated[:n], members, call.index)
        running = chunk.running & real
        if checkpointer is not None and (schedule.checkpoints_at(chunk.update)
                                         or not running.any()):
            meta = {"config": config.to_dict(), "call": call.index,
                    "members": list(call.members), "tracker": tracker.to_dict()}
            with timings.phase("checkpoints"):
                checkpointer.save(chunk.update, tree, meta)
        done = np.where(running, chunk.update, max_updates)[:n].sum() * buffer
        logger.progress(done_before + int(done), call=call.index,
                        training=int(running.sum()))
    return tree
