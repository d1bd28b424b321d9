"""The evaluation loop (agentic_jax.env.evaluation): a policy over a batch of whole episodes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.batches import batch_key, summarize
from agentic_jax.env.evaluation import (
    evaluate_heuristics,
    evaluate_indexed,
    evaluate_policy,
    evaluate_rules,
    rule_episodes,
)
from agentic_jax.env.rules import HEURISTICS, SELECT_RULES


def test_evaluate_policy_is_deterministic_and_complete():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=20)
    out1 = evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 8)
    out2 = evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 8)
    assert set(out1) >= {"mean_reward", "completion_rate", "utilisation",
                         "collaboration_frequency", "match"}
    for k in out1:
        assert float(out1[k]) == float(out2[k]) and np.isfinite(float(out1[k]))
    with pytest.raises(ValueError, match="n_episodes"):
        evaluate_policy(HEURISTICS["random"], env, params, jax.random.key(3), 0)


def test_evaluate_policy_returns_episode_rewards_paired_by_key():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=20)
    key = jax.random.key(4)
    out = evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8,
                          return_episode_rewards=True)
    rewards = np.asarray(out["episode_rewards"])
    assert rewards.shape == (8,)
    np.testing.assert_allclose(rewards.mean(), float(out["mean_reward"]), rtol=1e-5)
    np.testing.assert_allclose(rewards.std(), float(out["std_reward"]), rtol=1e-4)
    assert "episode_rewards" not in evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8)
    # the same key gives the same episodes: a policy against itself differs by exactly 0
    again = evaluate_policy(HEURISTICS["least_loaded"], env, params, key, 8,
                            return_episode_rewards=True)
    np.testing.assert_array_equal(rewards, np.asarray(again["episode_rewards"]))


def test_learned_policy_signature_works_through_observations():
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=10)

    def from_obs(key, state, params):
        obs = env.get_obs(state, params)
        return jnp.full((env.num_actions,), 0.9) * (obs.sum() > -1e9)

    out = evaluate_policy(from_obs, env, params, jax.random.key(0), 4)
    assert float(out["collaboration_frequency"]) == pytest.approx(1.0)


SHAPE = dict(n_agents=3, max_tasks=5, n_task_types=2, max_active_per_agent=2)
SELECT_ENV = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)
FIFO_PARAMS = MultiAgentTaskEnvironment().default_params.replace(max_steps_in_episode=30)


def test_evaluate_heuristics_uses_the_env_modes_table():
    # the select env gets the select rule
    key = jax.random.key(3)
    table = evaluate_heuristics(SELECT_ENV, FIFO_PARAMS, key, 8, ("always_accept",))
    want = evaluate_policy(SELECT_RULES["always_accept"], SELECT_ENV, FIFO_PARAMS, key, 8)
    assert set(table) == {"always_accept"}
    assert table["always_accept"]["mean_reward"] == float(want["mean_reward"])
    with pytest.raises(ValueError, match="unknown heuristic"):
        evaluate_heuristics(SELECT_ENV, FIFO_PARAMS, key, 4, ("fastest",))
    with pytest.raises(ValueError, match="one string"):
        evaluate_heuristics(SELECT_ENV, FIFO_PARAMS, key, 4, "random")


RULE_SAMPLE = ("random", "always_accept", "least_loaded", "expected_rate_helps", "wspt",
               "atc_team")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["seed", "select"])
def test_one_program_gives_each_rules_own_evaluation(mode):
    """Rules run through the one table program meet the same episodes and score what their
    own evaluate_policy scores (to float32 rounding: XLA may fuse the two programs apart)."""
    env = MultiAgentTaskEnvironment(action_mode=mode, **SHAPE)
    params = FIFO_PARAMS.with_collaboration_tradeoff(0.5)
    key = jax.random.key(5)
    got = evaluate_rules(env, params, key, 8, RULE_SAMPLE, return_episode_rewards=True)
    floats = evaluate_heuristics(env, params, key, 8, RULE_SAMPLE)
    assert list(got) == list(floats) == list(RULE_SAMPLE)
    for name in RULE_SAMPLE:
        want = evaluate_policy(env.mode.rules[name], env, params, key, 8, True)
        assert set(got[name]) == set(want)
        for k in want:
            np.testing.assert_allclose(got[name][k], want[k], rtol=1e-6, atol=1e-6,
                                       err_msg=f"{name} {k}")
        assert floats[name]["mean_reward"] == pytest.approx(float(want["mean_reward"]), 1e-6)


class Traces:
    """Counts the programs JAX traces (any function) while active."""

    def __init__(self):
        self.count = 0

    def __call__(self, event, duration, **kwargs):
        self.count += event == "/jax/core/compile/jaxpr_trace_duration"

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self)


@pytest.mark.slow
def test_more_rules_add_no_compilation():
    """Evaluating 3 rules traces no more than evaluating 1 (on an env of its own shape); then
    10 other rules, or every rule, of the same env and episode count trace nothing at all."""
    names = list(MultiAgentTaskEnvironment().mode.rules)
    envs = [MultiAgentTaskEnvironment(n_agents=2, max_tasks=q, n_task_types=2,
                                      max_active_per_agent=1) for q in (3, 4)]
    params = FIFO_PARAMS.replace(max_steps_in_episode=7)
    key = jax.random.key(0)
    with Traces() as one:
        evaluate_heuristics(envs[0], params, key, 4, tuple(names[:1]))
    with Traces() as three:
        evaluate_heuristics(envs[1], params, key, 4, tuple(names[:3]))
    assert 1 <= three.count <= one.count
    with Traces() as ten:
        table = evaluate_heuristics(envs[1], params, key, 4, tuple(names[3:13]))
        evaluate_heuristics(envs[1], params.replace(arrival_rate=0.3), key, 4, tuple(names))
    assert ten.count == 0 and len(table) == 10


@pytest.mark.slow
def test_a_learned_policy_shares_the_program_with_the_rules():
    """evaluate_indexed inside one jit: index 0 a policy of traced weights, then the rules;
    one trace serves new weights and every index, each equal to its own evaluation."""
    env = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)
    params = FIFO_PARAMS
    key = jax.random.key(2)
    rules_ = tuple(env.mode.rules.values())

    def learned(w):
        def policy(k, state, p):  # a slot per agent from its observation, never collaborate
            obs = env.get_obs(state, p)
            slot = jnp.argmax(w * obs[: w.shape[0]]).astype(jnp.int32) % (env.max_tasks + 1)
            return jnp.stack([jnp.full(env.n_agents, slot), jnp.zeros(env.n_agents, jnp.int32)],
                             -1).ravel()
        return policy

    traced = []

    @jax.jit
    def program(w, index):
        traced.append(1)
        return evaluate_indexed((learned(w), *rules_), index, env, params, key, 8, True)

    w0, w1 = jnp.linspace(-1, 1, 6), jnp.linspace(1, -1, 6)
    for w in (w0, w1):
        want = evaluate_policy(learned(w), env, params, key, 8, True)
        np.testing.assert_allclose(program(w, 0)["episode_rewards"], want["episode_rewards"],
                                   rtol=1e-6)
    for i in (1, 14):
        want = evaluate_policy(rules_[i - 1], env, params, key, 8, True)
        np.testing.assert_allclose(program(w0, i)["episode_rewards"], want["episode_rewards"],
                                   rtol=1e-6)
    assert len(traced) == 1


@pytest.mark.slow
def test_rule_episodes_are_each_rules_own_episodes_in_batches():
    """Per-episode metrics of each rule, batch by batch (`env.batches`): a batch's episodes are
    that rule's `evaluate_rules` episodes of the batch's key, and one call summarises to what
    `evaluate_rules` returns."""
    env = MultiAgentTaskEnvironment()
    params = env.default_params.replace(max_steps_in_episode=12)
    key, names = jax.random.key(8), ("random", "least_loaded")
    out = rule_episodes(env, params, key, 6, 4, names)
    assert list(out) == list(names)
    for name in names:
        assert {k: v.shape for k, v in out[name].items()} == {
            k: (6,) for k in out[name]} and "episode_return" in out[name]
        batches = [evaluate_rules(env, params, batch_key(key, b), 4, (name,),
                                  return_episode_rewards=True)[name] for b in (0, 1)]
        expected = np.concatenate([np.asarray(b["episode_rewards"]) for b in batches])[:6]
        np.testing.assert_array_equal(out[name]["episode_return"], expected)
    one = rule_episodes(env, params, key, 4, 4, names)["random"]
    summary = evaluate_rules(env, params, batch_key(key, 0), 4, ("random",))["random"]
    for metric, value in summarize(one).items():
        np.testing.assert_allclose(value, float(summary[metric]), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="unknown heuristic"):
        rule_episodes(env, params, key, 4, 4, ("no_such_rule",))
