"""Run a script of this folder in a fresh Python with N forced XLA:CPU host devices.

`XLA_FLAGS=--xla_force_host_platform_device_count=N` only takes effect before JAX starts its
backend, so every multi-device check runs in its own process. The script prints one JSON
object as its last line of stdout; `run_forced` returns it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def forced_env(devices: int) -> dict[str, str]:
    """The environment of a subprocess with `devices` host devices (our package first)."""
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    flags.append(f"--xla_force_host_platform_device_count={devices}")
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{HERE.parent}",
            "XLA_FLAGS": " ".join(flags),
            "JAX_PLATFORMS": "cpu"}


def run_checked(argv: list[str], devices: int, timeout: float | None = None) -> str:
    """Run `argv` in one process on `devices` forced host devices; its stdout, or an
    AssertionError with its stderr's tail if it exits non-zero."""
    proc = subprocess.run(argv, cwd=REPO, env=forced_env(devices), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{argv[1:4]} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def run_forced(script: str, *args: str, devices: int = 4, timeout: float = 300) -> dict:
    """Run `HERE/script` with `args` on `devices` forced host devices; its JSON result."""
    out = run_checked([sys.executable, str(HERE / script), *args], devices, timeout)
    return json.loads(out.strip().splitlines()[-1])
