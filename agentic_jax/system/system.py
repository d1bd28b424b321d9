"""`AgenticRLSystem`: a run's config, state and files; it trains, acts, evaluates, saves, loads.

Training runs in compiled chunks: one jitted call scans `K` PPO updates (`system/compiled.py`)
and the chunk loop of runs and sweeps (`training/loop.py`, a run is one member) evaluates, keeps
the best state and applies the stopping rules; between chunks the run drives its callbacks
(`system/callbacks.py`: logging, checkpoints, the best model, the caller's own). `K` and the
other intervals, and the keys derived from the seed, are the run's `Schedule`
(`training/schedule.py`); the best model's final evaluation is `training/final_eval.py`'s.

Checkpoints hold the whole `RunnerState` (params, optimiser state, env states, RNG key,
counters, observation normaliser), the config and the callback state, so
`AgenticRLSystem.resume(run_dir).train()` ends bit-identical (on CPU) to the run that was
never interrupted. The run directory's files are listed in `training/store.py`; saving, loading
and resuming are in `system/persistence.py`. `system.devices` splits the envs over a device
mesh (`agentic_jax.parallel`); the loop and callbacks are the same on any device count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from agentic_jax.config import PPOConfig, SystemConfig
from agentic_jax.env.evaluation import evaluate_heuristics
from agentic_jax.parallel import is_primary
from agentic_jax.ppo import RunnerState
from agentic_jax.system.callbacks import (
    BestModelCallback,
    Callback,
    CheckpointCallback,
    PlotCallback,
    Step,
)
from agentic_jax.system.compiled import Compiled, RunProgram, compiled_functions
from agentic_jax.system.logging import RunLogger
from agentic_jax.system.persistence import ConfigSource, Persistence, as_run_config
from agentic_jax.training.checkpoint import Checkpointer, CheckpointError, read_checkpoint
from agentic_jax.training.final_eval import final_evaluation, report_final
from agentic_jax.training.guard import RunClaim, close_all
from agentic_jax.training.loop import Chunk, NonFiniteError, non_finite, train_chunks
from agentic_jax.training.schedule import Schedule, final_eval_key, run_keys
from agentic_jax.training.store import RunDir
from agentic_jax.training.tracker import EvalTracker


class AgenticRLSystem(Persistence):
    """Builds the environment and PPO from a config and trains with callbacks.

    Args:
        config: a `RunConfig` (`agentic_jax.config.load`), a mapping with `env`, `ppo` and
            `system` sections, a YAML path, or None for the defaults.
        run_dir: where checkpoints and logs go (None: train without writing files). It must
            not hold a run already (continue one with `AgenticRLSystem.resume`); one process
            at a time writes it (a lock file while `train` runs).
        system_config: a `SystemConfig` replacing the config's `system` section, or a
            mapping of `system` settings to change.
        compiled: the compiled functions to train with (default: the ones shared by every
            system of this env/ppo config, `compiled_functions(config.env, config.ppo)`).
        overwrite: when `run_dir` holds a run, `train` moves it aside to
            `RUN_DIR.old-<time>` (never deletes it) instead of refusing.

    Example:
        >>> system = AgenticRLSystem("configs/quick.yaml", run_dir="runs/quick")
        >>> result = system.train()
        >>> system.evaluate(n_episodes=64)["mean_reward"]
    """

    def __init__(self, config: ConfigSource = None, run_dir: str | Path | None = None, *,
                 system_config: SystemConfig | Mapping[str, Any] | None = None,
                 compiled: Compiled | None = None, overwrite: bool = False) -> None:
        if run_dir is not None and not isinstance(run_dir, (str, Path)):
            raise TypeError(f"run_dir must be a path, got {type(run_dir).__name__} (system "
                            "settings go in the config or system_config=)")
        self.config = as_run_config(config, system_config)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.files = None if run_dir is None else RunDir(run_dir)
        # several processes (jax.distributed): process 0 alone writes and locks the run's
        # files; every process takes part in the orbax checkpoints (`self.files`)
        self.writer = self.files if is_primary() else None
        self._claim = None if self.writer is None else RunClaim(self.files, overwrite)
        if compiled is None:
            compiled = compiled_functions(self.config.env, self.config.ppo,
                                          self.system_config.devices)
        self.compiled = compiled
        self.env, self.env_params = self.compiled.env, self.compiled.env_params
        self.tracker = EvalTracker()
        self.heuristics: dict[str, dict[str, float]] | None = None
        self._runner_state: RunnerState | None = None
        # where this system's state came from: the path `load` read it from, and the run a
        # warm start (`start_from`) took its network from (kept in its checkpoints)
        self.loaded_from: str | None = None
        self.started_from: dict[str, Any] | None = None
        self._saved_to: set[Path] = set()  # directories `save` wrote (it may add to them)
        self._predict_calls = 0
        self.schedule = Schedule.of(self.config)
        schedule = self.schedule  # its intervals in updates, as attributes
        self.eval_every, self.checkpoint_every = schedule.eval_every, schedule.checkpoint_every
        self.chunk_updates, self.max_updates = schedule.chunk, schedule.max_updates

    # ---- state ---------------------------------------------------------------------------
    @property
    def ppo(self) -> PPOConfig:
        """The `PPOConfig` (`config.ppo`)."""
        return self.config.ppo

    @property
    def system_config(self) -> SystemConfig:
        """The `SystemConfig` (`config.system`)."""
        return self.config.system

    @property
    def keys(self) -> tuple[jax.Array, jax.Array]:
        """`(init key, evaluation key)` derived from `system.seed`."""
        return run_keys(self.system_config.seed)

    @property
    def runner_state(self) -> RunnerState:
        """The full training state (initialised on first use)."""
        if self._runner_state is None:
            self._runner_state = self.compiled.init(self.keys[0])
        return self._runner_state

    @runner_state.setter
    def runner_state(self, value: RunnerState) -> None:
        self._runner_state = self.compiled.place(value)  # onto the mesh (one device: as is)

    @property
    def params(self) -> Any:
        """The actor-critic network parameters."""
        return self.runner_state.train_state.params

    @property
    def update_step(self) -> int:
        """PPO updates done."""
        return int(self.runner_state.update_step)

    @property
    def num_timesteps(self) -> int:
        """Env steps done (all training envs)."""
        return int(self.runner_state.timestep)

    def trace_count(self, length: int | None = None) -> int:
        """How many times the training chunk of `length` (default `chunk_updates`) was traced
        (by any system sharing these compiled functions)."""
        return self.compiled.trace_count(length or self.chunk_updates)

    # ---- acting and evaluation -----------------------------------------------------------
    def predict(self, obs: Any, deterministic: bool = True, key: jax.Array | None = None
                ) -> np.ndarray:
        """Action for raw observation(s) `(obs_size,)` or `(B, obs_size)`, clipped to the box.

        Stochastic actions (`deterministic=False`) draw from `key`, or from a key derived from
        the seed and a call counter. `ValueError` for a wrong shape or a NaN/inf observation.
        """
        obs = np.asarray(obs, np.float32)
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.env.obs_size():
            raise ValueError(f"predict: obs must have shape ({self.env.obs_size()},) or "
                             f"(B, {self.env.obs_size()}), got {tuple(obs.shape)}")
        if not np.isfinite(obs).all():
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(obs))[0])
            raise ValueError(f"predict: obs{list(where)} is {obs[where]}; observations must be "
                             "finite (an environment observation never holds NaN or inf)")
        if not deterministic and key is None:
            self._predict_calls += 1
            key = jax.random.fold_in(jax.random.key(self.system_config.seed + 1),
                                     self._predict_calls)
        action = self.compiled.act(self.runner_state, obs, key, deterministic=deterministic)
        return np.asarray(action)

    def evaluate(self, n_episodes: int = 10, key: jax.Array | None = None) -> dict[str, float]:
        """Mean episode reward, completion rate, utilisation, collaboration frequency, match...

        Deterministic actions (policy mean, clipped to the box) on `n_episodes` fresh episodes
        run in parallel through `evaluate_policy`.
        """
        if not isinstance(n_episodes, int) or n_episodes < 1:
            raise ValueError(f"n_episodes={n_episodes!r} is invalid (allowed: an int >= 1)")
        key = self.keys[1] if key is None else key
        metrics = self.compiled.evaluate(n_episodes)(self.runner_state, key)
        return {k: float(v) for k, v in jax.device_get(metrics).items()}

    def evaluate_heuristics(self, n_episodes: int | None = None) -> dict[str, dict[str, float]]:
        """The configured heuristic baselines, evaluated like the learned policy."""
        n = n_episodes or self.system_config.n_eval_episodes
        names = self.system_config.heuristics
        if not names:
            return {}
        return evaluate_heuristics(self.env, self.env_params, self.keys[1], n, names)

    def _reference(self) -> dict[str, dict[str, float]]:
        """The heuristic baselines: from `heuristics.json` when stored, else evaluated."""
        if self.heuristics is None:
            stored = None if self.files is None else self.files.read_heuristics()
            self.heuristics = self.evaluate_heuristics() if stored is None else stored
            if stored is None and self.writer is not None:
                self.writer.write_heuristics(self.heuristics)
        return self.heuristics

    # ---- training ------------------------------------------------------------------------
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
            `system.final_eval_episodes` fresh episodes beside the heuristics (or None).

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
        with writing:  # checked before anything is written or compiled
            return self._train([*callbacks])

    def _train(self, extra: list[Callback]) -> dict[str, Any]:
        cfg = self.system_config
        if self.writer is not None:
            self.writer.write_config(self.config)
        reference = self._reference()
        logger, checkpoints, callbacks = self._callbacks(reference)
        callbacks += extra
        steps: list[Step] = []  # the current chunk's, built before its callbacks run

        def ready(chunk: Chunk) -> None:
            self._runner_state = chunk.state  # the last finite state, whatever ends training
            steps[:] = [self._step(chunk)]
            for callback in callbacks:
                callback.on_chunk_ready(steps[0])

        def diverged(members: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
            problem = non_finite({k: v[0] for k, v in metrics.items()}, params_finite=False)
            kept = "" if checkpoints is None else f"; {checkpoints.describe_kept()}"
            raise NonFiniteError(f"training stopped: {problem}{kept}. Lower the learning "
                                 "rate or check the reward scale.")

        best = None
        try:
            for chunk in train_chunks(
                    self.runner_state, None, self.tracker.members, self.schedule,
                    RunProgram(self.compiled, self.keys[1], cfg.n_eval_episodes), cfg,
                    update=self.update_step, ready=ready, on_non_finite=diverged):
                best = chunk.best
                for callback in callbacks:
                    callback.on_chunk_end(steps[0])
            logger.message(f"stopped: {self.tracker.describe_stop(cfg)}")
        finally:
            closing_error = close_all(callbacks)  # every one closed; an earlier error wins
        if closing_error is not None:
            raise closing_error
        sps = logger.steps_per_second(self.num_timesteps)
        for callback in callbacks:
            callback.on_train_end()
        final = self._final_evaluation(best)
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

    def _final_evaluation(self, best: RunnerState | None) -> dict[str, Any] | None:
        """The best model (`best`, else the stored one) on the final episodes, beside the
        heuristics; written to `final_evaluation.json` (None: `final_eval_episodes` unset)."""
        cfg, n = self.system_config, self.system_config.final_eval_episodes
        if n is None:
            return None
        update, state = (self.tracker.best_update, best) if best is not None else \
            self._stored_best()
        result = {"update": update, **final_evaluation(
            self.compiled.evaluate(n), state, final_eval_key(self.keys[1]), n,
            self._heuristics_on)}
        report_final(result, None if self.writer is None else self.files.path, cfg.verbose)
        return result

    def _callbacks(self, reference: Mapping[str, Mapping[str, float]]
                   ) -> tuple[RunLogger, CheckpointCallback | None, list[Callback]]:
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
        logger = RunLogger(self.writer, schedule.max_timesteps, int(rs.timestep),
                           int(rs.update_step), cfg.progress and not quiet,
                           cfg.verbose and not quiet, cfg.tensorboard, reference)
        return logger, checkpoints, [logger, *stores]

    def _heuristics_on(self, key: jax.Array, n: int) -> dict[str, dict[str, float]]:
        names = tuple(self.system_config.heuristics)
        return evaluate_heuristics(self.env, self.env_params, key, n, names) if names else {}

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

    def checkpoint_meta(self) -> dict[str, Any]:
        """Checkpoint metadata: the config, the callback state, the observation size and, after
        a warm start, its source (`started_from`)."""
        meta = {"config": self.config.to_dict(), "callbacks": self.tracker.to_dict(),
                "obs_size": self.env.obs_size()}
        if self.started_from is not None:
            meta["started_from"] = self.started_from
        return meta
