"""The run logger's progress bar: an ETA column, and steps/s of this process only."""

from __future__ import annotations

import time

import numpy as np

from agentic_jax.system.logging import RunLogger


def test_progress_bar_has_eta_and_counts_this_process_steps(capsys):
    # a resumed run: 10,000 steps were done by an earlier process
    logger = RunLogger(None, total_timesteps=20_000, start_timestep=10_000, start_update=10,
                       progress=True, verbose=False, tensorboard=False)
    time.sleep(0.2)
    logger.log_train({"timestep": np.array([10_500, 11_000]), "update": np.array([11, 12])})
    sps = logger.steps_per_second(11_000)
    logger.close()
    assert 0 < sps <= 1_000 / 0.2  # 1,000 steps of this process over at least 0.2 s
    out = capsys.readouterr().out
    assert "ETA" in out and "11,000/20,000" in out
