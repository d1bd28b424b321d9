"""What the fault-injection suites of runs and sweeps share: the real CLI in a subprocess,
the one-line error check, file checksums, and private mount namespaces for read-only and full
file systems (`unshare -m`; tests needing them skip where it is not permitted)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentic_jax.cli", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}  # with the session's compilation cache


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), cwd=REPO, env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(cli_command(*args), cwd=REPO, env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def assert_one_line_error(stderr: str, *words: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("agentic-jax: error: "), stderr[-3000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def checksums(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def in_mount_namespace(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`sh -c script` in a private mount namespace (its mounts vanish with it)."""
    prefix = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    return subprocess.run([*prefix, "sh", "-c", script], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def mount_namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        probe = in_mount_namespace("mount -t tmpfs -o size=64k tmpfs /mnt", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(not mount_namespaces_work(),
                                  reason="mount namespaces (unshare -m) are not permitted here")
