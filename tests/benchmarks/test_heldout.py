"""The held-out protocol: the committed draw is the family's fixed-seed draw, every setting is a
valid environment inside the family's ranges, and the command evaluates a recipe on them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import heldout
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import SweepConfig, load
from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import heuristics_for
from agentic_jax.env.family import FLOAT_RANGES, SettingsFamily
from agentic_jax.sweep import run_sweep
from agentic_jax.system import AgenticRLSystem

RECIPE = load(heldout.ROOT / "configs" / "select.yaml").to_dict()


def as_config(setting: dict):
    return load({**RECIPE, "env": {**RECIPE["env"], **setting}})


def test_committed_file_is_the_fixed_seed_draw():
    """configs/heldout.yaml is exactly what `--draw` writes: nobody edited or re-drew it."""
    assert heldout.SETTINGS_FILE.read_text() == heldout.draw_text()
    assert len(heldout.read_settings()) >= 12


def test_the_validation_draw_is_committed_and_shares_no_setting_with_the_held_out_one():
    """configs/validation.yaml (where choices are made) is its own seed's draw, and none of its
    settings is a held-out one, so choosing on it tunes nothing the held-out draw judges."""
    assert heldout.VALIDATION_FILE.read_text() == heldout.draw_text(
        heldout.VALIDATION_SEED, heldout.VALIDATION_HEADER)
    validation = heldout.read_settings(heldout.VALIDATION_FILE)
    held_out = heldout.read_settings()
    assert len(validation) == len(held_out)
    assert not [s for s in validation if s in held_out]
    for setting in validation:
        as_config(setting)


def test_every_held_out_setting_is_valid_and_inside_the_family():
    family = SettingsFamily()
    for setting in heldout.read_settings():
        config = as_config(setting)  # raises on an invalid environment
        assert family.n_agents[0] <= config.env.n_agents <= family.n_agents[1]
        assert family.n_task_types[0] <= config.env.n_task_types <= family.n_task_types[1]
        for name, (low, high) in FLOAT_RANGES.items():
            assert low <= getattr(config.env.params, name) <= high, name
    sizes = {s["n_agents"] for s in heldout.read_settings()}
    assert min(sizes) < 8 and max(sizes) > 12  # small and large teams are both held out


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_any_draw_is_a_valid_environment(seed):
    (setting,) = SettingsFamily().draw(seed, 1)
    as_config(setting)
    assert SettingsFamily().draw(seed, 1) == [setting]


def test_bad_settings_index_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        heldout.main(["--settings", "0,99"])
    assert exit_.value.code == 2
    assert "--settings: [99] not in 0..11" in capsys.readouterr().err


def test_on_validation_runs_the_validation_draw(tmp_path, monkeypatch):
    """`--on validation` trains and judges the validation draw's settings, and says so."""
    seen = []

    def fake_setting(index, config, workdir, episodes, folder):
        seen.append((index, config.env.n_agents, float(config.env.params.arrival_rate)))
        return {"index": index, "setting": {"n_agents": config.env.n_agents, "n_task_types": 2,
                                            "collaboration_sharing": 0.5,
                                            "collaboration_cost": 0.1},
                "best_rule": "wspt", "margin": 1.0, "margin_ci": [0.5, 1.5],
                "relative_margin": 0.01, "completion": 0.9, "collaboration_per_seed": [0.0],
                "collab_gain": 0.0, "collab_gain_ci": [0.0, 0.0], "beats_rule": True}

    monkeypatch.setattr(heldout, "evaluate_setting", fake_setting)
    assert heldout.main(["--on", "validation", "--settings", "3", "--seeds", "1",
                         "--out", str(tmp_path)]) == 0
    validation = heldout.read_settings(heldout.VALIDATION_FILE)[3]
    assert seen == [(3, validation["n_agents"], validation["arrival_rate"])]
    assert validation != heldout.read_settings()[3]
    assert json.loads((tmp_path / "result.json").read_text())["on"] == "validation"
    assert (tmp_path / "result.md").read_text().startswith("# Validation settings:")


TINY = {"env": {"action_mode": "select_team", "n_agents": 3, "max_tasks": 4,
                "max_steps_in_episode": 12, "collaboration_cost": 0.0},
        "ppo": {"policy": "discrete", "actor": "ippo", "n_envs": 2, "n_steps": 4,
                "batch_size": 8, "total_timesteps": 8, "net_arch": {"pi": [8], "vf": [8]}},
        "system": {"progress": False, "verbose": False, "tensorboard": False, "plot": False,
                   "heuristics": ["wspt", "expected_rate"], "eval_freq": 8,
                   "n_eval_episodes": 4, "final_eval_episodes": 8}}


@pytest.mark.slow
def test_a_select_team_sweep_is_judged_by_every_select_rule_on_its_episodes(tmp_path):
    """The select rules meet the sweep's final episodes: each `_team` rule there returns what
    its select_team namesake did in the sweep, and the row's best rule is the select table's."""
    config = load(TINY).replace(sweep=SweepConfig(seeds=2))
    out = run_sweep(config, run_dir=tmp_path / "sweep")
    rules = heldout.final_rules(config)
    assert set(rules) == set(heuristics_for("select"))
    for name in ("wspt", "expected_rate"):
        np.testing.assert_allclose(rules[f"{name}_team"], out["heuristic_returns"][name],
                                   rtol=1e-6)
    row, returns, best = heldout.judged_row(config, out)
    best_name = max(rules, key=lambda name: rules[name].mean())
    assert row["best_heuristic"] == best_name
    np.testing.assert_array_equal(best, rules[best_name])
    assert returns.shape == (2, 8)
    np.testing.assert_allclose(row["paired_margin_mean"], (returns - best).mean(), rtol=1e-6)


@pytest.mark.parametrize("mode, fields", [("select", 2), ("seed", 3), ("seed_discrete", 1)])
def test_switching_collaboration_off_keeps_every_other_output(mode, fields):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, action_mode=mode)
    space = env.action_space(env.default_params)
    action = np.broadcast_to(np.asarray(space.high, np.float32), space.shape).ravel()
    off = np.asarray(heldout.NO_COLLABORATION[mode](jnp.asarray(action)))
    decoded = np.asarray(env.mode.from_clean(env.mode.sanitize(jnp.asarray(off), 4), 3))
    if mode == "seed_discrete":  # categories 2 * accept + collaborate: accept kept
        np.testing.assert_array_equal(off, action - action % 2)
        assert np.all(off % 2 == 0)
    else:
        np.testing.assert_array_equal(off.reshape(3, fields)[:, :-1],
                                      action.reshape(3, fields)[:, :-1])
        assert np.all(decoded[:, -1] == 0) and np.all(action.reshape(3, fields)[:, -1] > 0)


def ablation_system(mode: str) -> AgenticRLSystem:
    """A small untrained `mode` system whose likelier output is "request"."""
    config = load({"env": {"action_mode": mode, "n_agents": 3, "max_tasks": 4,
                           "max_steps_in_episode": 12, "collaboration_cost": 0.0},
                   "ppo": {"policy": "discrete", "actor": "ippo", "sequential_select": True,
                           "collaboration": "sequential", "n_envs": 2, "n_steps": 4,
                           "batch_size": 8, "total_timesteps": 8,
                           "net_arch": {"pi": [8], "vf": [8]}},
                   "system": {"progress": False, "verbose": False}})
    system = AgenticRLSystem(config)
    rs = system.runner_state  # make "request" the likelier output: bias of the last logit
    params = rs.train_state.params
    head = params["params"]["pi_head"]
    head = {**head, "bias": head["bias"].at[-1].set(5.0)}
    params = {"params": {**params["params"], "pi_head": head}}
    system.runner_state = rs.replace(train_state=rs.train_state.replace(params=params))
    return system


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["select", "select_team"])
def test_ablation_runs_the_policy_on_its_own_evaluation_episodes(mode):
    """Row 0 is the policy as `evaluate` runs it on the same key; row 1 never collaborates
    (select_team: its slot choices in select, requesting nothing, as the select policy's)."""
    system = ablation_system(mode)
    key = jax.random.key(3)
    returns = heldout.collaboration_ablation(system, 16, key)
    assert returns.shape == (2, 16)
    evaluated = system.evaluate(16, key)
    np.testing.assert_allclose(returns[0].mean(), evaluated["mean_reward"], rtol=1e-5)
    assert not np.array_equal(returns[0], returns[1])  # its requests changed the episodes
    if mode == "select_team":
        np.testing.assert_array_equal(
            returns[1], heldout.collaboration_ablation(ablation_system("select"), 16, key)[1])


def test_collaboration_shows_each_seed_where_they_differ():
    assert heldout.collaboration([0.3, 0.3, 0.3]) == "0.300"
    # all-or-nothing teams are not a selective one: each seed is shown
    assert heldout.collaboration([1.0, 1.0, 0.0]) == "0.667 (per seed 1.000, 1.000, 0.000)"
    assert heldout.collaboration([0.25]) == "0.250"


@pytest.mark.heavy
def test_quick_run_reports_every_chosen_setting(tmp_path):
    script = Path(heldout.__file__)
    done = subprocess.run([sys.executable, str(script), "--quick", "--seeds", "2",
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert [row["index"] for row in result["rows"]] == [0, 1]
    for row in result["rows"]:
        assert len(row["margin_per_seed"]) == len(row["collaboration_per_seed"]) == 2
        assert row["margin_ci"][0] <= row["margin"] <= row["margin_ci"][1]
        assert row["collab_gain_ci"][0] <= row["collab_gain"] <= row["collab_gain_ci"][1]
        assert 0.0 <= row["best_rule_completion"] <= 1.0
    assert "The CI lies above zero in" in (tmp_path / "result.md").read_text()
    for index in (0, 1):  # each setting's learning curves: a row per seed and evaluation
        with (tmp_path / f"evaluations_{index:02d}.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert {row["seed"] for row in rows} == {"0", "1"}
        assert len({row["timestep"] for row in rows}) >= 2


def test_warm_source_is_the_recipe_with_the_settings_task_types():
    """The source trains at the recipe's own env; only n_task_types is the setting's."""
    setting = heldout.read_settings()[6]
    source = heldout.source_config(heldout.ROOT / "configs" / "select.yaml", setting, 3, True)
    env = source.to_dict()["env"]
    assert env == {**RECIPE["env"], "n_task_types": setting["n_task_types"]}
    assert source.sweep.seeds == 3
    assert source.ppo.total_timesteps == heldout.QUICK["ppo.total_timesteps"]


def test_warm_start_needs_the_settings_task_types():
    """Why the source keeps the setting's n_task_types: from the recipe's 3 task types the
    transfer to setting 6 (7 agents, 6 types, 18 slots) is refused; with 6 it starts."""
    tiny = {"ppo.net_arch": {"pi": [8], "vf": [8]}, "ppo.n_envs": 2, "ppo.n_steps": 4,
            "ppo.batch_size": 8, "ppo.total_timesteps": 8}
    setting = heldout.read_settings()[6]
    sets = [f"{k}={json.dumps(v)}" for k, v in tiny.items()]
    recipe = heldout.ROOT / "configs" / "select.yaml"
    target = load({**RECIPE, "env": {**RECIPE["env"], **setting}}, sets)
    for types, ok in ((RECIPE["env"]["n_task_types"], False), (setting["n_task_types"], True)):
        # an untrained source: its (initial) state is as valid a start as a trained one
        source = AgenticRLSystem(load(recipe, [*sets, f"env.n_task_types={types}"]))
        if ok:
            assert AgenticRLSystem(target).start_from(source).started_from["n_agents"] == 4
        else:
            with pytest.raises(ValueError, match="n_task_types"):
                AgenticRLSystem(target).start_from(source)


def test_warm_steps_needs_warm_start(capsys):
    with pytest.raises(SystemExit) as exit_:
        heldout.main(["--settings", "6", "--warm-steps", "1000"])
    assert exit_.value.code == 2
    assert "--warm-steps" in capsys.readouterr().err


@pytest.mark.heavy
def test_quick_warm_start_records_its_sources(tmp_path):
    """--warm-start: each seed starts from its own source seed trained at the recipe's env,
    meta.json says so, and the report row has every seed."""
    script = Path(heldout.__file__)
    done = subprocess.run([sys.executable, str(script), "--quick", "--warm-start", "--seeds",
                           "2", "--settings", "11", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((tmp_path / "meta.json").read_text())
    warm = meta["warm_start"]
    assert warm["source_agents"] == RECIPE["env"]["n_agents"]
    assert warm["source_timesteps"] == heldout.QUICK["ppo.total_timesteps"]
    (source,) = warm["sources"].values()
    assert source["env"]["n_task_types"] == 2 and source["seeds"] == [0, 1]
    seeds = warm["settings"]["11"]
    assert [s["started_from"]["source_seed"] for s in seeds] == [0, 1]
    assert all(s["started_from"]["n_agents"] == 4 for s in seeds)
    (row,) = json.loads((tmp_path / "result.json").read_text())["rows"]
    assert len(row["margin_per_seed"]) == len(row["zero_shot_margin_per_seed"]) == 2
    assert row["margin_ci"][0] <= row["margin"] <= row["margin_ci"][1]
    assert (tmp_path / "evaluations_11_seed1.csv").is_file()
    assert "Warm start:" in (tmp_path / "result.md").read_text()


def test_paired_ci_matches_a_numpy_percentile_bootstrap_and_narrows_with_more_episodes():
    rng = np.random.default_rng(0)
    small, large = rng.normal(5.0, 10.0, 16), rng.normal(5.0, 10.0, 1024)
    for diff in (small, large):
        low, high = heldout.paired_ci(diff)
        means = diff[rng.integers(0, diff.size, (20_000, diff.size))].mean(1)
        reference = np.percentile(means, [2.5, 97.5])
        width = reference[1] - reference[0]
        assert low < diff.mean() < high
        np.testing.assert_allclose([low, high], reference, atol=0.05 * width)
    assert np.diff(heldout.paired_ci(large)) < np.diff(heldout.paired_ci(small))
