"""Slow learning checks: PPO with configs/quick.yaml on the default env vs the heuristics.

Run with `pytest -m slow tests/ppo/test_learning.py` (one ~3-minute training run on 2 cores,
12M env steps, shared by the tests). The entropy is not checked: with quick.yaml's entropy
bonus the state-independent std grows during training (see the config's comment).
"""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

from agentic_jax.config_io import load_config
from agentic_jax.env.policies import HEURISTICS, evaluate_policy
from agentic_jax.ppo import make_act, make_train

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "quick.yaml"


@pytest.fixture(scope="module")
def trained():
    run = load_config(CONFIG)
    env, params = run.make_env()
    out = jax.jit(make_train(run.ppo, env, params))(jax.random.PRNGKey(0))
    act = make_act(run.ppo, env, params)

    def learned(key, state, env_params):
        return act(out.runner_state, env.get_obs(state, env_params), key, True)

    key = jax.random.PRNGKey(12345)
    rows = {"ppo (deterministic)": evaluate_policy(learned, env, params, key, 128)}
    rows.update({name: evaluate_policy(p, env, params, key, 128) for name, p in HEURISTICS.items()})
    rows = {name: {k: float(v) for k, v in m.items()} for name, m in rows.items()}
    for name, m in sorted(rows.items(), key=lambda kv: -kv[1]["mean_reward"]):
        print(f"{name:26s} reward {m['mean_reward']:9.1f} completion {m['completion_rate']:.3f}")
    return out.metrics, rows.pop("ppo (deterministic)"), rows


@pytest.mark.slow
def test_quick_config_learns_and_reaches_the_best_heuristic(trained):
    metrics, ppo, heuristics = trained
    returns = metrics["episode_return"]
    assert float(returns[-10:].mean()) > float(returns[:10].mean()) + 500.0
    for name, m in heuristics.items():
        if not name.endswith("_collab"):  # clear margin over every non-collaborating heuristic
            assert ppo["mean_reward"] > m["mean_reward"] + 300.0, name
    best = max(m["mean_reward"] for m in heuristics.values())
    assert ppo["mean_reward"] > 0.95 * best


@pytest.mark.slow
def test_quick_config_beats_every_heuristic(trained):
    _, ppo, heuristics = trained
    best = max(m["mean_reward"] for m in heuristics.values())
    best_completion = max(m["completion_rate"] for m in heuristics.values())
    assert ppo["mean_reward"] > best
    assert ppo["completion_rate"] >= best_completion


@pytest.mark.slow
@pytest.mark.xfail(
    reason="goal not reached reliably: with quick.yaml (12M steps, ~2.5 CPU minutes) PPO beats "
    "the best heuristic (least_loaded_collab) by 2-8% depending on the training seed, the "
    "evaluation keys and XLA's float rounding, not by 5% every time",
    strict=False,
)
def test_quick_config_beats_every_heuristic_by_a_clear_margin(trained):
    _, ppo, heuristics = trained
    best = max(m["mean_reward"] for m in heuristics.values())
    assert ppo["mean_reward"] > 1.05 * best


@pytest.mark.slow
def test_quick_config_training_metrics_are_healthy(trained):
    metrics, _, _ = trained
    tenth = len(metrics["explained_variance"]) // 10
    ev = metrics["explained_variance"]
    assert float(ev[-tenth:].mean()) > 0.9 and float(ev[-tenth:].mean()) >= float(ev[:tenth].mean())
    assert float(metrics["approx_kl"].max()) < 0.1  # bounded: no update runs away
    assert float(metrics["approx_kl"][-tenth:].mean()) < float(metrics["approx_kl"][:tenth].mean())
