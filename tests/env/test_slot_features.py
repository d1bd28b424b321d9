"""The per-agent, per-slot features (`agentic_jax.env.slot_features`) against a NumPy
reference (the "slots_rates" ones against the rules' own scores), and the "slots" and
"slots_rates" observation layouts that hold them: no size depends on `n_task_types`, and the
env's spec declares where they are."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.env import EnvState, EpisodeCounters, MultiAgentTaskEnvironment, Tasks
from agentic_jax.env.observations import agent_slot_obs_block
from agentic_jax.env.rules.scores import completion_chance, expected_rate_score
from agentic_jax.env.slot_features import (
    FEATURES,
    MIN_CAPACITY,
    RATE_FEATURES,
    agent_slot_features,
)


def reference(expertise, capacity, load, q_type, q_complexity, q_valid, K):
    """`(n, Q, 4)` by loops: own, best teammate, rank, load after taking it."""
    n, Q = expertise.shape[0], q_type.shape[0]
    out = np.zeros((n, Q, 4), np.float32)
    for i in range(n):
        for j in range(Q):
            if not q_valid[j]:
                continue
            t = q_type[j]
            own = expertise[i, t]
            others = [expertise[k, t] for k in range(n) if k != i]
            out[i, j, 0] = own
            out[i, j, 1] = max(others) if others else 0.0
            out[i, j, 2] = sum(e > own for e in others) / max(n - 1, 1)
            out[i, j, 3] = (load[i] + q_complexity[j]) / (K * max(capacity[i], MIN_CAPACITY))
    return out


def _state(rng, n, Q, T, K):
    """A state with random agents, queue and active tasks (expertise on a coarse grid, so
    ties occur; capacities include 0, below the floor; loads above and below 1)."""
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    queue = Tasks(complexity=f32(rng.uniform(0.5, 1.5, Q)), priority=f32(rng.random(Q)),
                  deadline=f32(rng.uniform(5, 20, Q)),
                  task_type=jnp.asarray(rng.integers(0, T, Q), jnp.int32),
                  valid=jnp.asarray(rng.random(Q) < 0.7))
    active_valid = rng.random((n, K)) < 0.5
    active = Tasks.empty((n, K)).replace(
        complexity=f32(rng.uniform(0.5, 1.5, (n, K)) * active_valid),
        priority=f32(rng.random((n, K)) * active_valid),
        task_type=jnp.asarray(np.where(active_valid, rng.integers(0, T, (n, K)), -1), jnp.int32),
        valid=jnp.asarray(active_valid))
    zeros = jnp.zeros(n, jnp.int32)
    return EnvState(capacity=f32(rng.choice([0.0, 0.3, 0.8, 1.0], n)),
                    expertise=f32(np.round(rng.random((n, T)), 1)),
                    success_rate=f32(np.ones(n)), completed_tasks=zeros, collaborations=zeros,
                    queue=queue, active=active, collaboration_matrix=f32(np.ones((n, n))),
                    counters=EpisodeCounters.zeros(), time=jnp.asarray(0, jnp.int32))


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), Q=st.integers(1, 6), T=st.integers(1, 4), K=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_features_equal_the_numpy_reference(n, Q, T, K, seed):
    state = _state(np.random.default_rng(seed), n, Q, T, K)
    got = np.asarray(agent_slot_features(state))
    want = reference(np.asarray(state.expertise), np.asarray(state.capacity),
                     np.asarray(state.current_load), np.asarray(state.queue.task_type),
                     np.asarray(state.queue.complexity), np.asarray(state.queue.valid), K)
    assert got.shape == (n, Q, len(FEATURES))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), Q=st.integers(1, 6), T=st.integers(1, 4), K=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_rate_features_are_the_rules_scores(n, Q, T, K, seed):
    """`gain` is the expected_rate rules' score and `chance` the wspt/atc rules' completion
    chance, on every valid slot (0 on empty ones); the first four features are unchanged."""
    state = _state(np.random.default_rng(seed), n, Q, T, K)
    got = np.asarray(agent_slot_features(state, rates=True))
    assert got.shape == (n, Q, len(FEATURES) + len(RATE_FEATURES))
    np.testing.assert_array_equal(got[..., :4], np.asarray(agent_slot_features(state)))
    valid = np.asarray(state.queue.valid)[None]
    want_gain = np.where(valid, np.asarray(expected_rate_score(state)), 0.0)
    want_chance = np.where(valid, np.asarray(completion_chance(state)), 0.0)
    np.testing.assert_allclose(got[..., 4], want_gain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[..., 5], want_chance, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["slots", "slots_rates"])
def test_batched_features_equal_one_env_at_a_time(mode):
    rates = mode == "slots_rates"
    env = MultiAgentTaskEnvironment(n_agents=4, max_tasks=8, n_task_types=3, obs_mode=mode,
                                    action_mode="select")
    params = env.default_params
    obs, state = env.batch_reset(jax.random.PRNGKey(0), params, 5)
    action = jnp.asarray(np.random.default_rng(0).integers(0, env.action_nvec(), (5, 8)),
                         jnp.int32)
    for _ in range(3):  # a few steps, so agents hold tasks
        obs, state = env.batch_step(jax.random.PRNGKey(1), state, action, params)[:2]
    batched = np.asarray(agent_slot_features(state, rates))  # (n, Q, 4 or 6, B)
    assert np.asarray(state.active.valid).any()
    for b in range(5):
        one = jax.tree.map(lambda x, b=b: x[..., b], state)
        np.testing.assert_allclose(batched[..., b], np.asarray(agent_slot_features(one, rates)),
                                   rtol=1e-6)
        start, n, Q, P = agent_slot_obs_block(mode, 4, 8)
        assert P == 4 + 2 * rates
        np.testing.assert_allclose(np.asarray(obs[b, start : start + n * Q * P]),
                                   batched[..., b].reshape(-1), rtol=1e-6)


def test_the_slots_layout_and_spec_do_not_depend_on_the_number_of_task_types():
    specs = [MultiAgentTaskEnvironment(n_agents=4, max_tasks=10, n_task_types=T,
                                       obs_mode="slots", action_mode="select").spec()
             for T in range(1, 7)]
    assert all(spec == specs[0] for spec in specs)
    spec = specs[0]
    assert spec.agent_slot_block == (4 * 7, 4, 10, 4)
    assert spec.shared_blocks == ((28 + 160, 40), (spec.obs_size - 2, 2))
    assert spec.obs_size == 4 * 7 + 4 * 10 * 4 + 10 * 4 + 16 + 2
    for mode in ("seed", "extended", "collab"):
        env = MultiAgentTaskEnvironment(obs_mode=mode)
        assert env.spec().agent_slot_block is None
    rates = [MultiAgentTaskEnvironment(n_agents=4, max_tasks=10, n_task_types=T,
                                       obs_mode="slots_rates", action_mode="select").spec()
             for T in range(1, 7)]
    assert all(spec == rates[0] for spec in rates)
    assert rates[0].agent_slot_block == (4 * 7, 4, 10, 6)
    assert rates[0].shared_blocks == ((28 + 240, 40), (rates[0].obs_size - 2, 2))


def test_the_slots_rates_layout_is_the_slots_layout_with_two_more_per_slot_features():
    kwargs = dict(n_agents=3, max_tasks=5, n_task_types=4, action_mode="select")
    slots = MultiAgentTaskEnvironment(obs_mode="slots", **kwargs)
    rates = MultiAgentTaskEnvironment(obs_mode="slots_rates", **kwargs)
    params = slots.default_params
    _, state = slots.reset(jax.random.PRNGKey(0), params)
    state = slots.step(jax.random.PRNGKey(1), state, jnp.zeros(6, jnp.int32), params)[1]
    a, b = np.asarray(slots.get_obs(state)), np.asarray(rates.get_obs(state))
    start, n, Q, _ = rates.spec().agent_slot_block
    np.testing.assert_array_equal(b[:start], a[:start])
    per_slot = b[start : start + n * Q * 6].reshape(n, Q, 6)
    np.testing.assert_array_equal(per_slot[..., :4].ravel(), a[start : start + n * Q * 4])
    np.testing.assert_array_equal(b[start + n * Q * 6 :], a[start + n * Q * 4 :])


@pytest.mark.parametrize("T", [2, 5])
def test_the_slots_layout_keeps_the_extended_rows(T):
    """Agent rows and queue rows are the extended layout's without expertise and one-hots."""
    kwargs = dict(n_agents=3, max_tasks=5, n_task_types=T)
    ext = MultiAgentTaskEnvironment(obs_mode="extended", **kwargs)
    slots = MultiAgentTaskEnvironment(obs_mode="slots", **kwargs)
    _, state = ext.reset(jax.random.PRNGKey(T), ext.default_params)
    state = state.replace(time=jnp.asarray(3, jnp.int32))
    a, b = np.asarray(ext.get_obs(state)), np.asarray(slots.get_obs(state))
    np.testing.assert_array_equal(b[:21], a[: 3 * (7 + T)].reshape(3, 7 + T)[:, :7].ravel())
    q_ext, q_slots = ext.spec().shared_blocks[0], slots.spec().shared_blocks[0]
    rows_ext = a[q_ext[0] : q_ext[0] + q_ext[1]].reshape(5, 4 + T)[:, :4]
    np.testing.assert_array_equal(b[q_slots[0] : q_slots[0] + q_slots[1]], rows_ext.ravel())
    np.testing.assert_array_equal(b[-(9 + 2):], a[-(9 + 2):])  # matrix and scalars
