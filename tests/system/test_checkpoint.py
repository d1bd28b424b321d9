"""Checkpoint robustness: corrupt or partial newest checkpoint, config mismatch."""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest
from kill_helpers import checkpoint_steps

from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem, CheckpointMismatchError
from agentic_jax.training.checkpoint import read_checkpoint

from .conftest import tiny_config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ckpt_run")
    AgenticRLSystem(tiny_config(), run_dir=run_dir).train()
    return run_dir


def _copy_run(run_dir, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return dst


def test_corrupt_newest_checkpoint_falls_back(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    ckpts = run / "checkpoints"
    assert checkpoint_steps(ckpts) == [8, 12, 16]
    # flip bytes in every data file of the newest checkpoint's state
    for f in (ckpts / "16" / "state").rglob("*"):
        if f.is_file() and f.stat().st_size > 64 and "d" in f.parent.name:
            data = bytearray(f.read_bytes())
            data[-16:] = bytes(16)
            f.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="16"):
        system = AgenticRLSystem.resume(run, progress=False)
    assert system.update_step == 12


def test_missing_files_and_partial_write_are_skipped(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    ckpts = run / "checkpoints"
    shutil.rmtree(ckpts / "16" / "meta")  # newest lost its metadata
    (ckpts / "20.orbax-checkpoint-tmp-1234").mkdir()  # a write cut by a crash
    with pytest.warns(RuntimeWarning, match="unreadable|no valid metadata|corrupt"):
        system = AgenticRLSystem.resume(run, progress=False)
    assert system.update_step == 12
    # the resumed run finishes and records exactly updates 13..16 again
    system.train()
    assert system.update_step == 16


def test_mismatched_config_is_a_clear_error(run_dir):
    for change, name in [({"n_envs": 8}, "n_envs"), ({"net_arch": {"pi": [16], "vf": [8]}},
                                                        "net_arch")]:
        config = tiny_config()
        config["ppo"].update(change)
        other = AgenticRLSystem(config)
        with pytest.raises(CheckpointMismatchError, match=name):
            other.restore(run_dir / "checkpoints")
    config = tiny_config()
    config["env"]["n_agents"] = 3  # changes obs and action sizes
    with pytest.raises(CheckpointMismatchError, match="n_agents"):
        AgenticRLSystem(config).restore(run_dir / "checkpoints")


def test_load_restore_and_resume_read_the_same_checkpoint(run_dir, tmp_path):
    snapshot = read_checkpoint(run_dir / "checkpoints")
    assert snapshot.step == 16
    assert snapshot.meta["config"] == load(tiny_config()).to_dict()  # RunConfig.to_dict()
    loaded = AgenticRLSystem.load(run_dir / "checkpoints")
    restored = AgenticRLSystem(tiny_config()).restore(run_dir / "checkpoints")
    resumed = AgenticRLSystem.resume(_copy_run(run_dir, tmp_path))
    assert loaded.config == restored.config == resumed.config == load(tiny_config())
    for system in (restored, resumed):
        assert system.update_step == 16 and system.tracker == loaded.tracker
        same = jax.tree.map(lambda a, b: np.array_equal(np.asarray(a), np.asarray(b)),
                            system.runner_state.train_state, loaded.runner_state.train_state)
        assert all(jax.tree.leaves(same))
