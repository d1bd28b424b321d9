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
