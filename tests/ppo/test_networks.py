"""The networks' orthogonal initializer: flax's numbers, and no batched QR under `vmap`."""

from __future__ import annotations

import flax.linen as nn
import jax
import numpy as np
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.ppo import make_init
from agentic_jax.ppo.layers import orthogonal


def _qr_operand_ranks(jaxpr) -> list[int]:
    """The operand ranks of every QR-family primitive in `jaxpr`, sub-jaxprs included."""
    ranks = []
    for eqn in jaxpr.eqns:
        if any(word in eqn.primitive.name for word in ("qr", "geqrf", "householder")):
            ranks.append(eqn.invars[0].aval.ndim)
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    ranks += _qr_operand_ranks(inner)
    return ranks


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
