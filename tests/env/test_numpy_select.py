"""The select-mode NumPy reference (reference.numpy_select) replays the JAX env.

Both sides get the same uniforms (recomputed from the keys the JAX env is called with) and the
same random integer actions, with conflicts, none, empty slots and invalid values; rewards,
per-agent rewards, observations and episode metrics must agree step by step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.numpy_select import NumpySelectEnv

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment

RTOL = ATOL = 1e-4
N_STEPS = 100
SHAPES = {
    "default": dict(n_agents=4, max_tasks=10, n_task_types=3, max_active_per_agent=4),
    "small": dict(n_agents=3, max_tasks=4, n_task_types=2, max_active_per_agent=2),
    "large": dict(n_agents=8, max_tasks=12, n_task_types=4, max_active_per_agent=3),
}
PARAMS = {
    "seed": EnvParams(),
    "busy": EnvParams(max_arrivals_per_step=3, arrival_rate=0.9, deadline_min=1.0,
                      deadline_max=6.0).with_collaboration_tradeoff(sharing=0.6, cost=0.2,
                                                                     bonus=0.25),
}


def _actions(rng: np.random.Generator, n: int, Q: int, n_steps: int) -> np.ndarray:
    """Random choices biased to the first slots (conflicts), with none, out-of-range and
    non-finite entries, and collaboration flags; float32 so that NaN can be passed."""
    choice = np.minimum(rng.geometric(0.4, (n_steps, n)) - 1, Q + 2).astype(np.float32)
    collab = (rng.random((n_steps, n)) < 0.4).astype(np.float32)
    odd = rng.random((n_steps, n)) < 0.08
    choice[odd] = rng.choice(np.array([np.nan, np.inf, -1.0, 1.5, Q, 2.0**30], np.float32),
                             odd.sum())
    phase = np.arange(n_steps) * 5 // n_steps
    choice[phase == 1] = Q  # nobody takes a task: the queue fills, arrivals drop
    return np.stack([choice, collab], -1).reshape(n_steps, 2 * n)


@pytest.mark.parametrize("shape,params_name,n_steps,obs_mode", [
    ("default", "seed", N_STEPS, "extended"),
    ("small", "busy", N_STEPS, "collab"),
    pytest.param("large", "busy", 300, "collab", marks=pytest.mark.slow),
    pytest.param("default", "busy", 300, "extended", marks=pytest.mark.slow),
])
def test_numpy_select_reference_replays_jax_env(shape, params_name, n_steps, obs_mode):
    params = PARAMS[params_name]
    env = MultiAgentTaskEnvironment(obs_mode=obs_mode, action_mode="select", **SHAPES[shape])
    ref = NumpySelectEnv(obs_mode=obs_mode, params=params, **SHAPES[shape])
    actions = _actions(np.random.default_rng(7), env.n_agents, env.max_tasks, n_steps)

    @jax.jit
    def run(key, actions):
        reset_key, run_key = jax.random.split(key)
        obs0, state = env.reset_env(reset_key, params)

        def one(state, xs):
            k, a = xs
            obs, state, reward, _, info = env.step_env(k, state, a, params)
            return state, dict(u=env.step_uniforms(k, params), obs=obs, reward=reward,
                               agent_rewards=info["agent_rewards"],
                               metrics=info["episode_metrics"])

        keys = jax.random.split(run_key, actions.shape[0])
        return env.reset_uniforms(reset_key, params), obs0, jax.lax.scan(
            one, state, (keys, actions))[1]

    u0, obs0, outs = jax.device_get(run(jax.random.key(5), jnp.asarray(actions)))
    obs, _ = ref.reset(uniforms=u0)
    np.testing.assert_allclose(obs, obs0, rtol=RTOL, atol=ATOL)
    for t in range(n_steps):
        obs, reward, _, _, info = ref.step(actions[t], uniforms=outs["u"][t])
        where = f"step {t + 1}, action {actions[t].tolist()}"
        np.testing.assert_allclose(reward, outs["reward"][t], RTOL, ATOL, err_msg=where)
        np.testing.assert_allclose(info["agent_rewards"], outs["agent_rewards"][t], RTOL, ATOL,
                                   err_msg=where)
        np.testing.assert_allclose(obs, outs["obs"][t], RTOL, ATOL, err_msg=where)
        for name, value in info["episode_metrics"].items():
            np.testing.assert_allclose(value, outs["metrics"][name][t], RTOL, ATOL,
                                       err_msg=f"{name} at {where}")
    c = ref.counters  # the actions did exercise the rules
    assert c["assigned"] > 20 and c["completed"] > 0 and c["collaborating"] > 0
    assert c["dropped"] > 0
