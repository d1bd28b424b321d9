"""`MemberBoard`: TensorBoard event files appended per member run, readable record by record."""

from __future__ import annotations

import struct

import numpy as np
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.record_writer import masked_crc32c

from agentic_jax.training.board import MemberBoard, run_name


def _events(path):
    data, i, out = path.read_bytes(), 0, []
    while i < len(data):
        header = data[i:i + 8]
        (length,) = struct.unpack("Q", header)
        assert struct.unpack("I", data[i + 8:i + 12])[0] == masked_crc32c(header)
        body = data[i + 12:i + 12 + length]
        assert struct.unpack("I", data[i + 12 + length:i + 16 + length])[0] == masked_crc32c(body)
        event = Event()
        event.ParseFromString(body)
        out.append(event)
        i += 16 + length
    return out


def test_scalars_and_a_restart_marker_in_one_file_per_member(tmp_path):
    run = run_name("ppo.net_arch=[8,8],env.x=0.5/y", 3)
    assert run == "ppo.net_arch=[8,8],env.x=0.5_y/seed_3"
    board = MemberBoard(tmp_path)
    board.scalars(run, {1: {"train/loss": 0.5}, 2: {"train/loss": 0.25, "eval/r": 3.0}})
    MemberBoard(tmp_path).restart(run, 2)  # a resumed sweep appends to the same file
    (path,) = (tmp_path / run).glob("events.out.tfevents.*")
    events = _events(path)
    assert events[0].file_version == "brain.Event:2"
    assert [(e.step, v.tag, v.simple_value) for e in events[1:3] for v in e.summary.value] == [
        (1, "train/loss", 0.5), (2, "train/loss", 0.25), (2, "eval/r", 3.0)]
    assert events[3].step == 2 and events[3].session_log.status == SessionLog.START


def test_a_run_writes_its_scalars_to_tensorboard_root_and_marks_a_resume(tmp_path):
    from agentic_jax.training.logs import Logger
    from agentic_jax.training.store import RunDir

    files = RunDir(tmp_path)
    logger = Logger(files, total_timesteps=100, start_timestep=40, progress=False,
                    verbose=False)
    logger.restart(None, 4)
    logger.log_train(np.array([5]), np.array([50]), {"loss": np.array([[0.5]])})
    logger.log_eval(5, 50, {"mean_reward": np.array([2.0])}, np.array([True]))
    logger.close()
    (path,) = files.tensorboard.glob("events.out.tfevents.*")
    events = _events(path)
    # resumed after update 4: the marker hides a killed run's events from update 5 on
    assert events[1].step == 5 and events[1].session_log.status == SessionLog.START
    assert [(e.step, v.tag, v.simple_value) for e in events[2:] for v in e.summary.value] == [
        (5, "train/loss", 0.5), (5, "eval/mean_reward", 2.0)]
