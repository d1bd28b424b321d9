"""The chunk loop of runs and sweeps: a member-batched state in, chunks out.

    for chunk in train_chunks(state, best, tracker, schedule, program, rules, update=u):
        write_logs(chunk)             # host work while the next chunk runs on the device
    state, best = chunk.state, chunk.best

Every member (a single run is one) trains in the same compiled chunks of `schedule.chunk`
updates. Per chunk: the `[M, K]` metrics arrive in one transfer; a member whose chunk went
non-finite stops (`on_non_finite` may raise instead); when due, every member is evaluated on
the fixed episodes, the tracker folds the results in (best, stopping rules) and the best states
are selected; the budget stops what still trains; the next chunk is dispatched; then the chunk
is yielded, so the caller's host work (records, checkpoints, callbacks) overlaps the device's.
A caller that stops every member (`Chunk.stop`) drops the dispatched chunk unused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import jax
import numpy as np

from agentic_jax.config import SystemConfig
from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.training.schedule import Schedule
from agentic_jax.training.timings import Timings
from agentic_jax.training.tracker import STOP_NON_FINITE, MemberTracker

Metrics = dict[str, np.ndarray]


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter."""


class Program(Protocol):
    """The compiled functions the loop drives, over `M` members.

    `chunk(length)(state, active [M]) -> (state, metrics {name: [M, length]}, ok [M])`: `length`
    PPO updates (device arrays, not waited for); `ok` is False where a loss or parameter went
    non-finite (a scalar stands for every member). `evaluate(state) -> {name: [M, ...]}` host
    arrays of the fixed evaluation episodes. `select(is_best [M], state, best) -> best`.
    """

    def chunk(self, length: int) -> Callable[[Any, np.ndarray], tuple[Any, Any, Any]]: ...

    def evaluate(self, state: Any) -> Metrics: ...

    def select(self, is_best: np.ndarray, state: Any, best: Any) -> Any: ...


@dataclasses.dataclass
class Chunk:
    """One finished chunk of every member, as the caller sees it.

    Attributes:
        start, update: updates done before and after the chunk.
        state, best: the members' states after it, and their best states so far.
        metrics: the chunk's per-update metrics, `{name: [M, K]}` host arrays (`update`,
            `timestep`, the losses, ...).
        trained: `[M]` bool, the members whose chunk was kept (they were training and it
            stayed finite).
        tracker: the members' tracker (after this chunk's evaluation and the budget).
        evaluation: `{name: [M, ...]}` of the evaluation after the chunk, or None.
        evaluated, is_best: `[M]` bool, the members still training at that evaluation and
            those it found a new best (None without an evaluation).
    """

    start: int
    update: int
    state: Any
    best: Any
    metrics: Metrics
    trained: np.ndarray
    tracker: MemberTracker
    evaluation: Metrics | None = None
    evaluated: np.ndarray | None = None
    is_best: np.ndarray | None = None

    @property
    def running(self) -> np.ndarray:
        """`[M]` bool: the members that train on after this chunk."""
        return self.tracker.active

    @property
    def last(self) -> bool:
        """No chunk follows (every member stopped)."""
        return not self.tracker.active.any()

    def stop(self, reason: str) -> None:
        """End training after this chunk: every member still training stops with `reason`."""
        self.tracker.stop(self.tracker.active, reason, self.update)


def train_chunks(state: Any, best: Any, tracker: MemberTracker, schedule: Schedule,
                 program: Program, rules: SystemConfig, *, update: int,
                 real: np.ndarray | None = None,
                 ready: Callable[[Chunk], None] | None = None,
                 on_non_finite: Callable[[np.ndarray, Metrics], None] | None = None,
                 timings: Timings | None = None) -> Iterator[Chunk]:
    """Train `state` from `update` until every member stopped, yielding each chunk.

    Args:
        state, best: the members' states and best states (`best` may be anything
            `program.select` takes, e.g. None for "none yet").
        tracker: the members' tracker (updated in place; a member stopped in it does not train).
        schedule: chunks of `schedule.chunk` updates, evaluations and the budget.
        program: the compiled functions (`Program`).
        rules: the stopping rules' settings (`SystemConfig`).
        update: updates done (every member's count; a stopped one's is frozen in its state).
        real: `[M]` bool, the members that count (padding trains but never keeps training
            alive); default all.
        ready: called with each chunk before the next one is dispatched.
        on_non_finite: `(members [M] bool, metrics)` when chunks went non-finite; it may raise
            to end training (the chunk is not yielded); otherwise those members stop with
            `non_finite` and keep their last finite state.
        timings: where the loop's phases go (`updates`, `evaluations`, `host`: the caller's
            work between chunks, and the host's idle wait for results), or None.

    Yields:
        `Chunk`s, after the next chunk was dispatched. Stopping every member in the caller
        (`Chunk.stop`) ends training after that chunk.
    """
    real = np.ones(tracker.active.shape, bool) if real is None else np.asarray(real, bool)
    timings = timings or Timings()  # not recording: the phases are kept and dropped
    if update >= schedule.max_updates:
        tracker.finish(update)

    def dispatch(at: int) -> tuple[int, int, tuple[Any, Any, Any]] | None:
        if not (tracker.active & real).any():
            return None
        length = schedule.chunk_length(at)
        with timings.phase("updates"):
            return at, length, program.chunk(length)(state, tracker.active & real)

    pending = dispatch(update)
    while pending is not None:
        start, length, (new, metrics, ok) = pending
        trained = tracker.active & real
        with timings.phase("updates"), timings.waiting():
            metrics, ok = jax.device_get((metrics, ok))
        ok = np.broadcast_to(np.asarray(ok, bool), trained.shape)
        update = start + length
        if (trained & ~ok).any():
            if on_non_finite is not None:
                on_non_finite(trained & ~ok, metrics)
            tracker.stop(trained & ~ok, STOP_NON_FINITE, start)
            trained &= ok
        state = new
        chunk = Chunk(start, update, state, best, metrics, trained, tracker)
        if schedule.evaluates_at(update):
            with timings.phase("evaluations"):
                chunk.evaluated = tracker.active & real
                chunk.evaluation = program.evaluate(state)
                chunk.is_best = tracker.record(
                    rules, update, np.asarray(chunk.evaluation["mean_reward"], float),
                    np.asarray(chunk.evaluation["completion_rate"], float)) & real
                best = chunk.best = program.select(chunk.is_best, state, best)
        if update >= schedule.max_updates:
            tracker.finish(update)
        if ready is not None:
            with timings.phase("host"):
                ready(chunk)
        pending = dispatch(update)
        with timings.phase("host"):
            yield chunk
        if not (tracker.active & real).any():
            pending = None  # the caller stopped training: the dispatched chunk is dropped


def non_finite(metrics: Mapping[str, np.ndarray], params_finite: bool = True) -> str | None:
    """What is NaN/inf in one member's chunk (`[K]` metrics with `update`), or None."""
    for name in METRIC_NAMES:
        values = np.asarray(metrics[name])
        if not np.all(np.isfinite(values)):
            i = int(np.argmax(~np.isfinite(values)))
            return f"non-finite {name} ({values[i]}) at update {int(metrics['update'][i])}"
    if not params_finite:
        return f"non-finite network parameters after update {int(metrics['update'][-1])}"
    return None
