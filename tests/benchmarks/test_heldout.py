"""The held-out protocol: the committed draw is the family's fixed-seed draw, every setting is a
valid environment inside the family's ranges, and the command evaluates a recipe on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import heldout
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import load
from agentic_jax.env.family import FLOAT_RANGES, SettingsFamily

RECIPE = load(heldout.ROOT / "configs" / "select.yaml").to_dict()


def as_config(setting: dict):
    return load({**RECIPE, "env": {**RECIPE["env"], **setting}})


def test_committed_file_is_the_fixed_seed_draw():
    """configs/heldout.yaml is exactly what `--draw` writes: nobody edited or re-drew it."""
    assert heldout.SETTINGS_FILE.read_text() == heldout.draw_text()
    assert len(heldout.read_settings()) >= 12


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


@pytest.mark.slow
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
    assert "The CI lies above zero in" in (tmp_path / "result.md").read_text()
