"""Per-update PPO metrics of two small fixed configs, pinned against a recorded file.

`python tests/ppo/test_pinned_metrics.py --write` recorded `data/pinned_metrics.json` on the
code before the module redesign (commit 5f69ad8); the test checks that the current code still
produces the same numbers, to float tolerance. Re-record only for an intended change of
behaviour, and say so in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import PPOConfig, make_train

PATH = Path(__file__).parent / "data" / "pinned_metrics.json"

CASES = {
    "per_agent_normalized_kl": (
        {"obs_mode": "extended"},
        {"collaboration_sharing": 0.5, "collaboration_cost": 0.2, "max_steps_in_episode": 10},
        PPOConfig(
            n_envs=4, n_steps=16, batch_size=16, n_epochs=2, total_timesteps=4 * 16 * 3,
            lr_schedule="seed_linear", ent_coef=0.01, ent_coef_schedule="linear",
            normalize_obs=True, target_kl=2e-5, clip_range_vf=0.2, actor="per_agent",
            net_arch={"pi": [32, 32], "vf": [32, 32]}, log_std_init=1.0,
        ),
    ),
    "shared_trunk_seed_obs": (
        {"obs_mode": "seed", "n_agents": 3, "max_tasks": 6},
        {"max_steps_in_episode": 20},
        PPOConfig(
            n_envs=2, n_steps=32, batch_size=32, n_epochs=3, total_timesteps=2 * 32 * 3,
            shared_trunk=True, rescale_actions=True, reward_scale=0.1, layer_norm=True,
            activation="tanh", net_arch=[16, 16], learning_rate=1e-3,
        ),
    ),
}


def run_case(name: str) -> dict[str, list[float]]:
    """The per-update metrics and a parameter checksum of case `name`, as Python floats."""
    env_kwargs, param_overrides, config = CASES[name]
    env = MultiAgentTaskEnvironment(**env_kwargs)
    params = env.make_params(**param_overrides)
    out = jax.jit(make_train(config, env, params))(jax.random.PRNGKey(7))
    metrics = {k: np.asarray(v, np.float64).tolist() for k, v in out.metrics.items()}
    leaves = jax.tree.leaves(out.runner_state.train_state.params)
    metrics["param_abs_sum"] = [float(sum(np.abs(np.asarray(x, np.float64)).sum() for x in leaves))]
    return metrics


@pytest.mark.parametrize("name", sorted(CASES))
def test_metrics_match_the_recorded_run(name):
    recorded = json.loads(PATH.read_text())[name]
    current = run_case(name)
    assert sorted(current) == sorted(recorded)
    for key, values in recorded.items():
        np.testing.assert_allclose(current[key], values, rtol=2e-5, atol=1e-6, err_msg=key)


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit("usage: python tests/ppo/test_pinned_metrics.py --write")
    PATH.write_text(json.dumps({name: run_case(name) for name in CASES}, indent=1) + "\n")
    print(f"wrote {PATH}")
