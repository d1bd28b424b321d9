"""The rules (agentic_jax.env.rules) and their tables in both action modes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.builders import make_state

from agentic_jax.env import MultiAgentTaskEnvironment, Tasks, rules
from agentic_jax.env.evaluation import evaluate_heuristics, evaluate_policy, heuristics_for
from agentic_jax.env.rules import HEURISTICS, RULES, SELECT_RULES

SHAPE = dict(n_agents=3, max_tasks=5, n_task_types=2, max_active_per_agent=2)


@pytest.fixture(scope="module")
def states():
    """32 varied states (busy arrivals, random actions) of the small select env, batch-first."""
    env = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)
    params = env.default_params.replace(arrival_rate=0.9).with_collaboration_tradeoff(0.5)

    @jax.jit
    def collect(key):
        _, state = jax.vmap(env.reset_env, (0, None))(jax.random.split(key, 4), params)

        def one(state, k):
            a = jax.vmap(env.action_space(params).sample)(jax.random.split(k, 4))
            keys = jax.random.split(jax.random.fold_in(k, 1), 4)
            state = jax.vmap(env.step_env, (0, 0, 0, None))(keys, state, a, params)[1]
            return state, state

        return jax.lax.scan(one, state, jax.random.split(key, 8))[1]

    out = collect(jax.random.key(0))  # (8 steps, 4 envs, ...)
    return env, params, jax.tree.map(lambda x: x.reshape((32,) + x.shape[2:]), out)


def test_tables_have_the_same_names_and_the_default_set_first():
    assert list(RULES) == list(SELECT_RULES)
    assert list(RULES)[: len(HEURISTICS)] == list(HEURISTICS)
    wanted = {"always_accept", "earliest_deadline", "highest_priority", "expertise_greedy",
              "least_loaded", "expected_rate"}
    assert wanted <= set(RULES)
    assert {"expected_rate_collab", "expected_rate_helps"} <= set(RULES)
    assert heuristics_for("select") is SELECT_RULES and heuristics_for("seed") is RULES
    assert all(HEURISTICS[name] is RULES[name] for name in HEURISTICS)  # a subset by name


def test_a_new_rule_is_one_entry_in_one_module(monkeypatch):
    """A rule built from the module's parts and added to the table is evaluated by name."""
    idle_first = rules.seed_rule(rules.fifo_score, rules.idle, rules.never)
    monkeypatch.setitem(RULES, "idle_first", idle_first)
    env = MultiAgentTaskEnvironment(**SHAPE)
    params = env.default_params.replace(max_steps_in_episode=30)
    key = jax.random.key(3)
    table = evaluate_heuristics(env, params, key, 8, ("idle_first",))
    want = evaluate_policy(RULES["earliest_deadline"], env, params, key, 8)  # FIFO to idle
    assert table["idle_first"]["mean_reward"] == float(want["mean_reward"])


@pytest.mark.parametrize("name", list(SELECT_RULES))
def test_select_rules_give_valid_conflict_free_actions(states, name):
    env, params, batch = states
    actions = jax.jit(jax.vmap(SELECT_RULES[name], (0, 0, None)))(
        jax.random.split(jax.random.key(1), 32), batch, params)
    assert actions.shape == (32, env.num_actions) and actions.dtype == jnp.int32
    assert bool(jax.vmap(env.action_space(params).contains)(actions).all())
    if name == "random":
        return
    choice = np.asarray(actions[:, 0::2])
    picked = choice < env.max_tasks
    assert picked.any(), name  # the rule does take tasks
    valid = np.asarray(batch.queue.valid)
    has_slot = ~np.asarray(batch.active.valid).all(-1)
    for e in range(32):  # only queued tasks, only agents with a free slot, never the same task
        slots = choice[e][picked[e]]
        assert valid[e][slots].all() and has_slot[e][picked[e]].all(), name
        assert len(set(slots.tolist())) == len(slots), name


@pytest.mark.parametrize("name", [n for n in RULES if n not in HEURISTICS])
def test_new_seed_rules_give_valid_actions(states, name):
    _, params, batch = states
    actions = jax.jit(jax.vmap(RULES[name], (0, 0, None)))(
        jax.random.split(jax.random.key(1), 32), batch, params)
    a = np.asarray(actions).reshape(32, 3, 3)
    assert set(np.unique(a[..., 0])) <= {0.0, 1.0} and (a[..., 1] == 1.0).all()
    assert a[..., 0].any()


def test_greedy_choice_matches_best_pairs_first():
    score = jnp.array([[0.9, 0.8, 0.1], [0.95, 0.2, 0.1], [0.5, 0.4, 0.3], [0.0, 0.0, 0.0]])
    ok = jnp.ones((4, 3), bool).at[3].set(False)
    # (1, 0) first, then agent 0's best remaining slot 1, then agent 2 gets slot 2
    assert rules.greedy_choice(score, ok).tolist() == [1, 0, 2, 3]
    # ties: lowest agent, then lowest slot; more agents than tasks leaves some with none
    assert rules.greedy_choice(jnp.zeros((3, 2)), jnp.ones((3, 2), bool)).tolist() == [0, 1, 2]


def test_expected_rate_is_the_gain_in_work_rate():
    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, n_task_types=2, obs_mode="seed")
    params = env.default_params
    state = make_state(env, params, queue=[(1.0, 0.5, 9.0, 0), (0.5, 1.0, 9.0, 1)],
                       active=[[(1.0, 0.8, 9.0, 1)], []], expertise=[[0.6, 0.5], [0.9, 0.2]],
                       capacity=[0.8, 0.5])
    score = np.asarray(rules.expected_rate_score(state))
    # agent 0 holds work 0.5*0.8 at load 1: rate 0.8*0.4 = 0.32
    assert score[0, 0] == pytest.approx((0.4 + 0.6 * 0.5) * 0.8 / 2.0 - 0.32)  # < 0: slows
    assert score[0, 1] == pytest.approx((0.4 + 0.5 * 1.0) * 0.8 / 1.5 - 0.32)
    assert score[1, 0] == pytest.approx(0.9 * 0.5 * 0.5)  # idle agent: the task's own rate
    assert score[1, 1] == pytest.approx(0.2 * 1.0 * 0.5)
    a = np.asarray(SELECT_RULES["expected_rate"](
        jax.random.key(0), state, params)).reshape(2, 2)
    assert a[:, 0].tolist() == [1, 0]  # agent 1 (idle) takes slot 0, agent 0 gains with slot 1


def test_collaboration_helps_per_agent():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, n_task_types=2, obs_mode="seed")
    base = env.default_params
    state = make_state(env, base, active=[[(1.0, 0.5, 9.0, 0)], [(1.0, 0.5, 9.0, 1)], []],
                       expertise=[[0.2, 0.9], [0.3, 0.9], [0.95, 0.1]], capacity=[1, 1, 1])
    none = Tasks.empty((3,))  # nobody takes a task this step
    # the seed's rules: free bonus, no cost -> everyone
    assert rules.collaboration_helps(state, base, none).tolist() == [True, True, True]
    tradeoff = base.with_collaboration_tradeoff(sharing=1.0, cost=0.3)
    # agent 0 (0.2 at type 0) gains from 0.95 * 0.7; agent 1 would lose 0.3 of its 0.9 and
    # lends too little (0.3 * 0.7 - 0.2); idle agent 2 lends 0.95 at no cost of its own
    assert rules.collaboration_helps(state, tradeoff, none).tolist() == [True, False, True]
    no_sharing = base.with_collaboration_tradeoff(sharing=0.0, cost=0.3)
    assert not rules.collaboration_helps(state, no_sharing, none).any()


FIFO_PARAMS = MultiAgentTaskEnvironment().default_params.replace(max_steps_in_episode=30)
SELECT_ENV = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)


def test_select_fifo_replays_the_seed_modes_always_accept():
    """In select mode FIFO picks exactly what the seed mode's always_accept takes."""
    seed_env = MultiAgentTaskEnvironment(**SHAPE)
    key = jax.random.key(3)
    a = evaluate_policy(RULES["always_accept"], seed_env, FIFO_PARAMS, key, 8, True)
    b = evaluate_policy(SELECT_RULES["always_accept"], SELECT_ENV, FIFO_PARAMS, key, 8, True)
    np.testing.assert_allclose(a["episode_rewards"], b["episode_rewards"], rtol=1e-5)
    assert float(a["completion_rate"]) == float(b["completion_rate"]) > 0


@pytest.fixture(scope="module")
def default_table():
    env = MultiAgentTaskEnvironment()
    return evaluate_heuristics(env, env.default_params, jax.random.key(0), n_episodes=32)


def test_defaults_make_a_hard_problem(default_table):
    table = default_table
    greedy, rand = table["expertise_greedy"], table["random"]
    assert greedy["completion_rate"] > rand["completion_rate"] + 0.2
    for name, row in table.items():
        assert row["completion_rate"] < 0.9, name  # nobody completes nearly everything
    assert greedy["match"] > table["always_accept"]["match"] + 0.03
    assert greedy["mean_reward"] > table["least_loaded"]["mean_reward"] > rand["mean_reward"]


def test_collaboration_variants_collect_the_free_bonus(default_table):
    table = default_table
    for base in ("always_accept", "expertise_greedy", "least_loaded"):
        plain, collab = table[base], table[base + "_collab"]
        assert plain["collaboration_frequency"] == 0.0
        assert collab["collaboration_frequency"] == pytest.approx(1.0)
        bonus = 0.5 * 4 * 3 * 200  # every ordered pair, every step
        assert collab["mean_reward"] - plain["mean_reward"] == pytest.approx(bonus, rel=1e-4)
        assert collab["completion_rate"] == pytest.approx(plain["completion_rate"])


def test_expertise_greedy_gives_head_task_to_best_idle_agent():
    env = MultiAgentTaskEnvironment(obs_mode="seed")
    params = env.default_params
    expertise = np.array([[0.2, 0.9, 0.5], [0.8, 0.1, 0.5], [0.9, 0.3, 0.5], [0.1, 0.2, 0.5]])
    state = make_state(env, params, queue=[(1.0, 0.5, 10.0, 0), (1.0, 0.5, 10.0, 1)],
                       active=[[], [], [(0.5, 0.5, 50.0, 2)], []], expertise=expertise)
    a = np.asarray(HEURISTICS["expertise_greedy"](jax.random.key(0), state, params)).reshape(4, 3)
    # Agent 2 is busy; best idle for type 0 is agent 1; then only agent 3 (index > 1) remains.
    assert a[:, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert (a[:, 1] == 1.0).all() and (a[:, 2] == 0.0).all()


def test_least_loaded_accepts_with_lowest_load():
    env = MultiAgentTaskEnvironment(obs_mode="seed")
    params = env.default_params
    state = make_state(env, params, active=[[(1.0, 0.5, 9.0, 0)], [(0.6, 0.5, 9.0, 0)], [],
                                            [(0.5, 0.5, 9.0, 0)]])
    a = np.asarray(HEURISTICS["least_loaded"](jax.random.key(0), state, params)).reshape(4, 3)
    assert a[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
