"""`save` never deletes what it did not write; `resume` never continues another run's state."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_configs import TINY

from agentic_jax.system import AgenticRLSystem, CheckpointError, RunExistsError


def tiny_config(**system) -> dict:
    config = copy.deepcopy(TINY)
    config["system"].update(system)
    return config


def checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root`, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def steps(directory: Path) -> list[int]:
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run A (16 updates) and run B (another learning rate, 8 updates), each in its own
    directory; B's checkpoints are steps 4 and 8."""
    root = tmp_path_factory.mktemp("runs")
    a = AgenticRLSystem(tiny_config(), run_dir=root / "a")
    a.train()
    config = tiny_config(max_timesteps=8 * 64)
    config["ppo"]["learning_rate"] = 1e-3
    AgenticRLSystem(config, run_dir=root / "b").train()
    return root / "a", root / "b"


def test_save_refuses_another_runs_directories(two_runs, tmp_path):
    """The issue's data loss: saving a loaded run into another run's `checkpoints/` (or the
    run directory itself) deleted its steps; now it is refused with one line and every file
    of that run is byte-identical; `overwrite=True` moves them aside, never deletes them."""
    run_a, run_b = two_runs
    foreign = AgenticRLSystem.load(run_a)
    before = checksums(run_b)
    for target in (run_b / "checkpoints", run_b / "best_model", run_b):
        with pytest.raises(RunExistsError, match="did not write.*overwrite=True") as err:
            foreign.save(target)
        assert "\n" not in str(err.value)
    assert checksums(run_b) == before

    copy = tmp_path / "b"
    subprocess.run(["cp", "-a", str(run_b), str(copy)], check=True)
    kept = checksums(copy / "checkpoints")
    foreign.save(copy / "checkpoints", overwrite=True)
    aside = [p for p in copy.iterdir() if p.name.startswith("checkpoints.old-")]
    assert len(aside) == 1 and checksums(aside[0]) == kept
    assert steps(copy / "checkpoints") == [foreign.update_step]


def test_save_adds_to_its_own_directories_and_deletes_nothing(tmp_path):
    """A directory this system saved to, or its own run's checkpoints, takes further steps
    beside the ones there (the others byte-identical); saving the same step again replaces
    only that step; another system may not add to them."""
    system = AgenticRLSystem(tiny_config(max_timesteps=6 * 64, max_to_keep=5),
                             run_dir=tmp_path / "run")
    system.train()
    own = tmp_path / "run" / "checkpoints"
    assert steps(own) == [4, 6]  # every 4 updates, and the last
    before = {k: v for k, v in checksums(own).items() if k.startswith("4/")}
    system.save(own)  # its own step 6 again
    assert steps(own) == [4, 6]
    assert {k: v for k, v in checksums(own).items() if k.startswith("4/")} == before

    target = tmp_path / "saved"
    system.save(target)
    system.save(target)  # the same step again: no error, still one step
    assert steps(target) == [6]
    stranger = AgenticRLSystem.load(target)
    assert stranger.update_step == 6
    with pytest.raises(RunExistsError):  # the loaded system did not write it
        stranger.save(target)
    (tmp_path / "empty").mkdir()
    assert steps(stranger.save(tmp_path / "empty")) == [6]


def test_resume_refuses_a_checkpoint_of_another_run(two_runs, tmp_path):
    """A foreign checkpoint in a run's `checkpoints/` is not continued: `resume` names the
    first setting that differs from the run's config.yaml, and no file of the run changes
    (the API and `agentic-jax train --resume`, one line, exit 2)."""
    run_a, run_b = two_runs
    victim = tmp_path / "b"
    subprocess.run(["cp", "-a", str(run_b), str(victim)], check=True)
    AgenticRLSystem.load(run_a).save(victim / "checkpoints", overwrite=True)
    before = checksums(victim)

    with pytest.raises(CheckpointError, match=r"not written by the run .*ppo\.learning_rate: "
                                              r"0\.0003 in the checkpoint vs 0\.001"):
        AgenticRLSystem.resume(victim)
    cli = subprocess.run([sys.executable, "-m", "agentic_jax.cli", "train", "--resume",
                          str(victim)], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2, cli.stderr
    err = cli.stderr.strip()
    assert len(err.splitlines()) == 1 and "not written by the run" in err
    assert "Traceback" not in cli.stderr
    assert checksums(victim) == before


def test_from_state_holds_the_state_or_names_the_mismatch():
    """`from_state` builds a system around a state (a sweep member's, `load_member`), checked
    against the config's shapes before anything is compiled with it."""
    import jax
    import numpy as np

    source = AgenticRLSystem(tiny_config())
    state = jax.tree.map(lambda x: x, source.runner_state)
    system = AgenticRLSystem.from_state(tiny_config(), state)
    for a, b in zip(jax.tree.leaves(system.params), jax.tree.leaves(source.params), strict=True):
        np.testing.assert_array_equal(a, b)
    wider = copy.deepcopy(TINY)
    wider["ppo"]["net_arch"] = {"pi": [16], "vf": [8]}
    mismatch = r"does not fit this config's \(\d+ arrays vs \d+; array \d+ differs\)"
    with pytest.raises(ValueError, match=mismatch):
        AgenticRLSystem.from_state(wider, state)
