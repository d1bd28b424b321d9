"""The requests' cross-entropy towards their better one-step choice (`ppo.request_model_coef`):
the targets, the loss against NumPy, a gradient that does not vanish at saturation, validation
and an update."""

from __future__ import annotations

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
    better_requests,
    make_init,
    make_update,
    request_model_loss,
    sequential_select_head,
)


def model_config(**changes) -> PPOConfig:
    base = dict(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=128,
                net_arch={"pi": [16], "vf": [16]}, policy="discrete", actor="ippo",
                sequential_select=True, ent_coef=0.01, request_credit="counterfactual",
                request_model_coef=1.0)
    return PPOConfig(**{**base, **changes})


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), n_slots=st.integers(1, 4))
def test_the_loss_is_the_weighted_cross_entropy_towards_the_better_request(seed, n, n_slots):
    """Independent requests: against NumPy's log-softmax of each agent's two request logits."""
    rng = np.random.default_rng(seed)
    batch = 12
    nvec = (n_slots + 1, 2) * n
    head = sequential_select_head(nvec, parts=True)
    logits = rng.normal(size=(batch, sum(nvec))).astype(np.float32) * 2
    choices = rng.integers(0, n_slots + 1, (batch, n))
    requests = rng.integers(0, 2, (batch, n))
    actions = np.stack([choices, requests], -1).reshape(batch, 2 * n).astype(np.float32)
    gains = rng.normal(size=(batch, n)).astype(np.float32)
    gains[0, 0] = 0.0  # a tie keeps the taken request

    better = np.where(gains >= 0, requests, 1 - requests)
    targets = better_requests(jnp.asarray(requests, jnp.float32), jnp.asarray(gains))
    np.testing.assert_array_equal(targets, better)
    loss = request_model_loss(head.request_logits((jnp.asarray(logits),), jnp.asarray(actions)),
                              targets, jnp.asarray(gains))
    # each agent's request logits are its 2 entries after its Q + 1 slot logits
    request_logits = logits.reshape(batch, n, n_slots + 3)[..., n_slots + 1:]
    picked = np.take_along_axis(log_softmax(request_logits), better[..., None], -1)[..., 0]
    weight = np.abs(gains) / (np.abs(gains).mean() + 1e-8)
    np.testing.assert_allclose(loss, -(weight * picked).mean(), rtol=1e-5, atol=1e-6)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 4))
def test_sequential_requests_are_judged_given_the_earlier_agents_taken_requests(seed, n):
    """Sequential requests: the target's log-prob is the taken request's conditional (the
    head's log-prob in parts) where kept, its complement where flipped."""
    rng = np.random.default_rng(seed)
    batch, n_slots = 10, 3
    nvec = (n_slots + 1, 2) * n
    head = sequential_select_head(nvec, "sequential", parts=True)
    actor_out = (jnp.asarray(rng.normal(size=(batch, sum(nvec))), jnp.float32),
                 jnp.asarray(rng.normal(size=(batch, n, n_slots + 1, 9)), jnp.float32))
    u = jax.random.uniform(jax.random.key(seed), (batch, 2 * n, n_slots + 1), minval=1e-6)
    actions, part_log_probs = head.sample(actor_out, u)
    gains = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    loss = request_model_loss(head.request_logits(actor_out, actions),
                              better_requests(actions[:, 1::2], gains), gains)
    taken = np.asarray(part_log_probs[:, 1:], np.float64)
    picked = np.where(np.asarray(gains) >= 0, taken, np.log1p(-np.exp(taken)))
    weight = np.abs(gains) / (np.abs(gains).mean() + 1e-8)
    np.testing.assert_allclose(loss, -(weight * picked).mean(), rtol=1e-4, atol=1e-5)


def test_a_saturated_request_is_pulled_back_where_the_policy_gradient_is_not():
    """One agent requests with probability ~1 - 1e-13 and its request costs the team: the
    cross-entropy's gradient in the request logit is ~1, the policy gradient's ~0."""
    head = sequential_select_head((3, 2), parts=True)
    action = jnp.asarray([[0.0, 1.0]])  # slot 0, request
    gain = jnp.asarray([[-0.4]])

    def logits(shift):
        return (jnp.asarray([[0.0, 0.0, 0.0, 0.0, 30.0]]) + jnp.zeros(5).at[4].set(shift),)

    model = jax.grad(lambda s: request_model_loss(
        head.request_logits(logits(s), action), better_requests(action[:, 1::2], gain), gain))
    policy = jax.grad(lambda s: -(head.log_prob_entropy(logits(s), action)[0][0, 1] * gain[0, 0]))
    np.testing.assert_allclose(model(0.0), 1.0, rtol=1e-5)  # lowers the request logit at rate ~1
    assert abs(float(policy(0.0))) < 1e-6


def test_request_model_coef_is_validated():
    model_config().validate()
    with pytest.raises(ValueError, match="ppo.request_model_coef"):
        model_config(request_model_coef=-1.0).validate()
    with pytest.raises(ValueError, match="request_model_coef=1.0 needs ppo.request_credit="
                                         "'counterfactual' \\(got 'team'; allowed: "
                                         "request_model_coef=0.0\\)"):
        model_config(request_credit="team").validate()
    model_config(collaboration="sequential").validate()


def test_an_update_with_the_request_model_moves_the_requests_apart_from_the_gradient():
    """Same rollout, same key: the update with the cross-entropy ends at other parameters than
    the one without, and every parameter stays finite and moves."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6).with_collaboration_tradeoff(0.8, 0.2)
    ends = {}
    for coef in (0.0, 1.0):
        config = model_config(request_model_coef=coef, collaboration="sequential")
        rs0 = jax.jit(make_init(config, env, params))(jax.random.key(0))
        rs, metrics = jax.jit(make_update(config, env, params))(rs0)
        chex.assert_tree_all_finite((metrics, rs.train_state.params))
        ends[coef] = rs.train_state.params
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), ends[0.0], ends[1.0])
    assert max(jax.tree.leaves(moved)) > 1e-6  # identical without it: same keys, same rollout
