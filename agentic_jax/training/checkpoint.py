"""Orbax checkpoints of a whole `RunnerState` plus JSON metadata (config, callback state).

Layout of one checkpoint (an orbax `CheckpointManager` step directory `<dir>/<update_step>/`):
`state/` holds the runner state's leaves as a flat `{"leaf_00000": array, ...}` dict (typed
PRNG keys stored as `jax.random.key_data`), `meta/` a JSON document with the leaf paths,
shapes, dtypes, the key implementation, a SHA-256 of the leaf bytes, the full run config and
the callback state. No pickle anywhere.

Atomicity: orbax writes into a temporary directory and renames it when complete, so a crash
mid-write leaves only a `*.orbax-checkpoint-tmp-*` directory that is never listed as a step.
The checksums catch what renaming cannot (a file truncated or overwritten later): a checkpoint
whose array bytes, or whose metadata (the config and callback state, format 2), do not hash to
the recorded values is reported as corrupt, never loaded.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from agentic_jax.config.run import config_differences
from agentic_jax.parallel import host_copy
from agentic_jax.training.leaves import (
    CheckpointMismatchError,
    checksum,
    flatten_state,
    meta_checksum,
    unflatten_state,
)
from agentic_jax.training.orbax_logs import quiet_closed_event_loops

FORMAT_VERSION = 2  # 2 adds `meta_checksum`; format 1 checkpoints still read (arrays checked)


class CheckpointError(RuntimeError):
    """No usable checkpoint (missing, corrupt) where one was required."""


class Checkpointer:
    """An orbax `CheckpointManager` of runner states with integrity-checked restores.

    Args:
        directory: the manager's directory (created if missing).
        max_to_keep: number of latest checkpoints kept.
        async_save: write in a background thread (call `wait()` before reading them back;
            ignored under `jax.distributed`, where every save is synchronous).
            The whole save — copying the arrays to the host, the checksum and orbax's own
            work — runs on one worker thread, in order, while training goes on; an error in
            it is raised by the next `save`, `wait` or `close`.
    """

    def __init__(self, directory: str | Path, max_to_keep: int | None = 3,
                 async_save: bool = True) -> None:
        self.directory = Path(directory).absolute()
        quiet_closed_event_loops()
        options = ocp.CheckpointManagerOptions(
            # orbax writes synchronously on our own worker thread (async_save): its own async
            # mode still did ~50 ms of work per save on the caller's thread
            max_to_keep=max_to_keep, enable_async_checkpointing=False, create=True
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)
        # several processes: orbax synchronises them with collectives, which must run in the
        # same order as the training's own in every process, so saves stay on the caller's
        # thread (measured: a background save deadlocks 2 processes)
        async_save = async_save and jax.process_count() == 1
        self._worker = ThreadPoolExecutor(max_workers=1) if async_save else None
        self._pending: Future | None = None

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        """Save `state` (a pytree of arrays) with `meta` (JSON-able) as checkpoint `step`.

        Of several processes (`jax.distributed`) every one calls this at the same step: the
        env-axis shards are gathered here, on the caller's thread (a collective), and orbax
        writes the whole state once."""
        if jax.process_count() > 1:
            state = host_copy(state)
        if self._worker is None:
            self._save(step, state, meta)
            return
        self._raise_failed_save()
        self._pending = self._worker.submit(self._save, step, state, dict(meta))

    def _raise_failed_save(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        arrays, info = flatten_state(state)
        meta = {"format": FORMAT_VERSION, "step": int(step), **meta, "state_info": info}
        meta["meta_checksum"] = meta_checksum(meta)
        self.manager.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(arrays),
                                    meta=ocp.args.JsonSave(meta)),
            force=True,
        )

    def wait(self) -> None:
        self._raise_failed_save()
        self.manager.wait_until_finished()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._worker is not None:
                self._worker.shutdown(wait=True)
            self.manager.close()

    def steps(self) -> list[int]:
        self.manager.reload()
        return sorted(self.manager.all_steps())

    def read(self, step: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Leaves and metadata of checkpoint `step`; `CheckpointError` if unreadable/corrupt."""
        try:
            restored = self.manager.restore(
                step,
                args=ocp.args.Composite(state=ocp.args.StandardRestore(),
                                        meta=ocp.args.JsonRestore()),
            )
            meta = dict(restored.meta)
            arrays = {k: np.asarray(v) for k, v in restored.state.items()}
        except Exception as err:  # orbax/tensorstore raise many kinds on damaged files
            raise CheckpointError(f"checkpoint {self.directory / str(step)} is unreadable "
                                  f"({type(err).__name__}: {str(err)[:200]})") from err
        where = self.directory / str(step)
        info = meta.get("state_info") or {}
        version = meta.get("format")
        if version not in (1, FORMAT_VERSION) or "checksum" not in info:
            raise CheckpointError(f"checkpoint {where} has no valid metadata "
                                  "(format/checksum missing)")
        if version == FORMAT_VERSION and meta.get("meta_checksum") != meta_checksum(meta):
            raise CheckpointError(f"checkpoint {where} is corrupt (its metadata - config or "
                                  "callback state - was changed after saving)")
        if checksum(arrays) != info["checksum"]:
            raise CheckpointError(f"checkpoint {where} is corrupt (checksum mismatch)")
        return arrays, meta

    def read_latest(
        self, accept: Callable[[dict[str, Any]], None] | None = None
    ) -> tuple[int, dict[str, np.ndarray], dict[str, Any]]:
        """The newest checkpoint that reads back intact, warning about each one skipped.

        `accept(meta)` may reject an intact checkpoint by raising `CheckpointError`; it is
        skipped like a damaged one.

        Raises:
            CheckpointError: when no checkpoint is usable.
        """
        steps = self.steps()
        if not steps:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        errors = []
        for step in reversed(steps):
            try:
                arrays, meta = self.read(step)
                if accept is not None:
                    accept(meta)
            except CheckpointError as err:
                errors.append(str(err))
                warnings.warn(f"{err}; falling back to an older checkpoint", RuntimeWarning,
                              stacklevel=2)
                continue
            return step, arrays, meta
        raise CheckpointError("no usable checkpoint: " + " | ".join(errors))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One checkpoint read back intact: where it is, its leaves and its metadata."""

    directory: Path
    step: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def state(self, template: Any, config: Mapping[str, Any]) -> Any:
        """The runner state, shaped like `template`, of a system whose `config.to_dict()` is
        `config`; `CheckpointMismatchError` naming the settings and arrays that differ."""
        try:
            return unflatten_state(template, self.arrays, self.meta["state_info"])
        except CheckpointMismatchError as err:
            diff = _config_diff(self.meta.get("config", {}), config)
            raise CheckpointMismatchError(f"checkpoint {self.directory / str(self.step)} does "
                                          f"not fit this config ({diff}): {err}") from None


def read_checkpoint(path: str | Path,
                    accept: Callable[[dict[str, Any]], None] | None = None) -> Snapshot:
    """The checkpoint at a user path (see `find_checkpoint_dir`): the step named, else the
    newest one that reads back intact and that `accept` takes (see `Checkpointer.read_latest`),
    warning about each one skipped.

    Raises:
        FileNotFoundError: `path` does not exist.
        CheckpointError: no usable checkpoint there.
    """
    directory, step = find_checkpoint_dir(path)
    manager = Checkpointer(directory, max_to_keep=None, async_save=False)
    try:
        if step is None:
            step, arrays, meta = manager.read_latest(accept)
        else:
            arrays, meta = manager.read(step)
    finally:
        manager.close()
    return Snapshot(directory, step, arrays, meta)


def find_checkpoint_dir(path: str | Path) -> tuple[Path, int | None]:
    """Resolve a user path to `(manager directory, step or None for the newest)`.

    Accepts a run directory (its `best_model/`, else `checkpoints/`), a manager directory
    (numbered step subdirectories) or one step directory.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a file, not a run or checkpoint directory")
    for sub in ("best_model", "checkpoints"):
        if (path / sub).is_dir() and _has_steps(path / sub):
            return path / sub, None
    if _has_steps(path):
        return path, None
    if (path / "meta").is_dir() and (path / "state").is_dir() and path.name.isdigit():
        return path.parent, int(path.name)
    raise CheckpointError(f"{str(path)!r} holds no checkpoint (expected a run directory, a "
                          "checkpoint directory or one of its numbered steps)")


def _has_steps(path: Path) -> bool:
    return any(p.is_dir() and p.name.isdigit() for p in path.iterdir())


def _config_diff(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """The env/ppo settings the checkpoint (first) and the current config differ in."""
    diffs = config_differences(saved, current, sections=("env", "ppo"))
    return "checkpoint vs now: " + "; ".join(diffs) if diffs else "same env/ppo settings"
