"""`AgenticRLSystem`: the seed's orchestrator (seed sections 1, 7, 8) around the jitted PPO.

Training runs in compiled chunks: one jitted call scans `K` PPO updates (`make_update`), and
between chunks the host evaluates, keeps the best model, checkpoints, logs and applies the
stopping rules. `K` is the greatest common divisor of the evaluation and checkpoint intervals
(in updates), so both happen exactly at chunk boundaries and the chunk compiles once (a
shorter last chunk, when the budget is not a multiple of `K`, compiles once more).

A run directory holds `config.yaml`, `checkpoints/<update>/`, `best_model/<update>/`,
`metrics.jsonl`, `evaluations.csv`, `heuristics.json`, `tensorboard/` and
`learning_curve.png`. Checkpoints hold the whole `RunnerState` (params, optimiser state, env
states, RNG key, counters, observation normaliser), the config and the callback state, so
`AgenticRLSystem.resume(run_dir).train()` ends bit-identical (on CPU) to the run that was
never interrupted.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import yaml

from agentic_jax.config_io import RunConfig
from agentic_jax.env.policies import evaluate_heuristics, evaluate_policy
from agentic_jax.ppo.train import METRIC_NAMES, RunnerState, make_act, make_init, make_update
from agentic_jax.system.callbacks import STOP_MAX_TIMESTEPS, EvalTracker
from agentic_jax.system.checkpoint import (
    Checkpointer,
    CheckpointError,
    CheckpointMismatchError,
    find_checkpoint_dir,
    unflatten_state,
)
from agentic_jax.system.config import (
    SystemConfig,
    full_config_dict,
    load_run_config,
)
from agentic_jax.system.logging import RunLogger, truncate_records
from agentic_jax.system.plots import plot_learning_curve

CHECKPOINT_DIR = "checkpoints"
BEST_DIR = "best_model"
CONFIG_FILE = "config.yaml"
HEURISTICS_FILE = "heuristics.json"
EVAL_SEED_OFFSET = 1_000_003

# Python side-effect counters: how often each compiled function was traced (tests read them).
TRACE_COUNTS: dict[str, int] = {}


def _count_trace(name: str) -> None:
    TRACE_COUNTS[name] = TRACE_COUNTS.get(name, 0) + 1


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter."""


# --------------------------------------------------------------------------------------------
# Compiled functions, cached per (run config, chunk length) so systems of one config share them
# --------------------------------------------------------------------------------------------
class _Compiled:
    def __init__(self, config_json: str) -> None:
        config = json.loads(config_json)
        run_config, _ = load_run_config({"env": config["env"], "ppo": config["ppo"]})
        self.key = config_json
        self.env, self.env_params = run_config.make_env()
        self.ppo = run_config.ppo
        self.init = jax.jit(make_init(self.ppo, self.env, self.env_params))
        self._update = make_update(self.ppo, self.env, self.env_params)
        act = make_act(self.ppo, self.env, self.env_params)
        self.act = jax.jit(act, static_argnames=("deterministic",))
        self._act = act
        self._chunks: dict[int, Any] = {}
        self._evals: dict[int, Any] = {}

    def chunk(self, length: int):
        """`chunk(rs) -> (rs, metrics [length], params_finite)`, jitted, built once per length."""
        if length not in self._chunks:
            update, name = self._update, f"{self.key}:chunk:{length}"

            def chunk(rs: RunnerState):
                _count_trace(name)

                def body(rs, _):
                    rs, metrics = update(rs)
                    return rs, {**metrics, "update": rs.update_step}

                rs, metrics = jax.lax.scan(body, rs, None, length=length)
                leaves = jax.tree.leaves(rs.train_state.params)
                finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
                return rs, metrics, finite

            self._chunks[length] = jax.jit(chunk, donate_argnums=())
        return self._chunks[length]

    def trace_count(self, length: int) -> int:
        return TRACE_COUNTS.get(f"{self.key}:chunk:{length}", 0)

    def evaluate(self, n_episodes: int):
        """`evaluate(rs, key) -> metrics`: deterministic learned policy via `evaluate_policy`."""
        if n_episodes not in self._evals:
            env, env_params, act = self.env, self.env_params, self._act

            def run(rs: RunnerState, key: jax.Array) -> dict[str, jax.Array]:
                def policy(k, state, params):
                    return act(rs, env.get_obs(state, params), deterministic=True)

                return evaluate_policy(policy, env, env_params, key, n_episodes)

            self._evals[n_episodes] = jax.jit(run)
        return self._evals[n_episodes]


@functools.lru_cache(maxsize=16)
def _compiled(config_json: str) -> _Compiled:
    return _Compiled(config_json)


# --------------------------------------------------------------------------------------------
# The system
# --------------------------------------------------------------------------------------------
class AgenticRLSystem:
    """Builds the environment and PPO from a config and trains with callbacks.

    Args:
        config: a `RunConfig` (`agentic_jax.config_io.load_config`), a mapping with `env`,
            `ppo` and optionally `system` sections, a YAML path, or None for the defaults.
        system_config: `SystemConfig` or mapping of its fields; overrides the `system`
            section of `config`.
        run_dir: where checkpoints and logs go (None: train without writing files).

    Example:
        >>> system = AgenticRLSystem("configs/quick.yaml", run_dir="runs/quick")
        >>> result = system.train()
        >>> system.evaluate(n_episodes=64)["mean_reward"]
    """

    def __init__(
        self,
        config: RunConfig | Mapping[str, Any] | str | Path | None = None,
        system_config: SystemConfig | Mapping[str, Any] | None = None,
        run_dir: str | Path | None = None,
    ) -> None:
        if isinstance(config, RunConfig):
            run_config, sys_cfg = config, SystemConfig()
        else:
            run_config, sys_cfg = load_run_config(config)
        if isinstance(system_config, SystemConfig):
            sys_cfg = system_config.validate()
        elif system_config is not None:
            sys_cfg = SystemConfig.from_mapping({**sys_cfg.to_dict(), **system_config})
        self.run_config = run_config
        self.system_config = sys_cfg
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.config_dict = full_config_dict(run_config, sys_cfg)
        key_dict = {k: self.config_dict[k] for k in ("env", "ppo")}
        self._fns = _compiled(json.dumps(key_dict, sort_keys=True))
        self.env, self.env_params = self._fns.env, self._fns.env_params
        self.ppo = run_config.ppo
        self.tracker = EvalTracker()
        self.heuristics: dict[str, dict[str, float]] | None = None
        self._runner_state: RunnerState | None = None
        self._predict_calls = 0
        buffer = self.ppo.buffer_size
        self.eval_every = max(1, math.ceil(sys_cfg.eval_freq / buffer))
        self.checkpoint_every = max(1, math.ceil(sys_cfg.checkpoint_freq / buffer))
        self.chunk_updates = math.gcd(self.eval_every, self.checkpoint_every)
        max_steps = sys_cfg.max_timesteps
        self.max_updates = self.ppo.num_updates
        if max_steps is not None:
            self.max_updates = min(self.max_updates, max(1, math.ceil(max_steps / buffer)))

    # ---- state ---------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[jax.Array, jax.Array]:
        """`(init key, evaluation key)` derived from `system.seed`."""
        key = jax.random.key(self.system_config.seed)
        return key, jax.random.fold_in(key, EVAL_SEED_OFFSET)

    @property
    def runner_state(self) -> RunnerState:
        """The full training state (initialised on first use)."""
        if self._runner_state is None:
            self._runner_state = self._fns.init(self.keys[0])
        return self._runner_state

    @runner_state.setter
    def runner_state(self, value: RunnerState) -> None:
        self._runner_state = value

    @property
    def params(self) -> Any:
        """The actor-critic network parameters."""
        return self.runner_state.train_state.params

    @property
    def update_step(self) -> int:
        return int(self.runner_state.update_step)

    @property
    def num_timesteps(self) -> int:
        return int(self.runner_state.timestep)

    def trace_count(self, length: int | None = None) -> int:
        """How many times the training chunk of `length` (default `chunk_updates`) was traced."""
        return self._fns.trace_count(length or self.chunk_updates)

    # ---- acting and evaluation -----------------------------------------------------------
    def predict(self, obs: Any, deterministic: bool = True, key: jax.Array | None = None
                ) -> np.ndarray:
        """Action for raw observation(s) `(obs_size,)` or `(B, obs_size)`, clipped to the box.

        Stochastic actions (`deterministic=False`) draw from `key`, or from a key derived from
        the seed and a call counter.
        """
        obs = jnp.asarray(obs, jnp.float32)
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.env.obs_size():
            raise ValueError(f"predict: obs must have shape ({self.env.obs_size()},) or "
                             f"(B, {self.env.obs_size()}), got {tuple(obs.shape)}")
        if not deterministic and key is None:
            self._predict_calls += 1
            key = jax.random.fold_in(jax.random.key(self.system_config.seed + 1),
                                     self._predict_calls)
        action = self._fns.act(self.runner_state, obs, key, deterministic=deterministic)
        return np.asarray(action)

    def evaluate(self, n_episodes: int = 10, key: jax.Array | None = None) -> dict[str, float]:
        """Mean episode reward, completion rate, utilisation, collaboration frequency, match...

        Deterministic actions (policy mean, clipped to the box) on `n_episodes` fresh episodes
        run in parallel through `evaluate_policy`.
        """
        if not isinstance(n_episodes, int) or n_episodes < 1:
            raise ValueError(f"n_episodes={n_episodes!r} is invalid (allowed: an int >= 1)")
        key = self.keys[1] if key is None else key
        metrics = self._fns.evaluate(n_episodes)(self.runner_state, key)
        return {k: float(v) for k, v in jax.device_get(metrics).items()}

    def evaluate_heuristics(self, n_episodes: int | None = None) -> dict[str, dict[str, float]]:
        """The configured heuristic baselines, evaluated like the learned policy."""
        n = n_episodes or self.system_config.n_eval_episodes
        names = self.system_config.heuristics
        if not names:
            return {}
        return evaluate_heuristics(self.env, self.env_params, self.keys[1], n, names)

    def _reference(self) -> dict[str, dict[str, float]]:
        if self.heuristics is None:
            path = None if self.run_dir is None else self.run_dir / HEURISTICS_FILE
            if path is not None and path.exists():
                self.heuristics = json.loads(path.read_text())
            else:
                self.heuristics = self.evaluate_heuristics()
                if path is not None:
                    path.write_text(json.dumps(self.heuristics, indent=1))
        return self.heuristics

    # ---- training ------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Train until a stopping rule fires; return a summary.

        Returns:
            dict with `stop_reason` ("max_timesteps", "plateau", "target_completion_rate",
            "decline"), `timesteps`, `updates`, `best_mean_reward`, `last_eval`,
            `steps_per_second`.

        Raises:
            NonFiniteError (a RuntimeError): a loss or parameter became NaN/inf; the last good
                checkpoint is left as it was.
        """
        cfg = self.system_config
        rs = self.runner_state
        start_update, start_timestep = int(rs.update_step), int(rs.timestep)
        ckpt = best = None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / CONFIG_FILE).write_text(yaml.safe_dump(self.config_dict,
                                                                   sort_keys=False))
            ckpt = Checkpointer(self.run_dir / CHECKPOINT_DIR, cfg.max_to_keep,
                                cfg.async_checkpointing)
            best = Checkpointer(self.run_dir / BEST_DIR, 1, cfg.async_checkpointing)
        reference = self._reference()
        logger = RunLogger(self.run_dir, self.max_updates * self.ppo.buffer_size,
                           start_timestep, start_update, cfg.progress, cfg.verbose,
                           cfg.tensorboard)
        try:
            update = start_update
            if self.tracker.stop_reason is None and update >= self.max_updates:
                self.tracker.stop_reason = STOP_MAX_TIMESTEPS
            # The next chunk is dispatched before the host works on the current one (JAX runs
            # it asynchronously); it is dropped unused when a stopping rule or error fires.
            pending = None if self.tracker.stop_reason else self._dispatch(rs, update)
            best_state = None
            while pending is not None:
                new_rs, metrics, finite = pending
                metrics = jax.device_get(metrics)
                self._check_finite(metrics, bool(finite), update, ckpt)
                rs = self._runner_state = new_rs
                update = int(metrics["update"][-1])
                timestep = int(metrics["timestep"][-1])
                final = update >= self.max_updates
                evaluating = update % self.eval_every == 0 or final
                if evaluating:
                    eval_out = self._evaluate_async(cfg.n_eval_episodes,
                                                    jax.random.fold_in(self.keys[1], update))
                pending = None if final else self._dispatch(rs, update)
                logger.log_train(metrics)
                if evaluating:
                    eval_metrics = {k: float(v) for k, v in jax.device_get(eval_out).items()}
                    is_best, _ = self.tracker.record(cfg, update, timestep, eval_metrics)
                    logger.log_eval(update, timestep, eval_metrics, is_best, reference)
                    if is_best:
                        best_state = (update, rs)
                if final and self.tracker.stop_reason is None:
                    self.tracker.stop_reason = STOP_MAX_TIMESTEPS
                if ckpt is not None and (update % self.checkpoint_every == 0
                                         or self.tracker.stop_reason is not None):
                    ckpt.save(update, rs, self._meta())
                    if best is not None and best_state is not None:
                        # the best model is written with the next checkpoint (a killed run
                        # recomputes it identically), saving one orbax write per improvement
                        best.save(best_state[0], best_state[1], self._meta())
                        best_state = None
                if self.tracker.stop_reason is not None:
                    pending = None
            logger.message(f"stopped: {self.tracker.describe_stop(cfg)}")
        finally:
            logger.close()
            for manager in (ckpt, best):
                if manager is not None:
                    manager.close()
        sps = logger.steps_per_second(self.num_timesteps)
        if self.run_dir is not None and cfg.plot:
            plot_learning_curve(self.run_dir, reference)
        return {
            "stop_reason": self.tracker.stop_reason,
            "stop_message": self.tracker.describe_stop(cfg),
            "timesteps": self.num_timesteps,
            "updates": self.update_step,
            "best_mean_reward": self.tracker.best_reward,
            "last_eval": self.tracker.history[-1] if self.tracker.history else None,
            "steps_per_second": sps,
        }

    def _dispatch(self, rs: RunnerState, update: int):
        length = min(self.chunk_updates, self.max_updates - update)
        return self._fns.chunk(length)(rs)

    def _evaluate_async(self, n_episodes: int, key: jax.Array) -> dict[str, jax.Array]:
        """Dispatch an evaluation; the result stays on the device until read."""
        return self._fns.evaluate(n_episodes)(self.runner_state, key)

    def _check_finite(self, metrics: dict[str, np.ndarray], params_finite: bool, start: int,
                      ckpt: Checkpointer | None) -> None:
        bad = None
        for name in METRIC_NAMES:
            values = np.asarray(metrics[name])
            if not np.all(np.isfinite(values)):
                i = int(np.argmax(~np.isfinite(values)))
                bad = f"non-finite {name} ({values[i]}) at update {start + i + 1}"
                break
        if bad is None and not params_finite:
            bad = f"non-finite network parameters after update {int(metrics['update'][-1])}"
        if bad is None:
            return
        where = ""
        if ckpt is not None:
            ckpt.wait()
            steps = ckpt.steps()
            where = (f"; the last good checkpoint (update {steps[-1]}) in {ckpt.directory} is "
                     "kept" if steps else "; no checkpoint was written yet")
        raise NonFiniteError(f"training stopped: {bad}{where}. Lower the learning rate or "
                             "check the reward scale.")

    def _meta(self) -> dict[str, Any]:
        return {"config": self.config_dict, "callbacks": self.tracker.to_dict(),
                "obs_size": self.env.obs_size()}

    # ---- save / load / resume -------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the current state (params, optimiser, envs, RNG, counters), config and
        callback state to the orbax checkpoint directory `path`."""
        manager = Checkpointer(path, max_to_keep=1, async_save=False)
        manager.save(self.update_step, self.runner_state, self._meta())
        manager.close()
        return Path(path)

    def restore(self, path: str | Path) -> AgenticRLSystem:
        """Load a checkpoint's state into this system (its config must have the same shapes).

        Raises:
            CheckpointMismatchError: naming the config fields and arrays that differ.
            CheckpointError: no usable checkpoint at `path`.
        """
        directory, step = find_checkpoint_dir(path)
        manager = Checkpointer(directory, max_to_keep=None, async_save=False)
        try:
            if step is None:
                step, arrays, meta = manager.read_latest()
            else:
                arrays, meta = manager.read(step)
        finally:
            manager.close()
        template = jax.eval_shape(self._fns.init, self.keys[0])
        try:
            state = unflatten_state(template, arrays, meta["state_info"])
        except CheckpointMismatchError as err:
            raise CheckpointMismatchError(
                f"checkpoint {directory / str(step)} does not fit this config "
                f"({_config_diff(meta.get('config', {}), self.config_dict)}): {err}"
            ) from None
        self._runner_state = state
        self.tracker = EvalTracker.from_dict(meta["callbacks"])
        return self

    @classmethod
    def load(cls, path: str | Path, run_dir: str | Path | None = None) -> AgenticRLSystem:
        """A system rebuilt from the config stored in a checkpoint, with its state.

        `path` is a run directory (its best model, else its newest checkpoint), a checkpoint
        directory (its newest intact step) or one step directory.
        """
        directory, step = find_checkpoint_dir(path)
        manager = Checkpointer(directory, max_to_keep=None, async_save=False)
        try:
            _, meta = manager.read(step) if step is not None else manager.read_latest()[1:]
        finally:
            manager.close()
        system = cls(meta["config"], run_dir=run_dir)
        return system.restore(path)

    @classmethod
    def resume(cls, run_dir: str | Path, **system_overrides: Any) -> AgenticRLSystem:
        """Continue a run from its newest intact checkpoint (call `train()` next).

        Metrics logged after that checkpoint (by a killed process) are dropped, so the resumed
        run's files match an uninterrupted run. `system_overrides` may change non-shape
        settings (e.g. `progress=False`).
        """
        run_dir = Path(run_dir)
        directory = run_dir / CHECKPOINT_DIR
        if not directory.is_dir():
            raise CheckpointError(f"{str(run_dir)!r} has no {CHECKPOINT_DIR}/ to resume from")
        manager = Checkpointer(directory, max_to_keep=None, async_save=False)
        try:
            step, arrays, meta = manager.read_latest()
        finally:
            manager.close()
        config = dict(meta["config"])
        if system_overrides:
            config["system"] = {**config["system"], **system_overrides}
        system = cls(config, run_dir=run_dir)
        template = jax.eval_shape(system._fns.init, system.keys[0])
        system._runner_state = unflatten_state(template, arrays, meta["state_info"])
        system.tracker = EvalTracker.from_dict(meta["callbacks"])
        truncate_records(run_dir, step)
        _set_aside_newer(directory, step, run_dir / "corrupt_checkpoints")
        _set_aside_newer(run_dir / BEST_DIR, step, None)  # rewritten identically on the way
        return system


def _set_aside_newer(directory: Path, step: int, keep_in: Path | None) -> None:
    """Move (or delete) step directories newer than `step`: unusable or about to be redone."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path.is_dir() and path.name.isdigit() and int(path.name) > step:
            if keep_in is None:
                shutil.rmtree(path)
            else:
                keep_in.mkdir(parents=True, exist_ok=True)
                path.rename(keep_in / f"{path.name}-{int(time.time())}")


def _config_diff(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    diffs = []
    for section in ("env", "ppo"):
        a, b = saved.get(section, {}), current.get(section, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                diffs.append(f"{section}.{key}: checkpoint {a.get(key)!r} vs {b.get(key)!r}")
    return "; ".join(diffs) if diffs else "same env/ppo settings"
