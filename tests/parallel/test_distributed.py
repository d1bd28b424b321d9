"""`parallel.distributed` without starting it: when a multi-process run is asked for, and the
checks on the process settings (all before `jax.distributed.initialize` is reached)."""

from __future__ import annotations

import pytest

from agentic_jax.parallel import distributed

VARS = (*distributed.ENV_VARS, *distributed.CLUSTER_SIZES)


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_requested_by_flags_env_vars_or_a_multi_task_launch(clean_env):
    assert not distributed.requested()
    assert distributed.requested(coordinator="127.0.0.1:1234")
    assert distributed.requested(process_id=0)
    clean_env.setenv("SLURM_NTASKS", "1")
    assert not distributed.requested()  # a one-task SLURM job is a single process
    clean_env.setenv("SLURM_NTASKS", "2")
    assert distributed.requested()
    clean_env.delenv("SLURM_NTASKS")
    clean_env.setenv("JAX_NUM_PROCESSES", "2")
    assert distributed.requested()


@pytest.mark.parametrize("kwargs, match", [
    ({"num_processes": 0, "process_id": 0}, r"--num-processes=0 is out of range"),
    ({"num_processes": 2, "process_id": 2}, r"--process-id=2 is out of range \(allowed: an int "
                                            r"in \[0, 1\]\)"),
])
def test_bad_process_settings_are_named(clean_env, kwargs, match):
    with pytest.raises(ValueError, match=match):
        distributed.initialize("127.0.0.1:1", **kwargs)


def test_env_vars_fill_in_missing_settings(clean_env):
    clean_env.setenv("JAX_NUM_PROCESSES", "2")
    clean_env.setenv("JAX_PROCESS_ID", "5")
    with pytest.raises(ValueError, match=r"--process-id=5 is out of range"):
        distributed.initialize("127.0.0.1:1")
