"""Issue 28: a property-style fuzz of `agentic-jax train` (heavy tier): random `--set` keys of
every section with huge, negative, NaN, wrong-type and ordinary values. Each of the 200 cases
(fixed seed) must end with exit status 0 or 2 within its timeout, print one error line and no
traceback when it fails, and leave an existing run's files unchanged."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentic_jax.config import EnvConfig, PPOConfig, SystemConfig
from agentic_jax.env import EnvParams

ROOT = Path(__file__).resolve().parents[2]
# a tiny budget: a case that trains runs one 64-step update, no evaluation, no pictures
TINY = {"env": {"max_steps_in_episode": 8},
        "ppo": {"n_envs": 4, "n_steps": 16, "batch_size": 32, "n_epochs": 1,
                "total_timesteps": 64, "net_arch": {"pi": [8], "vf": [8]}},
        "system": {"eval_freq": 10**6, "checkpoint_freq": 64, "n_eval_episodes": 2,
                   "final_eval_episodes": None, "heuristics": [], "progress": False,
                   "verbose": False, "plot": False, "tensorboard": False,
                   "async_checkpointing": False}}
KEYS = ([f"env.{f.name}" for f in dataclasses.fields(EnvConfig) if f.name != "params"]
        + [f"env.{f.name}" for f in dataclasses.fields(EnvParams)]
        + [f"ppo.{f.name}" for f in dataclasses.fields(PPOConfig)]
        + [f"system.{f.name}" for f in dataclasses.fields(SystemConfig)])
VALUES = ["1e9", "1e30", "-1", "-4", "0", ".nan", "nan", ".inf", "-.inf", "abc", "[1, 2]",
          "{a: 1}", "true", "null", "''", "3", "0.5", "2", "1.5", "4096", "[8]",
          "{pi: [4], vf: [4]}", "seed", "select", "random"]
CASES = 200
TIMEOUT = 240


def _cases() -> list[list[str]]:
    rng = random.Random(28)
    return [[f"{key}={rng.choice(VALUES)}" for key in rng.sample(KEYS, rng.choice((1, 1, 2)))]
            for _ in range(CASES)]


def _sums(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file() and f.name != ".lock"}


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "agentic_jax.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    (base / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    out = _cli(["train", "--config", "tiny.yaml", "--run-dir", "existing", "--no-pictures"],
               base)
    assert out.returncode == 0, out.stderr
    return base


@pytest.mark.heavy
@pytest.mark.parametrize("index", range(CASES))
def test_fuzzed_overrides_end_in_0_or_2_in_one_line(index, existing_run):
    base, overrides = existing_run, _cases()[index]
    before = _sums(base / "existing")
    sets = [arg for item in overrides for arg in ("--set", item)]
    # even cases write a new run; odd ones name the existing run (refused: it holds one)
    run_dir = f"new{index}" if index % 2 == 0 else "existing"
    out = _cli(["train", "--config", "tiny.yaml", "--run-dir", run_dir, "--no-pictures",
                *sets], base)
    assert out.returncode in (0, 2), (overrides, out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, (overrides, out.stderr[-2000:])
    if out.returncode == 2:
        errors = [line for line in out.stderr.splitlines() if "warning:" not in line]
        assert len(errors) == 1 and errors[0].startswith("agentic-jax: error:"), (
            overrides, out.stderr)
    assert _sums(base / "existing") == before, overrides
