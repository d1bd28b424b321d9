"""The logger of runs and sweeps (`training/logs.py`): one record and evaluations.csv format (a
run is one member, its values unwrapped), rewinding both files, and the progress bar."""

from __future__ import annotations

import csv
import time
from types import SimpleNamespace

import numpy as np

from agentic_jax.sweep.files import SweepDir
from agentic_jax.training.logs import Logger, sweep_logger
from agentic_jax.training.store import RunDir, read_evaluations, read_records


def _rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_run_logs_one_value_per_metric(tmp_path):
    files = RunDir(tmp_path)
    logger = Logger(files, 100, progress=False, verbose=False, tensorboard=False)
    logger.log_train(np.array([1, 2]), np.array([8, 16]),
                     {"update": np.array([[1, 2]]), "loss": np.array([[0.5, np.nan]])})
    logger.log_eval(2, 16, {"mean_reward": np.array([1.5]), "drops": np.array([np.inf])},
                    np.array([True]))
    logger.close()
    assert read_records(tmp_path) == [
        {"kind": "train", "update": 1, "timestep": 8, "loss": 0.5},
        {"kind": "train", "update": 2, "timestep": 16, "loss": None},
        {"kind": "eval", "update": 2, "timestep": 16, "mean_reward": 1.5, "drops": None,
         "best": True}]
    assert _rows(files.evaluations) == [{"update": "2", "timestep": "16", "mean_reward": "1.5",
                                         "drops": "inf", "best": "True"}]


def test_a_sweep_logs_one_value_per_call_member(tmp_path):
    files = SweepDir(tmp_path)
    members = [SimpleNamespace(index=3, label="a", seed=0), SimpleNamespace(index=5, label="b",
                                                                             seed=1)]
    logger = sweep_logger(files, 100, 8, progress=False, verbose=False, tensorboard=False)
    logger.log_train(np.array([1]), np.array([8]), {"loss": np.array([[0.5], [0.25]])},
                     np.array([True, False]), members, call=1)
    logger.log_eval(1, 8, {"mean_reward": np.array([1.0, 2.0]),
                           "episode_rewards": np.zeros((2, 4))},
                    np.array([True, False]), np.array([True, False]), members, call=1)
    assert files.records() == [
        {"kind": "train", "call": 1, "update": 1, "timestep": 8, "members": [3, 5],
         "loss": [0.5, None]},
        {"kind": "eval", "call": 1, "update": 1, "timestep": 8, "members": [3, 5],
         "mean_reward": [1.0, 2.0], "best": [True, False], "active": [True, False]}]
    assert [(r["member"], r["label"], r["seed"], r["call"], r["mean_reward"], r["active"])
            for r in _rows(files.evaluations)] == [("3", "a", "0", "1", "1.0", "True"),
                                                   ("5", "b", "1", "1", "2.0", "False")]


def test_rewind_drops_later_records_and_rows_of_runs_and_sweeps(tmp_path):
    run = RunDir(tmp_path / "run")
    logger = Logger(run, 100, progress=False, verbose=False, tensorboard=False)
    sweep = SweepDir(tmp_path / "sweep")
    member = [SimpleNamespace(index=0, label="a", seed=0)]
    swept = sweep_logger(sweep, 100, 1, progress=False, verbose=False, tensorboard=False)
    for call in (0, 1):
        for update in range(1, 5):
            metrics = {"loss": np.array([[float(update)]])}
            evaluation = {"mean_reward": np.array([float(update)])}
            if call == 0:
                logger.log_train(np.array([update]), np.array([8 * update]), metrics)
                logger.log_eval(update, 8 * update, evaluation, np.array([True]))
            swept.log_train(np.array([update]), np.array([8 * update]), metrics, None, member,
                            call)
            swept.log_eval(update, 8 * update, evaluation, np.array([True]), np.array([True]),
                           member, call)
    with run.evaluations.open("a") as f:
        f.write("5,40,5.")  # a row cut by a kill
    run.rewind(2)
    assert [r["update"] for r in read_records(run.path)] == [1, 1, 2, 2]
    assert [r["update"] for r in read_evaluations(run.path)] == ["1", "2"]
    sweep.rewind(1, 3)
    assert [(r["call"], r["update"]) for r in sweep.records("eval")] == [
        (0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3)]
    assert [(r["call"], r["update"]) for r in read_evaluations(sweep.path)] == [
        (str(c), str(u)) for c, u in ((0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3))]
    sweep.rewind(0, 0)
    assert sweep.records() == [] and not sweep.evaluations.exists()


def test_progress_bar_has_eta_and_counts_this_process_steps(capsys):
    # a resumed run: 10,000 steps were done by an earlier process
    logger = Logger(None, total_timesteps=20_000, start_timestep=10_000, progress=True,
                    verbose=False, tensorboard=False)
    time.sleep(0.2)
    logger.log_train(np.array([11, 12]), np.array([10_500, 11_000]), {})
    logger.progress(11_000)
    sps = logger.steps_per_second(11_000)
    logger.close()
    assert 0 < sps <= 1_000 / 0.2  # 1,000 steps of this process over at least 0.2 s
    out = capsys.readouterr().out
    assert "ETA" in out and "11,000/20,000" in out


def test_sweep_bar_shows_call_members_training_and_best(capsys):
    logger = sweep_logger(None, 1_000, 8, progress=True, verbose=False, tensorboard=False)
    logger.progress(500, call=2, training=3)
    logger.log_eval(4, 32, {"mean_reward": np.array([1.0, np.nan])}, np.ones(2, bool),
                    np.ones(2, bool), [SimpleNamespace(index=i, label="a", seed=i)
                                       for i in range(2)], 2)
    logger.close()
    out = capsys.readouterr().out
    assert "500/1,000 member steps" in out and "call 2" in out and "training 3/8" in out
    assert "best 1.0" in out


def test_without_a_terminal_the_bar_is_printed_as_lines_at_most_every_plain_every_s(capsys):
    # capsys: the output is not a terminal, where rich would draw the bar only when it stops
    every = Logger(None, 1_000, progress=True, verbose=False, tensorboard=False,
                   plain_every_s=0)
    for done in (100, 200, 300):
        every.progress(done)
        assert f"{done:,}/1,000 steps" in capsys.readouterr().out  # printed while training
    every.close()
    capsys.readouterr()
    sparse = Logger(None, 1_000, progress=True, verbose=False, tensorboard=False,
                    plain_every_s=3600)
    for done in (100, 200, 300):
        sparse.progress(done)
    out = capsys.readouterr().out
    assert "100/1,000 steps" in out and "200/1,000" not in out and "300/1,000" not in out
    sparse.close()
    assert "300/1,000 steps" in capsys.readouterr().out  # the bar's own last line
