"""The policy heads: factorised categorical maths vs NumPy, Gumbel-max sampling frequencies,
config/env validation, and discrete PPO on a tiny select-mode env (finite, one compile)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import (
    PPOConfig,
    discrete_head,
    env_spec,
    gaussian_head,
    make_act,
    make_init,
    make_train,
    make_update,
    policy_distribution,
)

NVEC = (5, 2, 5, 2)


def numpy_log_prob_entropy(flat, actions, nvec):
    """Reference: per-dimension log-softmax, summed log-probs and entropies."""
    log_prob = np.zeros(flat.shape[0])
    entropy = np.zeros(flat.shape[0])
    start = 0
    for d, k in enumerate(nvec):
        z = flat[:, start : start + k].astype(np.float64)
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        log_prob += logp[np.arange(flat.shape[0]), actions[:, d]]
        entropy += -(np.exp(logp) * logp).sum(1)
        start += k
    return log_prob, entropy


def test_discrete_log_prob_and_entropy_match_numpy():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(6, sum(NVEC))).astype(np.float32) * 2.0
    actions = np.stack([rng.integers(0, k, 6) for k in NVEC], 1)
    head = discrete_head(NVEC)
    log_prob, entropy = head.log_prob_entropy((jnp.asarray(flat),),
                                              jnp.asarray(actions, jnp.float32))
    ref_lp, ref_ent = numpy_log_prob_entropy(flat, actions, NVEC)
    np.testing.assert_allclose(log_prob, ref_lp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(entropy, ref_ent, rtol=1e-5, atol=1e-5)
    # the mode is the per-dimension argmax; sampled actions come with their own log-prob
    mode = np.asarray(head.mode((jnp.asarray(flat),)))
    starts = np.cumsum((0,) + NVEC[:-1])
    expected = [np.argmax(flat[:, s : s + k], 1) for s, k in zip(starts, NVEC, strict=True)]
    np.testing.assert_array_equal(mode, np.stack(expected, 1))
    u = head.noise(jax.random.PRNGKey(1), (6,))
    assert u.shape == (6, len(NVEC), max(NVEC))
    action, lp = head.sample((jnp.asarray(flat),), u)
    ref, _ = numpy_log_prob_entropy(flat, np.asarray(action, np.int64), NVEC)
    np.testing.assert_allclose(lp, ref, rtol=1e-5, atol=1e-5)


def test_gumbel_max_sampling_frequencies_match_the_probabilities():
    logits = jnp.asarray([[0.5, -1.0, 2.0, 0.0, 1.0, 3.0, -0.5]], jnp.float32)  # nvec (5, 2)
    head = discrete_head((5, 2))
    n = 40_000
    u = head.noise(jax.random.PRNGKey(123), (n,))
    actions, _ = head.sample((jnp.broadcast_to(logits, (n, 7)),), u)
    actions = np.asarray(actions, np.int64)
    for d, (lo, k) in enumerate([(0, 5), (5, 2)]):
        probs = np.asarray(jax.nn.softmax(logits[0, lo : lo + k]))
        freq = np.bincount(actions[:, d], minlength=k) / n
        # 5 standard errors of a binomial proportion: fails for a wrong sampler, not by chance
        np.testing.assert_array_less(np.abs(freq - probs), 5 * np.sqrt(probs * (1 - probs) / n))
        assert actions[:, d].max() < k  # padded categories are never drawn


def test_gaussian_head_is_the_policy_distribution():
    config = PPOConfig()
    head = gaussian_head(config, np.zeros(3, np.float32), np.ones(3, np.float32))
    mean, log_std = jnp.asarray([[0.1, 0.2, 0.3]]), jnp.asarray([0.0, -1.0, 0.5])
    noise = head.noise(jax.random.PRNGKey(0), (1,))
    action, log_prob = head.sample((mean, log_std), noise)
    dist = policy_distribution(mean, log_std)
    np.testing.assert_allclose(log_prob, dist.log_prob(action), rtol=1e-5)
    lp, ent = head.log_prob_entropy((mean, log_std), action)
    np.testing.assert_allclose(lp, log_prob, rtol=1e-5)
    np.testing.assert_allclose(ent, dist.entropy(), rtol=1e-5)


def test_policy_setting_is_validated_against_the_env():
    with pytest.raises(ValueError, match="ppo.policy"):
        PPOConfig(policy="beta").validate()
    seed_env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3)
    select_env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, action_mode="select")
    with pytest.raises(ValueError, match="ppo.policy='discrete' needs"):
        make_init(PPOConfig(policy="discrete"), seed_env, seed_env.default_params)
    with pytest.raises(ValueError, match="ppo.policy='gaussian' cannot"):
        make_update(PPOConfig(), select_env, select_env.default_params)
    assert env_spec(select_env, select_env.default_params).nvec == (4, 2, 4, 2)


TINY = dict(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=8 * 8 * 2,
            net_arch={"pi": [16], "vf": [16]}, policy="discrete", ent_coef=0.01)


# the default suite runs discrete IPPO updates in tests/ppo/test_teacher.py (12 updates)
@pytest.mark.slow
@pytest.mark.parametrize("actor", ["ippo", "mlp"])
def test_discrete_ppo_runs_finite_and_compiles_once(actor):
    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6)
    config = PPOConfig(actor=actor, normalize_obs=True, **TINY)
    init = jax.jit(make_init(config, env, params))
    update = make_update(config, env, params)

    traces = []

    @jax.jit
    def step(rs):
        traces.append(1)  # runs once per trace
        return update(rs)

    rs = init(jax.random.PRNGKey(0))
    for _ in range(3):
        rs, metrics = step(rs)
        chex.assert_tree_all_finite((metrics, rs.train_state.params))
    assert len(traces) == 1
    assert metrics["entropy"] > 0.0
    assert metrics["approx_kl"] >= 0.0
    act = make_act(config, env, params)
    obs, _ = env.reset(jax.random.PRNGKey(1), params)
    action = act(rs, obs)
    assert action.dtype == jnp.int32 and action.shape == (4,)
    assert bool(env.action_space(params).contains(action))


@pytest.mark.slow
def test_discrete_train_matches_between_calls():
    """`make_train` with the discrete head is deterministic for a key (noise drawn up front)."""
    env = MultiAgentTaskEnvironment(n_agents=2, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6)
    train = jax.jit(make_train(PPOConfig(**TINY), env, params))
    a = train(jax.random.PRNGKey(3)).metrics["policy_loss"]
    b = train(jax.random.PRNGKey(3)).metrics["policy_loss"]
    np.testing.assert_array_equal(a, b)
