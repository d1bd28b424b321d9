"""Fault injection for runs and sweeps alike (`Kind`: tests/fault_kinds.py): the real CLI
against an existing directory, a second writer, a read-only or full file system, a SIGKILL
followed by `--resume`; for runs also a file as run directory, damaged checkpoints and
SIGKILLs at random moments.

Every failure must end in one `agentic-jax: error:` line with exit status 2 and no traceback,
leaving the earlier run's or sweep's files unchanged (checksums) or resumable to the very
result of an uninterrupted one. Processes that must be separate (a second writer, a killed one,
noise from orbax's threads) are subprocesses running `python -m agentic_jax.cli`; the rest call
`main`.

Read-only and full file systems are real mounts inside a private mount namespace (`unshare
-m`): a read-only bind mount of the directory, and a tmpfs too small for the whole run, so
TensorStore's own writes fail as on a real disk. Those tests skip where mount namespaces are
not permitted (they need root or unprivileged user namespaces).
"""

from __future__ import annotations

import json
import random
import shlex
import shutil
import time
from pathlib import Path

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
from fault_kinds import RUN, SWEEP, UPDATES, Kind, finish_after_kill, wait_for_update
from kill_helpers import checkpoint_steps, kill_after_checkpoint

from agentic_jax.cli import main
from agentic_jax.system import AgenticRLSystem, CheckpointError, RunExistsError, RunLockedError


# ---- fixtures -------------------------------------------------------------------------------
def _reference(kind: Kind, tmp_path_factory) -> tuple[Path, Path]:
    """`(config file, an uninterrupted run or sweep of it trained in this process)`."""
    folder = tmp_path_factory.mktemp(f"{kind}-faults")
    config = folder / f"{kind}.yaml"
    config.write_text(yaml.safe_dump(kind.config))
    directory = folder / kind.name
    assert main([kind.command, "--config", str(config), "--run-dir", str(directory)]) == 0
    return config, directory


@pytest.fixture(scope="module")
def run_reference(tmp_path_factory) -> tuple[Path, Path]:
    return _reference(RUN, tmp_path_factory)


@pytest.fixture(scope="module")
def sweep_reference(tmp_path_factory) -> tuple[Path, Path]:
    return _reference(SWEEP, tmp_path_factory)


@pytest.fixture(params=[RUN, SWEEP], ids=str)
def kind(request) -> Kind:
    return request.param


@pytest.fixture
def config_file(kind, request) -> Path:
    return request.getfixturevalue(f"{kind}_reference")[0]


@pytest.fixture
def reference(kind, request) -> Path:
    return request.getfixturevalue(f"{kind}_reference")[1]


def copy_of(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / source.name))


# ---- an existing directory ------------------------------------------------------------------
@pytest.mark.slow
def test_existing_directory_is_refused_and_left_unchanged(kind, reference, config_file,
                                                          tmp_path, capsys):
    directory = copy_of(reference, tmp_path)
    before = checksums(directory)
    cache = kind.programs.cache_info()
    new = [kind.command, "--config", str(config_file), "--run-dir", str(directory)]
    assert main(new) == 2
    assert_one_line_error(capsys.readouterr().err, f"already holds a {kind}", "--resume",
                          "--overwrite", "--run-dir")
    after = kind.programs.cache_info()
    assert after.hits + after.misses == cache.hits + cache.misses, "built before the check"
    with pytest.raises(RunExistsError, match="overwrite=True" if kind is RUN else "Sweep.resume"):
        kind.start(config_file, directory)
    assert checksums(directory) == before
    if kind is SWEEP:  # a run's directory is no place for a sweep either
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        (run_dir / "metrics.jsonl").write_text("{}\n")
        assert main([*new[:-1], str(run_dir)]) == 2
        assert_one_line_error(capsys.readouterr().err, "already holds a", "metrics.jsonl")


@pytest.mark.slow
def test_overwrite_moves_the_earlier_one_aside(kind, reference, config_file, tmp_path, capsys):
    directory = copy_of(reference, tmp_path)
    before = checksums(directory)
    assert main([kind.command, "--config", str(config_file), "--run-dir", str(directory),
                 "--overwrite"]) == 0
    out = capsys.readouterr().out
    moved = [p for p in tmp_path.iterdir() if p.name.startswith(f"{directory.name}.old-")]
    assert len(moved) == 1 and str(moved[0]) in out
    assert checksums(moved[0]) == before  # moved, not deleted or changed
    kind.same_result(directory, reference)
    if kind is RUN:
        assert f"run in {directory}, best model in {directory / 'best_model'}" in out


# ---- two writers, then SIGKILL + resume -----------------------------------------------------
@pytest.mark.slow
def test_second_writer_is_refused_then_the_killed_first_resumes(kind, reference, config_file,
                                                                tmp_path, capsys):
    """While one writes, a second writer (resume, new, `--overwrite`) is refused in one line
    naming it; the first is then SIGKILLed after a checkpoint (its lock file naming a dead
    process is no obstacle) and resumed, ending as the uninterrupted one (nothing
    interleaved, no record written twice)."""
    directory = tmp_path / kind.name
    writer = start_cli(kind.command, "--config", str(config_file), "--run-dir", str(directory))
    holder = f"pid {writer.pid}"
    lock = directory / ".lock"
    deadline = time.time() + 240
    while holder not in (lock.read_text() if lock.is_file() else ""):
        assert writer.poll() is None and time.time() < deadline, writer.stderr.read()
        time.sleep(0.01)
    new = [kind.command, "--config", str(config_file), "--run-dir", str(directory)]
    for argv in (new, [*new, "--overwrite"], [kind.command, "--resume", str(directory)]):
        assert main(argv) == 2, argv
        assert_one_line_error(capsys.readouterr().err, "is being written by", holder)
    with pytest.raises(RunLockedError, match=holder):
        kind.resume(directory)
    steps = kill_after_checkpoint(writer, directory / kind.checkpoints, kind.kill_after)
    assert steps and max(steps) < UPDATES
    resumed = run_cli(kind.command, "--resume", str(directory))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Traceback" not in resumed.stderr
    kind.same_result(directory, reference)


# ---- file-system failures -------------------------------------------------------------------
@pytest.mark.slow
@needs_mounts
def test_read_only_directory_or_parent_is_one_line(kind, reference, config_file, tmp_path):
    directory = copy_of(reference, tmp_path)
    before = checksums(directory)
    logs = tmp_path / "logs"
    logs.mkdir()
    resume = shlex.join(cli_command(kind.command, "--resume", str(directory)))
    new = shlex.join(cli_command(kind.command, "--config", str(config_file), "--run-dir",
                                 str(directory / "new")))
    script = (f"mount --bind {directory} {directory} && "
              f"mount -o remount,bind,ro {directory} {directory} || exit 99\n"
              f"{resume} 2> {logs}/resume.err; echo $? > {logs}/resume.rc\n"
              f"{new} 2> {logs}/new.err; echo $? > {logs}/new.rc\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    for name in ("resume", "new"):
        assert (logs / f"{name}.rc").read_text().strip() == "2"
        assert_one_line_error((logs / f"{name}.err").read_text(), "read-only file system")
    assert checksums(directory) == before


@pytest.mark.slow
@needs_mounts
def test_full_disk_stops_in_one_line_and_resumes(kind, reference, config_file, tmp_path):
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    command = shlex.join(cli_command(kind.command, "--config", str(config_file), "--run-dir",
                                     str(disk / kind.name)))
    script = (f"mount -t tmpfs -o size={kind.disk_kb}k tmpfs {disk} || exit 99\n"
              f"{command} > /dev/null 2> {logs}/out.err; echo $? > {logs}/out.rc\n"
              f"cp -a {disk}/{kind} {tmp_path}/{kind}\n")
    done = in_mount_namespace(script)
    assert done.returncode == 0, done.stderr
    err = (logs / "out.err").read_text()
    assert (logs / "out.rc").read_text().strip() == "2", err
    resume = "sweep --resume" if kind is SWEEP else "--resume"
    line = assert_one_line_error(err, "no space left on device", "is kept", resume)
    directory = tmp_path / kind.name
    kept = checkpoint_steps(directory / kind.checkpoints)
    assert kept and max(kept) < UPDATES and f"checkpoint {max(kept)}" in line
    assert main([kind.command, "--resume", str(directory)]) == 0  # once there is space again
    kind.same_result(directory, reference)


def test_file_or_wrong_kind_of_path_is_named(tmp_path, capsys):
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(RUN.config))
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


# ---- damaged checkpoints (runs) -------------------------------------------------------------
@pytest.mark.slow
def test_truncated_newest_checkpoint_falls_back_in_one_warning(run_reference, tmp_path):
    run = copy_of(run_reference[1], tmp_path)
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
    RUN.same_result(run, run_reference[1])


def test_hand_edited_config_in_checkpoint_is_corrupt(run_reference, tmp_path):
    run = copy_of(run_reference[1], tmp_path)
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
    RUN.same_result(run, run_reference[1])


# ---- SIGKILL at random moments (runs) -------------------------------------------------------
@pytest.mark.heavy  # each trial: a killed and a resumed CLI process, ~20 s on 2 CPU cores
def test_twenty_sigkills_at_random_moments(run_reference, tmp_path):
    """20 runs SIGKILLed at random moments of their training: after a random update (1-16)
    was logged, plus a random 0-300 ms (evaluations, checkpoint and best-model writes run
    then); a run that ends first is drawn again. Each is then finished (resumed, or started
    again when no checkpoint was written) and ends exactly as the uninterrupted run."""
    config_file, reference = run_reference
    rng = random.Random(2026)
    outcomes = []
    while len(outcomes) - outcomes.count("finished") < 20:
        assert len(outcomes) < 40, outcomes
        run = tmp_path / f"killed-{len(outcomes)}"
        proc = start_cli("train", "--config", str(config_file), "--run-dir", str(run))
        wait_for_update(proc, run, rng.randint(1, UPDATES))
        outcomes.append(finish_after_kill(config_file, run, proc, rng.uniform(0, 0.3)))
        RUN.same_result(run, reference)
    print("\n20 SIGKILLs:", {o: outcomes.count(o) for o in sorted(set(outcomes))})
