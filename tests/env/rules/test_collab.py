"""The team-level collaboration choice (agentic_jax.env.rules.collab): its expected rate
against the env's own completion probabilities and a NumPy reference, the exact choice against
brute force, the greedy one's guarantees, and the ``_team`` rules in both modes."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.builders import make_state
from reference.rule_states import numpy_state, varied_states

from agentic_jax.env import MultiAgentTaskEnvironment, Tasks, rules
from agentic_jax.env.dynamics import completion_probability
from agentic_jax.env.modes.base import mutual_pairs
from agentic_jax.env.rules import RULES, SELECT_RULES


def np_team_rate(s, taken, wants, sharing, cost):
    """Expected priority-weighted completions this step: every agent's active tasks plus the
    one it takes, with the collaboration effects of the env (SPEC step 4)."""
    n = len(wants)
    total = 0.0
    for i in range(n):
        tasks = [(s["active_complexity"][i, k], s["active_priority"][i, k],
                  s["active_task_type"][i, k]) for k in range(s["active_valid"].shape[1])
                 if s["active_valid"][i, k]]
        if taken["valid"][i]:
            tasks.append((taken["complexity"][i], taken["priority"][i], taken["task_type"][i]))
        partners = [j for j in range(n) if j != i and wants[i] and wants[j]]
        cap = s["capacity"][i] * (1.0 - cost * bool(partners))
        load = max(1.0, sum(c for c, _, _ in tasks))
        for _, prio, t in tasks:
            best = max([s["expertise"][j, t] for j in partners], default=0.0)
            skill = max(s["expertise"][i, t], sharing * best)
            total += prio * min(1.0, skill * cap / load)
    return total


def taken_of(state, slot):
    taken = rules.taken_tasks(state, slot)
    return taken, {k: np.asarray(getattr(taken, k)) for k in
                   ("complexity", "priority", "task_type", "valid")}


@pytest.fixture(scope="module")
def batch():
    """32 varied states of a 4-agent team and a slot per agent (-1: takes none)."""
    env = MultiAgentTaskEnvironment(n_agents=4, max_tasks=5, n_task_types=2,
                                    max_active_per_agent=2, action_mode="select")
    params = env.default_params.replace(arrival_rate=1.0).with_collaboration_tradeoff(0.5)
    states = varied_states(env, params, jax.random.key(1))
    slots = jax.random.randint(jax.random.key(2), (32, 4), -1, 5)
    return env, states, slots


def test_team_rate_is_the_envs_expected_completions():
    """No task taken: the rate is the priority-weighted sum of the env's own completion
    probabilities under the pairs the requests make, at full effort."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, n_task_types=2, obs_mode="seed")
    params = env.default_params.with_collaboration_tradeoff(sharing=0.8, cost=0.2)
    state = make_state(env, params, active=[[(1.0, 0.5, 9.0, 0)], [(0.7, 0.9, 9.0, 1)], []],
                       expertise=[[0.2, 0.9], [0.3, 0.4], [0.95, 0.1]], capacity=[0.9, 1, 0.6])
    none = Tasks.empty((3,))
    for wants in itertools.product([False, True], repeat=3):
        wants = jnp.array(wants)
        _, p = completion_probability(state, jnp.ones(3), mutual_pairs(wants), params)
        want = (p * state.active.priority * state.active.valid).sum()
        assert float(rules.team_rate(state, params, none, wants)) == pytest.approx(float(want))


@settings(max_examples=20, deadline=None)
@given(sharing=st.floats(0, 1), cost=st.floats(0, 1), e=st.integers(0, 31),
       wants=st.lists(st.booleans(), min_size=4, max_size=4))
def test_team_rate_matches_numpy(batch, sharing, cost, e, wants):
    env, states, slots = batch
    params = env.default_params.with_collaboration_tradeoff(sharing, cost)
    state = jax.tree.map(lambda x: x[e], states)
    taken, np_taken = taken_of(state, slots[e])
    got = _rate(state, params, taken, jnp.array(wants))
    want = np_team_rate(numpy_state(states, e), np_taken, wants, sharing, cost)
    assert float(got) == pytest.approx(want, rel=1e-5, abs=1e-6)


_rate = jax.jit(rules.team_rate)


@settings(max_examples=20, deadline=None)
@given(sharing=st.floats(0, 1), cost=st.floats(0, 1), e=st.integers(0, 31))
def test_set_rates_are_the_team_rate_of_every_set(batch, sharing, cost, e):
    """The regrouped rates of all 16 sets at once equal each set's team_rate and NumPy's."""
    env, states, slots = batch
    params = env.default_params.with_collaboration_tradeoff(sharing, cost)
    state = jax.tree.map(lambda x: x[e], states)
    taken, np_taken = taken_of(state, slots[e])
    sets = list(itertools.product([False, True], repeat=4))
    got = np.asarray(jax.jit(rules.set_rates)(state, params, taken, jnp.array(sets)))
    one_by_one = np.asarray(jax.vmap(_rate, (None, None, None, 0))(state, params, taken,
                                                                    jnp.array(sets)))
    want = [np_team_rate(numpy_state(states, e), np_taken, w, sharing, cost) for w in sets]
    np.testing.assert_allclose(got, one_by_one, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
_choice = jax.jit(rules.team_collaboration, static_argnames="exact")


@settings(max_examples=20, deadline=None)
@given(sharing=st.floats(0, 1), cost=st.floats(0, 1), bonus=st.sampled_from([0.0, 0.5]),
       e=st.integers(0, 31))
def test_exact_choice_is_the_best_set(batch, sharing, cost, bonus, e):
    """The chosen set reaches the brute-force optimum over all 16 sets (NumPy), and both
    ways of choosing agree where the optimum is clear."""
    env, states, slots = batch
    params = env.default_params.with_collaboration_tradeoff(sharing, cost, bonus)
    state = jax.tree.map(lambda x: x[e], states)
    taken, np_taken = taken_of(state, slots[e])
    s = numpy_state(states, e)
    rates = {w: np_team_rate(s, np_taken, w, sharing, cost)
             for w in itertools.product([False, True], repeat=4)}
    best = max(rates.values())
    chosen = tuple(np.asarray(_choice(state, params, taken)).tolist())
    assert rates[chosen] >= best - 1e-5 * max(1.0, best)
    greedy = tuple(np.asarray(_choice(state, params, taken, exact=False)).tolist())
    assert rates[greedy] >= max(rates[(False,) * 4], rates[(True,) * 4]) - 1e-5


def test_exact_choice_by_hand_and_ties():
    """Agent 0 (0.2 at its type-0 task) gains from idle expert 1 (0.95 * 0.7); agent 2 would
    give up 0.3 of its 0.9 at its type-1 task for nothing: the best set is {0, 1}. Where
    collaboration changes no rate the set is empty, or everyone when it pays a bonus."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, n_task_types=2, obs_mode="seed")
    base = env.default_params
    state = make_state(env, base, active=[[(1.0, 0.5, 9.0, 0)], [], [(1.0, 0.5, 9.0, 1)]],
                       expertise=[[0.2, 0.1], [0.95, 0.1], [0.3, 0.9]], capacity=[1, 1, 1])
    none = Tasks.empty((3,))
    tradeoff = base.with_collaboration_tradeoff(sharing=1.0, cost=0.3)
    for exact in (True, False):
        assert _choice(state, tradeoff, none, exact=exact).tolist() == [True, True, False]
        no_sharing = base.with_collaboration_tradeoff(sharing=0.0, cost=0.0)
        assert not _choice(state, no_sharing, none, exact=exact).any()
        assert _choice(state, base, none, exact=exact).all()  # the seed's free bonus


@pytest.mark.slow
def test_large_teams_use_the_greedy_choice():
    """Beyond MAX_EXACT_AGENTS the default is the greedy choice: no better than the exact
    optimum it approximates, never worse than everyone or no one, and no single agent
    leaving raises its rate."""
    n = rules.MAX_EXACT_AGENTS + 1
    env = MultiAgentTaskEnvironment(n_agents=n, max_tasks=6, n_task_types=3,
                                    max_active_per_agent=2, action_mode="select")
    params = env.default_params.replace(arrival_rate=1.0).with_collaboration_tradeoff(0.7, 0.2)
    states = varied_states(env, params, jax.random.key(3), n_envs=2, steps=4)
    none = Tasks.empty((n,))
    rate = jax.vmap(_rate, (None, None, None, 0))
    for e in range(8):
        state = jax.tree.map(lambda x, e=e: x[e], states)
        wants = _choice(state, params, none)
        assert wants.tolist() == _choice(state, params, none, exact=False).tolist()
        r = float(_rate(state, params, none, wants))
        ends = rate(state, params, none, jnp.array([[False] * n, [True] * n]))
        assert r >= float(ends.max()) - 1e-6
        leave = rate(state, params, none, wants[None] & ~jnp.eye(n, dtype=bool))
        assert float(jnp.where(wants, leave, -jnp.inf).max()) <= r + 1e-6


@pytest.mark.parametrize("mode, table", [("seed", RULES), ("select", SELECT_RULES)])
def test_team_rules_request_what_the_choice_says(mode, table):
    """Both modes: the seed's rules (free bonus) -> every agent requests, as ``_collab``;
    without sharing collaboration only costs -> nobody does."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, n_task_types=2, obs_mode="seed",
                                    action_mode=mode)
    base = env.default_params
    state = make_state(env, base, queue=[(1.0, 0.5, 9.0, 0)], active=[[], [(1, 1, 9, 1)], []],
                       expertise=[[0.2, 0.1], [0.95, 0.1], [0.3, 0.9]], capacity=[1, 1, 1])
    fields = 3 if mode == "seed" else 2
    key = jax.random.key(0)
    for name in ("expected_rate_team", "wspt_team", "atc_team"):
        collab = np.asarray(table[name](key, state, base)).reshape(3, fields)[:, -1]
        assert (collab == 1).all(), name
        costly = base.with_collaboration_tradeoff(sharing=0.0, cost=0.3)
        collab = np.asarray(table[name](key, state, costly)).reshape(3, fields)[:, -1]
        assert (collab == 0).all(), name
