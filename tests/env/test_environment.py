"""Each seed rule (SPEC §2) against hand-made states, plus the gymnax contract."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from env_builders import action, make_state
from gymnax.wrappers.purerl import LogWrapper

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.env.environment import _collaborating_pairs, completion_probability

E = np.array(
    [[0.9, 0.2, 0.4], [0.3, 0.8, 0.5], [0.6, 0.7, 0.1], [0.2, 0.3, 0.95]], np.float32
)
QUEUE3 = [(1.0, 0.5, 10.0, 0), (0.8, 0.6, 10.0, 1), (0.6, 0.7, 10.0, 2)]


def step(env, state, a, params, seed=0):
    obs, state, reward, terminated, info = env.step_env(jax.random.key(seed), state, a, params)
    return obs, state, float(reward), info


# ---------------------------------------------------------------- 1. assignment


def test_accepting_agents_take_queue_head_in_index_order(env, quiet_params):
    state = make_state(env, quiet_params, queue=QUEUE3, expertise=E)
    _, new, reward, info = step(env, state, action(accept=(1, 0, 1, 1)), quiet_params)
    got = np.asarray(new.active.task_type[:, 0]), np.asarray(new.active.valid[:, 0])
    assert got[1].tolist() == [True, False, True, True]
    assert got[0][[0, 2, 3]].tolist() == [0, 1, 2]  # FIFO: head to agent 0, next to 2, then 3
    np.testing.assert_allclose(new.active.complexity[[0, 2, 3], 0], [1.0, 0.8, 0.6])
    assert int(new.queue_length) == 0 and not bool(new.queue.valid.any())
    expected = [E[0, 0] * 0.5, 0.0, E[2, 1] * 0.6, E[3, 2] * 0.7]  # expertise * priority
    np.testing.assert_allclose(info["agent_rewards"], expected, rtol=1e-6)
    assert reward == pytest.approx(sum(expected), rel=1e-6)
    assert int(new.counters.assigned) == 3
    np.testing.assert_allclose(new.counters.match_sum, E[0, 0] + E[2, 1] + E[3, 2], rtol=1e-6)


def test_more_acceptors_than_tasks_and_queue_shifts(env, quiet_params):
    queue = QUEUE3 + [(1.2, 0.9, 12.0, 1), (0.7, 0.3, 8.0, 0)]
    state = make_state(env, quiet_params, queue=queue[:2], expertise=E)
    _, new, _, _ = step(env, state, action(accept=(1, 1, 1, 1)), quiet_params)
    assert np.asarray(new.active.valid[:, 0]).tolist() == [True, True, False, False]
    # Two of five taken: the rest moves to the front in order.
    state = make_state(env, quiet_params, queue=queue, expertise=E)
    _, new, reward, _ = step(env, state, action(accept=(0, 1, 0, 1)), quiet_params)
    assert int(new.queue_length) == 3
    np.testing.assert_allclose(new.queue.complexity[:4], [0.6, 1.2, 0.7, 0.0])
    assert np.asarray(new.queue.task_type[:3]).tolist() == [2, 1, 0]
    assert reward == pytest.approx(E[1, 0] * 0.5 + E[3, 1] * 0.6 - 0.1 * 3, rel=1e-5)


def test_agent_with_full_slots_does_not_accept(env, quiet_params):
    full = [(0.5, 0.5, 50.0, 0)] * env.max_active_per_agent
    state = make_state(env, quiet_params, queue=QUEUE3, active=[full, [], [], []], expertise=E)
    _, new, _, _ = step(env, state, action(accept=(1, 1, 0, 0)), quiet_params)
    assert int(new.active.valid[0].sum()) == env.max_active_per_agent
    assert int(new.active.task_type[1, 0]) == 0 and bool(new.active.valid[1, 0])  # head to 1
    assert int(new.queue_length) == 2


def test_task_goes_to_first_free_slot(env, quiet_params):
    state = make_state(env, quiet_params, queue=QUEUE3, active=[[(0.5, 0.5, 50.0, 2)], [], [], []])
    state = state.replace(active=state.active.replace(valid=state.active.valid.at[0, 0].set(False)))
    state = state.replace(active=state.active.replace(valid=state.active.valid.at[0, 1].set(True)))
    _, new, _, _ = step(env, state, action(accept=(1, 0, 0, 0)), quiet_params)
    assert np.asarray(new.active.valid[0]).tolist() == [True, True, False, False]
    assert float(new.active.complexity[0, 0]) == pytest.approx(1.0)


# ---------------------------------------------------------------- 3. collaboration


def test_collaboration_bonus_and_matrix_for_ordered_pairs(env, quiet_params):
    state = make_state(env, quiet_params)
    requests = (0.8, 0.9, 0.7, 0.71)  # 0.7 is not above the threshold
    _, new, reward, info = step(env, state, action(collab=requests), quiet_params)
    members = [0, 1, 3]
    pairs = [(i, j) for i in members for j in members if i != j]
    assert reward == pytest.approx(0.5 * len(pairs))
    np.testing.assert_allclose(info["agent_rewards"], [1.0, 1.0, 0.0, 1.0])
    expected = np.ones((4, 4), np.float32)
    for i, j in pairs:
        expected[i, j] = 1.01
    np.testing.assert_allclose(new.collaboration_matrix, expected, rtol=1e-6)
    assert np.asarray(new.collaborations).tolist() == [1, 1, 0, 1]
    assert int(new.counters.collaborating) == 3  # agent-steps in a collaborating pair
    _, again, _, _ = step(env, new, action(collab=requests), quiet_params)
    assert float(again.collaboration_matrix[0, 1]) == pytest.approx(1.01**2, rel=1e-6)


def test_lone_collaboration_request_earns_nothing(env, quiet_params):
    _, new, reward, _ = step(env, make_state(env, quiet_params), action(collab=(1, 0, 0, 0)),
                             quiet_params)
    assert reward == 0.0 and float(new.collaboration_matrix.sum()) == 16.0


# ---------------------------------------------------------------- 4. processing


def test_completion_reward_formula_and_counters(env, quiet_params):
    task = (0.5, 0.8, 10.0, 0)  # complexity, priority, deadline, type
    state = make_state(env, quiet_params, active=[[task], [], [], []], expertise=E,
                       capacity=[1.0, 1.0, 1.0, 1.0], success=[0.9, 0.9, 0.9, 0.9], time=3)
    expertise = np.array(E).copy()
    expertise[0, 0] = 1.0  # p = expertise * capacity * effort / max(1, load) = 1
    state = state.replace(expertise=jnp.asarray(expertise))
    _, new, reward, info = step(env, state, action(effort=(1, 0, 0, 0)), quiet_params)
    now = 4.0
    quality, time_bonus = 1.0 * 0.9, max(0.0, 1 - now / 10.0)
    assert reward == pytest.approx(quality * 0.8 * (1 + time_bonus) * 10, rel=1e-5)
    assert not bool(new.active.valid.any())
    assert int(new.completed_tasks[0]) == 1 and int(new.counters.completed) == 1
    assert int(new.counters.completed_on_time) == 1
    assert float(new.success_rate[0]) == pytest.approx(0.9 + 0.1 * (1 - 0.9), rel=1e-6)


def test_late_completion_has_no_time_bonus_and_lowers_success(env, quiet_params):
    task = (0.5, 0.8, 3.0, 0)
    state = make_state(env, quiet_params, active=[[task], [], [], []],
                       expertise=np.ones((4, 3)), capacity=[1.0] * 4, success=[0.9] * 4, time=5)
    _, new, reward, _ = step(env, state, action(effort=(1, 0, 0, 0)), quiet_params)
    assert reward == pytest.approx(0.9 * 0.8 * 1.0 * 10, rel=1e-5)
    assert float(new.success_rate[0]) == pytest.approx(0.9 - 0.1 * 0.9, rel=1e-6)
    assert int(new.counters.completed_on_time) == 0


def test_no_effort_no_completion(env, quiet_params):
    state = make_state(env, quiet_params, active=[[(0.5, 0.8, 50.0, 0)], [], [], []],
                       expertise=np.ones((4, 3)), capacity=[1.0] * 4)
    for seed in range(20):
        _, new, _, _ = step(env, state, action(effort=(0, 1, 1, 1)), quiet_params, seed)
        assert bool(new.active.valid[0, 0])


def test_completion_probability_shares_capacity_over_load(env, quiet_params):
    two = [(1.0, 0.5, 50.0, 1), (1.5, 0.5, 50.0, 1)]  # load 2.5
    state = make_state(env, quiet_params, active=[two, [], [], []], expertise=E,
                       capacity=[0.8, 1.0, 1.0, 1.0])
    none = jnp.zeros((4, 4), bool)
    _, p = completion_probability(state, jnp.array([0.5, 1, 1, 1.0]), none, quiet_params)
    expected = E[0, 1] * 0.8 * 0.5 / 2.5
    np.testing.assert_allclose(p[0, :2], [expected, expected], rtol=1e-6)
    # Empirical rate over many keys matches the probability.
    keys = jax.random.split(jax.random.key(1), 4000)
    a = action(effort=(0.5, 0, 0, 0))
    done = jax.vmap(lambda k: ~env.step_env(k, state, a, quiet_params)[1].active.valid[0, 0])(keys)
    assert float(done.mean()) == pytest.approx(expected, abs=0.02)


def test_collaboration_tradeoff_lends_expertise_and_costs_capacity(env, quiet_params):
    params = quiet_params.with_collaboration_tradeoff(sharing=1.0, cost=0.3)
    state = make_state(env, params, active=[[(0.5, 0.5, 50.0, 1)], [], [], []], expertise=E,
                       capacity=[1.0] * 4)
    pairs = _collaborating_pairs(jnp.array([0.9, 0.9, 0.0, 0.0]), 0.7)
    expertise, p = completion_probability(state, jnp.ones(4), pairs, params)
    assert float(expertise[0, 0]) == pytest.approx(E[1, 1])  # partner's 0.8 beats own 0.2
    assert float(p[0, 0]) == pytest.approx(E[1, 1] * 0.7)
    _, p_alone = completion_probability(state, jnp.ones(4), jnp.zeros((4, 4), bool), params)
    assert float(p_alone[0, 0]) == pytest.approx(E[0, 1])
    # Faithful defaults: collaboration changes nothing in processing.
    _, p_seed = completion_probability(state, jnp.ones(4), pairs, quiet_params)
    assert float(p_seed[0, 0]) == pytest.approx(E[0, 1])
    _, _, reward, _ = step(env, state, action(collab=(1, 1, 0, 0)), params)
    assert reward == 0.0  # no free bonus under the trade-off


# ---------------------------------------------------------------- 5. penalties


def test_queue_penalty_per_queued_task(env, quiet_params):
    state = make_state(env, quiet_params, queue=QUEUE3 + QUEUE3[:2])
    _, _, reward, info = step(env, state, action(), quiet_params)
    assert reward == pytest.approx(-0.1 * 5)
    np.testing.assert_allclose(info["agent_rewards"], [-0.125] * 4, rtol=1e-6)


def test_overdue_penalty_per_active_task_past_deadline(env, quiet_params):
    late = [(0.5, 0.5, 3.0, 0), (0.5, 0.5, 4.0, 0), (0.5, 0.5, 6.0, 0)]  # now = 6
    state = make_state(env, quiet_params, active=[[], late, [], []], time=5)
    _, new, reward, info = step(env, state, action(), quiet_params)
    assert reward == pytest.approx(-0.5 * 2)  # deadline 6 at step 6 is not yet overdue
    np.testing.assert_allclose(info["agent_rewards"], [0, -1.0, 0, 0])
    assert int(new.counters.overdue) == 2


# ---------------------------------------------------------------- 6. arrivals


def test_arrivals_join_the_tail_and_overflow_is_dropped(env):
    params = env.default_params.replace(arrival_rate=1.0)
    state = make_state(env, params, queue=QUEUE3 * 3, time=7)  # 9 queued
    _, new, _, _ = step(env, state, action(), params)
    assert int(new.queue_length) == env.max_tasks
    assert int(new.counters.arrived) - int(state.counters.arrived) == 2
    assert int(new.counters.dropped) == 1
    deadline = float(new.queue.deadline[9])
    assert 8 + params.deadline_min <= deadline <= 8 + params.deadline_max
    assert params.complexity_min <= float(new.queue.complexity[9]) <= params.complexity_max
    _, none, _, _ = step(env, state, action(), params.replace(arrival_rate=0.0))
    assert int(none.queue_length) == 9


# ---------------------------------------------------------------- reset and observations


def test_reset_state(env):
    params = env.default_params
    obs, state = env.reset(jax.random.key(3), params)
    assert int(state.queue_length) == 3 and np.asarray(state.queue.valid[:3]).all()
    assert not bool(state.active.valid.any()) and float(state.current_load.sum()) == 0.0
    np.testing.assert_array_equal(state.collaboration_matrix, np.ones((4, 4)))
    assert int(state.time) == 0 and int(state.counters.arrived) == 3
    for name in ("completed", "assigned", "dropped", "overdue", "collaborating"):
        assert int(getattr(state.counters, name)) == 0
    assert np.all((state.capacity >= 0.5) & (state.capacity <= 1.0))
    assert obs.shape == (env.obs_size(),) and obs.dtype == jnp.float32


def test_seed_observation_layout(env, quiet_params):
    state = make_state(env, quiet_params, queue=QUEUE3[:2], active=[[(0.7, 0.5, 9.0, 0)], [], [],
                       []], expertise=E, capacity=[0.6, 0.7, 0.8, 0.9], success=[0.5] * 4)
    state = state.replace(completed_tasks=jnp.array([2, 0, 0, 0]), time=jnp.int32(4),
                          collaborations=jnp.array([0, 1, 0, 0]))
    obs = np.asarray(env.get_obs(state, quiet_params))
    n, Q = 4, 10
    assert obs.shape == (n * 7 + Q * 5 + n * n,) == (94,)
    agents = obs[: n * 7].reshape(n, 7)
    np.testing.assert_allclose(agents[0], [0.6, 0.7, 2 / 4, 0.5, 0.0, E[0, 0], E[0, 1]], rtol=1e-6)
    np.testing.assert_allclose(agents[1, 4], 1 / 4)
    queue = obs[n * 7 : n * 7 + Q * 5].reshape(Q, 5)
    np.testing.assert_allclose(queue[0], [1.0, 0.5, 10.0, 1.0, 0.0])
    np.testing.assert_allclose(queue[1], [0.8, 0.6, 10.0, 1.0, 0.0])
    np.testing.assert_array_equal(queue[2:], 0.0)
    np.testing.assert_array_equal(obs[-n * n :], 1.0)


def test_extended_observation_layout():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=4, obs_mode="extended")
    params = env.default_params
    state = make_state(env, params, queue=[(1.0, 0.5, 10.0, 3), (0.8, 0.6, 2.0, 1)], time=4)
    obs = np.asarray(env.get_obs(state, params))
    n, Q, T = 3, 5, 4
    assert obs.shape == (env.obs_size(),) == (n * (7 + T) + Q * (4 + T) + n * n + 2,)
    queue = obs[n * (7 + T) : n * (7 + T) + Q * (4 + T)].reshape(Q, 4 + T)
    np.testing.assert_allclose(queue[0, :4], [1.0 / 1.5, 0.5, (10 - 4) / 20, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(queue[0, 4:], [0, 0, 0, 1])
    assert queue[1, 2] < 0  # overdue while still queued
    np.testing.assert_array_equal(queue[2:], 0.0)
    agents = obs[: n * (7 + T)].reshape(n, 7 + T)
    np.testing.assert_allclose(agents[:, 7:], state.expertise, rtol=1e-6)


# ---------------------------------------------------------------- gymnax contract


def test_auto_reset_at_max_steps_is_a_truncation(env):
    params = env.default_params.replace(max_steps_in_episode=3)
    obs, state = env.reset(jax.random.key(0), params)
    a = action(accept=(1, 1, 1, 1), effort=(1, 1, 1, 1))
    for t in range(3):
        obs, state, reward, terminated, truncated, info = env.step(
            jax.random.key(10 + t), state, a, params
        )
        assert not bool(terminated)
        assert bool(truncated) == (t == 2)
    assert int(state.time) == 0 and int(state.counters.assigned) == 0
    assert not np.array_equal(info["final_observation"], obs)
    assert float(info["episode_metrics"]["completion_rate"]) >= 0.0


def test_same_key_same_trajectory_and_vmapped_jit():
    env = MultiAgentTaskEnvironment()
    params = env.default_params

    @jax.jit
    def rollout(key, n_envs=4096, steps=8):
        keys = jax.random.split(key, n_envs)
        _, states = jax.vmap(env.reset, (0, None))(keys, params)

        def body(states, k):
            a = jax.random.uniform(k, (n_envs, 12))
            obs, states, r, _, _, _ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k, n_envs), states, a, params)
            return states, (obs, r)

        return jax.lax.scan(body, states, jax.random.split(key, steps))[1]

    obs1, r1 = rollout(jax.random.key(5))
    obs2, r2 = rollout(jax.random.key(5))
    assert obs1.shape == (8, 4096, env.obs_size())
    np.testing.assert_array_equal(obs1, obs2)
    np.testing.assert_array_equal(r1, r2)
    assert np.isfinite(np.asarray(obs1)).all()
    assert not np.array_equal(r1, rollout(jax.random.key(6))[1])


def test_gymnax_log_wrapper_works_unchanged(env):
    params = env.default_params.replace(max_steps_in_episode=4)
    wrapped = LogWrapper(env)
    obs, state = wrapped.reset(jax.random.key(0), params)
    total = 0.0
    for t in range(4):
        obs, state, reward, _, truncated, info = wrapped.step(
            jax.random.key(t), state, action(accept=(1, 1, 1, 1)), params)
        total += float(reward)
    assert bool(info["returned_episode"])
    assert float(info["returned_episode_returns"]) == pytest.approx(total, rel=1e-5)
    assert wrapped.action_space(params).shape == (12,)


def test_spaces(env):
    params = env.default_params
    space = env.action_space(params)
    assert space.shape == (12,) and float(space.low) == 0.0 and float(space.high) == 1.0
    assert env.observation_space(params).shape == (94,)
    sample = space.sample(jax.random.key(0))
    assert sample.shape == (12,)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_agents": 0}, "n_agents"),
        ({"max_tasks": 0}, "max_tasks"),
        ({"n_task_types": -1}, "n_task_types"),
        ({"max_active_per_agent": 0}, "max_active_per_agent"),
        ({"n_agents": 2.5}, "n_agents"),
        ({"obs_mode": "pixels"}, "obs_mode"),
    ],
)
def test_invalid_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiAgentTaskEnvironment(**kwargs)


@pytest.mark.parametrize(
    "overrides, name",
    [
        ({"arrival_rate": 1.5}, "arrival_rate"),
        ({"arrival_rate": -0.1}, "arrival_rate"),
        ({"collaboration_cost": 2.0}, "collaboration_cost"),
        ({"complexity_min": 2.0, "complexity_max": 1.0}, "complexity_min"),
        ({"deadline_min": 0.0}, "deadline_min"),
        ({"capacity_max": 1.5}, "capacity_max"),
        ({"max_steps_in_episode": 0}, "max_steps_in_episode"),
        ({"initial_tasks": 11}, "initial_tasks"),
        ({"queue_penalty": float("nan")}, "queue_penalty"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_invalid_params_name_the_field(env, overrides, name):
    with pytest.raises(ValueError, match=name):
        env.make_params(**overrides)


def test_default_params_are_valid():
    env = MultiAgentTaskEnvironment()
    assert env.validate_params(env.default_params) == env.default_params
    assert isinstance(env.default_params.with_collaboration_tradeoff().validate(), EnvParams)
