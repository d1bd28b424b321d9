"""host_policy: a NumPy predict evaluated by evaluate_policy meets the same episodes as the
same policy written in JAX (equal per-episode returns), one host call per step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.compat.policy import host_policy, model_predict
from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_policy

ENV = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, n_task_types=2)
PARAMS = ENV.default_params.replace(max_steps_in_episode=6).with_collaboration_tradeoff()
A = ENV.num_actions


def jax_policy(key, state, params):
    obs = ENV.get_obs(state, params)
    return jnp.where(obs[:A] > 0.3, 1.0, 0.0).astype(jnp.float32)


def test_host_policy_meets_the_same_episodes_as_the_jax_policy():
    calls = []

    def predict(obs):
        calls.append(obs.shape)
        return np.where(obs[:, :A] > 0.3, 1.0, 0.0)

    key = jax.random.key(5)
    ours = evaluate_policy(host_policy(predict, ENV), ENV, PARAMS, key, 3,
                           return_episode_rewards=True)
    ref = evaluate_policy(jax_policy, ENV, PARAMS, key, 3, return_episode_rewards=True)
    np.testing.assert_array_equal(ours["episode_rewards"], ref["episode_rewards"])
    assert calls == [(3, ENV.obs_size())] * 6


def test_model_predict_uses_deterministic_actions():
    class Model:
        def predict(self, obs, deterministic=False):
            return np.full((obs.shape[0], A), 1.0 if deterministic else 0.0), None

    np.testing.assert_array_equal(model_predict(Model())(np.zeros((2, 4))), np.ones((2, A)))
