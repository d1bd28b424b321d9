"""The networks' building blocks: the orthogonal initializer (flax's numbers, no batched QR
under `vmap`) and `dense_rows` (a layer on a batch's rows as one matrix: every actor-critic's
matmuls are 2-D)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.ppo import env_spec, make_init
from agentic_jax.ppo.layers import MLP, dense_rows, orthogonal
from agentic_jax.ppo.train import network_for


def _equations(jaxpr, words: tuple[str, ...]) -> list:
    """Every equation of `jaxpr` (sub-jaxprs included) whose primitive's name has one of
    `words`."""
    found = []
    for eqn in jaxpr.eqns:
        if any(word in eqn.primitive.name for word in words):
            found.append(eqn)
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += _equations(inner, words)
    return found


def _qr_operand_ranks(jaxpr) -> list[int]:
    """The operand ranks of every QR-family primitive in `jaxpr`, sub-jaxprs included."""
    return [eqn.invars[0].aval.ndim
            for eqn in _equations(jaxpr, ("qr", "geqrf", "householder"))]


def test_orthogonal_equals_flax_alone_and_under_vmap():
    keys = jax.random.split(jax.random.key(3), 5)
    flax_init = nn.initializers.orthogonal(np.sqrt(2.0))
    ours = orthogonal(np.sqrt(2.0))
    np.testing.assert_array_equal(ours(keys[0], (7, 5)), flax_init(keys[0], (7, 5)))
    batched = jax.jit(jax.vmap(lambda k: ours(k, (7, 5))))(keys)
    np.testing.assert_array_equal(batched, np.stack([flax_init(k, (7, 5)) for k in keys]))
    q = np.asarray(batched[1]) / np.sqrt(2.0)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-5)  # orthonormal columns


def test_vmapped_init_runs_every_qr_on_one_matrix():
    """A member-vmapped init (a sweep) must not batch its QRs: jaxlib's batched LAPACK QR
    deadlocks intermittently on XLA:CPU's thread pool (see `orthogonal`)."""
    run = load(TINY)
    env, env_params = run.env.make_env()
    init = make_init(run.ppo, env, env_params)
    keys = jax.random.split(jax.random.key(0), 3)
    ranks = _qr_operand_ranks(jax.make_jaxpr(jax.vmap(init))(keys).jaxpr)
    assert ranks and max(ranks) == 2
    flax_ranks = _qr_operand_ranks(jax.make_jaxpr(jax.vmap(
        lambda k: nn.initializers.orthogonal(1.0)(k, (4, 4))))(keys).jaxpr)
    assert max(flax_ranks) == 3  # the check sees a batched QR when there is one


def test_dense_rows_is_the_layer_on_every_row():
    x = jax.random.normal(jax.random.key(1), (3, 4, 5, 6))
    layer = nn.Dense(7)
    params = layer.init(jax.random.key(2), x)
    kernel = np.asarray(params["params"]["kernel"], np.float64)
    bias = np.asarray(params["params"]["bias"], np.float64)
    out = layer.apply(params, x, method=lambda module, x: dense_rows(module, x))
    assert out.shape == (3, 4, 5, 7)
    np.testing.assert_allclose(out, np.asarray(x, np.float64) @ kernel + bias, rtol=1e-5,
                               atol=1e-5)
    mlp = MLP((8, 8))
    mlp_params = mlp.init(jax.random.key(3), x)
    np.testing.assert_allclose(mlp.apply(mlp_params, x)[1, 2],
                               mlp.apply(mlp_params, x[1, 2]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("overrides", [
    {},
    {"actor": "mappo"},
    {"collaboration": "sequential"},
    {"actor": "per_agent", "sequential_select": False},
])
def test_the_recipe_networks_gradient_runs_only_two_dimensional_matmuls(overrides):
    """On a `[B, n, d]` batch a Dense's gradient contracts over two axes, which XLA:CPU runs
    1.3-2x slower than one `[B * n, d]` matmul (`dense_rows`): none may be left."""
    run = load("configs/select.yaml")
    env, env_params = run.env.make_env()
    config = run.ppo.replace(**overrides)
    network = network_for(config, env_spec(env, env_params))
    obs = jnp.zeros((16, env.observation_space(env_params).shape[0]))
    params = network.init(jax.random.key(0), obs)

    def loss(params):
        return sum(jnp.sum(out ** 2) for out in jax.tree.leaves(network.apply(params, obs)))

    dots = _equations(jax.make_jaxpr(jax.grad(loss))(params).jaxpr, ("dot_general",))
    assert dots
    for eqn in dots:
        (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"][1]
        assert [v.aval.ndim for v in eqn.invars] == [2, 2] and not lhs_batch and not rhs_batch, eqn
