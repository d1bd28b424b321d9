"""Fault injection for sweeps, under the run's rules (`tests/system/test_faults.py`): the real
CLI against an existing directory, a second writer, a read-only or full file system, and a
SIGKILL followed by `sweep --resume`.

Every failure ends in one `agentic-jax: error:` line with exit status 2 and no traceback,
leaving the earlier sweep's files unchanged (checksums) or resumable to the very result of an
uninterrupted sweep (records, evaluations and results).
"""

from __future__ import annotations

import shlex
import shutil
import time
from pathlib import Path

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
from kill_helpers import checkpoint_steps, kill_after_checkpoint

from agentic_jax.cli import main
from agentic_jax.sweep import Sweep
from agentic_jax.sweep.engine import group_functions
from agentic_jax.system import RunExistsError, RunLockedError

from .conftest import tiny_sweep

UPDATES = 16  # checkpoints every 4 updates (~0.5 MB each), evaluations every 2
DISK_KB = 900  # a tmpfs that holds the first checkpoint but not the second
SAME_FILES = ("metrics.jsonl", "evaluations.csv", "members.csv", "calls.json", "results.csv",
              "results.json", "results.md")


def assert_same_result(sweep_dir: Path, reference: Path) -> None:
    """The sweep ended exactly as the uninterrupted reference: its records, evaluations (no
    line twice), results and final arrays."""
    for name in SAME_FILES:
        assert (sweep_dir / name).read_text() == (reference / name).read_text(), name
    with np.load(sweep_dir / "calls/0/final.npz") as a, np.load(reference /
                                                               "calls/0/final.npz") as b:
        for key in b.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert checkpoint_steps(sweep_dir / "calls/0/checkpoints") == checkpoint_steps(
        reference / "calls/0/checkpoints")


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    config = tiny_sweep(system={"async_checkpointing": True})
    assert config["ppo"]["total_timesteps"] == 64 * UPDATES
    path = tmp_path_factory.mktemp("sweep-faults") / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def reference(config_file, tmp_path_factory) -> Path:
    """An uninterrupted sweep of the config, trained in this process."""
    sweep_dir = tmp_path_factory.mktemp("sweep-reference") / "sweep"
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(sweep_dir)]) == 0
    return sweep_dir


def copy_sweep(source: Path, tmp_path: Path, name: str = "sweep") -> Path:
    return Path(shutil.copytree(source, tmp_path / name))


# ---- an existing directory ------------------------------------------------------------------
def test_existing_sweep_or_run_is_refused_and_left_unchanged(reference, config_file, tmp_path,
                                                             capsys):
    sweep_dir = copy_sweep(reference, tmp_path)
    before = checksums(sweep_dir)
    cache = group_functions.cache_info()
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(sweep_dir)]) == 2
    assert_one_line_error(capsys.readouterr().err, "already holds a sweep", "--resume",
                          "--overwrite", "--run-dir")
    after = group_functions.cache_info()
    assert after.hits + after.misses == cache.hits + cache.misses, "built before the check"
    with pytest.raises(RunExistsError, match="Sweep.resume"):
        Sweep(config_file, sweep_dir).run()
    assert checksums(sweep_dir) == before
    run_dir = tmp_path / "run"  # a run's directory is no place for a sweep either
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("{}\n")
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(run_dir)]) == 2
    assert_one_line_error(capsys.readouterr().err, "already holds a", "metrics.jsonl")


def test_overwrite_moves_the_earlier_sweep_aside(reference, config_file, tmp_path, capsys):
    sweep_dir = copy_sweep(reference, tmp_path)
    before = checksums(sweep_dir)
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(sweep_dir),
                 "--overwrite"]) == 0
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("sweep.old-")]
    assert len(moved) == 1 and str(moved[0]) in capsys.readouterr().out
    assert checksums(moved[0]) == before  # moved, not deleted or changed
    assert_same_result(sweep_dir, reference)


# ---- two writers, then SIGKILL + resume ----------------------------------------------------
def test_second_writer_is_refused_then_the_killed_first_resumes(reference, config_file,
                                                                tmp_path, capsys):
    """While a sweep runs, a second `sweep --resume` (or a new sweep into its directory) is
    refused in one line naming the writer; the first is then SIGKILLed after a checkpoint and
    resumed, ending as the uninterrupted sweep (no record written twice)."""
    sweep_dir = tmp_path / "sweep"
    writer = start_cli("sweep", "--config", str(config_file), "--run-dir", str(sweep_dir))
    holder = f"pid {writer.pid}"
    lock = sweep_dir / ".lock"
    deadline = time.time() + 240
    while holder not in (lock.read_text() if lock.is_file() else ""):
        assert writer.poll() is None and time.time() < deadline, writer.stderr.read()
        time.sleep(0.01)
    for argv in (["sweep", "--resume", str(sweep_dir)],
                 ["sweep", "--config", str(config_file), "--run-dir", str(sweep_dir)],
                 ["sweep", "--config", str(config_file), "--run-dir", str(sweep_dir),
                  "--overwrite"]):
        assert main(argv) == 2, argv
        assert_one_line_error(capsys.readouterr().err, "is being written by", holder)
    with pytest.raises(RunLockedError, match=holder):
        Sweep.resume(sweep_dir)
    steps = kill_after_checkpoint(writer, sweep_dir / "calls/0/checkpoints")
    assert steps and max(steps) < UPDATES
    resumed = run_cli("sweep", "--resume", str(sweep_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Traceback" not in resumed.stderr
    assert_same_result(sweep_dir, reference)


# ---- file-system failures -------------------------------------------------------------------
@needs_mounts
def test_read_only_sweep_dir_is_one_line(reference, config_file, tmp_path):
    sweep_dir = copy_sweep(reference, tmp_path)
    before = checksums(sweep_dir)
    logs = tmp_path / "logs"
    logs.mkdir()
    resume = shlex.join(cli_command("sweep", "--resume", str(sweep_dir)))
    new = shlex.join(cli_command("sweep", "--config", str(config_file), "--run-dir",
                                 str(sweep_dir / "new")))
    script = (f"mount --bind {sweep_dir} {sweep_dir} && "
              f"mount -o remount,bind,ro {sweep_dir} {sweep_dir} || exit 99\n"
              f"{resume} 2> {logs}/resume.err; echo $? > {logs}/resume.rc\n"
              f"{new} 2> {logs}/new.err; echo $? > {logs}/new.rc\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    for name in ("resume", "new"):
        assert (logs / f"{name}.rc").read_text().strip() == "2"
        assert_one_line_error((logs / f"{name}.err").read_text(), "read-only file system")
    assert checksums(sweep_dir) == before


@needs_mounts
def test_full_disk_stops_in_one_line_and_resumes(reference, config_file, tmp_path):
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    sweep = shlex.join(cli_command("sweep", "--config", str(config_file), "--run-dir",
                                   str(disk / "sweep")))
    script = (f"mount -t tmpfs -o size={DISK_KB}k tmpfs {disk} || exit 99\n"
              f"{sweep} > /dev/null 2> {logs}/sweep.err; echo $? > {logs}/sweep.rc\n"
              f"cp -a {disk}/sweep {tmp_path}/sweep\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    err = (logs / "sweep.err").read_text()
    assert (logs / "sweep.rc").read_text().strip() == "2", err
    line = assert_one_line_error(err, "no space left on device", "is kept", "sweep --resume")
    sweep_dir = tmp_path / "sweep"
    kept = checkpoint_steps(sweep_dir / "calls/0/checkpoints")
    assert kept and max(kept) < UPDATES and f"checkpoint {max(kept)}" in line
    assert main(["sweep", "--resume", str(sweep_dir)]) == 0  # once there is space again
    assert_same_result(sweep_dir, reference)
