"""Issue 28: sizes bounded before anything is allocated, and messages that name what to do
(a subprocess where the process itself is at stake: its exit status, its output, its time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentic_jax.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(CONFIGS.parent)}
    return subprocess.run([sys.executable, "-m", "agentic_jax.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_huge_or_unfitting_sizes_exit_2_in_one_line_before_allocating(tmp_path):
    """`--set env.n_agents=1e9` grew to all the machine's memory; now it (and a size within
    the bounds whose estimate exceeds free memory) exits 2 in one line within seconds."""
    run_dir = tmp_path / "run"
    cases = [(["--set", "env.n_agents=1e9"],
              "env.n_agents=1000000000 is out of range (allowed: an int in [1, 1024])"),
             (["--set", "env.n_agents=1024", "--set", "ppo.n_envs=65536"],
              "this run needs about")]
    for extra, message in cases:
        out = _cli("train", "--config", str(CONFIGS / "quick.yaml"), "--run-dir", str(run_dir),
                   *extra)
        err = [line for line in out.stderr.splitlines() if "warning:" not in line]
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert len(err) == 1 and err[0].startswith("agentic-jax: error:"), out.stderr
        assert out.stdout == ""
        assert message in err[0]
        assert not run_dir.exists()  # nothing written


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--config", "{quick}", "--team-size", "0"],
         "--team-size 0 is invalid (allowed: a multiple of env.n_agents=4, >= 1)"),
        (["train", "--config", "{quick}", "--team-size", "-4"], "--team-size -4 is invalid"),
        (["train", "--config", "{quick}", "--team-size", "4096"],
         "env.n_agents=4096 is out of range"),
        (["train", "--config", "{quick}", "--set", "ppo.n_envs=1e7"],
         "ppo.n_envs=10000000 is out of range (allowed: an int in [1, 1048576])"),
        (["train", "--config", "{quick}", "--set", "ppo.net_arch=[100000]"],
         "ppo.net_arch.pi=[100000] is too large"),
        (["train", "--config", "{quick}", "--set", "system.n_eval_episodes=1e9"],
         "system.n_eval_episodes=1000000000 is out of range"),
        (["train", "--config", "{quick}", "--set", "env.max_steps_in_episode=1e12"],
         "env.max_steps_in_episode=1000000000000 is out of range"),
        (["sweep", "--config", "{sweep}", "--memory-budget-mb", "nan"],
         "--memory-budget-mb nan is invalid (allowed: a finite number of MB > 0)"),
        (["sweep", "--resume", "{sweep}"], "is a file, not a sweep directory"),
        (["train", "--config", "{empty}"], "is empty"),
        (["train", "--config", "{dup}"], ":3: duplicate key 'ppo' (first on line 1)"),
    ],
)
def test_messages_name_what_to_do(argv, message, tmp_path, capsys):
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "dup.yaml").write_text("ppo:\n  n_envs: 64\nppo:\n  n_envs: 4\n")
    names = {"quick": CONFIGS / "quick.yaml", "sweep": CONFIGS / "sweep.yaml",
             "empty": tmp_path / "empty.yaml", "dup": tmp_path / "dup.yaml"}
    argv = [a.format(**names) for a in argv]
    assert main([*argv, "--run-dir", str(tmp_path / "out")] if "--config" in argv
                else argv) == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if "warning:" not in line]  # import warnings
    assert len(lines) == 1 and lines[0].startswith("agentic-jax: error:"), err
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


def test_resume_is_advised_only_when_a_checkpoint_exists(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("env: {}\n")  # a run killed before its first checkpoint
    argv = ["train", "--config", str(CONFIGS / "quick.yaml"), "--run-dir", str(run_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no checkpoint to resume from" in err and "--resume" not in err
    (run_dir / "checkpoints" / "4").mkdir(parents=True)
    assert main(argv) == 2
    assert f"continue it with --resume {run_dir}" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "config.yaml"]
