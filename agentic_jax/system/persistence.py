"""Saving, loading, resuming and warm-starting an `AgenticRLSystem` (a mixin: the system class
inherits it).

Checkpoints hold the whole state as host arrays (the global values, whatever device count
wrote them), so a restored state is placed onto the mesh of the system that reads it
(`Compiled.place`): a run saved on N devices resumes on M.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import jax
import numpy as np
from jax.experimental import multihost_utils

from agentic_jax.config import RunConfig, SystemConfig, load
from agentic_jax.config.system import LOGGING_SWITCHES
from agentic_jax.parallel import is_primary
from agentic_jax.ppo.transfer import warm_start
from agentic_jax.training.checkpoint import (
    Checkpointer,
    CheckpointError,
    Snapshot,
    read_checkpoint,
)
from agentic_jax.training.errors import RunExistsError, check_writable
from agentic_jax.training.guard import RunClaim, best_model_saved, move_aside
from agentic_jax.training.store import RunDir
from agentic_jax.training.tracker import EvalTracker

ConfigSource = RunConfig | Mapping[str, Any] | str | Path | None

# what a resumed run may change against the run's config.yaml: its budget, its device count
# and how it logs (the resume overrides of the CLI); anything else means another run's state
RESUMABLE_CHANGES = ("ppo.total_timesteps", "system.max_timesteps", "system.max_to_keep",
                     "system.devices", *(f"system.{name}" for name in LOGGING_SWITCHES))


def as_run_config(config: ConfigSource,
                  system_config: SystemConfig | Mapping[str, Any] | None = None) -> RunConfig:
    """The `RunConfig` of `config` (a `RunConfig`, a mapping of sections, a YAML path or None),
    its `system` section replaced by a `SystemConfig` or updated by a mapping of settings."""
    if not isinstance(config, RunConfig):
        config = load(config)
    if isinstance(system_config, SystemConfig):
        config = config.replace(system=system_config.validate())
    elif system_config is not None:
        settings = {**config.to_dict()["system"], **system_config}
        config = config.replace(system=load({"system": settings}).system)
    return config


class Persistence:
    """`save`, `restore`, `load`, `resume` and `start_from` of `AgenticRLSystem` (needs its
    `compiled`, `config`, `keys`, `tracker`, `update_step`, `runner_state`, `env`, `ppo` and
    `checkpoint_meta`)."""

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the current state (params, optimiser, envs, RNG, counters), config and
        callback state to the orbax checkpoint directory `path`, as step `update_step`.

        Nothing already saved is deleted: `path` must be new, empty, or a directory this
        system writes (its own run's `checkpoints/` or `best_model/`, or a path it saved to
        before), where the new step joins the others. Any other directory (another run's
        checkpoints, a run directory) is refused unless `overwrite`, which moves it aside to
        `PATH.old-<time>` (never deleted) and saves into a fresh one.

        Raises:
            RunExistsError: `path` holds files this system did not write, and not `overwrite`.
            RunDirError: `path` is a file or cannot be written.
        """
        path = Path(path)
        check_writable(path)
        if path.is_dir() and any(path.iterdir()) and path.resolve() not in self._own_dirs():
            if not overwrite:
                raise RunExistsError(
                    f"save: {str(path)!r} already holds files this system did not write "
                    f"({_listing(path)}); save to a new path, or pass overwrite=True to move "
                    f"it aside to {path.name}.old-<time>")
            if is_primary():
                move_aside(path)
            if jax.process_count() > 1:
                multihost_utils.sync_global_devices("agentic_jax save: moved aside")
        manager = Checkpointer(path, max_to_keep=None, async_save=False)
        try:
            if self.update_step in manager.steps():  # this system's own step, saved again
                manager.manager.delete(self.update_step)
            manager.save(self.update_step, self.runner_state, self.checkpoint_meta())
        finally:
            manager.close()
        self._saved_to.add(path.resolve())
        return path

    def _own_dirs(self) -> set[Path]:
        """The directories `save` may add to: those it wrote, and the run's checkpoint
        directories once this system trains into the run or resumed it."""
        own = set(self._saved_to)
        if self.files is not None and self._claim is not None and self._claim.owns:
            own |= {self.files.checkpoints.resolve(), self.files.best_model.resolve()}
        return own

    def restore(self, path: str | Path) -> Self:
        """Load a checkpoint's state into this system (its config must have the same shapes).

        Raises:
            CheckpointMismatchError: naming the config fields and arrays that differ.
            CheckpointError: no usable checkpoint at `path`.
        """
        return self._restore(read_checkpoint(path))

    def _restore(self, snapshot: Snapshot) -> Self:
        template = jax.eval_shape(self.compiled.init, self.keys[0])
        # host arrays of the global state, re-sharded onto this system's mesh
        self._runner_state = self.compiled.place(snapshot.state(template, self.config.to_dict()))
        self.tracker = EvalTracker.from_dict(snapshot.meta["callbacks"])
        self.started_from = snapshot.meta.get("started_from")
        return self

    @classmethod
    def from_state(cls, config: ConfigSource, state: Any,
                   tracker: EvalTracker | None = None) -> Self:
        """A system of `config` holding `state`: a `RunnerState` of this config's shapes, or
        any tree of the same leaves in the same order (e.g. one member of a sweep's state,
        `agentic_jax.sweep.load_member`), and `tracker`'s evaluation record.

        Raises:
            ValueError: `state`'s leaves are not those of this config's state (count or
                shapes).
        """
        system = cls(config)
        template = jax.eval_shape(system.compiled.init, system.keys[0])
        leaves, wanted = jax.tree.leaves(state), jax.tree.leaves(template)
        shapes = [tuple(np.shape(x)) for x in leaves], [tuple(x.shape) for x in wanted]
        if shapes[0] != shapes[1]:
            pairs = enumerate(zip(*shapes, strict=False))  # the shorter list's length
            first = next((i for i, (a, b) in pairs if a != b), min(map(len, shapes)))
            raise ValueError(f"from_state: the state does not fit this config's ({len(leaves)} "
                             f"arrays vs {len(wanted)}; array {first} differs): pass a state "
                             "trained with this config's env and ppo sections")
        system._runner_state = system.compiled.place(
            jax.tree.unflatten(jax.tree.structure(template), leaves))
        if tracker is not None:
            system.tracker = tracker
        return system

    def start_from(self, source: Any) -> Self:
        """Warm start (a curriculum: train small, continue large): this untrained system starts
        from `source`'s (another `AgenticRLSystem`, e.g. `AgenticRLSystem.load(run)` trained
        with fewer agents) parameters, Adam state and mapped observation statistics
        (`agentic_jax.ppo.transfer.warm_start`); its envs, RNG and counters are its own, so
        `train()` runs this config's full budget with its schedules restarted.

        The source is recorded in `started_from` (its path when it was loaded from one, its
        updates, env steps and team size) and saved in every checkpoint of this run.

        Raises:
            ValueError (before the warm start is traced): this system has trained already; the
                actor is not per-agent ("ippo"/"mappo"), the observation layouts differ, or
                the two configs' networks differ (`ppo.actor`, `ppo.policy`, `ppo.net_arch`).
        """
        if self._runner_state is not None and self.update_step > 0:
            raise ValueError(f"start_from: this system has trained {self.update_step} "
                             "updates already (warm-start a new one)")
        start = warm_start(self.ppo, source.env, source.env_params, self.env, self.env_params)
        template = jax.eval_shape(self.compiled.init, self.keys[0]).train_state.params
        shapes = [jax.tree.map(lambda x: (x.shape, x.dtype), p)
                  for p in (template, source.params)]
        if shapes[0] != shapes[1]:
            fields = ("actor", "policy", "net_arch", "shared_trunk", "layer_norm")
            differ = [f"ppo.{f}: {getattr(source.ppo, f)!r} -> {getattr(self.ppo, f)!r}"
                      for f in fields if getattr(source.ppo, f) != getattr(self.ppo, f)]
            raise ValueError("start_from: the source's network differs from this config's ("
                             + (", ".join(differ) or "its parameter shapes") + "): warm-start "
                             "from a run trained with this config's ppo network settings")
        self.runner_state = jax.jit(start)(self.keys[0], source.runner_state)
        path = source.loaded_from or (None if source.run_dir is None else str(source.run_dir))
        self.started_from = {"path": path, "updates": source.update_step,
                             "timesteps": source.num_timesteps,
                             "n_agents": source.config.env.n_agents}
        return self

    @classmethod
    def load(cls, path: str | Path, run_dir: str | Path | None = None,
             devices: int | None = None) -> Self:
        """A system rebuilt from the config stored in a checkpoint, with its state.

        `path` is a run directory (its best model, else its newest checkpoint), a checkpoint
        directory (its newest intact step) or one step directory. `devices` (not None)
        replaces the stored `system.devices`: the state is re-sharded onto that many. A run
        trained on more devices than this job has loads onto one, with a warning (to act or
        evaluate; resuming its training needs `devices=` said explicitly).
        """
        snapshot = read_checkpoint(path)
        config = RunConfig.from_dict(snapshot.meta["config"])
        stored = config.system.devices
        if devices is None and stored is not None and stored > jax.device_count():
            warnings.warn(f"{path}: trained on system.devices={stored}, this process has "
                          f"{jax.device_count()}; loading onto 1 device", RuntimeWarning,
                          stacklevel=2)
            devices = 1
        if devices is not None:
            config = config.replace(system=config.system.replace(devices=devices).validate())
        system = cls(config, run_dir)._restore(snapshot)
        system.loaded_from = str(path)
        return system

    @classmethod
    def resume(cls, run_dir: str | Path, **system_overrides: Any) -> Self:
        """Continue a run from its newest intact checkpoint (call `train()` next).

        Metrics logged after that checkpoint (by a killed process) are dropped, so the resumed
        run's files match an uninterrupted run. `system_overrides` may change `system`
        settings (e.g. `progress=False`, or `devices=1` to resume a run of N devices on one:
        the state is re-sharded). The run directory stays locked from here until
        `train()` returns.

        Raises:
            CheckpointError: no usable checkpoint in `run_dir/checkpoints`.
            RunLockedError: another process is writing `run_dir`.
        """
        files = RunDir(run_dir)
        # locked before the files are rewound; of several processes, process 0 alone does both
        claim = RunClaim.for_resume(files) if is_primary() else None
        try:
            snapshot = read_checkpoint(files.checkpoints, best_model_saved(files))
            config = as_run_config(RunConfig.from_dict(snapshot.meta["config"]),
                                   system_overrides or None)
            _refuse_foreign_checkpoint(files, snapshot, config)
            system = cls(config, run_dir)._restore(snapshot)
            system._claim = claim
            if claim is not None:
                files.rewind(snapshot.step)
        except BaseException:
            if claim is not None:
                claim.release()
            raise
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices("agentic_jax resume: files rewound")
        return system


def _listing(path: Path, shown: int = 3) -> str:
    names = sorted(p.name for p in path.iterdir())
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


def _refuse_foreign_checkpoint(files: RunDir, snapshot: Snapshot, config: RunConfig) -> None:
    """`CheckpointError` when the checkpoint to resume from was written with another config
    than the run's `config.yaml` (beyond `RESUMABLE_CHANGES`): another run's state, e.g. one
    saved into this run's `checkpoints/`, is never continued under this run's files."""
    if not files.config.is_file():
        return
    differences = config.differences(load(files.config), ignore=RESUMABLE_CHANGES)
    if differences:
        step = files.checkpoints / str(snapshot.step)
        key = differences[0].split(":", 1)[0]
        way_out = (f"pass --set {key}=<its value in config.yaml> (system_overrides)"
                   if key.startswith("system.") else
                   f"move {step} out of {files.checkpoints} to resume from the run's own "
                   "checkpoints")
        raise CheckpointError(
            f"checkpoint {step} was not written by the run in {str(files.path)!r}: "
            f"{differences[0].replace(' vs ', ' in the checkpoint vs ')} in config.yaml"
            f"{f' (and {len(differences) - 1} more)' if len(differences) > 1 else ''}; "
            f"{way_out}")
