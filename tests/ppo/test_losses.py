"""compute_gae, the truncation bootstrap, the PPO loss and explained variance vs references."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.ppo import bootstrap_truncation, compute_gae, explained_variance, ppo_loss


def gae_reference(rewards, values, dones, last_value, gamma, lam):
    rewards, values, dones = (np.asarray(x, np.float64) for x in (rewards, values, dones))
    T = rewards.shape[0]
    adv = np.zeros_like(rewards)
    next_adv = np.zeros_like(rewards[0])
    for t in reversed(range(T)):
        next_value = np.asarray(last_value, np.float64) if t == T - 1 else values[t + 1]
        nd = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * nd - values[t]
        next_adv = delta + gamma * lam * nd * next_adv
        adv[t] = next_adv
    return adv, adv + values


@pytest.mark.parametrize("seed", [0, 1])
def test_gae_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    T, B = 37, 5
    rewards = rng.normal(size=(T, B)).astype(np.float32)
    values = rng.normal(size=(T, B)).astype(np.float32)
    dones = rng.random((T, B)) < 0.1
    last_value = rng.normal(size=(B,)).astype(np.float32)
    adv, ret = compute_gae(
        jnp.asarray(rewards),
        jnp.asarray(values),
        jnp.asarray(dones),
        jnp.asarray(last_value),
        0.99,
        0.95,
    )
    ref_adv, ref_ret = gae_reference(rewards, values, dones, last_value, 0.99, 0.95)
    np.testing.assert_allclose(np.asarray(adv), ref_adv, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ret), ref_ret, atol=1e-5, rtol=1e-5)


def test_gae_hand_computed_three_steps():
    # gamma = lambda = 0.5; the episode ends after step 1; bootstrap V_3 = 2.
    # t=2: delta = 3 + 0.5*2 - 1.5 = 2.5                  A = 2.5
    # t=1: done, delta = 2 - 1 = 1                         A = 1
    # t=0: delta = 1 + 0.5*1 - 0.5 = 1, A = 1 + 0.25*1 =  1.25
    adv, ret = compute_gae(
        jnp.array([[1.0], [2.0], [3.0]]),
        jnp.array([[0.5], [1.0], [1.5]]),
        jnp.array([[False], [True], [False]]),
        jnp.array([2.0]),
        0.5,
        0.5,
    )
    np.testing.assert_allclose(np.asarray(adv)[:, 0], [1.25, 1.0, 2.5], atol=1e-6)
    np.testing.assert_allclose(np.asarray(ret)[:, 0], [1.75, 2.0, 4.0], atol=1e-6)


def _fixed_batch(seed=0, n=32, a=3):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(n, a))
    log_std = rng.normal(scale=0.3, size=(a,))
    actions = mean + np.exp(log_std) * rng.normal(size=(n, a)) + rng.normal(scale=0.2, size=(n, a))
    old_log_probs = _np_log_prob(actions, mean, log_std) + rng.normal(scale=0.3, size=n)
    batch = {
        "obs": np.zeros((n, 1)),
        "actions": actions,
        "log_probs": old_log_probs,
        "values": rng.normal(size=n),
        "advantages": rng.normal(size=n) * 2 + 0.5,
        "returns": rng.normal(size=n),
    }
    new_values = batch["values"] + rng.normal(scale=0.5, size=n)
    return mean, log_std, new_values, batch


def _np_log_prob(x, mean, log_std):
    return np.sum(
        -0.5 * ((x - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), axis=-1
    )


def ppo_loss_reference(mean, log_std, values, batch, clip, clip_vf, ent_coef, vf_coef):
    adv = batch["advantages"]
    adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
    log_prob = _np_log_prob(batch["actions"], mean, log_std)
    ratio = np.exp(log_prob - batch["log_probs"])
    pg = -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))
    if clip_vf is not None:
        values = batch["values"] + np.clip(values - batch["values"], -clip_vf, clip_vf)
    vl = np.mean((batch["returns"] - values) ** 2)
    entropy = np.sum(log_std + 0.5 * np.log(2 * np.pi * np.e))
    loss = pg + vf_coef * vl - ent_coef * entropy
    log_ratio = log_prob - batch["log_probs"]
    kl = np.mean((ratio - 1) - log_ratio)
    clip_frac = np.mean(np.abs(ratio - 1) > clip)
    return loss, {
        "policy_loss": pg,
        "value_loss": vl,
        "entropy": entropy,
        "approx_kl": kl,
        "clip_fraction": clip_frac,
    }


@pytest.mark.parametrize("clip_vf", [None, 0.2])
def test_ppo_loss_matches_numpy_reference(clip_vf):
    mean, log_std, values, batch = _fixed_batch()

    def apply_fn(params, obs):
        return params["mean"], params["log_std"], params["values"]

    params = {
        "mean": jnp.asarray(mean, jnp.float32),
        "log_std": jnp.asarray(log_std, jnp.float32),
        "values": jnp.asarray(values, jnp.float32),
    }
    jbatch = {k: jnp.asarray(v, jnp.float32) for k, v in batch.items()}
    loss, aux = ppo_loss(
        params,
        apply_fn,
        jbatch,
        clip_range=0.2,
        clip_range_vf=clip_vf,
        ent_coef=0.01,
        vf_coef=0.5,
    )
    ref_loss, ref_aux = ppo_loss_reference(mean, log_std, values, batch, 0.2, clip_vf, 0.01, 0.5)
    assert 0.0 < ref_aux["clip_fraction"] < 1.0  # the batch exercises both branches
    np.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5, atol=1e-5)
    for k, v in ref_aux.items():
        np.testing.assert_allclose(float(aux[k]), v, rtol=1e-5, atol=1e-5, err_msg=k)


def test_truncation_bootstrap_on_hand_made_rollout():
    # One env, 3 steps, reward 1 each, all values 0, V(final_obs at step 1) = 10, gamma 0.9,
    # lambda 1. A truncation at step 1 bootstraps: r_1 = 1 + 0.9 * 10 = 10, so
    # A = [1 + 0.9 * 10, 10, 1] = [10, 10, 1]. A termination there does not: A = [1.9, 1, 1].
    rewards = jnp.ones((3, 1))
    values = jnp.zeros((3, 1))
    final_values = jnp.array([[7.0], [10.0], [7.0]])  # only step 1 ends an episode
    ended = jnp.array([[False], [True], [False]])
    no = jnp.zeros((3, 1), bool)

    def advantages(terminated, truncated):
        r = bootstrap_truncation(rewards, terminated, truncated, final_values, 0.9)
        adv, _ = compute_gae(r, values, terminated | truncated, jnp.zeros(1), 0.9, 1.0)
        return np.asarray(adv)[:, 0]

    np.testing.assert_allclose(advantages(no, ended), [10.0, 10.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(advantages(ended, no), [1.9, 1.0, 1.0], rtol=1e-6)
    # terminated and truncated at once: terminal wins, no bootstrap
    np.testing.assert_allclose(advantages(ended, ended), [1.9, 1.0, 1.0], rtol=1e-6)


def test_explained_variance():
    rng = np.random.default_rng(0)
    returns = rng.normal(size=(8, 3)).astype(np.float32)
    values = returns + 0.3 * rng.normal(size=(8, 3)).astype(np.float32)
    expected = 1.0 - np.var(returns - values) / np.var(returns)
    np.testing.assert_allclose(explained_variance(values, returns), expected, rtol=1e-5)
    assert float(explained_variance(returns, returns)) == pytest.approx(1.0)
    # constant returns: 0, not a division by zero
    assert float(explained_variance(jnp.asarray(values), jnp.ones((8, 3)))) == 0.0
