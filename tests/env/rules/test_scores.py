"""The dispatching scores (agentic_jax.env.rules.scores) against NumPy references, and the
wspt / atc rules on hand-built states in both action modes."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from reference.builders import make_state
from reference.rule_states import numpy_state

from agentic_jax.env import MultiAgentTaskEnvironment, rules
from agentic_jax.env.rules import RULES, SELECT_RULES


def np_chance(s):
    """Per-step completion probability of queue task q for agent i at full effort."""
    load = s["active_complexity"].sum(1)[:, None] + s["queue_complexity"][None]
    skill = s["expertise"][:, s["queue_task_type"]]  # (n, Q)
    return np.clip(skill * s["capacity"][:, None] / np.maximum(1.0, load), 1e-3, 1.0)


def np_atc(s, k):
    p = 1.0 / np_chance(s)
    n, Q = p.shape
    out = np.zeros((n, Q))
    valid = s["queue_valid"]
    p_mean = max(p[:, valid].mean() if valid.any() else 1.0, 1.0)
    for i in range(n):
        for q in range(Q):
            slack = s["queue_deadline"][q] - s["time"] - p[i, q]
            out[i, q] = s["queue_priority"][q] / p[i, q] * np.exp(-max(0.0, slack) / (k * p_mean))
    return out


def test_wspt_and_atc_scores_match_numpy(states):
    _, _, batch = states
    wspt = np.asarray(jax.jit(jax.vmap(rules.wspt_score))(batch))
    atc = np.asarray(jax.jit(jax.vmap(rules.atc_score))(batch))
    assert np.asarray(batch.queue.valid).sum() > 32  # the states have queued tasks
    for e in range(wspt.shape[0]):
        s = numpy_state(batch, e)
        np.testing.assert_allclose(wspt[e], s["queue_priority"][None] * np_chance(s), rtol=1e-5)
        np.testing.assert_allclose(atc[e], np_atc(s, rules.ATC_K), rtol=1e-4, atol=1e-7)


ENV = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, n_task_types=2, obs_mode="seed")
SELECT = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, n_task_types=2, obs_mode="seed",
                                   action_mode="select")


def test_atc_takes_the_urgent_task_wspt_the_heavy_one():
    """One idle agent (expertise 0.5, capacity 1: each task takes 2 steps on average): WSPT
    takes the task of priority 1.0; ATC the one of priority 0.5 due in 3 steps, whose
    ``0.25 * exp(-1 / 6)`` beats ``0.5 * exp(-48 / 6)``: k = 2 and the mean processing time is
    3 (busy agent 0 would take 4 steps at load 2)."""
    params = SELECT.default_params
    state = make_state(SELECT, params, queue=[(1.0, 1.0, 50.0, 0), (1.0, 0.5, 3.0, 0)],
                       active=[[(1.0, 0.5, 90.0, 1)], []], expertise=[[0.5, 0.5], [0.5, 0.5]],
                       capacity=[1.0, 1.0])
    atc = np.asarray(rules.atc_score(state))
    assert atc[1, 0] == pytest.approx(0.5 * np.exp(-48 / 6))
    assert atc[1, 1] == pytest.approx(0.25 * np.exp(-1 / 6))
    key = jax.random.key(0)
    assert SELECT_RULES["wspt"](key, state, params).tolist() == [3, 0, 0, 0]  # busy agent 0
    assert SELECT_RULES["atc"](key, state, params).tolist() == [3, 0, 1, 0]


def test_wspt_matches_the_fastest_agent_and_weighs_priority():
    """Both agents idle: agent 1 (0.8, 0.8) is best for the heavy task 0, agent 0 then takes
    task 1 (0.3 * 0.9 beats leaving it); priority * chance orders the pairs."""
    params = SELECT.default_params
    state = make_state(SELECT, params, queue=[(1.0, 0.9, 50.0, 0), (1.0, 0.3, 50.0, 1)],
                       expertise=[[0.2, 0.9], [0.8, 0.8]], capacity=[1.0, 1.0])
    np.testing.assert_allclose(np.asarray(rules.wspt_score(state))[:, :2],
                               [[0.18, 0.27], [0.72, 0.24]], rtol=1e-6)
    assert SELECT_RULES["wspt"](jax.random.key(0), state, params).tolist() == [1, 0, 0, 0]


def test_seed_mode_gives_the_head_to_the_best_idle_agent():
    """The seed mode can only hand out the head: to the idle agent that scores best for it."""
    params = ENV.default_params
    state = make_state(ENV, params, queue=[(1.0, 0.5, 50.0, 0)],
                       expertise=[[0.3, 0.5], [0.9, 0.5]], capacity=[1.0, 1.0])
    for name in ("wspt", "atc", "wspt_team", "atc_team"):
        a = np.asarray(RULES[name](jax.random.key(0), state, params)).reshape(2, 3)
        assert a[:, 0].tolist() == [0.0, 1.0], name
    busy = make_state(ENV, params, queue=[(1.0, 0.5, 50.0, 0)], active=[[], [(1, 1, 9, 1)]],
                      expertise=[[0.3, 0.5], [0.9, 0.5]], capacity=[1.0, 1.0])
    a = np.asarray(RULES["wspt"](jax.random.key(0), busy, params)).reshape(2, 3)
    assert a[:, 0].tolist() == [1.0, 0.0]  # agent 1 holds a task: not idle
