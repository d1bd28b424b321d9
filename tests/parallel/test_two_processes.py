"""Multi-host on one machine: 2 processes x 2 forced devices (`jax.distributed`, coordinator on
127.0.0.1) train like 1 process on 4 devices, and their checkpoint resumes on 1 device."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
import yaml

from agentic_jax.system import AgenticRLSystem
from agentic_jax.training.store import read_records

from .forced import HERE, REPO, forced_env, run_checked, run_forced
from .two_processes import config

ATOL = 1e-5  # float sums in another order (gloo's cross-process all-reduce); ints exact


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_close(a_path, b_path) -> None:
    a, b = np.load(a_path), np.load(b_path)
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        if a[name].dtype.kind == "f":
            np.testing.assert_allclose(a[name], b[name], rtol=0, atol=ATOL, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def run_two(argv: list[str]) -> list[str]:
    """Start `argv + [process id]` as processes 0 and 1 (2 forced devices each); their
    stdouts once both exited 0."""
    workers = [subprocess.Popen([*argv, str(i)], cwd=REPO, env=forced_env(2),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    outs = []
    try:
        for proc in workers:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-4000:]
            outs.append(out)
    finally:
        for proc in workers:  # a hung process ignores SIGTERM (JAX's preemption notifier)
            if proc.poll() is None:
                proc.kill()
    return outs


@pytest.mark.slow
def test_two_processes_match_four_devices_and_resume_on_one(tmp_path):
    outs = run_two([sys.executable, str(HERE / "two_processes.py"), "worker", str(tmp_path),
                    str(free_port())])
    facts = [json.loads(out.strip().splitlines()[-1]) for out in outs]
    for i, f in enumerate(facts):
        assert f["process"] == i and f["processes"] == 2 and f["devices"] == 4
        assert f["local_devices"] == 2 and f["env_devices"] == 4
        assert f["local_shards"] == [2, 2]  # each process steps 4 of the 8 envs
        assert f["updates"] == 4 and f["writer"] == (i == 0)
    run = tmp_path / "run"
    assert (run / "metrics.jsonl").is_file() and (run / "config.yaml").is_file()
    assert sorted(int(p.name) for p in (run / "checkpoints").iterdir()) == [2, 4]

    single = run_forced("two_processes.py", "single", str(tmp_path), devices=4, timeout=600)
    assert single["devices"] == 4
    assert_close(tmp_path / "two.npz", tmp_path / "four.npz")
    assert single["resumed_from"] == 2 and single["updates"] == 4
    assert single["resumed_devices"] == 1
    assert_close(tmp_path / "resumed_one.npz", tmp_path / "four.npz")


@pytest.mark.slow
def test_cli_trains_on_two_processes_and_one_writes_the_files(tmp_path):
    path, run = tmp_path / "run.yaml", tmp_path / "run"
    path.write_text(yaml.safe_dump(config()))
    run_two([sys.executable, "-m", "agentic_jax.cli", "train", "--config", str(path),
             "--run-dir", str(run), "--coordinator", f"127.0.0.1:{free_port()}",
             "--num-processes", "2", "--process-id"])
    updates = [r["update"] for r in read_records(run, "train")]
    assert updates == [1, 2, 3, 4]  # written once, by process 0
    assert sorted(int(p.name) for p in (run / "checkpoints").iterdir()) == [2, 4]
    system = AgenticRLSystem.load(run / "checkpoints")  # here: one process, one device
    assert system.update_step == 4


@pytest.mark.slow
def test_warm_start_on_two_processes_matches_four_devices(tmp_path):
    """`--init-from` under `jax.distributed`: each process loads the 2-agent run (trained on
    one device) and warm-starts the 4-agent run from it; training then matches one process
    on 4 devices, and both runs record their source."""
    cfg = config()
    cfg["env"].update({"n_agents": 2, "max_tasks": 4, "action_mode": "select"})
    cfg["ppo"].update({"policy": "discrete", "actor": "ippo"})
    path, small = tmp_path / "small.yaml", tmp_path / "small"
    path.write_text(yaml.safe_dump(cfg))
    train = [sys.executable, "-m", "agentic_jax.cli", "train", "--config", str(path),
             "--no-pictures"]
    run_checked([*train, "--run-dir", str(small)], devices=1)
    larger = ["--team-size", "4", "--init-from", str(small)]
    run_two([*train, *larger, "--run-dir", str(tmp_path / "two"),
             "--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", "2",
             "--process-id"])
    run_checked([*train, *larger, "--run-dir", str(tmp_path / "four")], devices=4)
    source = AgenticRLSystem.load(small / "checkpoints")
    two, four = (AgenticRLSystem.load(tmp_path / run / "checkpoints") for run in ("two", "four"))
    for system in (two, four):
        assert system.env.n_agents == 4 and system.update_step == 4
        assert system.started_from == {"path": str(small), "updates": source.update_step,
                                       "timesteps": source.num_timesteps, "n_agents": 2}
    for a, b in zip(jax.tree.leaves(two.runner_state.train_state.params),
                    jax.tree.leaves(four.runner_state.train_state.params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.asarray(two.runner_state.obs_rms.mean),
                               np.asarray(four.runner_state.obs_rms.mean), rtol=0, atol=ATOL)
