"""The seed_discrete action mode (agentic_jax.env.modes.seed_discrete): categories of
(accept, collaborate) decoded to the seed mode's Box action at full effort."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_policy, heuristics_for
from agentic_jax.env.modes.seed_discrete import decode, encode, sanitize
from agentic_jax.env.rules import RULES
from agentic_jax.ppo.agents import select_slot_block

N = 3
SEED_ENV = MultiAgentTaskEnvironment(n_agents=N, max_tasks=5)
DISCRETE_ENV = MultiAgentTaskEnvironment(n_agents=N, max_tasks=5, action_mode="seed_discrete")
PARAMS = SEED_ENV.default_params.replace(max_steps_in_episode=20, collaboration_sharing=0.5,
                                         collaboration_cost=0.3, collaboration_bonus=0.0)


def states(n_states: int = 24):
    """States along a random seed-mode rollout (busy queues, some agents full)."""
    _, state = SEED_ENV.reset(jax.random.key(0), PARAMS)
    out = []
    for t in range(n_states):
        action = RULES["random"](jax.random.key(100 + t), state, PARAMS)
        _, state, _, _, _, _ = SEED_ENV.step(jax.random.key(t), state, action, PARAMS)
        out.append(state)
    return out


STATES = states()


def test_decode_is_accept_full_effort_collaborate():
    box = np.asarray(decode(jnp.arange(4)))  # four agents, one per category
    np.testing.assert_array_equal(box, [[0, 1, 0], [0, 1, 1], [1, 1, 0], [1, 1, 1]])
    assert decode(jnp.zeros((N, 7), jnp.int32)).shape == (N, 3, 7)  # batch axes last


def test_invalid_entries_read_as_neither_and_floats_are_floored():
    raw = jnp.array([3.9, -1.0, 4.0, jnp.nan, jnp.inf, 2.0])
    np.testing.assert_array_equal(np.asarray(sanitize(raw)), [3, 0, 0, 0, 0, 2])


@pytest.mark.parametrize("name", sorted(set(RULES) - {"random"}))
def test_decode_matches_the_box_action_every_rule_would_send(name):
    rule = jax.jit(RULES[name])
    for i, state in enumerate(STATES[::3]):
        box = rule(jax.random.key(i), state, PARAMS)
        decoded = decode(encode(box, PARAMS)).reshape(-1)
        np.testing.assert_array_equal(np.asarray(decoded), np.asarray(box))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=N, max_size=N), st.integers(0, 23))
def test_a_step_is_the_seed_modes_step_under_the_decoded_action(choice, t):
    state = STATES[t]
    choice = jnp.asarray(choice, jnp.int32)
    key = jax.random.key(7)
    got = DISCRETE_ENV.step(key, state, choice, PARAMS)
    want = SEED_ENV.step(key, state, decode(choice).reshape(-1), PARAMS)
    jax.tree.map(np.testing.assert_array_equal, got, want)


@pytest.mark.slow
def test_rules_replay_their_seed_mode_episodes():
    key = jax.random.key(3)
    for name in ("expertise_greedy_helps", "least_loaded_collab"):
        got = evaluate_policy(heuristics_for("seed_discrete")[name], DISCRETE_ENV, PARAMS, key,
                              8, return_episode_rewards=True)
        want = evaluate_policy(RULES[name], SEED_ENV, PARAMS, key, 8, return_episode_rewards=True)
        np.testing.assert_array_equal(got["episode_rewards"], want["episode_rewards"])
        assert float(got["completion_rate"]) == float(want["completion_rate"]) > 0


def test_the_table_has_every_seed_rule_and_keeps_its_functions():
    table = heuristics_for("seed_discrete")
    assert list(table) == list(RULES)
    assert table["earliest_deadline"] is table["highest_priority"]  # one compilation, as RULES
    assert heuristics_for("seed_discrete")["expected_rate"] is table["expected_rate"]
    action = table["random"](jax.random.key(0), STATES[0], PARAMS)
    assert action.shape == (N,) and bool(DISCRETE_ENV.action_space(PARAMS).contains(action))


def test_spec_declares_one_four_way_category_per_agent_not_a_slot_choice():
    spec = DISCRETE_ENV.spec()
    assert (spec.action_mode, spec.action_size, spec.nvec) == ("seed_discrete", N, (4,) * N)
    assert DISCRETE_ENV.discrete_actions and DISCRETE_ENV.action_nvec() == (4,) * N
    # PPO's slot-scoring actor is for the select mode's (Q + 1, 2) choices only
    assert select_slot_block(spec.nvec, spec.agent_block, spec.shared_blocks) is None


def test_batch_step_reads_batch_first_actions():
    _, states_b = DISCRETE_ENV.batch_reset(jax.random.key(1), PARAMS, 5)
    actions = jnp.tile(jnp.array([[3, 0, 2]]), (5, 1))
    out = DISCRETE_ENV.batch_step(jax.random.key(2), states_b, actions, PARAMS)
    assert out[0].shape == (5, DISCRETE_ENV.obs_size()) and np.isfinite(out[2]).all()
