"""`train` of `AgenticRLSystem` (a mixin: the system class inherits it): the run as a
one-member sweep through the chunk loop of runs and sweeps (`training.loop`), its callbacks
between chunks, the final evaluation and the timings.

Per chunk the loop evaluates, keeps the best state and applies the stopping rules; the run
turns the chunk into its `Step` (one member, no member axis), adds the evaluation to the
tracker's history and calls its callbacks: the logger, the checkpoints and the best model (with
a run directory), the plot, then the caller's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from rich.console import Console

from agentic_jax.ppo import RunnerState
from agentic_jax.system.callbacks import (
    BestModelCallback,
    Callback,
    CheckpointCallback,
    LogCallback,
    PlotCallback,
    Step,
)
from agentic_jax.system.compiled import RunProgram
from agentic_jax.training.checkpoint import Checkpointer, CheckpointError, read_checkpoint
from agentic_jax.training.final_eval import final_evaluation, report_final
from agentic_jax.training.guard import close_all
from agentic_jax.training.logs import Logger
from agentic_jax.training.loop import Chunk, NonFiniteError, non_finite, train_chunks
from agentic_jax.training.schedule import final_eval_key
from agentic_jax.training.timings import Timings


class Trainer:
    """`train` and its parts (needs the system's `config`, `compiled`, `schedule`, `tracker`,
    `keys`, `files`, `writer`, `runner_state`, `checkpoint_meta` and `_reference`)."""

    def train(self, callbacks: Sequence[Callback] = ()) -> dict[str, Any]:
        """Train until a stopping rule fires; return a summary.

        Args:
            callbacks: more callbacks, run after the system's own at every chunk.

        Returns:
            dict with `stop_reason` ("max_timesteps", "plateau", "target_completion_rate",
            "decline"), `stop_message`, `timesteps`, `updates`, `best_mean_reward`,
            `last_eval`, `steps_per_second` (this call's steps over this call's time),
            `run_dir`, `best_model` and `moved_aside` (where `overwrite` moved an earlier
            run) as paths, or None; `final_eval`: the best model on
            `system.final_eval_episodes` fresh episodes beside the heuristics (or None);
            `timings`: where the time went (`training.timings`; also `timings.json` in the
            run directory and one line when verbose).

        Raises:
            RunExistsError: `run_dir` holds a run this system did not resume (continue it
                with `AgenticRLSystem.resume`, or pass `overwrite=True` to move it aside).
            RunLockedError: another process is writing `run_dir`.
            RunDirError: the file system refused a write (read-only, not a directory, no
                space); what was saved before is intact and resumable.
            NonFiniteError (a RuntimeError): a loss or parameter became NaN/inf; the last good
                checkpoint is left as it was.
        """
        writing = contextlib.nullcontext() if self._claim is None else self._claim.writing()
        timings = Timings()
        with writing:  # checked before anything is written or compiled
            with timings.recording():
                result = self._train([*callbacks], timings)
            if self.writer is not None:
                timings.write(self.files.path)
        result["timings"] = timings.to_dict()
        if self.system_config.verbose and (self.writer is not None or self.files is None):
            Console().print(timings.summary())
        return result

    def _train(self, extra: list[Callback], timings: Timings) -> dict[str, Any]:
        cfg = self.system_config
        if self.writer is not None:
            self.writer.write_config(self.config)
        with timings.phase("init"):
            state = self.runner_state
        with timings.phase("rules"):  # the rules' program is the learned policy's: it takes a state
            reference = self._reference()
        logger, checkpoints, callbacks = self._callbacks(reference)
        callbacks += extra
        steps: list[Step] = []  # the current chunk's, built before its callbacks run

        def ready(chunk: Chunk) -> None:
            self._runner_state = chunk.state  # the last finite state, whatever ends training
            steps[:] = [self._step(chunk)]
            for callback in callbacks:
                with timings.phase(getattr(callback, "phase", "host")):
                    callback.on_chunk_ready(steps[0])

        def diverged(members: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
            problem = non_finite({k: v[0] for k, v in metrics.items()}, params_finite=False)
            kept = "" if checkpoints is None else f"; {checkpoints.describe_kept()}"
            raise NonFiniteError(f"training stopped: {problem}{kept}. Lower the learning "
                                 "rate or check the reward scale.")

        best = None
        try:
            for chunk in train_chunks(
                    state, None, self.tracker.members, self.schedule,
                    RunProgram(self.compiled, self.keys[1], cfg.n_eval_episodes), cfg,
                    update=self.update_step, ready=ready, on_non_finite=diverged,
                    timings=timings):
                best = chunk.best
                for callback in callbacks:
                    with timings.phase(getattr(callback, "phase", "host")):
                        callback.on_chunk_end(steps[0])
            logger.message(f"stopped: {self.tracker.describe_stop(cfg)}")
        finally:
            with timings.phase("checkpoints"):  # waits for asynchronous checkpoint writes
                closing_error = close_all(callbacks)  # every one closed; an earlier error wins
        if closing_error is not None:
            raise closing_error
        sps = logger.steps_per_second(self.num_timesteps)
        with timings.phase("host"):
            for callback in callbacks:
                callback.on_train_end()
        with timings.phase("final_evaluation"):
            final = self._final_evaluation(best, timings)
        best_path = None if self.files is None else self.files.best_model_path()
        moved = None if self._claim is None else self._claim.moved_to
        return {
            "stop_reason": self.tracker.stop_reason,
            "stop_message": self.tracker.describe_stop(cfg),
            "timesteps": self.num_timesteps,
            "updates": self.update_step,
            "best_mean_reward": self.tracker.best_reward,
            "last_eval": self.tracker.history[-1] if self.tracker.history else None,
            "steps_per_second": sps,
            "run_dir": None if self.files is None else str(self.files.path),
            "best_model": None if best_path is None else str(best_path),
            "moved_aside": None if moved is None else str(moved),
            "final_eval": final,
            "started_from": self.started_from,
        }

    def _step(self, chunk: Chunk) -> Step:
        """The run's view of a chunk of its one member; its evaluation joins the history."""
        metrics = {name: values[0] for name, values in chunk.metrics.items()}
        step = Step(chunk.update, int(metrics["timestep"][-1]), chunk.state, metrics,
                    final=chunk.update >= self.schedule.max_updates, tracker=self.tracker)
        if chunk.evaluation is not None:
            step.evaluation = {k: float(v[0]) for k, v in chunk.evaluation.items()}
            step.is_best = bool(chunk.is_best[0])
            self.tracker.history.append({"update": step.update, "timestep": step.timestep,
                                         **step.evaluation})
        return step

    def _final_evaluation(self, best: RunnerState | None, timings: Timings
                          ) -> dict[str, Any] | None:
        """The best model (`best`, else the stored one) on the final episodes, beside the
        heuristics; written to `final_evaluation.json` (None: `final_eval_episodes` unset)."""
        cfg, n = self.system_config, self.system_config.final_eval_episodes
        if n is None:
            return None
        update, state = (self.tracker.best_update, best) if best is not None else \
            self._stored_best()
        def rules(key: jax.Array, n: int) -> dict[str, dict[str, float]]:
            with timings.phase("rules"):
                return self.evaluate_heuristics(n, key, batch=cfg.n_eval_episodes)

        # the periodic evaluation's program, ceil(n / n_eval_episodes) times (`env.batches`)
        evaluate = self.compiled.evaluate(n, cfg.n_eval_episodes)
        result = {"update": update, **final_evaluation(
            evaluate, state, final_eval_key(self.keys[1]), n, rules)}
        report_final(result, None if self.writer is None else self.files.path, cfg.verbose)
        return result

    def _callbacks(self, reference: Mapping[str, Mapping[str, float]]
                   ) -> tuple[Logger, CheckpointCallback | None, list[Callback]]:
        """The system's own callbacks, in the order the run calls them: the logger, then with
        a run directory the checkpoints, the best model and the plot; returned as
        `(logger, checkpoints or None, callbacks)`."""
        cfg, rs, files, schedule = self.system_config, self.runner_state, self.files, self.schedule
        stores: list[Callback] = []
        checkpoints = None
        if files is not None:
            checkpoints = CheckpointCallback(
                Checkpointer(files.checkpoints, cfg.max_to_keep, cfg.async_checkpointing),
                schedule.checkpoint_every, self.checkpoint_meta)
            best = Checkpointer(files.best_model, 1, cfg.async_checkpointing)
            stores = [checkpoints, BestModelCallback(best, self.checkpoint_meta)]
            if cfg.plot and self.writer is not None:
                stores.append(PlotCallback(files.path, reference))
        # quiet: the processes but the first of a multi-process run (no writer)
        quiet = self.writer is None and files is not None
        logger = Logger(self.writer, schedule.max_timesteps, int(rs.timestep),
                        cfg.progress and not quiet, cfg.verbose and not quiet, cfg.tensorboard,
                        reference=reference)
        if rs.update_step:  # hide events a killed run wrote after its checkpoint
            logger.restart(None, int(rs.update_step))
        return logger, checkpoints, [LogCallback(logger), *stores]

    def _stored_best(self) -> tuple[int, Any]:
        """`(update, state)` of the run's `best_model/` (a resumed run), else the current."""
        if self.files is not None and self.files.best_model.is_dir():
            try:
                snapshot = read_checkpoint(self.files.best_model)
            except (CheckpointError, FileNotFoundError):
                snapshot = None
            if snapshot is not None:
                template = jax.eval_shape(self.compiled.init, self.keys[0])
                return snapshot.step, snapshot.state(template, self.config.to_dict())
        return self.update_step, self.runner_state
