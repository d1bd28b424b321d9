"""write_pictures for a system beside a rule, and the CLI's --plots (slow)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import yaml
from tiny_configs import TINY

from agentic_jax.system import AgenticRLSystem
from agentic_jax.viz import learned_policy, write_pictures

FILES = ["schedule_learned.png", "schedule_random.png", "specialisation.png", "load.png",
         "collaboration.png", "specialisation.json"]


@pytest.mark.slow
def test_write_pictures_of_an_untrained_system(tmp_path):
    system = AgenticRLSystem(TINY)  # no run directory: no training log
    drawn = write_pictures(system, tmp_path / "pics", ("random",), n_episodes=2, max_steps=10)
    assert [p.name for p in drawn["files"]] == FILES
    assert all(p.stat().st_size > 0 for p in drawn["files"])
    stored = json.loads((tmp_path / "pics" / "specialisation.json").read_text())
    assert stored["episodes"] == 2 and stored["steps"] == 10
    assert set(stored["scores"]) == {"learned", "random"}
    assert stored["scores"]["random"]["expertise_correlation"] == pytest.approx(
        drawn["scores"]["random"]["expertise_correlation"])
    # the learned policy function acts as the system's predict on the same observation
    _, state = system.env.reset(jax.random.key(0), system.env_params)
    action = learned_policy(system)(jax.random.key(1), state, system.env_params)
    obs = system.env.get_obs(state, system.env_params)
    np.testing.assert_allclose(np.asarray(action), system.predict(obs), rtol=1e-6)


def test_unknown_rule_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown rule"):
        write_pictures(AgenticRLSystem(TINY), tmp_path, ("nope",))


@pytest.mark.slow
def test_train_leaves_pictures_and_evaluate_plots_draws_them(tmp_path, capsys):
    from agentic_jax.cli import main

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(config), "--run-dir", str(run_dir)]) == 0
    assert "pictures of the best model" in capsys.readouterr().out
    assert sorted(p.name for p in (run_dir / "pictures").iterdir()) == sorted(FILES)
    out = tmp_path / "figs"
    assert main(["evaluate", str(run_dir), "--episodes", "4", "--plots", str(out),
                 "--plot-rules", "random", "expertise_greedy", "--plot-episodes", "2"]) == 0
    text = capsys.readouterr().out
    assert "expertise_greedy: specialisation" in text
    assert (out / "schedule_expertise_greedy.png").is_file()
    assert main(["evaluate", str(run_dir), "--plots", "--plot-rules", "nope"]) == 2
    other = tmp_path / "run2"
    assert main(["train", "--config", str(config), "--run-dir", str(other),
                 "--no-pictures"]) == 0
    assert not (other / "pictures").exists()


@pytest.mark.slow
def test_write_pictures_of_a_select_mode_system(tmp_path):
    config = {**TINY, "env": {**TINY["env"], "action_mode": "select"},
              "ppo": {**TINY["ppo"], "policy": "discrete"}}
    system = AgenticRLSystem(config)
    drawn = write_pictures(system, tmp_path, ("random", "expertise_greedy"), n_episodes=2)
    assert set(drawn["scores"]) == {"learned", "random", "expertise_greedy"}
    _, state = system.env.reset(jax.random.key(0), system.env_params)
    action = learned_policy(system)(jax.random.key(1), state, system.env_params)
    assert action.dtype == np.int32 and action.shape == (system.env.num_actions,)
