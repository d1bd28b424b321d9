"""benchmarks/generalist.py: one training over the settings family, judged zero-shot on held-out
settings against each setting's best rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import generalist
import pytest
from heldout import read_settings

from agentic_jax.env.evaluation import heuristics_for
from agentic_jax.env.family import FLOAT_RANGES

RECIPE = str(generalist.ROOT / "configs" / "select.yaml")


def test_training_draws_from_the_family_and_the_held_out_settings_do_not():
    family = generalist.train_config(RECIPE, "family", 4096, quick=True)
    fixed = generalist.train_config(RECIPE, "fixed", 4096, quick=True)
    assert [name for name, _, _ in family.env.params.randomize] == list(FLOAT_RANGES)
    assert fixed.env.params.randomize == () and family.ppo.total_timesteps == 4096
    assert family.env.obs_mode == fixed.env.obs_mode == "slots"
    setting = generalist.read_settings()[10]
    held_out = generalist.setting_config(family, setting)
    assert held_out.env.params.randomize == () and held_out.env.obs_mode == "slots"
    assert held_out.env.n_task_types == setting["n_task_types"]
    assert float(held_out.env.params.arrival_rate) == setting["arrival_rate"]


def test_set_changes_the_training_config_and_on_picks_the_draw(capsys):
    """`--set` changes the training (here its team size), not the settings it is judged on;
    `--on validation` reads the validation draw."""
    eight = generalist.train_config(RECIPE, "family", 4096, True, ("env.n_agents=8",
                                                                  "env.max_tasks=20"))
    assert (eight.env.n_agents, eight.env.max_tasks) == (8, 20)
    # another per-slot layout is trained with and judged in: the settings are observed as
    # the policy was trained to observe them
    rates = generalist.train_config(RECIPE, "family", 4096, True, ("env.obs_mode=slots_rates",))
    assert rates.env.obs_mode == "slots_rates"
    judged = generalist.setting_config(rates, generalist.read_settings()[10])
    assert judged.env.obs_mode == "slots_rates"
    assert read_settings(generalist.ON["validation"]) != read_settings()
    with pytest.raises(SystemExit):
        generalist.main(["--on", "validation", "--set", "env.n_agentz=8"])
    assert "unknown key env.n_agentz" in capsys.readouterr().err


def test_the_settings_are_acted_in_the_action_mode_trained_in():
    """`--set env.action_mode=select` on a select_team recipe: the settings are judged in
    select mode too (the team's own requests), not in the recipe's select_team."""
    recipe = str(generalist.ROOT / "configs" / "generalist.yaml")
    trained = generalist.train_config(recipe, "family", 4096, True, ("env.action_mode=select",))
    judged = generalist.setting_config(trained, generalist.read_settings()[10])
    assert trained.env.action_mode == judged.env.action_mode == "select"
    as_is = generalist.train_config(recipe, "family", 4096, True)
    assert generalist.setting_config(as_is, generalist.read_settings()[10]).env.action_mode \
        == "select_team"


def test_a_setting_keeps_the_trained_env_values_it_does_not_name():
    """An env value the settings file does not set (here the episode length, changed with
    `--set`) is judged as trained; the setting's own values replace the trained ones."""
    trained = generalist.train_config(RECIPE, "family", 4096, True,
                                      ("env.max_steps_in_episode=37", "env.n_agents=8",
                                       "env.max_tasks=20"))
    setting = generalist.read_settings()[6]
    judged = generalist.setting_config(trained, setting)
    assert judged.env.params.max_steps_in_episode == 37 and "max_steps_in_episode" not in setting
    assert judged.env.n_agents == setting["n_agents"] != trained.env.n_agents
    assert judged.env.params.randomize == () != trained.env.params.randomize


def test_a_recipe_in_a_per_slot_layout_keeps_it_and_fixed_drops_its_draws():
    """configs/generalist.yaml observes `slots_rates` and draws from the family itself: both
    variants keep its layout, and the `fixed` control trains at its setting only."""
    recipe = str(generalist.ROOT / "configs" / "generalist.yaml")
    family = generalist.train_config(recipe, "family", 4096, quick=True)
    fixed = generalist.train_config(recipe, "fixed", 4096, quick=True)
    assert family.env.obs_mode == fixed.env.obs_mode == "slots_rates"
    assert [name for name, _, _ in family.env.params.randomize] == list(FLOAT_RANGES)
    assert fixed.env.params.randomize == ()
    assert family.ppo.select_decoding == "matching"


def test_tally_counts_above_level_and_within_five_percent_per_policy():
    def v(margin, low, high, relative):
        return {"margin": margin, "margin_ci": [low, high], "relative": relative}
    rows = [{"variants": {"a": v(5, 1, 9, 0.02), "b": v(-1, -3, 1, -0.01)}},
            {"variants": {"a": v(-8, -9, -7, -0.06), "b": v(-2, -4, -1, -0.03)}}]
    assert generalist.tally(rows) == {
        "a": {"settings": 2, "above": 1, "level": 0, "within_5pct": 1},
        "b": {"settings": 2, "above": 0, "level": 1, "within_5pct": 2}}


@pytest.mark.parametrize("argv, message", [
    (["--settings", "0,99"], "--settings: [99] not in 0..11"),
    (["--settings", "a"], "--settings 'a': comma-separated integers"),
    (["--variants", "family,other"], "--variants 'family,other': comma-separated"),
    (["--episodes", "0"], "--episodes 0: at least 1"),
    (["--seed", "0,x"], "--seed '0,x': an integer or comma-separated integers"),
    (["--seed", "1,1"], "--seed '1,1': a seed given twice"),
    (["--decodings", "order,best"], "ppo.select_decoding='best' is unknown"),
    (["--config", str(generalist.ROOT / "configs" / "generalist.yaml"), "--ablate-requests"],
     "--ablate-requests: a select_team policy makes no requests of its own"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        generalist.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.heavy
def test_quick_run_reports_each_variant_on_each_setting(tmp_path):
    script = Path(generalist.__file__)
    done = subprocess.run([sys.executable, str(script), "--quick", "--settings", "10",
                           "--episodes", "4", "--seed", "0,1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    (row,) = result["rows"]
    assert row["index"] == 10 and set(row["variants"]) == {
        "family seed 0", "family seed 1", "fixed seed 0", "fixed seed 1"}
    assert set(result["tally"]) == set(row["variants"])
    for v in row["variants"].values():
        assert v["margin_ci"][0] <= v["margin"] <= v["margin_ci"][1]
    assert "zero-shot on held-out settings" in (tmp_path / "result.md").read_text()


@pytest.mark.slow
def test_each_decoding_judges_the_same_trained_policy(tmp_path):
    """`--decodings order,matching`: one training, judged once per decoding; with a tiny
    network at the toy budget the two may act alike, but both are there and paired."""
    generalist.main(["--quick", "--settings", "10", "--episodes", "4", "--variants", "family",
                     "--decodings", "order,matching", "--out", str(tmp_path)])
    result = json.loads((tmp_path / "result.json").read_text())
    (row,) = result["rows"]
    assert result["decodings"] == ["order", "matching"]
    assert set(row["variants"]) == {"family, order", "family, matching"}
    assert list(result["train_seconds"]) == ["family"]  # trained once


@pytest.mark.slow
def test_ablate_requests_judges_the_same_team_with_no_requests_on_the_same_episodes(tmp_path):
    """`--ablate-requests`: the same parameters again with every request switched off; the
    gain is paired (its mean is the difference of the two means) and the ablated team pairs
    with nobody."""
    generalist.main(["--quick", "--settings", "10", "--episodes", "4", "--variants", "family",
                     "--ablate-requests", "--out", str(tmp_path)])
    (row,) = json.loads((tmp_path / "result.json").read_text())["rows"]
    v = row["variants"]["family"]
    assert v["requests_off_collaboration"] == 0.0
    assert v["requests_gain"] == pytest.approx(v["mean"] - v["requests_off_mean"], abs=1e-3)
    assert v["requests_gain_ci"][0] <= v["requests_gain"] <= v["requests_gain_ci"][1]
    assert "requests off:" in (tmp_path / "result.md").read_text()


@pytest.mark.heavy
def test_a_policy_trained_in_another_per_slot_layout_is_judged_in_it(tmp_path):
    """`--set env.obs_mode=slots_rates`: the settings are observed in that layout too (a
    transfer between the two layouts would be refused)."""
    script = Path(generalist.__file__)
    done = subprocess.run([sys.executable, str(script), "--quick", "--settings", "10",
                           "--episodes", "4", "--variants", "family", "--set",
                           "env.obs_mode=slots_rates", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["set"] == ["env.obs_mode=slots_rates"] and set(result["tally"]) == {"family"}
    assert "`env.obs_mode=slots_rates`" in (tmp_path / "result.md").read_text()


@pytest.mark.slow
def test_a_select_team_recipe_meets_the_select_rules_on_the_same_episodes():
    """Its rules table is select's (the `_helps` rules included), on the episodes and setting
    a select recipe meets: the same best rule, the same returns."""
    configs = Path(__file__).resolve().parents[2] / "configs"
    setting = {**read_settings()[11], "max_steps_in_episode": 16}
    team, select = (generalist.evaluate_setting(11, generalist.setting_config(
        generalist.train_config(str(configs / name), "fixed", None, False), setting), {}, 4)
        for name in ("select_team.yaml", "select.yaml"))
    assert team["best_rule"] in heuristics_for("select")
    assert team == select
