"""Saving, loading and resuming an `AgenticRLSystem` (a mixin: the system class inherits it).

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
from jax.experimental import multihost_utils

from agentic_jax.config import RunConfig, SystemConfig, load
from agentic_jax.parallel import is_primary
from agentic_jax.system.checkpoint import Checkpointer, Snapshot, read_checkpoint
from agentic_jax.system.guard import RunClaim, best_model_saved
from agentic_jax.system.run_dir import RunDir
from agentic_jax.system.tracker import EvalTracker

ConfigSource = RunConfig | Mapping[str, Any] | str | Path | None


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
    """`save`, `restore`, `load` and `resume` of `AgenticRLSystem` (needs its `compiled`,
    `config`, `keys`, `tracker`, `update_step`, `runner_state` and `checkpoint_meta`)."""

    def save(self, path: str | Path) -> Path:
        """Write the current state (params, optimiser, envs, RNG, counters), config and
        callback state to the orbax checkpoint directory `path`."""
        manager = Checkpointer(path, max_to_keep=1, async_save=False)
        manager.save(self.update_step, self.runner_state, self.checkpoint_meta())
        manager.close()
        return Path(path)

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
        return cls(config, run_dir)._restore(snapshot)

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
