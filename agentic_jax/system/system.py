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
never interrupted. The run directory's files are listed in `training/store.py`; training is in
`system/trainer.py`, saving, loading and resuming in `system/persistence.py`. `system.devices`
splits the envs over a device mesh (`agentic_jax.parallel`); the loop and callbacks are the
same on any device count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from agentic_jax.config import EnvConfig, PPOConfig, SystemConfig
from agentic_jax.env.evaluation import evaluate_rules
from agentic_jax.parallel import is_primary
from agentic_jax.ppo import RunnerState
from agentic_jax.ppo.rollout import env_spec
from agentic_jax.ppo.transfer import check_transferable, evaluate_transfer
from agentic_jax.system.compiled import Compiled, compiled_functions
from agentic_jax.system.persistence import ConfigSource, Persistence, as_run_config
from agentic_jax.system.trainer import Trainer
from agentic_jax.training.guard import RunClaim
from agentic_jax.training.schedule import Schedule, run_keys
from agentic_jax.training.store import RunDir
from agentic_jax.training.tracker import EvalTracker


class AgenticRLSystem(Trainer, Persistence):
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

    def evaluate(self, n_episodes: int = 10, key: jax.Array | None = None,
                 batch: int | None = None) -> dict[str, float]:
        """Mean episode reward, completion rate, utilisation, collaboration frequency, match...

        Deterministic actions (policy mean, clipped to the box) on the first `n_episodes`
        episodes of `key` (default: the evaluation key), by the configuration's one
        evaluation program (`Compiled.episodes`) of `batch` episodes, run `ceil(n_episodes /
        batch)` times (`env.batches`). `batch` None: `n_episodes`, one call (the episodes of
        `evaluate_policy`). A run's final evaluation uses `batch=system.n_eval_episodes`
        (the periodic evaluation's program): pass it to meet its episodes.
        """
        for name, value in (("n_episodes", n_episodes), ("batch", batch or 1)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid (allowed: an int >= 1)")
        key = self.keys[1] if key is None else key
        evaluate = self.compiled.evaluate(n_episodes, batch)
        return {k: float(v) for k, v in evaluate(self.runner_state, key).items()}

    def evaluate_heuristics(self, n_episodes: int | None = None, key: jax.Array | None = None,
                            names: Sequence[str] | None = None, batch: int | None = None
                            ) -> dict[str, dict[str, float]]:
        """`{rule: metrics}` of the configured heuristic baselines (`system.heuristics`, or
        `names` of the mode's rules), evaluated as the learned policy is (`evaluate`, the
        same program): on the episodes `evaluate(n_episodes, key, batch)` meets (defaults:
        `system.n_eval_episodes`, the evaluation key). ValueError for an unknown rule."""
        n = n_episodes or self.system_config.n_eval_episodes
        key = self.keys[1] if key is None else key
        names = self.system_config.heuristics if names is None else names
        rs = self.runner_state  # an argument of the program; the rules do not read it
        evaluations = [self.compiled.evaluate(n, batch, name) for name in names]  # checks first
        return {name: {k: float(v) for k, v in evaluate(rs, key).items()}
                for name, evaluate in zip(names, evaluations, strict=True)}

    def evaluate_at(self, env: EnvConfig, n_episodes: int = 64, key: jax.Array | None = None,
                    rules: Sequence[str] = ()) -> dict[str, dict[str, float]]:
        """The deterministic policy zero-shot on another environment, beside `rules` of it.

        `env` is the `EnvConfig` to act in: another team size, queue, float setting, or (with
        a per-slot observation such as "slots") number of task types. The parameters act
        unchanged and the observation statistics are mapped (`agentic_jax.ppo.transfer`).
        The policy and each rule meet the same `n_episodes` episodes of `key` (default: the
        evaluation key). Returns `{"learned": metrics, rule: metrics}` (`evaluate`'s metrics).
        ValueError, before compiling, where the policy cannot act in `env` or a rule is not
        in its mode's table.
        """
        if not isinstance(n_episodes, int) or n_episodes < 1:
            raise ValueError(f"n_episodes={n_episodes!r} is invalid (allowed: an int >= 1)")
        dst_env, dst_params = env.make_env()
        unknown = [name for name in rules if name not in dst_env.mode.rules]
        if unknown:
            raise ValueError(f"rules {unknown} are not in the {env.action_mode!r} mode's table "
                             f"(allowed: {', '.join(dst_env.mode.rules)})")
        check_transferable(self.ppo, env_spec(self.env, self.env_params),
                           env_spec(dst_env, dst_params))
        key = self.keys[1] if key is None else key
        learned = evaluate_transfer(
            self.ppo, self.runner_state, self.env, self.env_params, dst_env, dst_params, key,
            n_episodes)
        table = evaluate_rules(dst_env, dst_params, key, n_episodes, tuple(rules))
        fetched = jax.device_get({"learned": learned, **table})  # a pytree: keys sorted
        return {name: {k: float(v) for k, v in fetched[name].items() if k != "episode_rewards"}
                for name in ("learned", *rules)}

    def _reference(self) -> dict[str, dict[str, float]]:
        """The heuristic baselines: from `heuristics.json` when stored, else evaluated."""
        if self.heuristics is None:
            stored = None if self.files is None else self.files.read_heuristics()
            self.heuristics = self.evaluate_heuristics() if stored is None else stored
            if stored is None and self.writer is not None:
                self.writer.write_heuristics(self.heuristics)
        return self.heuristics

    def checkpoint_meta(self) -> dict[str, Any]:
        """Checkpoint metadata: the config, the callback state, the observation size and, after
        a warm start, its source (`started_from`)."""
        meta = {"config": self.config.to_dict(), "callbacks": self.tracker.to_dict(),
                "obs_size": self.env.obs_size()}
        if self.started_from is not None:
            meta["started_from"] = self.started_from
        return meta
