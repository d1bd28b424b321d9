"""The fused clip + Adam transformation and the lr / entropy schedules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.training.train_state import TrainState

from agentic_jax.ppo import (
    PPOConfig,
    apply_gradients,
    clipped_adam,
    ent_coef_at,
    learning_rate_at,
    make_optimizer,
    progress_remaining,
)


def test_seed_linear_schedule_values():
    cfg = PPOConfig(lr_schedule="seed_linear")
    lr = 3e-4
    for progress, expected in [(1.0, lr), (0.5, 0.55 * lr), (0.0, 0.1 * lr)]:
        np.testing.assert_allclose(float(learning_rate_at(cfg, lr, progress)), expected, rtol=1e-6)
    const = PPOConfig()
    assert float(learning_rate_at(const, lr, 0.0)) == pytest.approx(lr)
    # SB3 updates the progress after the rollout: last update sees progress 0
    cfg = PPOConfig(n_envs=1, n_steps=8, batch_size=8, total_timesteps=32)
    np.testing.assert_allclose(
        progress_remaining(cfg, jnp.arange(6)), [0.75, 0.5, 0.25, 0.0, 0.0, 0.0], atol=1e-7
    )


def test_ent_coef_schedule_values():
    linear = PPOConfig(ent_coef_schedule="linear")
    for progress, expected in [(1.0, 0.01), (0.5, 0.005), (0.0, 0.0)]:
        np.testing.assert_allclose(float(ent_coef_at(linear, 0.01, progress)), expected, atol=1e-9)
    assert float(ent_coef_at(PPOConfig(), 0.01, 0.0)) == pytest.approx(0.01)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])  # clipping active / inactive
def test_apply_gradients_equals_optax_chain(max_norm):
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    params = {"w": jax.random.normal(k1, (5, 3)), "b": jnp.zeros(3)}
    reference = optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(3e-4, eps=1e-5))
    ref_params, ref_state = params, reference.init(params)
    ts = TrainState.create(apply_fn=None, params=params, tx=make_optimizer(PPOConfig()))
    for key in jax.random.split(k2, 4):
        grads = {name: jax.random.normal(key, p.shape) for name, p in params.items()}
        updates, ref_state = reference.update(grads, ref_state, ref_params)
        ref_params = optax.apply_updates(ref_params, updates)
        ts = apply_gradients(ts, grads, jnp.float32(3e-4), jnp.float32(max_norm))
    for name in params:
        np.testing.assert_allclose(ts.params[name], ref_params[name], rtol=1e-6, atol=1e-7)


def numpy_clip_adam_step(params, grads, state, lr, max_norm, b1=0.9, b2=0.999, eps=1e-5):
    """Float64 reference of one `chain(clip_by_global_norm, adam(eps=1e-5))` step."""
    mu, nu, t = state
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    scale = 1.0 if norm < max_norm else max_norm / norm
    t += 1
    out, mu2, nu2 = {}, {}, {}
    for k, p in params.items():
        g = grads[k] * scale
        mu2[k] = b1 * mu[k] + (1 - b1) * g
        nu2[k] = b2 * nu[k] + (1 - b2) * g**2
        m_hat, v_hat = mu2[k] / (1 - b1**t), nu2[k] / (1 - b2**t)
        out[k] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return out, (mu2, nu2, t)


@pytest.mark.parametrize("max_norm", [0.1, 100.0])  # clipping active / inactive
def test_train_state_apply_gradients_descends_a_quadratic(max_norm):
    """flax's own `TrainState.apply_gradients(grads=...)` steps DOWN the gradient, as the
    optax chain and a NumPy reference do."""
    curvature = {"w": np.array([[1.0, 2.0], [0.5, 4.0]]), "b": np.array([3.0, 0.25])}
    params0 = {"w": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": np.array([-1.5, 2.0])}

    def loss(p):
        return sum(0.5 * jnp.sum(curvature[k] * p[k] ** 2) for k in p)

    lr = 0.05
    ts = TrainState.create(
        apply_fn=None,
        params={k: jnp.asarray(v, jnp.float32) for k, v in params0.items()},
        tx=clipped_adam(lr, max_norm),
    )
    reference = optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(lr, eps=1e-5))
    ref_params = ts.params
    ref_state = reference.init(ref_params)
    np_params = params0
    np_state = ({k: np.zeros_like(v) for k, v in params0.items()},) * 2 + (0,)
    losses = [float(loss(ts.params))]
    for _ in range(5):
        grads = jax.grad(loss)(ts.params)
        before = ts.params
        ts = ts.apply_gradients(grads=grads)
        for k in grads:  # every coordinate moves against its gradient
            assert np.all(np.sign(ts.params[k] - before[k]) == -np.sign(grads[k])), k
        losses.append(float(loss(ts.params)))
        updates, ref_state = reference.update(jax.grad(loss)(ref_params), ref_state, ref_params)
        ref_params = optax.apply_updates(ref_params, updates)
        np_grads = {k: curvature[k] * v for k, v in np_params.items()}
        np_params, np_state = numpy_clip_adam_step(np_params, np_grads, np_state, lr, max_norm)
        for k in grads:
            np.testing.assert_allclose(ts.params[k], ref_params[k], rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(ts.params[k], np_params[k], rtol=1e-5, atol=1e-6)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
    assert int(ts.step) == 5 and int(ts.opt_state.count) == 5


def test_make_optimizer_defaults_are_the_config_values():
    """Without extra arguments the transformation steps with the config's lr and clip norm;
    `apply_gradients` passes traced ones instead."""
    config = PPOConfig(learning_rate=1e-3, max_grad_norm=0.3)
    params = {"w": jnp.arange(6.0).reshape(2, 3)}
    grads = {"w": jnp.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])}
    ts = TrainState.create(apply_fn=None, params=params, tx=make_optimizer(config))
    assert make_optimizer(config) is ts.tx  # cached: one pytree structure per config
    default = ts.apply_gradients(grads=grads)
    explicit = apply_gradients(ts, grads, jnp.float32(1e-3), jnp.float32(0.3))
    np.testing.assert_array_equal(default.params["w"], explicit.params["w"])
    other = apply_gradients(ts, grads, jnp.float32(2e-3), jnp.float32(0.3))
    assert not np.allclose(other.params["w"], default.params["w"])
    # the state is optax's Adam state: count, mu, nu
    assert isinstance(default.opt_state, optax.ScaleByAdamState)
