"""A small full run: files, callback boundaries, single compile, predict/evaluate/save/load."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from agentic_jax.system import AgenticRLSystem
from agentic_jax.training.store import read_records

from .conftest import tiny_config


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    system = AgenticRLSystem(tiny_config(), run_dir=run_dir)
    result = system.train()
    return system, result, run_dir


def test_run_directory_contents(run):
    _, result, run_dir = run
    assert result["stop_reason"] == "max_timesteps"
    assert result["timesteps"] == 16 * 64
    assert result["run_dir"] == str(run_dir) and result["moved_aside"] is None
    best = max(read_records(run_dir, "eval"), key=lambda r: r["mean_reward"])["update"]
    assert result["best_model"] == str(run_dir / "best_model" / str(best))
    assert (run_dir / "config.yaml").is_file()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "metrics.jsonl").is_file()
    assert (run_dir / "evaluations.csv").is_file()
    assert (run_dir / "learning_curve.png").stat().st_size > 1000
    assert (run_dir / "heuristics.json").is_file()
    assert [p.name for p in (run_dir / "best_model").iterdir() if p.name.isdigit()]


def test_callbacks_fire_at_chunk_boundaries(run):
    system, _, run_dir = run
    assert (system.eval_every, system.checkpoint_every, system.chunk_updates) == (2, 4, 2)
    evals = read_records(run_dir, "eval")
    assert [r["update"] for r in evals] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert [r["timestep"] for r in evals] == [128 * i for i in range(1, 9)]
    steps = sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [8, 12, 16]  # every 4 updates, max_to_keep=3
    train = read_records(run_dir, "train")
    assert [r["update"] for r in train] == list(range(1, 17))
    for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "episode_return"):
        assert key in train[0]
    for key in ("mean_reward", "completion_rate", "utilisation", "collaboration_frequency",
                "match"):
        assert key in evals[0]


def test_chunk_compiles_once(run):
    system, _, _ = run
    assert system.trace_count() == 1  # 8 chunks of 2 updates, one trace
    again = AgenticRLSystem(tiny_config())
    again.train()
    assert again.trace_count() == 1


def test_best_model_matches_best_eval(run):
    system, _, run_dir = run
    evals = read_records(run_dir, "eval")
    best = max(evals, key=lambda r: r["mean_reward"])
    saved = [int(p.name) for p in (run_dir / "best_model").iterdir() if p.name.isdigit()]
    assert saved == [best["update"]]
    loaded = AgenticRLSystem.load(run_dir)
    assert loaded.update_step == best["update"]
    assert loaded.tracker.best_reward == pytest.approx(best["mean_reward"])


def test_predict_evaluate_save_load(run, tmp_path):
    system, _, _ = run
    obs_size = system.env.obs_size()
    obs = np.random.default_rng(0).normal(size=(5, obs_size)).astype(np.float32)
    action = system.predict(obs)
    assert action.shape == (5, system.env.num_actions)
    assert np.all((action >= 0) & (action <= 1))
    single = system.predict(obs[0])
    np.testing.assert_allclose(single, action[0], atol=1e-5)
    stochastic = system.predict(obs, deterministic=False)
    assert stochastic.shape == action.shape and np.all((stochastic >= 0) & (stochastic <= 1))
    with pytest.raises(ValueError, match="obs must have shape"):
        system.predict(np.zeros(obs_size + 1))
    for bad in (np.nan, np.inf, -np.inf):
        broken = obs.copy()
        broken[2, 5] = bad
        with pytest.raises(ValueError, match=r"obs\[2, 5\] is .*must be finite"):
            system.predict(broken)
    metrics = system.evaluate(n_episodes=4)
    for key in ("mean_reward", "completion_rate", "utilisation", "collaboration_frequency"):
        assert np.isfinite(metrics[key])

    path = system.save(tmp_path / "saved")
    loaded = AgenticRLSystem.load(path)
    same = jax.tree.map(lambda a, b: np.array_equal(np.asarray(a), np.asarray(b)),
                        system.params, loaded.params)
    assert all(jax.tree.leaves(same))
    np.testing.assert_array_equal(loaded.predict(obs), action)
    assert loaded.evaluate(4) == metrics


def test_start_from_refuses_what_cannot_carry_over():
    """A warm start needs a per-agent actor, the same network and an untrained system; each
    refusal names what differs."""
    def select_system(n_agents: int, width: int, actor: str = "ippo") -> AgenticRLSystem:
        config = tiny_config()
        config["env"].update(n_agents=n_agents, max_tasks=2 * n_agents, action_mode="select")
        config["ppo"].update(policy="discrete", actor=actor,
                             net_arch={"pi": [width], "vf": [width]})
        return AgenticRLSystem(config)

    with pytest.raises(ValueError, match="ppo.actor='ippo' or 'mappo'"):
        select_system(3, 8, actor="mlp").start_from(select_system(2, 8, actor="mlp"))
    with pytest.raises(ValueError, match="network differs.*ppo.actor: 'mlp' -> 'ippo'"):
        select_system(3, 8).start_from(select_system(2, 8, actor="mlp"))
    source = select_system(2, 8)
    with pytest.raises(ValueError, match=r"network differs.*ppo.net_arch"):
        select_system(3, 16).start_from(source)
    target = select_system(3, 8)
    target.runner_state = target.runner_state.replace(update_step=jax.numpy.int32(1))
    with pytest.raises(ValueError, match="trained 1 updates already"):
        target.start_from(source)


@pytest.mark.slow
def test_evaluate_at_acts_zero_shot_beside_that_envs_rules():
    """`evaluate_at`: at the run's own env it is `evaluate` and `evaluate_heuristics` on the
    same episodes; at another team size and queue the same parameters act there and the rules
    are that env's; what cannot act there, or a rule of no table, is refused before compiling."""
    config = tiny_config()
    config["env"].update(n_agents=2, max_tasks=4, action_mode="select", obs_mode="slots")
    config["ppo"].update(policy="discrete", actor="ippo")
    system = AgenticRLSystem(config)
    key = jax.random.key(3)
    own = system.evaluate_at(system.config.env, 4, key, ["random", "least_loaded"])
    assert list(own) == ["learned", "random", "least_loaded"]  # the rules in the order asked
    assert own["learned"] == system.evaluate(4, key)
    assert {k: own[k] for k in ("random", "least_loaded")} == system.evaluate_heuristics(
        4, key, ["random", "least_loaded"])
    bigger = system.config.env.scaled(4)
    away = system.evaluate_at(bigger, 4, key, ["least_loaded"])
    assert set(away) == {"learned", "least_loaded"} and away["learned"] != own["learned"]
    assert 0.0 <= away["learned"]["completion_rate"] <= 1.0
    team_mode = dataclasses.replace(bigger, action_mode="select_team")
    with pytest.raises(ValueError, match="rules \\['expected_rate_helps'\\] are not in the "
                                         "'select_team' mode's table"):
        system.evaluate_at(team_mode, 4, key, ["expected_rate_helps"])
    mlp = AgenticRLSystem({**config, "ppo": {**config["ppo"], "actor": "mlp"}})
    with pytest.raises(ValueError, match="ppo.actor='mlp' cannot move"):
        mlp.evaluate_at(bigger, 4, key)
    with pytest.raises(ValueError, match="n_episodes=0 is invalid"):
        system.evaluate_at(bigger, 0, key)
