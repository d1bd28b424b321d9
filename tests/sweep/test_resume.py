"""A sweep killed with SIGKILL mid-call resumes (`agentic-jax sweep --resume`) and ends with
the same results, records and best models as an uninterrupted sweep."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from kill_helpers import kill_after_checkpoint

from agentic_jax.cli import main
from agentic_jax.sweep import Sweep

from .conftest import tiny_sweep

REPO = Path(__file__).resolve().parents[2]


# tests/training/test_faults.py has the same check through the CLI (a second writer refused,
# then the killed first one resumed and compared with an uninterrupted sweep); this one kills
# through a subprocess of the Python API rather than the CLI
@pytest.mark.slow
def test_sigkill_then_resume_gives_the_same_results(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep()))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "agentic_jax.cli", "sweep", "--config",
                             str(path), "--run-dir", str(killed)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    steps = kill_after_checkpoint(proc, killed / "calls" / "0" / "checkpoints")
    assert not (killed / "calls" / "0" / "final.npz").exists()
    assert steps and max(steps) < 16  # resumed from a checkpoint mid-sweep

    assert main(["sweep", "--resume", str(killed)]) == 0
    assert main(["sweep", "--config", str(path), "--run-dir", str(clean)]) == 0

    a, b = Sweep.resume(killed), Sweep.resume(clean)
    for key, value in b.final(0).items():
        np.testing.assert_array_equal(a.final(0)[key], value, err_msg=key)
    assert a.files.records() == b.files.records()
    for name in ("evaluations.csv", "results.csv", "results.json", "results.md"):
        assert (killed / name).read_text() == (clean / name).read_text(), name
