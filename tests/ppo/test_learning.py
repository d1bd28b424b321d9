"""Slow learning check: PPO with configs/quick.yaml on the default env vs the heuristics.

Run with `pytest -m slow tests/ppo/test_learning.py` (about 5 CPU minutes on 2 cores).
"""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

from agentic_jax.config_io import load_config
from agentic_jax.env.policies import HEURISTICS, evaluate_policy
from agentic_jax.ppo import make_act, make_train

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "quick.yaml"


@pytest.mark.slow
def test_quick_config_learns_to_match_or_beat_every_heuristic():
    run = load_config(CONFIG)
    env, params = run.make_env()
    out = jax.jit(make_train(run.ppo, env, params))(jax.random.PRNGKey(0))
    returns = out.metrics["episode_return"]
    assert float(returns[-10:].mean()) > float(returns[:10].mean()) + 500.0

    act = make_act(run.ppo, env, params)

    def learned(key, state, env_params):
        return act(out.runner_state, env.get_obs(state, env_params), key, True)

    key = jax.random.PRNGKey(12345)
    ppo = evaluate_policy(learned, env, params, key, 128)
    table = {name: evaluate_policy(p, env, params, key, 128) for name, p in HEURISTICS.items()}
    best_reward = max(float(m["mean_reward"]) for m in table.values())
    best_completion = max(float(m["completion_rate"]) for m in table.values())
    print({"ppo": float(ppo["mean_reward"]), "best_heuristic": best_reward})
    # Clear margin over every heuristic that does not collaborate, and over random.
    for name, m in table.items():
        if not name.endswith("_collab"):
            assert float(ppo["mean_reward"]) > float(m["mean_reward"]) + 300.0, name
    # On par with the best (collaborating) heuristic: within 5% of its return. (Beating it by a
    # clear margin is the goal, not yet reached: PPO plateaus at about its level.)
    assert float(ppo["mean_reward"]) > 0.95 * best_reward
    assert float(ppo["completion_rate"]) >= best_completion - 0.02
