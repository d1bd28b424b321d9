"""Quieting orbax's and asyncio's own logs of a failure that reaches the caller once anyway.

Importing this module installs the log filters (on the `absl` and `asyncio` loggers);
`quiet_closed_event_loops()` installs the unraisable-exception hook a failed restore needs.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

from agentic_jax.training.errors import file_system_problem

logging.getLogger("absl").setLevel(logging.ERROR)


class DropFileSystemErrors(logging.Filter):
    """Drops orbax's own log records of a file-system failure (a traceback from each of its
    threads): the failure reaches the caller as an exception and is reported once there."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and file_system_problem(error) is not None:
            return False
        return file_system_problem(record.getMessage()) is None


logging.getLogger("absl").addFilter(DropFileSystemErrors())


class DropOrbaxOrphanTasks(logging.Filter):
    """Drops asyncio's "exception was never retrieved" records of orbax's own tasks.

    When a write fails (full disk) or a read fails (a truncated file), orbax abandons its other
    in-flight TensorStore tasks; asyncio then logs each one's exception with a traceback. The
    failure reaches the caller once, as an exception (`CheckpointError` or the one-line
    file-system error), so these copies are noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "exception was never retrieved" not in message:
            return True
        error = record.exc_info[1] if record.exc_info else None
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        # a task shows orbax's frames; a bare TensorStore future has none, only its spec
        from_orbax = any("orbax" in frame.filename for frame in frames)
        from_tensorstore = "tensorstore" in message.lower() or "OCDBT" in message
        return not (from_orbax or from_tensorstore or file_system_problem(message) is not None)


logging.getLogger("asyncio").addFilter(DropOrbaxOrphanTasks())


def quiet_closed_event_loops() -> None:
    """Install (once) a `sys.unraisablehook` that drops `RuntimeError: Event loop is closed`.

    When a restore fails (a truncated file), orbax closes its event loop while TensorStore still
    has reads in flight; each one's callback then raises that error, printed as a traceback
    per array (~75). The failure itself is reported once, as a `CheckpointError`. Every other
    unraisable exception still goes to the hook installed before.
    """
    previous = sys.unraisablehook
    if getattr(previous, "drops_closed_event_loops", False):
        return

    def hook(unraisable: Any) -> None:
        error = unraisable.exc_value
        if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
            previous(unraisable)

    hook.drops_closed_event_loops = True
    sys.unraisablehook = hook
