"""Killing a training or sweep process with SIGKILL once it has written a checkpoint."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def checkpoint_steps(directory: Path) -> list[int]:
    """The update steps of the checkpoints in `directory` (orbax's numbered folders), sorted."""
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


def kill_after_checkpoint(proc: subprocess.Popen, directory: Path, min_step: int = 0,
                          timeout: float = 240.0) -> list[int]:
    """SIGKILL `proc` as soon as `directory` holds a checkpoint of step >= `min_step`; return
    the checkpoint steps left behind. Fails if `proc` ends first."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(s >= min_step for s in checkpoint_steps(directory)):
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"the process ended before it could be killed: {proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return checkpoint_steps(directory)
