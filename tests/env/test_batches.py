"""Any episode count as batches of one evaluation program (agentic_jax.env.batches), and the
learned policy and the rules meeting the same episodes in it."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.batches import batch_key, check_count, run_batches, summarize
from agentic_jax.env.evaluation import evaluate_policy, indexed_episodes

ENV = MultiAgentTaskEnvironment()
PARAMS = ENV.default_params.replace(max_steps_in_episode=12)
TABLE = tuple(ENV.mode.rules.values())
RULE = 6  # least_loaded_collab: any rule of the table


def _wrapped(key, state, params):  # the rule, posing as a learned policy
    return TABLE[RULE](key, state, params)


@jax.jit
def _program(index, key):
    """The per-episode program of 4 episodes: index 0 the wrapped rule, `1 + i` rule i."""
    return indexed_episodes((_wrapped, *TABLE), index, ENV, PARAMS, key, 4)


@pytest.mark.slow
def test_n_episodes_are_the_batches_of_one_program_in_order():
    key = jax.random.key(5)
    got = run_batches(lambda k: _program(1 + RULE, k), key, 10, 4)
    batches = [jax.device_get(_program(1 + RULE, batch_key(key, b))) for b in range(3)]
    assert set(got) == set(batches[0]) and got["episode_return"].shape == (10,)
    for name in got:  # episode by episode, the per-batch program's outputs, cut at 10
        np.testing.assert_array_equal(got[name],
                                      np.concatenate([b[name] for b in batches])[:10])
    np.testing.assert_array_equal(batches[0]["episode_return"],
                                  jax.device_get(_program(1 + RULE, key))["episode_return"])
    first = run_batches(lambda k: _program(1 + RULE, k), key, 3, 4)
    np.testing.assert_array_equal(first["episode_return"], got["episode_return"][:3])
    summary = summarize(got, episode_rewards=True)
    assert summary["mean_reward"] == pytest.approx(float(np.mean(got["episode_return"])),
                                                   rel=1e-6)
    assert summary["std_reward"] == pytest.approx(float(np.std(got["episode_return"])),
                                                  rel=1e-5)
    np.testing.assert_array_equal(summary["episode_rewards"], got["episode_return"])
    # one batch is the policy's own evaluation on those episodes
    own = evaluate_policy(TABLE[RULE], ENV, PARAMS, key, 4, return_episode_rewards=True)
    np.testing.assert_allclose(own["episode_rewards"], batches[0]["episode_return"], rtol=1e-6)


def test_the_learned_slot_and_the_rules_meet_identical_episodes():
    key = jax.random.key(8)
    as_learned = run_batches(lambda k: _program(0, k), key, 6, 4)
    as_rule = run_batches(lambda k: _program(1 + RULE, k), key, 6, 4)
    for name in as_rule:
        np.testing.assert_array_equal(as_learned[name], as_rule[name], err_msg=name)
    other = run_batches(lambda k: _program(1, k), key, 6, 4)  # random: another policy
    assert not np.array_equal(other["episode_return"], as_rule["episode_return"])


def test_a_leading_member_axis_is_kept_and_summarised_per_member():
    per_episode = {"episode_return": np.arange(12, dtype=np.float32).reshape(2, 6),
                   "completion_rate": np.ones((2, 6), np.float32)}
    out = summarize(per_episode, episode_rewards=True)
    np.testing.assert_allclose(out["mean_reward"], [2.5, 8.5])
    np.testing.assert_allclose(out["std_reward"], np.std(np.arange(6.0)) * np.ones(2), rtol=1e-6)
    assert out["completion_rate"].shape == (2,) and out["episode_rewards"].shape == (2, 6)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 13), batch=st.integers(1, 6), members=st.integers(1, 3))
def test_run_batches_keeps_the_first_n_of_the_batches_in_order(n, batch, members):
    calls = []

    def program(key):  # episode e of batch b holds 1000 * b + e (b read back from the key)
        b = len(calls)
        assert np.array_equal(jax.random.key_data(key), jax.random.key_data(batch_key(root, b)))
        calls.append(b)
        return {"episode_return": np.tile(1000.0 * b + np.arange(batch), (members, 1))}

    root = jax.random.key(1)
    out = run_batches(program, root, n, batch)["episode_return"]
    assert len(calls) == -(-n // batch) and out.shape == (members, n)
    want = [1000 * (e // batch) + e % batch for e in range(n)]
    np.testing.assert_array_equal(out, np.tile(want, (members, 1)))


@pytest.mark.parametrize("n, batch", [(0, 4), (4, 0), (True, 4), (2.0, 4)])
def test_bad_counts_are_refused_in_one_line(n, batch):
    name = "n_episodes" if n != 4 or isinstance(n, bool) else "batch"
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid; allowed: an integer >= 1$"):
        check_count(n, batch)
    with pytest.raises(ValueError, match="is invalid"):
        run_batches(lambda k: {}, jax.random.key(0), n, batch)
