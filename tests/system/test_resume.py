"""A training process killed with SIGKILL resumes and ends bit-identical to an unkilled run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import yaml
from kill_helpers import checkpoint_steps, kill_after_checkpoint

from agentic_jax.cli import main
from agentic_jax.system import AgenticRLSystem
from agentic_jax.training.store import read_records

from .conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    config = tiny_config(eval_freq=64 * 4, checkpoint_freq=64 * 8, async_checkpointing=True,
                         max_to_keep=2, heuristics=[])
    config["ppo"]["total_timesteps"] = 64 * 64  # 64 updates, checkpoints every 8
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "agentic_jax.cli", *args], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    config = _config(tmp_path)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"

    proc = _cli("train", "--config", str(config), "--run-dir", str(killed_dir))
    steps = kill_after_checkpoint(proc, killed_dir / "checkpoints", min_step=16)
    assert proc.returncode == -signal.SIGKILL
    assert steps and max(steps) < 64

    resumed = _cli("train", "--resume", str(killed_dir), "--set", "system.progress=false")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()[-2000:]

    assert main(["train", "--config", str(config), "--run-dir", str(clean_dir)]) == 0

    a = AgenticRLSystem.load(killed_dir / "checkpoints")
    b = AgenticRLSystem.load(clean_dir / "checkpoints")
    assert a.update_step == b.update_step == 64
    a_leaves = jax.tree.leaves(jax.tree.map(np.asarray, a.runner_state.train_state))
    b_leaves = jax.tree.leaves(jax.tree.map(np.asarray, b.runner_state.train_state))
    assert len(a_leaves) == len(b_leaves)
    for x, y in zip(a_leaves, b_leaves, strict=True):
        np.testing.assert_array_equal(x, y)  # bit for bit
    np.testing.assert_array_equal(jax.random.key_data(a.runner_state.rng),
                                  jax.random.key_data(b.runner_state.rng))
    assert read_records(killed_dir) == read_records(clean_dir)
    assert a.tracker == b.tracker
    assert json.loads((killed_dir / "heuristics.json").read_text()) == json.loads(
        (clean_dir / "heuristics.json").read_text())
    assert checkpoint_steps(killed_dir / "best_model") == checkpoint_steps(clean_dir / "best_model")
