"""`benchmarks/seed_discrete.py`: the seed mode's discrete recipe judged against every seed-mode
rule through the held-out protocol's code, at a toy budget."""

from __future__ import annotations

import json

import pytest
import seed_discrete

TOY = ["ppo.total_timesteps=8192", "ppo.n_envs=8", "ppo.n_steps=16", "ppo.batch_size=64",
       "system.eval_freq=2048", "system.checkpoint_freq=4096", "system.n_eval_episodes=4"]


@pytest.mark.heavy
def test_toy_run_reports_the_recipe_beside_every_seed_mode_rule(tmp_path):
    args = ["--seeds", "2", "--final-episodes", "8", "--episodes", "4", "--out", str(tmp_path)]
    assert seed_discrete.main([*args, *(f"--set={item}" for item in TOY)]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert len(result["row"]["margin_per_seed"]) == 2
    assert result["row"]["best_rule"] in result["rules"]
    assert [timestep for _, timestep, _ in result["curve"]][-1] == 8192
    assert (tmp_path / "evaluations_00.csv").read_text().count("\n") > 2
