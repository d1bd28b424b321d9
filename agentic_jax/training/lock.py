"""`RunLock`: one writer per run directory at a time.

`RunLock(run_dir).acquire()` takes `fcntl.flock(LOCK_EX | LOCK_NB)` on `RUN_DIR/.lock`;
`mark()` writes the holder (pid, host, start time) into the file for the message a second
writer gets; `release()` frees it. The OS drops a flock lock when its holder dies (SIGKILL
included), so a lock file left behind by a dead process is never in the way: its text only
names the last holder. flock locks conflict between two open files of one process too, so two
systems in one interpreter exclude each other as two processes do.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO

from agentic_jax.training.errors import RunLockedError

LOCK_FILE = ".lock"


class RunLock:
    """The exclusive write lock of one run directory (which must exist to acquire it)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def __repr__(self) -> str:
        return f"RunLock({str(self.run_dir)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        """This object holds the lock."""
        return self._file is not None

    def acquire(self) -> RunLock:
        """Take the lock (no-op when held); `RunLockedError` naming the holder if it is busy.

        The file is opened without truncation, so a refused writer leaves the holder's text.
        """
        if self._file is None:
            self._file = self._lock(os.O_RDWR | os.O_CREAT)
        return self

    def _lock(self, flags: int) -> IO[str]:
        file = os.fdopen(os.open(self.path, flags, 0o644), "r+" if flags & os.O_RDWR else "r")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = file.read().strip() or "another process"
            file.close()
            raise RunLockedError(
                f"run directory {str(self.run_dir)!r} is being written by {holder}; wait for "
                "it to finish, or train into another --run-dir") from None
        return file

    def mark(self) -> None:
        """Write this process as the holder (pid, host, start time) into the lock file."""
        if self._file is None:
            raise RuntimeError("RunLock.mark: the lock is not held")
        self._file.seek(0)
        self._file.truncate()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._file.write(f"pid {os.getpid()} on {socket.gethostname()} (since {stamp})\n")
        self._file.flush()

    def release(self) -> None:
        """Free the lock (no-op when not held); the file stays, naming the last holder."""
        file, self._file = self._file, None
        if file is not None:
            file.close()  # closing the only descriptor drops the flock lock

    def probe(self) -> None:
        """`RunLockedError` if another holder has the lock now (takes and frees it)."""
        if not self.held and self.path.is_file():
            self._lock(os.O_RDONLY).close()  # read-only: works on a read-only directory too
