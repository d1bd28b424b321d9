"""`agentic-jax` command line: help, one-line errors (exit 2) before compiling, evaluate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from agentic_jax.cli import main
from agentic_jax.system.compiled import compiled_functions

HELDOUT = Path(__file__).resolve().parents[1] / "configs" / "heldout.yaml"
TINY = {
    "env": {"max_steps_in_episode": 20},
    "ppo": {"n_envs": 4, "n_steps": 16, "batch_size": 32, "n_epochs": 1,
            "total_timesteps": 64 * 16, "net_arch": {"pi": [8], "vf": [8]}},
    "system": {"eval_freq": 256, "checkpoint_freq": 512, "n_eval_episodes": 4,
               "heuristics": ["random", "least_loaded"], "progress": False, "verbose": False,
               "async_checkpointing": False},
}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_help_mentions_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("train", "evaluate", "env-demo", "--set", "system"):
        assert word in out
    for command in ("train", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "examples" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--config", "does/not/exist.yaml"], "does not exist"),
        (["train", "--config", "{cfg}", "--set", "ppo.nope=1"], "ppo.nope"),
        (["train", "--config", "{cfg}", "--set", "ppo.batch_size=7"], "batch_size"),
        (["train", "--config", "{cfg}", "--set", "system.eval_freq=-5"], "system.eval_freq"),
        (["train", "--config", "{cfg}", "--set", "env.n_agents=zero"], "env.n_agents"),
        (["train", "--config", "{cfg}", "--set", "novalue"], "section.key=value"),
        (["train", "--resume", "no/such/run"], "does not exist"),
        (["evaluate", "no/such/run"], "does not exist"),
        (["evaluate", "{tmp}"], "holds no checkpoint"),
        (["train", "--resume", "{tmp}", "--set", "ppo.n_envs=8"], "only system.KEY=VALUE"),
        (["env-demo", "--envs", "0"], "--envs 0 is invalid"),
        (["train", "--resume", "{tmp}", "--run-dir", "{tmp}/other"], "differs from --resume"),
        (["train", "--resume", "{tmp}", "--overwrite"], "--overwrite cannot be combined"),
        (["train", "--resume", "{tmp}"], "no checkpoint in checkpoints/ to resume from"),
        (["train", "--resume", "{tmp}", "--init-from", "{tmp}"], "--init-from starts a new"),
        (["train", "--config", "{cfg}", "--init-from", "no/run"], "no such run or checkpoint"),
        (["train", "--resume", "{tmp}", "--team-size", "8"], "--team-size starts a new"),
        (["train", "--config", "{cfg}", "--team-size", "3"], "--team-size 3: scaled: n_agents=3"),
        (["evaluate", "{tmp}", "--set", "ppo.n_envs=8"], "--set ppo.n_envs=8: only env settings"),
        (["evaluate", "{tmp}", "--setting", "{heldout}"], "FILE:I, e.g. configs/heldout.yaml:3"),
        (["evaluate", "{tmp}", "--setting", "{cfg}:0"], "no `settings:` list of env sections"),
        (["evaluate", "{tmp}", "--setting", "{heldout}:12"], "has settings 0..11"),
        (["evaluate", "{tmp}", "--setting", "no/file.yaml:1"], "does not exist"),
        (["evaluate", "{tmp}", "--set", "env.n_agents=8", "--plots"], "--plots draws the run's"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, message, config_file, tmp_path, capsys):
    before = compiled_functions.cache_info()
    argv = [a.format(cfg=config_file, tmp=tmp_path, heldout=HELDOUT) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("agentic-jax: error:") and message in err
    assert len(err.splitlines()) == 1
    after = compiled_functions.cache_info()
    assert after.hits + after.misses == before.hits + before.misses, "compiled before the check"


@pytest.mark.slow
def test_train_then_evaluate_prints_learned_beside_heuristics(config_file, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "max_timesteps" in out
    assert f"run in {run_dir}, best model in {run_dir / 'best_model'}" in out
    assert main(["evaluate", str(run_dir), "--episodes", "4"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["learned", "random", "least_loaded"]
    assert main(["evaluate", str(run_dir), "--episodes", "2", "--rules", "expected_rate"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["learned", "expected_rate"]
    assert main(["evaluate", str(run_dir), "--episodes", "0"]) == 2
    assert main(["evaluate", str(run_dir), "--rules", "no_such_rule"]) == 2
    assert "--rules no_such_rule: unknown (allowed: all, random" in capsys.readouterr().err
    # zero-shot elsewhere: the same parameters in the run's env with other float settings,
    # beside that env's rules on the same episodes; a team size its actor cannot take: one line
    assert main(["evaluate", str(run_dir), "--episodes", "2", "--set", "env.arrival_rate=0.5",
                 "--rules", "least_loaded"]) == 0
    out = capsys.readouterr().out
    assert "zero-shot at" in out
    assert [r.split("|")[1].strip() for r in out.splitlines() if r.startswith("| ")][1:] == [
        "learned", "least_loaded"]
    assert main(["evaluate", str(run_dir), "--set", "env.n_agents=6"]) == 2
    assert "cannot move to another team size" in capsys.readouterr().err
    # resuming a finished run does no more training
    assert main(["train", "--resume", str(run_dir)]) == 0

    # --init-from a step whose data file is truncated: one line, exit 2, nothing changed
    import hashlib
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    step = max((copy / "checkpoints").iterdir(), key=lambda p: int(p.name)
               if p.name.isdigit() else -1)
    data = max((f for f in step.rglob("*") if f.is_file()), key=lambda f: f.stat().st_size)
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])

    def sums():
        return {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in copy.rglob("*")
                if f.is_file()}

    before = sums()
    capsys.readouterr()
    new = tmp_path / "new"
    assert main(["train", "--config", str(config_file), "--run-dir", str(new),
                 "--init-from", str(step)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "warning:" not in line]
    assert len(err) == 1 and f"--init-from {str(step)!r}: no readable checkpoint" in err[0]
    assert sums() == before and not new.exists()



@pytest.mark.slow
def test_init_from_continues_a_smaller_teams_run(tmp_path, capsys):
    """Train small, continue large: the 4-agent run (`--team-size 4`: the 2-agent config
    scaled) starts from the 2-agent run's network and observation statistics (their sample
    count carries over)."""
    from agentic_jax.system import AgenticRLSystem

    config = {"env": {"n_agents": 2, "max_tasks": 4, "action_mode": "select",
                      "max_steps_in_episode": 8},
              "ppo": {**TINY["ppo"], "policy": "discrete", "actor": "ippo",
                      "normalize_obs": True, "total_timesteps": 64},
              # no evaluation (the budget ends first) and no final evaluation: two compiles
              # fewer per run; the checkpoint at the end is what --init-from reads
              "system": {**TINY["system"], "eval_freq": 10**6, "checkpoint_freq": 64,
                         "heuristics": [], "final_eval_episodes": None}}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(config))
    small, large = tmp_path / "small", tmp_path / "large"
    argv = ["train", "--config", str(path), "--no-pictures", "--run-dir"]
    assert main([*argv, str(small)]) == 0
    assert main([*argv, str(large), "--team-size", "4", "--init-from", str(small)]) == 0
    assert f"warm start from {small}" in capsys.readouterr().out
    source, target = (AgenticRLSystem.load(run / "checkpoints") for run in (small, large))
    assert target.config.env == source.config.env.scaled(4) and target.update_step == 1
    assert target.started_from == {"path": str(small), "updates": source.update_step,
                                   "timesteps": source.num_timesteps, "n_agents": 2}
    assert source.started_from is None and source.loaded_from == str(small / "checkpoints")
    fresh = 1e-4 + 4 * 17  # a new run's statistics: the reset and 16 steps of 4 envs
    np.testing.assert_allclose(float(target.runner_state.obs_rms.count),
                               float(source.runner_state.obs_rms.count) + fresh - 1e-4,
                               rtol=1e-6)


def test_env_demo_imports_no_training_code():
    code = ("import sys, agentic_jax.demo; "
            "print(sorted(m for m in sys.modules if m.startswith(('agentic_jax.system', "
            "'agentic_jax.ppo'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow  # ~10-40 s on 2 CPU cores: 14 heuristic evaluations compile
def test_env_demo_prints_throughput_and_heuristics(capsys):
    assert main(["env-demo", "--envs", "8", "--steps", "5", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "env steps/s" in out and "| expertise_greedy |" in out
    assert out.count("| policy |") == 2  # default params, then the collaboration trade-off


def test_yaml_syntax_error_keeps_its_line_number(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ppo:\n  n_envs: 4\n  n_steps: [16, 32\nsystem:\n  seed: 1\n")
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"agentic-jax: error: {bad}:4:") and "not valid YAML" in err


@pytest.mark.slow
def test_init_from_an_mlp_run_of_the_same_shapes_warm_starts(tmp_path, capsys):
    """Issue 28: an mlp-actor run of the same team size was refused with a "zero-shot
    transfer" message; the same shapes need no transfer. A different network is refused
    naming only the settings that differ."""
    from agentic_jax.system import AgenticRLSystem

    config = {"env": {"max_steps_in_episode": 8},
              "ppo": {**TINY["ppo"], "total_timesteps": 64},
              "system": {**TINY["system"], "eval_freq": 10**6, "checkpoint_freq": 64,
                         "heuristics": [], "final_eval_episodes": None}}
    path = tmp_path / "mlp.yaml"
    path.write_text(yaml.safe_dump(config))
    first, second = tmp_path / "first", tmp_path / "second"
    argv = ["train", "--config", str(path), "--no-pictures", "--run-dir"]
    assert main([*argv, str(first)]) == 0
    assert main([*argv, str(second), "--init-from", str(first)]) == 0
    assert f"warm start from {first}" in capsys.readouterr().out
    source, target = (AgenticRLSystem.load(run / "checkpoints") for run in (first, second))
    assert target.started_from == {"path": str(first), "updates": source.update_step,
                                   "timesteps": source.num_timesteps, "n_agents": 4}
    third = tmp_path / "third"
    assert main([*argv, str(third), "--init-from", str(first),
                 "--set", "ppo.net_arch=[16]"]) == 2
    err = capsys.readouterr().err
    assert "ppo.net_arch" in err and "ppo.actor" not in err and "zero-shot" not in err, err
