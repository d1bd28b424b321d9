"""`agentic-jax sweep`: one-line errors (exit 2) before compiling, and a full sweep's files."""

from __future__ import annotations

import pytest
import yaml

from agentic_jax.cli import main
from agentic_jax.sweep.engine import group_functions

# tests/sweep's tiny sweep (the same env and ppo sections: one compile per test process)
TINY_SWEEP = {
    "env": {"max_steps_in_episode": 20},
    "ppo": {"n_envs": 4, "n_steps": 16, "batch_size": 32, "n_epochs": 1,
            "total_timesteps": 64 * 16, "net_arch": {"pi": [8], "vf": [8]}},
    "system": {"eval_freq": 128, "checkpoint_freq": 256, "n_eval_episodes": 4,
               "final_eval_episodes": 4, "heuristics": ["random"], "progress": False,
               "verbose": False, "async_checkpointing": False},
    "sweep": {"seeds": 4, "grid": {"ppo.learning_rate": [3.0e-4, 1.0e-3]}},
}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(TINY_SWEEP))
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set", "sweep.grid.ppo.lr=[1]"], "sweep.grid.ppo.lr: unknown setting"),
        (["--set", "sweep.grid.ppo.gamma=[]"], "must be a non-empty list"),
        (["--set", "sweep.random.n=2", "--set", "sweep.random.ppo.n_steps={uniform: [8, 16]}"],
         "ppo.n_steps changes array shapes"),
        (["--set", "sweep.grid.ppo.clip_range=[0.2, -1]"],
         "ppo.clip_range=-1: ppo.clip_range=-1.0 is out of range"),
        (["--memory-budget-mb", "0.001"], "more than the memory budget"),
        (["--set", "sweep.seeds=0"], "sweep.seeds"),
        (["--set", "sweep.member_loop=pmap"], "sweep.member_loop='pmap'"),
    ],
)
def test_bad_sweeps_are_one_line_exit_2(argv, message, config_file, tmp_path, capsys):
    run_dir = tmp_path / "out"
    before = group_functions.cache_info()
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("agentic-jax: error:") and message in err, err
    assert len(err.splitlines()) == 1
    assert not run_dir.exists()  # nothing written
    if "memory" not in message:  # the memory plan builds (never compiles) the functions
        assert group_functions.cache_info().misses == before.misses


def test_resume_errors(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(tmp_path), "--set", "ppo.n_envs=8"]) == 2
    assert "only system.KEY=VALUE" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_writes_results_table_and_plots(config_file, tmp_path, capsys):
    pytest.importorskip("agentic_jax.sweep.report")  # the report module and rliable
    run_dir = tmp_path / "sweep"
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "8 members (2 settings x 4 seeds) in 1 compile(s), 1 call(s)" in out
    for name in ("results.csv", "results.json", "results.md", "learning_curves.png",
                 "performance_profile.png"):
        assert (run_dir / name).stat().st_size > 0, name
    assert "ppo.learning_rate=0.001" in (run_dir / "results.md").read_text()
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "already holds a sweep" in err and "--resume" in err and "--overwrite" in err
    # results files are as readable as every other file (they were written 0600)
    modes = {f.name: f.stat().st_mode & 0o777 for f in run_dir.iterdir() if f.is_file()}
    assert modes["results.csv"] == modes["results.json"] == modes["config.yaml"], modes
    # a sweep directory where a run is expected: each message names what works
    cases = [
        (["train", "--config", str(config_file), "--init-from", str(run_dir)],
         "is a sweep directory, not a run: save one member as a run"),
        (["train", "--config", str(config_file), "--run-dir", str(run_dir)],
         f"holds a sweep: continue it with `agentic-jax sweep --resume {run_dir}`"),
        (["train", "--resume", str(run_dir)],
         f"is a sweep directory: continue it with `agentic-jax sweep --resume {run_dir}`"),
        (["evaluate", str(run_dir)], f"`agentic-jax evaluate {run_dir} --member I`"),
    ]
    for argv, message in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = [line for line in capsys.readouterr().err.splitlines() if "warning:" not in line]
        assert len(err) == 1 and message in err[0], err
    assert main(["evaluate", str(run_dir), "--member", "1", "--episodes", "2"]) == 0
    assert "| learned |" in capsys.readouterr().out


def test_a_training_run_is_not_called_a_sweep(config_file, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(TINY_SWEEP))
    assert main(["sweep", "--config", str(config_file), "--run-dir", str(run_dir)]) == 2
    assert "holds a training run, not a sweep" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(run_dir)]) == 2
    assert f"`agentic-jax train --resume {run_dir}`" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml"]
