"""A new action mode is one new module: here a toy one, defined and registered in this file.

The toy mode "head": one yes/no per agent, "take the queue head"; every agent works at full
effort and nobody collaborates. It reuses the seed mode's first-come first-served assignment,
so its "always" rule must replay the seed mode's ``always_accept`` exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment, modes
from agentic_jax.env.evaluation import evaluate_heuristics, evaluate_policy, heuristics_for
from agentic_jax.env.modes import Assignment, MultiDiscrete
from agentic_jax.env.modes.seed import assign as fifo_assign
from agentic_jax.env.rules import RULES
from agentic_jax.ppo import PPOConfig, make_collect, make_init


def _always(key, state, params):
    return jnp.ones(state.capacity.shape, jnp.int32)


def _random(key, state, params):
    return jax.random.randint(key, state.capacity.shape, 0, 2)


class HeadMode:
    name = "head"
    fields = 1
    discrete = True

    def sanitize(self, action, max_tasks, axis=0):
        return jnp.where(jnp.asarray(action, jnp.float32) > 0.5, 1.0, 0.0)  # NaN reads as 0

    def from_clean(self, clean, n_agents):
        return clean.astype(jnp.int32).reshape((n_agents, 1) + clean.shape[1:])

    def nvec(self, n_agents, max_tasks):
        return (2,) * n_agents

    def space(self, n_agents, max_tasks):
        return MultiDiscrete(self.nvec(n_agents, max_tasks))

    def assign(self, state, a, params):
        state, reward, match = fifo_assign(state, a[:, 0] > 0)
        nobody = jnp.zeros(a[:, 0].shape, bool)
        return Assignment(state, reward, match, nobody, jnp.ones(a[:, 0].shape, jnp.float32))

    @property
    def rules(self):
        return {"random": _random, "always": _always}


@pytest.fixture(scope="module")
def head_env():
    modes.register(HeadMode())
    yield MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, action_mode="head")
    modes.unregister("head")


PARAMS = MultiAgentTaskEnvironment().default_params.replace(max_steps_in_episode=20)


def test_a_registered_mode_is_selectable_by_name(head_env):
    assert "head" in modes.names() and head_env.action_mode == "head"
    spec = head_env.spec()
    assert (spec.action_mode, spec.action_size, spec.nvec) == ("head", 3, (2, 2, 2))
    assert head_env.action_space(PARAMS).shape == (3,)
    assert set(heuristics_for("head")) == {"random", "always"}
    with pytest.raises(ValueError, match="action_mode='nope' is unknown"):
        MultiAgentTaskEnvironment(action_mode="nope")


def test_the_env_steps_one_and_a_batch_with_it(head_env):
    obs, state = head_env.reset(jax.random.key(0), PARAMS)
    a = jnp.array([1, 0, 1])
    obs, state, reward, _, _, _ = head_env.step(jax.random.key(1), state, a, PARAMS)
    assert obs.shape == (head_env.obs_size(),) and np.isfinite(float(reward))
    assert int(state.counters.collaborating) == 0
    obs, states = head_env.batch_reset(jax.random.key(2), PARAMS, 5)
    out = head_env.batch_step(jax.random.key(3), states, jnp.ones((5, 3)), PARAMS)
    assert out[0].shape == (5, head_env.obs_size()) and out[2].shape == (5,)


def test_its_rules_replay_the_seed_mode_they_copy(head_env):
    seed_env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4)
    key = jax.random.key(4)
    table = evaluate_heuristics(head_env, PARAMS, key, 8, ("always",))
    want = evaluate_policy(RULES["always_accept"], seed_env, PARAMS, key, 8)
    assert table["always"]["mean_reward"] == float(want["mean_reward"])
    assert table["always"]["completion_rate"] == float(want["completion_rate"]) > 0


def test_ppo_collects_a_rollout_in_it(head_env):
    config = PPOConfig(policy="discrete", actor="ippo", n_envs=4, n_steps=6, batch_size=8,
                       net_arch={"pi": [8], "vf": [8]})
    rs = make_init(config, head_env, PARAMS)(jax.random.PRNGKey(0))
    collect = jax.jit(make_collect(config, head_env, PARAMS))
    rs, traj, _ = collect(rs, jax.random.PRNGKey(1), jax.random.PRNGKey(2))
    actions = np.asarray(traj.action)
    assert actions.shape == (6, 4, 3) and set(np.unique(actions)) <= {0.0, 1.0}
    assert np.isfinite(np.asarray(traj.log_prob)).all()
