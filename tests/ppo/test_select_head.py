"""The select mode's conflict-free head (`ppo.sequential_select`): masked sequential maths vs
NumPy, joint sampling frequencies, no conflicts for any logits, the "matching" decoding vs a
NumPy greedy, validation, and a PPO update."""

from __future__ import annotations

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import (
    PPOConfig,
    env_spec,
    make_act,
    make_head,
    make_init,
    make_update,
    matching_choices,
    sequential_select_head,
)


def select_nvec(n: int, n_slots: int) -> tuple[int, ...]:
    return (n_slots + 1, 2) * n


def numpy_sequential(flat, actions, n, n_slots):
    """Reference: agent after agent, log-softmax over the slots earlier agents left (and none),
    plus the independent collaboration dimensions; summed log-probs and entropies."""
    log_prob, entropy = np.zeros(len(flat)), np.zeros(len(flat))
    width = n_slots + 3
    for b, (row, act) in enumerate(zip(flat.astype(np.float64), actions, strict=True)):
        taken = set()
        for i in range(n):
            slots = row[i * width : i * width + n_slots + 1].copy()
            collab = row[i * width + n_slots + 1 : (i + 1) * width]
            for q in taken:
                slots[q] = -np.inf
            for z, a in ((slots, act[2 * i]), (collab, act[2 * i + 1])):
                logp = z - z.max() - np.log(np.exp(z - z.max()).sum())
                p = np.exp(logp)
                log_prob[b] += logp[a]
                entropy[b] -= np.sum(p[p > 0] * logp[p > 0])
            if act[2 * i] < n_slots:
                taken.add(act[2 * i])
    return log_prob, entropy


def test_log_prob_entropy_and_mode_match_numpy():
    n, n_slots = 3, 4
    nvec = select_nvec(n, n_slots)
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(16, sum(nvec))).astype(np.float32) * 2.0
    head = sequential_select_head(nvec)
    actions, log_prob = head.sample((jnp.asarray(flat),), head.noise(jax.random.key(1), (16,)))
    actions = np.asarray(actions, np.int64)
    ref_lp, ref_ent = numpy_sequential(flat, actions, n, n_slots)
    lp, ent = head.log_prob_entropy((jnp.asarray(flat),), jnp.asarray(actions, jnp.float32))
    np.testing.assert_allclose(lp, ref_lp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_prob, ref_lp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ent, ref_ent, rtol=1e-5, atol=1e-5)
    # the mode: each agent in turn takes its best remaining slot (or none)
    mode = np.asarray(head.mode((jnp.asarray(flat),)), np.int64)
    width = n_slots + 3
    for row, got in zip(flat, mode, strict=True):
        taken = set()
        for i in range(n):
            slots = row[i * width : i * width + n_slots + 1].copy()
            slots[list(taken)] = -np.inf
            assert got[2 * i] == np.argmax(slots)
            assert got[2 * i + 1] == np.argmax(row[i * width + n_slots + 1 : (i + 1) * width])
            taken |= {got[2 * i]} - {n_slots}


def test_joint_sampling_frequencies_match_the_probabilities():
    """Every conflict-free joint action of 2 agents on 2 slots is drawn as often as its
    probability says (5 binomial standard errors), and the probabilities sum to 1."""
    n, n_slots, draws = 2, 2, 40_000
    nvec = select_nvec(n, n_slots)
    head = sequential_select_head(nvec)
    logits = jnp.asarray([1.0, 0.2, -0.5, 0.3, -0.3, 0.8, 1.5, -1.0, 0.0, 0.4])
    actions, _ = head.sample((jnp.broadcast_to(logits, (draws, 10)),),
                             head.noise(jax.random.key(7), (draws,)))
    actions = np.asarray(actions, np.int64)
    joint = [a for a in itertools.product(range(3), range(2), range(3), range(2))
             if not (a[0] == a[2] < n_slots)]
    probs = np.exp(np.asarray(head.log_prob_entropy(
        (logits[None].repeat(len(joint), 0),), jnp.asarray(joint, jnp.float32))[0]))
    np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-5)
    for a, p in zip(joint, probs, strict=True):
        freq = np.mean(np.all(actions == np.asarray(a), 1))
        assert abs(freq - p) < 5 * np.sqrt(p * (1 - p) / draws) + 1e-4, (a, freq, p)


def numpy_matching(slot_logits: np.ndarray) -> tuple[np.ndarray, float]:
    """Reference of the "matching" decoding for one env, `slot_logits [n, Q + 1]`: per agent a
    log-softmax; then, n times, the best (agent, choice) over undecided agents and untaken slots
    (none always allowed), the first in agent-major order on ties. Also the smallest gap
    between a round's best and second-best pair (float32 rounding may order a near-tie
    either way)."""
    z = slot_logits.astype(np.float64)
    log_p = z - z.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    n, n_choices = z.shape
    choices, decided, taken = np.full(n, n_choices - 1), np.zeros(n, bool), set()
    gap = np.inf
    for _ in range(n):
        best, pair, values = -np.inf, None, []
        for i in range(n):
            for q in range(n_choices):
                if not decided[i] and q not in taken:
                    values.append(log_p[i, q])
                    if log_p[i, q] > best:
                        best, pair = log_p[i, q], (i, q)
        gap = min([gap, *(best - v for v in values if v < best)])
        i, q = pair
        choices[i], decided[i] = q, True
        if q < n_choices - 1:
            taken.add(q)
    return choices, gap


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), n_slots=st.integers(1, 5), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 10.0))
def test_matching_decoding_matches_numpy(n, n_slots, seed, scale):
    logits = np.random.default_rng(seed).normal(size=(4, n, n_slots + 1)) * scale
    got = np.asarray(matching_choices(jnp.asarray(logits, jnp.float32)))
    assert got.shape == (4, n)
    for row, logit in zip(got, logits, strict=True):
        expected, gap = numpy_matching(logit)
        if gap > 1e-4:  # else a near-tie, which float32 may break either way
            np.testing.assert_array_equal(row, expected)
        taken = row[row < n_slots]
        assert len(set(taken.tolist())) == len(taken)


def test_matching_gives_the_slot_to_the_surer_agent():
    """Agent 0 mildly prefers slot 0, agent 1 is nearly sure of it: index order hands it to
    agent 0, matching to agent 1. The head's mode decodes as asked; sampling is the same."""
    n, n_slots = 2, 1
    nvec = select_nvec(n, n_slots)
    # per agent: [slot 0, none, no request, request]
    flat = (jnp.asarray([1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 2.0, 0.0]),)
    order, matching = (sequential_select_head(nvec, decoding=d) for d in ("order", "matching"))
    np.testing.assert_array_equal(order.mode(flat), [0, 0, 1, 0])
    np.testing.assert_array_equal(matching.mode(flat), [1, 0, 0, 0])
    noise = order.noise(jax.random.key(3), (64,))
    batch = (jnp.broadcast_to(flat[0], (64, 8)),)
    chex.assert_trees_all_equal(order.sample(batch, noise), matching.sample(batch, noise))
    with pytest.raises(ValueError, match="decoding='best' is invalid"):
        sequential_select_head(nvec, decoding="best")


@functools.cache
def jitted_sample_and_mode(n: int, n_slots: int):
    """`(sample(seed, scale) -> (actions, log_prob), mode(seed, scale) -> actions)` of the head
    on 32 rows of `normal(key(seed)) * scale` logits, compiled once per shape."""
    nvec = select_nvec(n, n_slots)
    head = sequential_select_head(nvec)

    def logits(seed, scale):
        return (jax.random.normal(jax.random.key(seed), (32, sum(nvec))) * scale,)

    def sample(seed, scale):
        return head.sample(logits(seed, scale), head.noise(jax.random.key(seed + 1), (32,)))

    return jax.jit(sample), jax.jit(lambda seed, scale: head.mode(logits(seed, scale)))


@settings(max_examples=25, deadline=None)
# few shapes (each compiled once); the values vary freely
@pytest.mark.slow
@given(n=st.sampled_from([1, 3, 5]), n_slots=st.sampled_from([1, 4]), seed=st.integers(0, 2**16),
       scale=st.floats(0.0, 30.0))
def test_no_two_agents_ever_take_the_same_slot(n, n_slots, seed, scale):
    sample, mode = jitted_sample_and_mode(n, n_slots)
    sampled, log_prob = sample(seed, scale)
    for actions in (np.asarray(sampled, np.int64), np.asarray(mode(seed, scale), np.int64)):
        choices = actions[:, 0::2]
        assert choices.min() >= 0 and choices.max() <= n_slots
        for row in choices:
            taken = row[row < n_slots]
            assert len(set(taken.tolist())) == len(taken)
    assert np.all(np.isfinite(np.asarray(log_prob)))


def test_sequential_select_is_validated():
    with pytest.raises(ValueError, match="ppo.sequential_select=true needs ppo.policy"):
        PPOConfig(sequential_select=True).validate()
    with pytest.raises(ValueError, match="ppo.select_decoding='best' is unknown"):
        PPOConfig(policy="discrete", sequential_select=True, select_decoding="best").validate()
    with pytest.raises(ValueError, match="select_decoding='matching' needs ppo.sequential_se"):
        PPOConfig(policy="discrete", select_decoding="matching").validate()
    with pytest.raises(ValueError, match="ppo.sequential_select"):
        PPOConfig(sequential_select="yes").validate()
    # discrete actions that are not the select mode's (Q + 1, 2) per agent
    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, action_mode="select")
    spec = env_spec(env, env.default_params).replace(nvec=(4, 3, 4, 3))
    config = PPOConfig(policy="discrete", sequential_select=True)
    with pytest.raises(ValueError, match="sequential_select=true needs the select action mode"):
        make_head(config, spec)
    assert make_head(config, env_spec(env, env.default_params)) is not None


@pytest.mark.slow
def test_ppo_update_with_sequential_select_acts_without_conflicts():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6)
    config = PPOConfig(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=128,
                       net_arch={"pi": [16], "vf": [16]}, policy="discrete", actor="ippo",
                       sequential_select=True, ent_coef=0.01)
    rs = jax.jit(make_init(config, env, params))(jax.random.key(0))
    rs, metrics = jax.jit(make_update(config, env, params))(rs)
    chex.assert_tree_all_finite((metrics, rs.train_state.params))
    assert metrics["entropy"] > 0.0
    act = jax.jit(make_act(config, env, params), static_argnames="deterministic")
    obs, _ = env.reset(jax.random.key(1), params)
    for deterministic in (True, False):
        action = np.asarray(act(rs, obs, jax.random.key(2), deterministic=deterministic))
        choices = action[0::2]
        taken = choices[choices < 3]
        assert len(set(taken.tolist())) == len(taken)
    # ppo.select_decoding reaches the deterministic action: the matching head's mode
    matching = config.replace(select_decoding="matching")
    actor_out = rs.train_state.apply_fn(rs.train_state.params, obs, method="actor")
    expected = make_head(matching, env_spec(env, params)).mode(actor_out)
    np.testing.assert_array_equal(make_act(matching, env, params)(rs, obs), expected)
