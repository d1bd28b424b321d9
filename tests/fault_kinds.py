"""The two facades the fault suite (tests/training/test_faults.py) runs its faults against:
a run (`agentic-jax train`, `AgenticRLSystem`) and a sweep (`agentic-jax sweep`, `Sweep`), each
with its tiny config, the CLI words, where its checkpoints go and what "the same result as an
uninterrupted one" means for it."""

from __future__ import annotations

import copy
import dataclasses
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from fault_helpers import assert_one_line_error, run_cli
from kill_helpers import checkpoint_steps
from tiny_configs import TINY

from agentic_jax.sweep import Sweep
from agentic_jax.sweep.engine import group_functions
from agentic_jax.system import AgenticRLSystem
from agentic_jax.system.compiled import compiled_functions
from agentic_jax.training.store import read_records, step_dirs

UPDATES = 16  # checkpoints every 4 updates, evaluations every 2
SWEEP_FILES = ("metrics.jsonl", "evaluations.csv", "members.csv", "calls.json", "results.csv",
               "results.json", "results.md")


def final_state(run_dir: Path) -> AgenticRLSystem:
    system = AgenticRLSystem.load(run_dir / "checkpoints")
    assert system.update_step == UPDATES
    return system


def same_run(run_dir: Path, reference: Path) -> None:
    """The run ended exactly as the uninterrupted reference: records, state, PRNG key and
    evaluation tracker, bit for bit."""
    assert read_records(run_dir) == read_records(reference)
    mine, theirs = final_state(run_dir), final_state(reference)
    for a, b in zip(jax.tree.leaves(mine.runner_state.train_state),
                    jax.tree.leaves(theirs.runner_state.train_state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(jax.random.key_data(mine.runner_state.rng),
                                  jax.random.key_data(theirs.runner_state.rng))
    assert mine.tracker == theirs.tracker
    assert step_dirs(run_dir / "best_model") == step_dirs(reference / "best_model")


def same_sweep(sweep_dir: Path, reference: Path) -> None:
    """The sweep ended exactly as the uninterrupted reference: its records, evaluations (no
    line twice), results and final arrays."""
    for name in SWEEP_FILES:
        assert (sweep_dir / name).read_text() == (reference / name).read_text(), name
    with np.load(sweep_dir / "calls/0/final.npz") as a, np.load(reference /
                                                               "calls/0/final.npz") as b:
        for key in b.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert checkpoint_steps(sweep_dir / "calls/0/checkpoints") == checkpoint_steps(
        reference / "calls/0/checkpoints")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A facade under test.

    Attributes:
        name: "run" or "sweep" (also the word its errors use: "already holds a run").
        command: its CLI command.
        config: its tiny config (async checkpointing, 16 updates).
        disk_kb: a tmpfs size that holds its first checkpoint but not the whole of it.
        checkpoints: its checkpoint directory, relative to its directory.
        kill_after: the checkpoint step after which the second-writer test kills it. A run
            writes its best model beside each checkpoint and, on resume, passes over a
            checkpoint whose best model a kill cut; killed once checkpoint 8 exists, the
            resumed run has at least checkpoint 4 with its best model to start from.
        programs: its cache of compiled programs (nothing may be built before a refusal).
        start: `start(config_file, directory)` trains a new one through the API.
        resume: `resume(directory)` through the API.
        same_result: asserts a directory ended exactly as the reference.
    """

    name: str
    command: str
    config: dict[str, Any]
    disk_kb: int
    checkpoints: str
    kill_after: int
    programs: Any
    start: Callable[[Path, Path], Any]
    resume: Callable[[Path], Any]
    same_result: Callable[[Path, Path], None]

    def __str__(self) -> str:
        return self.name


def _config(sweep: bool) -> dict[str, Any]:
    config = copy.deepcopy(TINY)
    config["ppo"]["total_timesteps"] = 64 * UPDATES
    config["system"].update(async_checkpointing=True, heuristics=[])  # no rules to compile
    if sweep:
        config["system"]["heuristics"] = TINY["system"]["heuristics"]  # as tests/sweep's
        config["system"]["final_eval_episodes"] = 4  # = n_eval_episodes: one compile
        config["sweep"] = {"seeds": 4, "grid": {"ppo.learning_rate": [3.0e-4, 1.0e-3]}}
    return config


RUN = Kind("run", "train", _config(False), 450, "checkpoints", 8, compiled_functions,
           lambda config, path: AgenticRLSystem(config, path).train(), AgenticRLSystem.resume,
           same_run)
SWEEP = Kind("sweep", "sweep", _config(True), 900, "calls/0/checkpoints", 0, group_functions,
             lambda config, path: Sweep(config, path).run(), Sweep.resume, same_sweep)


def finish_after_kill(config_file: Path, run: Path, proc: subprocess.Popen, delay: float) -> str:
    """SIGKILL the training `proc` after `delay` s, then finish its run: resumed from its
    newest usable checkpoint, or started again (`--overwrite`) when it has none: it died
    before the first one, or between the first one and the best model written beside it
    (resume passes over such a checkpoint, and then refuses in one line).

    Returns:
        "resumed from update N", "restarted" (no usable checkpoint) or "finished" (it ended
        before the kill).
    """
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    err = proc.stderr.read()
    if proc.returncode == 0:
        return "finished"
    assert proc.returncode == -signal.SIGKILL, err[-3000:]
    kept = step_dirs(run / "checkpoints")
    outcome, recover = f"resumed from update {max(kept, default=0)}", run_cli(
        "train", "--resume", str(run))
    cut = len(kept) == 1 and "lacks its best model" in recover.stderr
    if not kept or (cut and recover.returncode == 2):
        assert recover.returncode == 2, recover.stderr[-3000:]
        if cut:  # a warning naming the cut checkpoint, then the error
            warning, error = [line for line in recover.stderr.splitlines() if line.strip()]
            assert warning.startswith("agentic-jax: warning: "), warning
            assert_one_line_error(error, "no usable checkpoint")
        else:
            assert_one_line_error(recover.stderr)
        outcome, recover = "restarted", run_cli("train", "--config", str(config_file),
                                                "--run-dir", str(run), "--overwrite")
    assert recover.returncode == 0, recover.stderr[-3000:]
    assert "Traceback" not in recover.stderr, recover.stderr[-3000:]
    return outcome


def wait_for_update(proc: subprocess.Popen, run: Path, update: int) -> None:
    """Return once `run`'s training has logged `update` (or the process has ended)."""
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        records = read_records(run, "train")
        if records and records[-1]["update"] >= update:
            return
        time.sleep(0.005)
