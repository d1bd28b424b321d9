"""Network building blocks shared by every actor-critic: the orthogonal initializer, the MLP and
`dense_rows` (a layer on the rows of a batch as one matrix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def orthogonal(scale: float) -> Callable[..., jax.Array]:
    """flax's `orthogonal(scale)` initializer, computed one matrix at a time under `vmap`.

    The same numbers as `nn.initializers.orthogonal(scale)` (unbatched it is that function).
    Why not flax's own: vmapping it (a sweep's members, `jit(vmap(make_train))`) batches its
    QR, and jaxlib 0.10's LAPACK kernel then splits the batch over XLA:CPU's thread pool
    (`ParallelBatchMap`), which deadlocks intermittently on a 2-core machine: every worker
    idles while the QR waits (`tools/repro_concurrent_hang.py`). `sequential_vmap` turns a
    batched init into a loop of unbatched QRs; initialisation runs once, so the loop costs
    nothing that matters.
    """
    base = nn.initializers.orthogonal(scale)

    def init(key: jax.Array, shape: Sequence[int], dtype: jnp.dtype = jnp.float32) -> jax.Array:
        return jax.custom_batching.sequential_vmap(lambda k: base(k, shape, dtype))(key)

    return init


_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": nn.tanh,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
    "leaky_relu": nn.leaky_relu,
}


def dense_rows(layer: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """`layer` (a Dense, or layers of them) applied to the rows of `x [..., d]` as one
    `[rows, d]` matrix.

    XLA:CPU runs a Dense on a 2-D input as one library matmul; on `[B, n, d]` (or more dims)
    its gradient contracts over several axes and runs 1.3-2x slower (a 30-128-128 MLP's
    gradient on a `[1024, 4, 30]` minibatch: 8.4 ms, on the same rows as `[4096, 30]`: 6.2 ms;
    the recipe's update 1.25x faster, docs/jaxmarl.md). Same numbers up to float rounding.
    """
    out = layer(x.reshape(-1, x.shape[-1]))
    return out.reshape(x.shape[:-1] + out.shape[-1:])


class MLP(nn.Module):
    """Hidden layers only: Dense (+ LayerNorm) + activation, orthogonal(sqrt 2) init.

    `x [..., d] -> [..., hidden[-1]]`, computed on the rows as one matrix (`dense_rows`).
    """

    hidden: Sequence[int]
    activation: str = "relu"
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]

        def layers(x: jax.Array) -> jax.Array:
            for size in self.hidden:
                x = nn.Dense(
                    size,
                    kernel_init=orthogonal(np.sqrt(2.0)),
                    bias_init=nn.initializers.zeros,
                )(x)
                if self.layer_norm:
                    x = nn.LayerNorm()(x)
                x = act(x)
            return x

        return dense_rows(layers, x)
