"""Each seed rule (SPEC §2) against hand-made states, via ``step_env`` and the rule functions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.builders import action, make_state

from agentic_jax.env.dynamics import completion_probability, step_draws
from agentic_jax.env.modes import mutual_pairs

E = np.array(
    [[0.9, 0.2, 0.4], [0.3, 0.8, 0.5], [0.6, 0.7, 0.1], [0.2, 0.3, 0.95]], np.float32
)
QUEUE3 = [(1.0, 0.5, 10.0, 0), (0.8, 0.6, 10.0, 1), (0.6, 0.7, 10.0, 2)]


def step(env, state, a, params, seed=0):
    obs, state, reward, terminated, info = env.step_env(jax.random.key(seed), state, a, params)
    return obs, state, float(reward), info


# ---------------------------------------------------------------- action and pairs


def test_step_draws_layout(env, quiet_params):
    n_fine, n_coarse = step_draws(env.n_agents, env.max_active_per_agent, quiet_params)
    M = quiet_params.max_arrivals_per_step
    assert n_fine == env.n_agents * env.max_active_per_agent + M and n_coarse == 4 * M
    assert env.step_draws(quiet_params) == n_fine + n_coarse


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
    pairs = mutual_pairs(jnp.array([True, True, False, False]))
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


def test_a_task_done_with_lent_expertise_credits_its_lender(env, quiet_params):
    params = quiet_params.with_collaboration_tradeoff(sharing=1.0, cost=0.0)
    expertise = np.full((4, 3), 0.1, np.float32)
    expertise[:3, 0] = [0.2, 0.6, 1.0]  # agent 0 holds a type-0 task; 2 is the best lender
    task = (0.5, 0.8, 10.0, 0)
    state = make_state(env, params, active=[[task], [], [], []], expertise=expertise,
                       capacity=[1.0] * 4, success=[0.9] * 4, time=3)
    # agents 0, 1, 2 pair: agent 0 works at agent 2's expertise 1.0, so the task completes
    _, new, reward, info = step(env, state, action(effort=(1, 0, 0, 0), collab=(1, 1, 1, 0)),
                                params)
    assert not bool(new.active.valid[0, 0])
    own, credited = np.asarray(info["agent_rewards"]), np.asarray(info["credited_rewards"])
    moved = own[0] * (1.0 - 0.2) / 1.0  # the share agent 2's expertise added
    np.testing.assert_allclose(credited, own + np.array([-moved, 0.0, moved, 0.0]), rtol=1e-5)
    assert credited.sum() == pytest.approx(reward, rel=1e-5)
    # without pairs nobody lends: the two agree
    _, _, _, info = step(env, state, action(effort=(1, 0, 0, 0)), params)
    np.testing.assert_array_equal(info["credited_rewards"], info["agent_rewards"])


def test_request_gains_are_each_choices_one_step_difference(env, quiet_params):
    params = quiet_params.with_collaboration_tradeoff(sharing=1.0, cost=0.3)
    expertise = np.full((4, 3), 0.1, np.float32)
    expertise[:3, 0] = [0.2, 0.6, 1.0]  # agent 0 holds a type-0 task; 2 is the best lender
    expertise[1, 1] = 0.9  # agent 1 holds a type-1 task it does best alone
    task0, task1 = (0.5, 0.8, 10.0, 0), (0.5, 0.5, 20.0, 1)
    state = make_state(env, params, active=[[task0], [task1], [], []], expertise=expertise,
                       capacity=[1.0] * 4, success=[0.9] * 4, time=3)
    _, _, _, info = step(env, state, action(effort=(1, 1, 0, 0), collab=(1, 1, 1, 0)), params)
    # chance = expertise * capacity (load 0.5 < 1); value = expertise * success * priority *
    # (1 + 1 - now / deadline) * scale at now = 4; a paired agent works at 1 - 0.3
    scale = params.completion_scale

    def expected(e0, paired0, paired1):
        cap0, cap1 = 1 - 0.3 * paired0, 1 - 0.3 * paired1
        return (min(1.0, e0 * cap0) * e0 * 0.9 * 0.8 * 1.6
                + min(1.0, 0.9 * cap1) * 0.9 * 0.9 * 0.5 * 1.8) * scale

    chosen = expected(1.0, True, True)  # 0, 1 and 2 request: 0 works at 2's expertise
    gains = [chosen - expected(0.2, False, True),  # 0 alone
             chosen - expected(1.0, True, False),  # 1 out: 0 still has 2, 1 works at full
             chosen - expected(0.6, True, True),  # 2 out: 0 has only 1's 0.6
             0.0]  # 3 in: lends nothing better, holds no task
    np.testing.assert_allclose(info["request_gains"], gains, rtol=1e-5, atol=1e-6)
    assert gains[0] > 0 and gains[1] < 0 and gains[2] > 0  # 1's request costs the team
    # without the request the gains' signs turn: the same choices judged from the other side
    _, _, _, info = step(env, state, action(effort=(1, 1, 0, 0), collab=(1, 0, 1, 0)), params)
    assert float(info["request_gains"][1]) == pytest.approx(-gains[1], rel=1e-5)


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
