"""Who may write a run directory: the lock, the refusal, moving aside, a cut best-model write."""

from __future__ import annotations

import os

import pytest

from agentic_jax.system import CheckpointError, RunDirError, RunExistsError, RunLockedError
from agentic_jax.training.guard import RunClaim, best_model_saved, check_run_dir
from agentic_jax.training.lock import RunLock
from agentic_jax.training.store import RunDir


def test_one_lock_per_directory_even_in_one_process(tmp_path):
    first = RunLock(tmp_path).acquire()
    first.mark()
    with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
        RunLock(tmp_path).acquire()
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).probe()
    first.release()
    RunLock(tmp_path).probe()  # free again; the file still names the last holder
    assert f"pid {os.getpid()}" in (tmp_path / ".lock").read_text()
    RunLock(tmp_path).acquire().release()


def test_claim_refuses_a_run_and_overwrite_moves_it_aside(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(RunExistsError, match="metrics.jsonl"):
        check_run_dir(run)
    with pytest.raises(RunExistsError):
        RunClaim(RunDir(run)).acquire()
    assert (run / "metrics.jsonl").read_text() == "{}\n"
    check_run_dir(run, overwrite=True)
    claim = RunClaim(RunDir(run), overwrite=True).acquire()
    assert claim.moved_to is not None and claim.moved_to.name.startswith("run.old-")
    assert (claim.moved_to / "metrics.jsonl").read_text() == "{}\n"
    assert sorted(p.name for p in run.iterdir()) == [".lock"]
    claim.release()
    claim.acquire()  # the claim's own run: no refusal the second time
    claim.release()


def test_a_file_is_not_a_run_directory(tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    for path in (file, file / "sub"):
        with pytest.raises(RunDirError, match="is a file, not a directory"):
            check_run_dir(path)


def _meta(step, best):
    return {"step": step, "callbacks": {"best_update": best}}


def test_a_checkpoint_whose_best_model_write_was_cut_is_skipped(tmp_path):
    files = RunDir(tmp_path)
    for directory, steps in ((files.checkpoints, (4, 8)), (files.best_model, (3,))):
        for step in steps:
            (directory / str(step)).mkdir(parents=True)
    accept = best_model_saved(files)
    for step, best in ((8, 3), (8, 4), (4, 3), (8, None)):
        accept(_meta(step, best))  # saved, or found before the checkpoint before
    with pytest.raises(CheckpointError, match="lacks its best model"):
        accept(_meta(8, 6))  # found after checkpoint 4, its write beside checkpoint 8 lost
    (files.best_model / "10").mkdir()
    best_model_saved(files)(_meta(8, 6))  # a newer best model: the resumed run recomputes it
