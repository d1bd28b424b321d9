"""The `system:` section and full-config round trips (no compilation)."""

from __future__ import annotations

import pytest
import yaml

from agentic_jax.system.config import SystemConfig, full_config_dict, load_run_config


def test_defaults_and_round_trip(tmp_path, tiny):
    run_config, system_config = load_run_config(tiny(), ["ppo.learning_rate=1e-3"])
    assert run_config.ppo.learning_rate == 1e-3
    assert run_config.ppo.net_arch.pi == (8,)
    assert system_config.eval_freq == 128
    full = full_config_dict(run_config, system_config)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(full))
    again, system_again = load_run_config(path)
    assert again == run_config
    assert system_again == system_config


def test_default_checkpoint_freq_is_seed_value():
    assert SystemConfig().checkpoint_freq == 10_000


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["system.nope=1"], "system.nope"),
        (["system.eval_freq=0"], "system.eval_freq"),
        (["system.target_completion_rate=1.5"], "system.target_completion_rate"),
        (["system.heuristics=[oracle]"], "system.heuristics"),
        (["system.progress=maybe"], "system.progress"),
        (["ppo.n_envs=0"], "n_envs"),
        (["env.bogus=3"], "env.bogus"),
        (["other.x=1"], "unknown section"),
        (["systemeval_freq"], "section.key=value"),
    ],
)
def test_bad_values_name_the_key(overrides, match, tiny):
    with pytest.raises(ValueError, match=match):
        load_run_config(tiny(), overrides)


def test_unknown_section_and_missing_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainer: {a: 1}\n")
    with pytest.raises(ValueError, match="trainer"):
        load_run_config(path)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_run_config(tmp_path / "missing.yaml")
