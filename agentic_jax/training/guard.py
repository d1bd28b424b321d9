"""Who may write a run (or sweep) directory, and what a failure while writing it leaves.

A directory holds one run or one sweep. Training into one that already holds one is refused
unless it is continued (`resume`) or `overwrite` moves the earlier one aside to
`DIR.old-<time>` (never deleted); one process at a time writes it (`RunLock`). File-system
failures while training (read-only, not a directory, disk full) end it with one `RunDirError`
line naming the problem and the checkpoint that is kept; background threads' copies of the
same failure are silenced.

    check_run_dir(files, overwrite)  # before anything is built: cheap checks, writes nothing
    claim = RunClaim(files, overwrite)
    with claim.writing():            # lock; refuse or move aside; one-line errors; unlock

`files` is the directory's layout: a `RunDir` (runs) or a `SweepDir` (sweeps). The guard reads
`path`, `KIND` ("run"/"sweep"), `COMMAND` (the CLI command), `RESUME_API`, `run_files()`,
`check_resumable()` and `kept_checkpoint()` from it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from agentic_jax.training.checkpoint import CheckpointError
from agentic_jax.training.errors import (
    RunDirError,
    RunExistsError,
    check_writable,
    file_system_problem,
)
from agentic_jax.training.lock import RunLock
from agentic_jax.training.store import RunDir, step_dirs


def refuse_existing_run(files: RunDir) -> None:
    """`RunExistsError` naming the choices when `files` already holds a run (or a sweep)."""
    found = files.run_files()
    if found:
        path, shown = str(files.path), ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        try:
            files.check_resumable()
            resume = f"continue it with --resume {path} ({files.RESUME_API}), "
        except (CheckpointError, FileNotFoundError):
            resume = "it has no checkpoint to resume from: "
        raise RunExistsError(
            f"{path!r} already holds a {files.KIND} ({shown}): {resume}train into a new "
            f"--run-dir, or pass --overwrite (overwrite=True) to move it aside to "
            f"{files.path.name}.old-<time>")


def check_run_dir(path: str | Path | RunDir, overwrite: bool = False) -> None:
    """The checks `RunClaim` makes, read-only, for reporting them before anything is built:
    a file or read-only place, a live writer, an earlier run (unless `overwrite`). `path`: a
    run directory's path, or a directory layout (`RunDir`, `SweepDir`)."""
    files = RunDir(path) if isinstance(path, (str, Path)) else path
    check_writable(files.path)
    if files.path.is_dir():
        RunLock(files.path).probe()
        if not overwrite:
            refuse_existing_run(files)


def move_aside(path: Path) -> Path:
    """Rename `path` to a free `path.old-<time>[-i]` beside it; return the new name."""
    stem = f"{path.name}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    target, i = path.with_name(stem), 1
    while target.exists():
        target, i = path.with_name(f"{stem}-{i}"), i + 1
    path.rename(target)
    return target


class RunClaim:
    """The right to write one run directory.

    Args:
        files: the run directory.
        overwrite: move an earlier run aside instead of refusing it.
        resume: the claim continues the run in the directory (no refusal).

    Attributes:
        moved_to: where `overwrite` moved the earlier run, once it did.
    """

    def __init__(self, files: RunDir, overwrite: bool = False, resume: bool = False) -> None:
        self.files, self.overwrite = files, overwrite
        self.lock = RunLock(files.path)
        self.moved_to: Path | None = None
        self._owned = resume  # once acquired, the run in the directory is this claim's

    @classmethod
    def for_resume(cls, files: RunDir) -> RunClaim:
        """The held claim of a run to continue: a live writer is named first, then a
        directory with nothing to resume (`files.check_resumable()`), then one that cannot be
        written."""
        RunLock(files.path).probe()
        files.check_resumable()
        return cls(files, resume=True).acquire()

    def acquire(self) -> RunClaim:
        """Create the directory, lock it, refuse or move aside an earlier run (no-op if held).

        Raises:
            RunLockedError: another process writes the directory.
            RunExistsError: it holds a run, and neither resume nor overwrite was asked.
            RunDirError: a file, a read-only file system, no permission, no space.
        """
        if self.lock.held:
            return self
        path = self.files.path
        check_writable(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
            try:
                if not self._owned and self.files.run_files():
                    if not self.overwrite:
                        refuse_existing_run(self.files)
                    self._move_aside()
                self.lock.mark()
            except BaseException:
                self.lock.release()
                raise
        except OSError as err:
            raise RunDirError(f"cannot write run directory {str(path)!r}: "
                              f"{file_system_problem(err) or err}") from None
        self._owned = True
        return self

    def _move_aside(self) -> None:
        old = self.lock
        self.moved_to = move_aside(self.files.path)
        self.files.path.mkdir(parents=True)
        self.lock = RunLock(self.files.path).acquire()
        old.release()

    @property
    def owns(self) -> bool:
        """Whether the run in the directory is this claim's (it trained into it or resumed
        it), so that its `checkpoints/` and `best_model/` are this system's own to write."""
        return self._owned

    def release(self) -> None:
        """Unlock the directory (the claim can be acquired again to write more)."""
        self.lock.release()

    def describe_kept(self) -> str:
        """Which checkpoint a failure leaves, and how to continue from it."""
        directory, step = self.files.kept_checkpoint()
        if step is None:
            return f"no checkpoint was written to {directory} yet"
        return (f"checkpoint {step} in {directory} is kept; fix that and continue with "
                f"`agentic-jax {self.files.COMMAND} --resume {self.files.path}`")

    @contextlib.contextmanager
    def writing(self) -> Iterator[RunClaim]:
        """Hold the claim while the body writes; a file-system failure in it (or in a
        background thread) becomes one `RunDirError`; the lock is released at the end."""
        self.acquire()
        try:
            with background_file_errors() as caught:
                yield self
            if caught:
                raise caught[0]
        except Exception as err:
            problem = file_system_problem(err)
            if problem is None or isinstance(err, RunDirError):
                raise
            raise RunDirError(f"training stopped: {problem} in {str(self.files.path)!r}; "
                              f"{self.describe_kept()}") from err
        finally:
            self.release()


def best_model_saved(files: RunDir) -> Callable[[dict[str, Any]], None]:
    """An `accept(meta)` for `read_checkpoint` that rejects a checkpoint whose best model was
    cut: the best found since the checkpoint before is written beside this one, and a kill
    or a full disk can cut that write alone. The resumed run's `best_model/` then ends as an
    uninterrupted run's. A best model newer than the checkpoint is as good (the resumed run
    computes it again); one lost before the previous checkpoint cannot be helped.
    """
    saved, checkpoints = step_dirs(files.best_model), step_dirs(files.checkpoints)

    def accept(meta: dict[str, Any]) -> None:
        step, best = meta["step"], meta.get("callbacks", {}).get("best_update")
        previous = max((s for s in checkpoints if s < step), default=0)
        if best is None or best <= previous or best in saved or max(saved, default=0) > step:
            return
        raise CheckpointError(f"checkpoint {files.checkpoints / str(step)} lacks its best "
                              f"model (update {best}): that write was cut")

    return accept


@contextlib.contextmanager
def background_file_errors() -> Iterator[list[BaseException]]:
    """Collect, instead of printing, file-system errors that kill background threads (the
    TensorBoard writer's): the main thread meets the same failure and reports it once."""
    caught: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and file_system_problem(args.exc_value) is not None:
            caught.append(args.exc_value)
        else:
            previous(args)

    threading.excepthook = hook
    try:
        yield caught
    finally:
        threading.excepthook = previous


def close_all(closers: Iterable[object]) -> BaseException | None:
    """Call `close()` on each; return the first error (every one is closed regardless)."""
    first = None
    for closer in closers:
        try:
            closer.close()
        except Exception as err:  # reported by the caller, once
            first = first or err
    return first
