"""Invariants under arbitrary actions, NaN, infinities and out-of-box values (hypothesis)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.dynamics import completion_probability
from agentic_jax.env.modes import mutual_pairs

# "collab" is the extended layout plus per-agent columns, so it covers both
ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2, max_active_per_agent=2,
                                obs_mode="collab")
SEED_ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2,
                                     max_active_per_agent=2, obs_mode="seed")
STEPS = 24
# Short episodes so auto-reset happens inside a sequence; busy arrivals to fill the queue.
PARAMS = ENV.default_params.replace(max_steps_in_episode=10, arrival_rate=0.9,
                                    max_arrivals_per_step=3)
TRADEOFF = PARAMS.with_collaboration_tradeoff()

action_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, 0.5, 0.5000001, 0.7, 0.71, 1.0, -1.0, 2.0]),
)
action_sequences = arrays(np.float32, (STEPS, ENV.num_actions), elements=action_values)


def _rollout(env, params, key, actions):
    obs, state = env.reset(key, params)

    def body(carry, inputs):
        state, _ = carry
        k, a = inputs
        pairs = mutual_pairs(env.agent_major(a)[:, 2] > params.collaboration_threshold)
        effort = env.agent_major(a)[:, 1]
        _, p = completion_probability(state, effort, pairs, params)
        obs, state, reward, terminated, truncated, info = env.step(k, state, a, params)
        return (state, obs), (state, obs, reward, p, info["final_observation"])

    keys = jax.random.split(key, actions.shape[0])
    return obs, state, jax.lax.scan(body, (state, obs), (keys, actions))[1]


ROLLOUTS = {
    (name, tradeoff): jax.jit(lambda k, a, e=e, p=p: _rollout(e, p, k, a))
    for name, e in (("collab", ENV), ("seed", SEED_ENV))
    for tradeoff, p in ((False, PARAMS), (True, TRADEOFF))
}


@settings(max_examples=30, deadline=None)
@given(actions=action_sequences, seed=st.integers(0, 2**31 - 1),
       mode=st.sampled_from(["collab", "seed"]), tradeoff=st.booleans())
def test_state_stays_valid_under_any_action(actions, seed, mode, tradeoff):
    env = ENV if mode == "collab" else SEED_ENV
    obs0, state0, (states, obs, rewards, p_complete, final_obs) = ROLLOUTS[(mode, tradeoff)](
        jax.random.key(seed), jnp.asarray(actions)
    )
    # shapes and dtypes never change
    for leaf0, leaf in zip(jax.tree.leaves(state0), jax.tree.leaves(states), strict=True):
        assert leaf.shape[1:] == leaf0.shape and leaf.dtype == leaf0.dtype
    assert obs.shape == (STEPS, env.obs_size()) and obs.dtype == obs0.dtype == jnp.float32
    # everything finite
    assert np.isfinite(np.asarray(obs)).all() and np.isfinite(np.asarray(final_obs)).all()
    assert np.isfinite(np.asarray(rewards)).all()
    # queue bounded and packed at the front (FIFO without holes)
    valid = np.asarray(states.queue.valid)
    assert valid.sum(-1).max() <= env.max_tasks
    assert (np.diff(valid.astype(int), axis=-1) <= 0).all()
    # loads, counters never negative; probabilities and rates in [0, 1]
    assert (np.asarray(states.current_load) >= 0).all()
    counters = states.counters.replace(episode_return=jnp.zeros(()))  # a return may be < 0
    for leaf in jax.tree.leaves(counters):
        assert (np.asarray(leaf) >= 0).all()
    assert (np.asarray(states.completed_tasks) >= 0).all()
    p = np.asarray(p_complete)
    assert ((p >= 0) & (p <= 1)).all()
    sr = np.asarray(states.success_rate)
    assert ((sr >= 0) & (sr <= 1)).all()
    assert (np.asarray(states.collaboration_matrix) >= 1.0).all()
    # every task accounted for: arrived = queued + held + completed + dropped
    c = states.counters
    held = np.asarray(states.active.valid).sum((-1, -2))
    accounted = valid.sum(-1) + held + np.asarray(c.completed) + np.asarray(c.dropped)
    np.testing.assert_array_equal(np.asarray(c.arrived), accounted)
    if mode == "collab":  # held tasks per type / K sum to the active slots in use / K
        start, n, per_agent = ENV.agent_obs_block()
        rows = np.asarray(obs)[:, start: start + n * per_agent].reshape(STEPS, n, per_agent)
        T = ENV.n_task_types
        np.testing.assert_allclose(rows[..., 7 + T: 7 + 2 * T].sum(-1), rows[..., 5], atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(a=arrays(np.float32, (ENV.num_actions,), elements=action_values))
def test_sanitized_action_is_in_the_box(a):
    clean = np.asarray(ENV.agent_major(jnp.asarray(a)))
    assert clean.shape == (ENV.n_agents, 3)
    assert np.isfinite(clean).all() and (clean >= 0).all() and (clean <= 1).all()
    assert (clean.ravel()[np.isnan(a)] == 0).all()


SELECT_ENV = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2,
                                       max_active_per_agent=2, action_mode="select")
choice_values = st.one_of(st.integers(-2, 7).map(float), action_values)
select_sequences = arrays(np.float32, (STEPS, SELECT_ENV.num_actions), elements=choice_values)


@jax.jit
def _select_rollout(key, actions):
    obs, state = SELECT_ENV.reset(key, TRADEOFF)

    def body(state, inputs):
        k, a = inputs
        obs, state, reward, _, _, info = SELECT_ENV.step(k, state, a, TRADEOFF)
        return state, (state, obs, reward, info["final_observation"])

    keys = jax.random.split(key, actions.shape[0])
    return state, jax.lax.scan(body, state, (keys, actions))[1]


@settings(max_examples=8, deadline=None)
@given(actions=select_sequences, seed=st.integers(0, 2**31 - 1))
def test_select_mode_state_stays_valid_under_any_action(actions, seed):
    state0, (states, obs, rewards, final_obs) = _select_rollout(jax.random.key(seed),
                                                                jnp.asarray(actions))
    for leaf0, leaf in zip(jax.tree.leaves(state0), jax.tree.leaves(states), strict=True):
        assert leaf.shape[1:] == leaf0.shape and leaf.dtype == leaf0.dtype
    for x in (obs, final_obs, rewards):
        assert np.isfinite(np.asarray(x)).all()
    valid = np.asarray(states.queue.valid)
    assert (np.diff(valid.astype(int), axis=-1) <= 0).all()  # packed at the front
    # empty queue slots read as zeros (what a policy sees for "no task")
    assert (np.asarray(states.queue.priority)[~valid] == 0).all()
    active = np.asarray(states.active.valid)
    assert active.sum(-1).max() <= SELECT_ENV.max_active_per_agent
    c = states.counters
    for leaf in jax.tree.leaves(c.replace(episode_return=jnp.zeros(()))):
        assert (np.asarray(leaf) >= 0).all()
    # at most one task per agent and step; every task accounted for
    assigned = np.asarray(c.assigned)
    steps = np.asarray(states.time)
    assert (assigned <= SELECT_ENV.n_agents * steps).all()
    held = active.sum((-1, -2))
    accounted = valid.sum(-1) + held + np.asarray(c.completed) + np.asarray(c.dropped)
    np.testing.assert_array_equal(np.asarray(c.arrived), accounted)
    sr = np.asarray(states.success_rate)
    assert ((sr >= 0) & (sr <= 1)).all() and (np.asarray(states.collaboration_matrix) >= 1).all()


@settings(max_examples=20, deadline=None)
@given(a=arrays(np.float32, (SELECT_ENV.num_actions,), elements=choice_values))
def test_sanitized_select_action_is_in_the_space(a):
    clean = SELECT_ENV.agent_major(jnp.asarray(a))
    assert clean.shape == (SELECT_ENV.n_agents, 2) and clean.dtype == jnp.int32
    assert bool(SELECT_ENV.action_space().contains(clean.ravel()))
    choice = np.where(np.abs(a[0::2]) < np.finfo(np.float32).tiny, 0.0, a[0::2])  # XLA: FTZ
    none = ~np.isfinite(choice) | (np.floor(choice) < 0) | (np.floor(choice) > 5)
    assert (np.asarray(clean[:, 0])[none] == 5).all()
