"""Fault injection: the real CLI against an existing run, a second writer, a read-only or full
file system, a file as run directory, damaged checkpoints and SIGKILLs at random moments.

Every failure must end in one `agentic-jax: error:` line with exit status 2 and no traceback,
leaving the earlier run's files unchanged (checksums) or resumable to the very result of an
uninterrupted run. Processes that must be separate (a second writer, a killed one, noise from
orbax's threads) are subprocesses running `python -m agentic_jax.cli`; the rest call `main`.

Read-only and full file systems are real mounts inside a private mount namespace (`unshare
-m`): a read-only bind mount of the run directory, and a tmpfs too small for the whole run, so
TensorStore's own writes fail as on a real disk. Those tests skip where mount namespaces are
not permitted (they need root or unprivileged user namespaces).
"""

from __future__ import annotations

import json
import random
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml
from fault_helpers import (
    assert_one_line_error,
    checksums,
    cli_command,
    in_mount_namespace,
    needs_mounts,
    run_cli,
    start_cli,
)

from agentic_jax.cli import main
from agentic_jax.system import AgenticRLSystem, CheckpointError, RunExistsError, RunLockedError
from agentic_jax.system.compiled import compiled_functions
from agentic_jax.training.store import read_records, step_dirs

from .conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]
UPDATES = 16  # checkpoints every 4 updates, evaluations every 2
DISK_KB = 450  # a tmpfs that fills between the first checkpoint (~300 KB) and the end (~630 KB)


# ---- helpers ------------------------------------------------------------------------------
def final_params(run_dir: Path) -> list[np.ndarray]:
    system = AgenticRLSystem.load(run_dir / "checkpoints")
    assert system.update_step == UPDATES
    return [np.asarray(x) for x in jax.tree.leaves(system.runner_state.train_state)]


def assert_same_result(run_dir: Path, reference: Path) -> None:
    """The run ended exactly as the uninterrupted reference: records and state, bit for bit."""
    assert read_records(run_dir) == read_records(reference)
    for a, b in zip(final_params(run_dir), final_params(reference), strict=True):
        np.testing.assert_array_equal(a, b)
    assert step_dirs(run_dir / "best_model") == step_dirs(reference / "best_model")


def copy_run(source: Path, tmp_path: Path, name: str = "run") -> Path:
    return Path(shutil.copytree(source, tmp_path / name))


# ---- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    config = tiny_config(async_checkpointing=True, heuristics=[])  # no heuristics to compile
    config["ppo"]["total_timesteps"] = 64 * UPDATES
    path = tmp_path_factory.mktemp("faults") / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def reference(config_file, tmp_path_factory) -> Path:
    """An uninterrupted run of the config, trained in this process."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    assert main(["train", "--config", str(config_file), "--run-dir", str(run_dir)]) == 0
    return run_dir


# ---- an existing run ------------------------------------------------------------------------
def test_existing_run_is_refused_and_left_unchanged(reference, config_file, tmp_path, capsys):
    run = copy_run(reference, tmp_path)
    before = checksums(run)
    cache = compiled_functions.cache_info()
    assert main(["train", "--config", str(config_file), "--run-dir", str(run)]) == 2
    assert_one_line_error(capsys.readouterr().err, "already holds a run", "--resume",
                          "--overwrite", "--run-dir")
    after = compiled_functions.cache_info()
    assert after.hits + after.misses == cache.hits + cache.misses, "built before the check"
    with pytest.raises(RunExistsError, match="overwrite=True"):
        AgenticRLSystem(yaml.safe_load(config_file.read_text()), run).train()
    assert checksums(run) == before


def test_overwrite_moves_the_earlier_run_aside(reference, config_file, tmp_path, capsys):
    run = copy_run(reference, tmp_path)
    before = checksums(run)
    assert main(["train", "--config", str(config_file), "--run-dir", str(run),
                 "--overwrite"]) == 0
    out = capsys.readouterr().out
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(moved) == 1 and str(moved[0]) in out
    assert checksums(moved[0]) == before  # moved, not deleted or changed
    assert_same_result(run, reference)
    assert f"run in {run}, best model in {run / 'best_model'}" in out


# ---- two writers ------------------------------------------------------------------------------
def test_second_writer_is_refused_then_the_killed_first_resumes(reference, config_file,
                                                                tmp_path, capsys):
    """Writers refused while the first one runs; the first then SIGKILLed at a random moment
    and finished (its lock file naming a dead process is no obstacle), ending as the
    uninterrupted run."""
    run = tmp_path / "run"
    writer = start_cli("train", "--config", str(config_file), "--run-dir", str(run))
    holder = f"pid {writer.pid}"
    deadline = time.time() + 240
    while holder not in ((run / ".lock").read_text() if (run / ".lock").is_file() else ""):
        assert writer.poll() is None and time.time() < deadline, writer.stderr.read()
        time.sleep(0.01)
    for argv in (["train", "--config", str(config_file), "--run-dir", str(run)],
                 ["train", "--config", str(config_file), "--run-dir", str(run), "--overwrite"],
                 ["train", "--resume", str(run)]):
        assert main(argv) == 2
        assert_one_line_error(capsys.readouterr().err, "is being written by", holder)
    with pytest.raises(RunLockedError, match=holder):
        AgenticRLSystem.resume(run)
    assert writer.poll() is None, "the writer ended before the second one was refused"
    outcome = finish_after_kill(config_file, run, writer, random.Random(1).uniform(0, 8))
    assert_same_result(run, reference)  # nothing interleaved, nothing lost
    assert outcome != "finished"


# ---- file-system failures -----------------------------------------------------------------------
def test_file_or_wrong_kind_of_path_is_named(config_file, tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("not a run\n")
    cases = [
        (["train", "--config", str(config_file), "--run-dir", str(file)],
         "is a file, not a directory"),
        (["train", "--config", str(config_file), "--run-dir", str(file / "run")],
         "is a file, not a directory"),
        (["train", "--resume", str(file)], "is a file, not a run directory"),
        (["evaluate", str(file)], "is a file, not a run or checkpoint directory"),
        (["train", "--config", str(tmp_path)], "is a directory, not a file"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        line = assert_one_line_error(capsys.readouterr().err, words)
        assert "does not exist" not in line
    assert file.read_text() == "not a run\n"


@needs_mounts
def test_read_only_run_dir_or_parent_is_one_line(reference, config_file, tmp_path):
    run = copy_run(reference, tmp_path)
    before = checksums(run)
    logs = tmp_path / "logs"
    logs.mkdir()
    resume = shlex.join(cli_command("train", "--resume", str(run)))
    new = shlex.join(cli_command("train", "--config", str(config_file), "--run-dir",
                                 str(run / "new")))
    script = (f"mount --bind {run} {run} && mount -o remount,bind,ro {run} {run} || exit 99\n"
              f"{resume} 2> {logs}/resume.err; echo $? > {logs}/resume.rc\n"
              f"{new} 2> {logs}/new.err; echo $? > {logs}/new.rc\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    for name in ("resume", "new"):
        assert (logs / f"{name}.rc").read_text().strip() == "2"
        assert_one_line_error((logs / f"{name}.err").read_text(), "read-only file system")
    assert checksums(run) == before


@needs_mounts
def test_full_disk_stops_in_one_line_and_resumes(reference, config_file, tmp_path):
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    train = shlex.join(cli_command("train", "--config", str(config_file), "--run-dir",
                                   str(disk / "run")))
    script = (f"mount -t tmpfs -o size={DISK_KB}k tmpfs {disk} || exit 99\n"
              f"{train} 2> {logs}/train.err; echo $? > {logs}/train.rc\n"
              f"cp -a {disk}/run {tmp_path}/run\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    assert (logs / "train.rc").read_text().strip() == "2", (logs / "train.err").read_text()
    line = assert_one_line_error((logs / "train.err").read_text(), "no space left on device",
                                 "is kept", "--resume")
    run = tmp_path / "run"
    kept = step_dirs(run / "checkpoints")
    assert kept and max(kept) < UPDATES and f"checkpoint {max(kept)}" in line
    assert main(["train", "--resume", str(run)]) == 0  # once there is space again
    assert_same_result(run, reference)


# ---- damaged checkpoints ----------------------------------------------------------------------
def test_truncated_newest_checkpoint_falls_back_in_one_warning(reference, tmp_path):
    run = copy_run(reference, tmp_path)
    newest = run / "checkpoints" / str(UPDATES)
    for data in (newest / "state").rglob("d/*"):
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    resumed = run_cli("train", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Traceback" not in resumed.stderr and "Event loop" not in resumed.stderr
    warnings = [line for line in resumed.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "falling back" in warnings[0], resumed.stderr[-3000:]
    assert [p.name.split("-")[0] for p in (run / "corrupt_checkpoints").iterdir()] == [
        str(UPDATES)]
    assert_same_result(run, reference)


def test_hand_edited_config_in_checkpoint_is_corrupt(reference, tmp_path):
    run = copy_run(reference, tmp_path)
    meta_file = run / "checkpoints" / str(UPDATES) / "meta" / "metadata"
    meta = json.loads(meta_file.read_text())
    meta["config"]["ppo"]["learning_rate"] *= 10
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="changed after saving"):
        AgenticRLSystem.load(meta_file.parent.parent)
    with pytest.warns(RuntimeWarning, match="changed after saving"):
        system = AgenticRLSystem.resume(run)
    assert system.update_step == UPDATES - 4  # the checkpoint before
    system.train()
    assert_same_result(run, reference)


# ---- SIGKILL at random moments (one more in the second-writer test) ---------------------
def finish_after_kill(config_file: Path, run: Path, proc: subprocess.Popen, delay: float) -> str:
    """SIGKILL the training `proc` after `delay` s, then finish its run: resumed from its
    newest checkpoint, or started again (`--overwrite`) when it died before the first one.

    Returns:
        "resumed from update N", "restarted" (killed before its first checkpoint) or
        "finished" (it ended before the kill).
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
    if kept:
        outcome = f"resumed from update {max(kept)}"
        recover = run_cli("train", "--resume", str(run))
    else:
        refused = run_cli("train", "--resume", str(run))
        assert refused.returncode == 2
        assert_one_line_error(refused.stderr)
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


@pytest.mark.slow  # each trial: a killed and a resumed CLI process, ~20 s on 2 CPU cores
def test_twenty_sigkills_at_random_moments(reference, config_file, tmp_path):
    """20 runs SIGKILLed at random moments of their training: after a random update (1-16)
    was logged, plus a random 0-300 ms (evaluations, checkpoint and best-model writes run
    then); a run that ends first is drawn again. Each is then finished (resumed, or started
    again when no checkpoint was written) and ends exactly as the uninterrupted run."""
    rng = random.Random(2026)
    outcomes = []
    while len(outcomes) - outcomes.count("finished") < 20:
        assert len(outcomes) < 40, outcomes
        run = tmp_path / f"killed-{len(outcomes)}"
        proc = start_cli("train", "--config", str(config_file), "--run-dir", str(run))
        wait_for_update(proc, run, rng.randint(1, UPDATES))
        outcomes.append(finish_after_kill(config_file, run, proc, rng.uniform(0, 0.3)))
        assert_same_result(run, reference)
    print("\n20 SIGKILLs:", {o: outcomes.count(o) for o in sorted(set(outcomes))})
