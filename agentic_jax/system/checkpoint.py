"""Orbax checkpoints of a whole `RunnerState` plus JSON metadata (config, callback state).

Layout of one checkpoint (an orbax `CheckpointManager` step directory `<dir>/<update_step>/`):
`state/` holds the runner state's leaves as a flat `{"leaf_00000": array, ...}` dict (typed
PRNG keys stored as `jax.random.key_data`), `meta/` a JSON document with the leaf paths,
shapes, dtypes, the key implementation, a SHA-256 of the leaf bytes, the full run config and
the callback state. No pickle anywhere.

Atomicity: orbax writes into a temporary directory and renames it when complete, so a crash
mid-write leaves only a `*.orbax-checkpoint-tmp-*` directory that is never listed as a step.
The checksum catches what renaming cannot (a file truncated or overwritten later): a checkpoint
whose bytes do not hash to the recorded value is reported as corrupt, never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

FORMAT_VERSION = 1
logging.getLogger("absl").setLevel(logging.ERROR)


class CheckpointError(RuntimeError):
    """No usable checkpoint (missing, corrupt) where one was required."""


class CheckpointMismatchError(ValueError):
    """A checkpoint that does not fit the config it is loaded into."""


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def flatten_state(state: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Leaves as host numpy arrays plus the description stored in the metadata."""
    path_leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    arrays, paths, key_leaves, key_impl = {}, [], [], None
    for i, (path, leaf) in enumerate(path_leaves):
        if _is_key(leaf):
            key_leaves.append(i)
            key_impl = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        arrays[f"leaf_{i:05d}"] = np.asarray(jax.device_get(leaf))
        paths.append(jax.tree_util.keystr(path))
    info = {
        "paths": paths,
        "shapes": [list(a.shape) for a in arrays.values()],
        "dtypes": [str(a.dtype) for a in arrays.values()],
        "key_leaves": key_leaves,
        "key_impl": key_impl,
        "checksum": checksum(arrays),
    }
    return arrays, info


def checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def unflatten_state(template: Any, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> Any:
    """Rebuild a state shaped like `template` (arrays or `ShapeDtypeStruct`s) from leaves.

    Raises:
        CheckpointMismatchError: naming the first leaves whose path or shape differ.
    """
    path_leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    want = []
    for path, leaf in path_leaves:
        shape = list(leaf.shape)
        dtype = str(leaf.dtype)
        if _is_key(leaf):
            data = jax.eval_shape(jax.random.key_data, leaf)
            shape, dtype = list(data.shape), str(data.dtype)
        want.append((jax.tree_util.keystr(path), shape, dtype))
    have = list(zip(info["paths"], info["shapes"], info["dtypes"], strict=True))
    problems = []
    if len(want) != len(have):
        problems.append(f"{len(have)} arrays in the checkpoint, {len(want)} expected")
    have_by_path = {p: (s, d) for p, s, d in have}
    for path, shape, dtype in want:
        if path not in have_by_path:
            problems.append(f"{path} missing from the checkpoint")
        elif have_by_path[path] != (shape, dtype):
            s, d = have_by_path[path]
            problems.append(f"{path}: checkpoint {d}{tuple(s)} vs expected {dtype}{tuple(shape)}")
        if len(problems) >= 4:
            break
    if problems:
        raise CheckpointMismatchError("; ".join(problems))
    leaves = []
    for i, (_, leaf) in enumerate(path_leaves):
        value = np.asarray(arrays[f"leaf_{i:05d}"])
        if i in info["key_leaves"]:
            value = jax.random.wrap_key_data(value, impl=info["key_impl"])
        elif getattr(leaf, "weak_type", False) and value.ndim == 0:
            # keep weak types as in a fresh state, so a restored state hits the same compile
            weak = jax.numpy.asarray(value.item())
            value = weak if weak.dtype == leaf.dtype else jax.numpy.asarray(value)
        else:
            value = jax.numpy.asarray(value)
        leaves.append(value)
    return jax.tree_util.tree_unflatten(treedef, leaves)


class Checkpointer:
    """An orbax `CheckpointManager` of runner states with integrity-checked restores.

    Args:
        directory: the manager's directory (created if missing).
        max_to_keep: number of latest checkpoints kept.
        async_save: write in a background thread (call `wait()` before reading them back).
            The whole save — copying the arrays to the host, the checksum and orbax's own
            work — runs on one worker thread, in order, while training goes on; an error in
            it is raised by the next `save`, `wait` or `close`.
    """

    def __init__(self, directory: str | Path, max_to_keep: int | None = 3,
                 async_save: bool = True) -> None:
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            # orbax writes synchronously on our own worker thread (async_save): its own async
            # mode still did ~50 ms of work per save on the caller's thread
            max_to_keep=max_to_keep, enable_async_checkpointing=False, create=True
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)
        self._worker = ThreadPoolExecutor(max_workers=1) if async_save else None
        self._pending: Future | None = None

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        """Save `state` (a pytree of arrays) with `meta` (JSON-able) as checkpoint `step`."""
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
        info = meta.get("state_info") or {}
        if meta.get("format") != FORMAT_VERSION or "checksum" not in info:
            raise CheckpointError(f"checkpoint {self.directory / str(step)} has no valid "
                                  "metadata (format/checksum missing)")
        if checksum(arrays) != info["checksum"]:
            raise CheckpointError(f"checkpoint {self.directory / str(step)} is corrupt "
                                  "(checksum mismatch)")
        return arrays, meta

    def read_latest(
        self, accept: Callable[[dict[str, Any]], None] | None = None
    ) -> tuple[int, dict[str, np.ndarray], dict[str, Any]]:
        """The newest checkpoint that reads back intact, warning about each one skipped.

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
            except CheckpointError as err:
                errors.append(str(err))
                warnings.warn(f"{err}; falling back to an older checkpoint", RuntimeWarning,
                              stacklevel=2)
                continue
            return step, arrays, meta
        raise CheckpointError("no usable checkpoint: " + " | ".join(errors))


def find_checkpoint_dir(path: str | Path) -> tuple[Path, int | None]:
    """Resolve a user path to `(manager directory, step or None for the newest)`.

    Accepts a run directory (its `best_model/`, else `checkpoints/`), a manager directory
    (numbered step subdirectories) or one step directory.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is not a checkpoint directory")
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
