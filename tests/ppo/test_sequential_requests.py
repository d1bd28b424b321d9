"""Collaboration requests in agent order (`ppo.collaboration: sequential`): conditional maths vs
NumPy, joint sampling frequencies, normalisation for any features, the actor's features,
validation, and a PPO update."""

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
    draw_requests,
    env_spec,
    make_act,
    make_head,
    make_init,
    make_network,
    make_update,
    request_logits,
    sequential_select_head,
)


def select_nvec(n: int, n_slots: int) -> tuple[int, ...]:
    return (n_slots + 1, 2) * n


def log_softmax(z: np.ndarray) -> np.ndarray:
    return z - z.max() - np.log(np.exp(z - z.max()).sum())


def numpy_request_logits(row, feat, choices, asks, i, n_slots):
    """Agent i's request logits: its own two with `alpha_i(c_i) + sum_{j<i} r_j
    <u_i(c_i), v_j(c_j)> / sqrt(D)` added to "request"."""
    dim = (feat.shape[-1] - 1) // 2
    own = feat[i, choices[i]]
    shift = own[0] + sum(asks[j] * own[1 : 1 + dim] @ feat[j, choices[j], 1 + dim :]
                         for j in range(i)) / np.sqrt(dim)
    width = n_slots + 3
    return row[i * width + n_slots + 1 : (i + 1) * width] + np.array([0.0, shift])


def numpy_chain(flat, features, actions, n, n_slots):
    """Reference: slots as the sequential head masks them, requests by
    `numpy_request_logits`; the summed log-probs and the summed conditional entropies."""
    width = n_slots + 3
    log_prob, entropy = np.zeros(len(flat)), np.zeros(len(flat))
    for b in range(len(flat)):
        row, act, feat = flat[b].astype(np.float64), actions[b], features[b].astype(np.float64)
        choices, asks = act[0::2], act[1::2]
        taken = set()
        for i in range(n):
            slots = row[i * width : i * width + n_slots + 1].copy()
            slots[list(taken)] = -np.inf
            collab = numpy_request_logits(row, feat, choices, asks, i, n_slots)
            for z, a in ((slots, choices[i]), (collab, asks[i])):
                logp = log_softmax(z)
                p = np.exp(logp)
                log_prob[b] += logp[a]
                entropy[b] -= np.sum(p[p > 0] * logp[p > 0])
            taken |= {choices[i]} - {n_slots}
    return log_prob, entropy


def random_inputs(seed, batch, n, n_slots, dim, scale=2.0):
    rng = np.random.default_rng(seed)
    flat = rng.normal(size=(batch, sum(select_nvec(n, n_slots)))).astype(np.float32) * scale
    features = rng.normal(size=(batch, n, n_slots + 1, 1 + 2 * dim)).astype(np.float32) * scale
    return flat, features


def test_log_prob_entropy_and_mode_match_numpy():
    n, n_slots, dim = 4, 3, 2
    flat, features = random_inputs(0, 32, n, n_slots, dim)
    head = sequential_select_head(select_nvec(n, n_slots), "sequential")
    out = (jnp.asarray(flat), jnp.asarray(features))
    actions, log_prob = head.sample(out, head.noise(jax.random.key(1), (32,)))
    actions = np.asarray(actions, np.int64)
    assert 0 < actions[:, 1::2].mean() < 1  # both request outcomes occur
    ref_lp, ref_ent = numpy_chain(flat, features, actions, n, n_slots)
    lp, ent = head.log_prob_entropy(out, jnp.asarray(actions, jnp.float32))
    np.testing.assert_allclose(lp, ref_lp, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(log_prob, ref_lp, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ent, ref_ent, rtol=1e-5, atol=1e-4)
    # the mode: the sequential slot choices, then each agent in turn takes its most likely
    # request given the requests before it
    mode = np.asarray(head.mode(out), np.int64)
    greedy = np.asarray(sequential_select_head(select_nvec(n, n_slots)).mode(out[:1]))
    np.testing.assert_array_equal(mode[:, 0::2], greedy[:, 0::2])
    for b in range(32):
        for i in range(n):
            z = numpy_request_logits(flat[b].astype(np.float64), features[b].astype(np.float64),
                                     mode[b, 0::2], mode[b, 1::2], i, n_slots)
            assert mode[b, 2 * i + 1] == np.argmax(z)


def test_joint_sampling_frequencies_match_the_probabilities():
    """3 agents on 1 slot, with pair terms strong enough that agent 2 mostly answers agent 0's
    request: every joint action is drawn as often as its probability says, and the
    probabilities sum to 1."""
    n, n_slots, draws = 3, 1, 60_000  # D = 1: features (alpha, u, v) per agent and choice
    nvec = select_nvec(n, n_slots)
    head = sequential_select_head(nvec, "sequential")
    flat = jnp.asarray([0.3, -0.2, 0.0, 0.5, 0.1, 0.0, 0.4, 0.0, 0.0, -1.5, -0.3, 0.0])
    features = np.zeros((n, n_slots + 1, 3), np.float32)
    features[:, :, 1] = 2.0  # u
    features[0, :, 2] = [2.0, -1.0]  # v of agent 0, by its choice
    features[1, :, 2] = [-1.0, 0.5]
    features[:, 1, 0] = 0.7  # alpha when taking none
    out = (jnp.broadcast_to(flat, (draws, 12)), jnp.broadcast_to(features, (draws,) +
                                                                   features.shape))
    actions, _ = head.sample(out, head.noise(jax.random.key(3), (draws,)))
    actions = np.asarray(actions, np.int64)
    joint = [a for a in itertools.product(*(range(k) for k in nvec))
             if len({c for c in a[0::2] if c < n_slots}) == sum(c < n_slots for c in a[0::2])]
    probs = np.exp(np.asarray(head.log_prob_entropy(
        (jnp.broadcast_to(flat, (len(joint), 12)),
         jnp.broadcast_to(features, (len(joint),) + features.shape)),
        jnp.asarray(joint, jnp.float32))[0]))
    np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-5)
    for a, p in zip(joint, probs, strict=True):
        freq = np.mean(np.all(actions == np.asarray(a), 1))
        assert abs(freq - p) < 5 * np.sqrt(p * (1 - p) / draws) + 1e-4, (a, freq, p)


@functools.cache
def jitted_request_probabilities(n: int):
    """`(base, rows) -> [2^n]` the probability of every request vector (agent 0 the lowest
    bit) from :func:`request_logits`, and the mode from :func:`draw_requests`."""
    every = jnp.asarray((np.arange(2**n)[:, None] >> np.arange(n)) & 1)

    def probs(base, rows):
        logits = jax.vmap(lambda r: request_logits(base, rows, r))(every)  # [2^n, n, 2]
        logp = jax.nn.log_softmax(logits, -1)
        return jnp.exp(jnp.take_along_axis(logp, every[..., None], -1)[..., 0].sum(-1))

    return jax.jit(probs), jax.jit(lambda base, rows: draw_requests(base, rows, 0.0)), every


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from([1, 2, 4]), seed=st.integers(0, 2**16), scale=st.floats(0.0, 20.0))
def test_request_probabilities_sum_to_one_and_the_mode_is_the_greedy_chain(n, seed, scale):
    rng = np.random.default_rng(seed)
    base = jnp.asarray(rng.normal(size=(n, 2)) * scale, jnp.float32)
    rows = jnp.asarray(rng.normal(size=(n, 5)) * scale, jnp.float32)
    probs, mode, every = jitted_request_probabilities(n)
    p = np.asarray(probs(base, rows), np.float64)
    assert np.all(p >= 0) and abs(p.sum() - 1.0) < 1e-4
    # the greedy chain: each agent's conditional argmax given the ones before it
    drawn = np.asarray(mode(base, rows))
    logits = np.asarray(request_logits(base, rows, jnp.asarray(drawn)))
    assert np.array_equal(drawn, (logits[:, 1] > logits[:, 0]).astype(drawn.dtype))


@pytest.mark.slow
def test_the_actor_gives_request_features_per_agent_and_choice():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, action_mode="select")
    params = env.default_params
    config = PPOConfig(policy="discrete", actor="ippo", sequential_select=True,
                       collaboration="sequential", net_arch={"pi": [16], "vf": [16]},
                       n_envs=2, n_steps=4, batch_size=8, total_timesteps=8)
    head = make_head(config, env_spec(env, params))
    ts = make_init(config, env, params)(jax.random.key(0)).train_state
    obs, _ = env.reset(jax.random.key(1), params)
    logits, features = ts.apply_fn(ts.params, obs[None], method="actor")
    dim = ts.params["params"]["request_u"]["kernel"].shape[-1]
    assert logits.shape == (1, 3 * (4 + 3)) and features.shape == (1, 3, 5, 1 + 2 * dim)
    # no parameter depends on the team or queue size: a trained actor runs at any n
    other = MultiAgentTaskEnvironment(n_agents=5, max_tasks=6, action_mode="select")
    shapes = jax.tree.map(jnp.shape, make_init(config, other, other.default_params)(
        jax.random.key(0)).train_state.params)
    assert shapes == jax.tree.map(jnp.shape, ts.params)
    # at initialisation the pair terms are small: every agent's request starts near even odds
    for asks in itertools.product((0, 1), repeat=3):
        actions = jnp.asarray([[4, asks[0], 4, asks[1], 4, asks[2]]], jnp.float32)
        with_asks = head.log_prob_entropy((logits, features), actions)[0]
        without = head.log_prob_entropy((logits, features), actions.at[0, 1::2].set(0))[0]
        assert abs(float(with_asks[0] - without[0])) < 0.05


def test_sequential_collaboration_is_validated():
    with pytest.raises(ValueError, match="ppo.collaboration='sequential' needs"):
        PPOConfig(policy="discrete", actor="ippo", collaboration="sequential").validate()
    with pytest.raises(ValueError, match="ppo.collaboration='sequential' needs"):
        PPOConfig(policy="discrete", actor="mlp", sequential_select=True,
                  collaboration="sequential").validate()
    with pytest.raises(ValueError, match="ppo.collaboration='together' is unknown"):
        PPOConfig(collaboration="together").validate()
    config = PPOConfig(policy="discrete", actor="ippo", sequential_select=True,
                       collaboration="sequential")
    with pytest.raises(ValueError, match="needs the slot-scoring actor"):
        make_network(config, 12, (0, 3, 4), ((12, 4),), None)


@pytest.mark.slow
def test_ppo_update_with_sequential_requests():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6)
    config = PPOConfig(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=128,
                       net_arch={"pi": [16], "vf": [16]}, policy="discrete", actor="ippo",
                       sequential_select=True, collaboration="sequential", ent_coef=0.01)
    rs0 = jax.jit(make_init(config, env, params))(jax.random.key(0))
    rs, metrics = jax.jit(make_update(config, env, params))(rs0)
    chex.assert_tree_all_finite((metrics, rs.train_state.params))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                         rs0.train_state.params["params"]["request_av"],
                         rs.train_state.params["params"]["request_av"])
    assert max(jax.tree.leaves(moved)) > 0  # the request features get a gradient
    act = jax.jit(make_act(config, env, params), static_argnames="deterministic")
    obs, _ = env.reset(jax.random.key(1), params)
    for deterministic in (True, False):
        action = np.asarray(act(rs, obs, jax.random.key(2), deterministic=deterministic))
        assert set(action[1::2].tolist()) <= {0, 1}
