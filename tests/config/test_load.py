"""`agentic_jax.config.load`: YAML sections, overrides, type conversion, errors that name the key,
and the run-directory round trip (no compilation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import EnvConfig, NetArch, PPOConfig, RunConfig, SystemConfig, load
from agentic_jax.config.env import SHAPE_FIELDS
from agentic_jax.env import EnvParams
from agentic_jax.env.evaluation import heuristics_for

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["default", "quick", "accelerator"])
def test_shipped_configs_load_and_validate(name):
    run = load(CONFIGS / f"{name}.yaml")
    assert isinstance(run.ppo, PPOConfig)
    assert run.env.obs_mode == "extended"
    assert run.env.params.collaboration_sharing == 1.0
    if name == "default":  # the seed's PPO setup
        c = run.ppo
        assert (c.n_envs, c.n_steps, c.batch_size, c.n_epochs, c.learning_rate) == (
            4, 2048, 64, 10, 3e-4,
        )


def test_defaults_without_a_file():
    assert load() == RunConfig()
    assert load(None, []).env == EnvConfig()


def test_overrides_and_types(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("env:\n  arrival_rate: 0.5\nppo:\n  learning_rate: 3e-4\n  n_envs: 8\n")
    run = load(
        path,
        [
            "ppo.learning_rate=1e-3",
            "ppo.net_arch=[32, 32]",
            "env.obs_mode=seed",
            "ppo.total_timesteps=1e6",
            "system.eval_freq=5e4",
            "system.min_delta=1",
        ],
    )
    assert run.ppo.learning_rate == 1e-3
    assert run.ppo.n_envs == 8
    assert run.ppo.total_timesteps == 1_000_000 and isinstance(run.ppo.total_timesteps, int)
    assert run.ppo.net_arch == NetArch((32, 32), (32, 32))
    assert run.env.obs_mode == "seed"
    assert run.env.params == EnvParams(arrival_rate=0.5)
    assert run.system.eval_freq == 50_000 and isinstance(run.system.eval_freq, int)
    assert run.system.min_delta == 1.0 and isinstance(run.system.min_delta, float)


def test_optional_fields_take_null_and_numbers():
    run = load(None, ["ppo.target_kl=0.02", "system.max_timesteps=null", "ppo.clip_range_vf=1"])
    assert run.ppo.target_kl == 0.02
    assert run.ppo.clip_range_vf == 1.0
    assert run.system.max_timesteps is None


@pytest.mark.parametrize(
    "text, overrides, key",
    [
        ("trainer:\n  x: 1\n", [], "trainer"),
        ("ppo:\n  learning_rte: 1.0\n", [], "ppo.learning_rte"),
        ("env:\n  n_agentz: 3\n", [], "env.n_agentz"),
        ("ppo:\n  n_envs: four\n", [], "ppo.n_envs"),
        ("ppo:\n  n_envs: 2.5\n", [], "ppo.n_envs"),
        ("ppo:\n  normalize_obs: 1\n", [], "ppo.normalize_obs"),
        ("env:\n  arrival_rate: fast\n", [], "env.arrival_rate"),
        ("ppo: [1, 2]\n", [], "section 'ppo'"),
        ("- 1\n", [], "top level"),
        ("ppo:\n  n_envs: [\n", [], "not valid YAML"),
        ("", ["ppo.batch_size=100"], "batch_size"),
        ("", ["ppo.gamma"], "ppo.gamma"),
        ("", ["ppo.gamma=1.5"], r"ppo\.gamma=1\.5 is out of range \(allowed: \[0, 1\]\)"),
        ("", ["ppo.net_arch={pi: [8], qf: [8]}"], "net_arch"),
        ("", ["ppo.net_arch=[8, x]"], "ppo.net_arch.pi"),
        ("", ["system.nope=1"], "system.nope"),
        ("", ["system.eval_freq=0"], "system.eval_freq"),
        ("", ["system.target_completion_rate=1.5"], "system.target_completion_rate"),
        ("", ["system.heuristics=[oracle]"], "system.heuristics"),
        ("", ["system.heuristics=oracle"], "system.heuristics"),
        ("", ["system.progress=maybe"], "system.progress"),
        ("", ["env.bogus=3"], "env.bogus"),
        ("", ["env.arrival_rate=2"], "arrival_rate"),
        ("", ["env.initial_tasks=20"], "initial_tasks"),
        ("", ["env.obs_mode=pixels"], "obs_mode"),
        ("", ["other.x=1"], "unknown section"),
        ("", ["systemeval_freq"], "section.key=value"),
        ("", ["ppo.gamma=[1"], "not valid YAML"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, overrides, key):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=key.replace(".", r"\.") if "\\" not in key else key):
        load(path if text else None, overrides)  # an empty file is an error of its own


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load(tmp_path / "missing.yaml")


def test_run_directory_yaml_round_trips_to_an_equal_config(tmp_path):
    run = load(CONFIGS / "quick.yaml", ["system.seed=3", "ppo.target_kl=0.05",
                                        "system.heuristics=[random]"])
    path = tmp_path / "config.yaml"
    path.write_text(run.to_yaml())
    again = load(path)
    assert again == run
    assert hash(again) == hash(run)
    assert RunConfig.from_dict(run.to_dict()) == run
    # every field is written, so a change of defaults cannot change a stored run
    stored = yaml.safe_load(path.read_text())
    assert set(stored["ppo"]) == {f.name for f in dataclasses.fields(PPOConfig)}
    assert set(stored["system"]) == {f.name for f in dataclasses.fields(SystemConfig)}
    assert len(stored["env"]) == len(SHAPE_FIELDS) + len(dataclasses.fields(EnvParams))


def test_configs_are_hashable_keys():
    a = load(None, ["ppo.n_envs=8"])
    b = load(None, ["ppo.n_envs=8"])
    c = load(None, ["ppo.n_envs=16"])
    cache = {(a.env, a.ppo): "compiled"}
    assert cache.get((b.env, b.ppo)) == "compiled"
    assert (c.env, c.ppo) not in cache


@settings(max_examples=40, deadline=None)
@given(
    learning_rate=st.floats(1e-6, 1.0),
    n_envs=st.sampled_from([1, 2, 4, 8]),
    gamma=st.floats(0.0, 1.0),
    arrival_rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1),
    target_kl=st.none() | st.floats(1e-4, 1.0),
)
def test_round_trip_property(learning_rate, n_envs, gamma, arrival_rate, seed, target_kl):
    kl = "null" if target_kl is None else repr(target_kl)
    run = load(None, [f"ppo.learning_rate={learning_rate!r}", f"ppo.n_envs={n_envs}",
                      f"ppo.gamma={gamma!r}", f"env.arrival_rate={arrival_rate!r}",
                      f"system.seed={seed}", f"ppo.target_kl={kl}"])
    assert load(yaml.safe_load(run.to_yaml())) == run


def test_env_scaled_keeps_the_load_per_agent():
    env = load(Path(__file__).resolve().parents[2] / "configs" / "select.yaml").env
    big = env.scaled(16)
    assert (big.n_agents, big.max_tasks) == (16, 4 * env.max_tasks)
    assert big.params.max_arrivals_per_step == 4 * env.params.max_arrivals_per_step
    assert big.params.initial_tasks == 4 * env.params.initial_tasks
    assert big.params.replace(max_arrivals_per_step=env.params.max_arrivals_per_step,
                              initial_tasks=env.params.initial_tasks) == env.params
    assert (big.obs_mode, big.action_mode) == (env.obs_mode, env.action_mode)
    assert env.scaled(env.n_agents) == env
    with pytest.raises(ValueError, match="n_agents=6 is not a multiple of 4"):
        env.scaled(6)


def test_select_team_config_is_the_recipe_with_team_requests_and_slots():
    team, recipe = load(CONFIGS / "select_team.yaml"), load(CONFIGS / "select.yaml")
    assert team.env == dataclasses.replace(recipe.env, action_mode="select_team",
                                           obs_mode="slots")
    assert team.ppo == recipe.ppo
    assert set(team.system.heuristics) <= set(heuristics_for("select_team"))


def test_generalist_config_is_select_team_drawn_from_the_family_in_slots_rates_by_matching():
    generalist, team = load(CONFIGS / "generalist.yaml"), load(CONFIGS / "select_team.yaml")
    family = load(CONFIGS / "select_team.yaml", ["env.randomize=family"]).env.params.randomize
    assert generalist.env == dataclasses.replace(
        team.env, obs_mode="slots_rates", params=team.env.params.replace(randomize=family))
    assert generalist.ppo == team.ppo.replace(select_decoding="matching")
    assert generalist.system == team.system
