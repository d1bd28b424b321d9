"""A run on 4 forced devices killed with SIGKILL resumes (on 4 devices) and ends bit-identical
to the unkilled 4-device run, as single-device runs do (`tests/training/test_faults.py`)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml
from kill_helpers import kill_after_checkpoint
from tiny_configs import TINY

from agentic_jax.system import AgenticRLSystem
from agentic_jax.training.store import read_records

from .forced import REPO, forced_env


def _config(tmp_path: Path) -> Path:
    config = copy.deepcopy(TINY)  # n_envs 4: one env per device
    config["system"].update(eval_freq=64 * 4, checkpoint_freq=64 * 8, async_checkpointing=True,
                            max_to_keep=2, heuristics=[])
    config["ppo"]["total_timesteps"] = 64 * 64  # 64 updates, checkpoints every 8
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agentic_jax.cli", *args, "--devices", "4"],
                            cwd=REPO, env=forced_env(4), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_on_four_devices_then_resume_is_bit_identical(tmp_path):
    config = _config(tmp_path)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    clean = _cli("train", "--config", str(config), "--run-dir", str(clean_dir))
    _, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err.decode()[-2000:]

    proc = _cli("train", "--config", str(config), "--run-dir", str(killed_dir))
    steps = kill_after_checkpoint(proc, killed_dir / "checkpoints", min_step=16, timeout=300)
    assert steps and max(steps) < 64

    resumed = _cli("train", "--resume", str(killed_dir), "--set", "system.progress=false")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()[-2000:]

    # read back here, on this process's one device
    a = AgenticRLSystem.load(killed_dir / "checkpoints", devices=1)
    b = AgenticRLSystem.load(clean_dir / "checkpoints", devices=1)
    assert a.update_step == b.update_step == 64
    assert a.config.system.devices == 1 and b.config.ppo == a.config.ppo
    for x, y in zip(jax.tree.leaves(jax.tree.map(np.asarray, a.runner_state.train_state)),
                    jax.tree.leaves(jax.tree.map(np.asarray, b.runner_state.train_state)),
                    strict=True):
        np.testing.assert_array_equal(x, y)  # bit for bit
    np.testing.assert_array_equal(jax.random.key_data(a.runner_state.rng),
                                  jax.random.key_data(b.runner_state.rng))
    assert read_records(killed_dir) == read_records(clean_dir)
