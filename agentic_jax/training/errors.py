"""The errors a run directory raises, and file-system failures as one line.

`RunDirError` and its subclasses say why a run directory cannot be written as asked (it holds
a run, another process writes it, it is a file, it is read-only, the disk is full); their
message is one line that names the path and the way out. `file_system_problem(err)` finds the
operating-system cause in an exception, including the ones orbax and TensorStore raise as
`ValueError`s with the OS message inside, so the system layer can report a full disk once
instead of a traceback per background task.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# errno -> wording; the same phrases as they appear inside TensorStore/orbax messages
_ERRNO_WORDS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
    errno.EIO: "input/output error",
}
_TEXT_WORDS = (
    ("no space left on device", errno.ENOSPC),
    ("disk quota exceeded", errno.EDQUOT),
    ("read-only file system", errno.EROFS),
    ("permission denied", errno.EACCES),
    ("not a directory", errno.ENOTDIR),
)


class RunDirError(RuntimeError):
    """A run directory cannot be used as asked; the message is one line naming the way out."""


class RunExistsError(RunDirError):
    """The run directory already holds a run (and neither resume nor overwrite was asked)."""


class RunLockedError(RunDirError):
    """Another live process is writing the run directory."""


def file_system_problem(err: BaseException | str) -> str | None:
    """What the file system refused in `err` (an exception and its causes, or a message), as
    `"no space left on device (path)"`, or None when it is not a file-system failure."""
    if isinstance(err, str):
        err = RuntimeError(err)
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in _ERRNO_WORDS:
            where = f" ({err.filename})" if err.filename else ""
            return _ERRNO_WORDS[err.errno] + where
        text = str(err).lower()
        for phrase, code in _TEXT_WORDS:
            if phrase in text:
                return _ERRNO_WORDS[code]
        err = err.__cause__ or err.__context__
    return None


def check_writable(path: Path) -> None:
    """`RunDirError` unless `path` (existing or not) can be created and written as a directory.

    Checks the nearest existing ancestor: a file there, a read-only file system or missing
    write permission is reported before anything is created (`os.access` tells a read-only
    mount apart even for root).
    """
    if path.exists() and not path.is_dir():
        raise RunDirError(f"run directory {str(path)!r} is a file, not a directory")
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RunDirError(f"cannot create run directory {str(path)!r}: {str(ancestor)!r} is a "
                          "file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        readonly = os.statvfs(ancestor).f_flag & os.ST_RDONLY
        why = "read-only file system" if readonly else "permission denied"
        raise RunDirError(f"cannot write run directory {str(path)!r}: {why} ({ancestor})")
