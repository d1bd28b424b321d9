"""Array ops over tiny static axes (agents, slots, task types), unrolled into elementwise code.

Every environment array keeps its small axes first and any batch of environments last:
``(n, K, *B)``, ``(Q, *B)``, ``(*B)``; a single environment has ``B = ()``. With the batch axis
minor in memory XLA:CPU vectorises every elementwise loop across environments, and a
reduction, cumulative sum or gather over an axis of 3–10 elements, unrolled here, becomes a few
whole-array ``+``/``where`` instead of a short scalar loop per environment (about 5x faster in
the step).
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp


def _parts(x: chex.Array, axis: int) -> list[chex.Array]:
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


def sum_axis(x: chex.Array, axis: int = 0) -> chex.Array:
    """``x.sum(axis)`` for a short static axis (booleans are counted as int32)."""
    parts = _parts(x.astype(jnp.int32) if x.dtype == jnp.bool_ else x, axis)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def any_axis(x: chex.Array, axis: int = 0) -> chex.Array:
    """``x.any(axis)`` for a short boolean static axis."""
    parts = _parts(x, axis)
    out = parts[0]
    for part in parts[1:]:
        out = out | part
    return out


def exclusive_cumsum(x: chex.Array, axis: int = 0) -> chex.Array:
    """``cumsum(x, axis) - x`` as int32, for a short static axis."""
    parts = _parts(x.astype(jnp.int32), axis)
    running, out = jnp.zeros_like(parts[0]), []
    for part in parts:
        out.append(running)
        running = running + part
    return jnp.stack(out, axis)


def take(x: chex.Array, index: chex.Array, n_candidates: int) -> chex.Array:
    """``x[index]`` along axis 0, for int ``index`` ``(m, *B)`` in ``[0, n_candidates)``.

    ``x`` is ``(S, *B)``; returns ``(m, *B)``.
    """
    out = jnp.broadcast_to(x[0], index.shape)
    for s in range(1, n_candidates):
        out = jnp.where(index == s, x[s], out)
    return out


def shift_left(x: chex.Array, k: chex.Array, max_shift: int) -> chex.Array:
    """``x`` ``(S, *B)`` moved ``k`` ``(*B)`` places towards index 0 along axis 0, zeros behind.

    ``0 <= k <= max_shift``.
    """
    out = x
    for s in range(1, min(max_shift, x.shape[0]) + 1):
        shifted = jnp.concatenate([x[s:], jnp.zeros((s,) + x.shape[1:], x.dtype)])
        out = jnp.where(k == s, shifted, out)
    return out


def lookup(table: chex.Array, column: chex.Array) -> chex.Array:
    """``table[i, column[i, ...]]``: ``table`` ``(n, T, *B)``, int ``column`` ``(n, ..., *B)``."""
    extra = column.ndim - table.ndim + 1  # axes between the row and the batch
    out = jnp.zeros(column.shape, table.dtype)
    for t in range(table.shape[1]):
        row = table[:, t].reshape(table.shape[:1] + (1,) * extra + table.shape[2:])
        out = jnp.where(column == t, row, out)
    return out


def trailing(x: chex.Array, batch_ndim: int) -> chex.Array:
    """``x`` with ``batch_ndim`` unit axes appended, to broadcast against ``(..., *B)``."""
    return x.reshape(x.shape + (1,) * batch_ndim)


def where_tree(mask: chex.Array, new: Any, old: Any) -> Any:
    """``jnp.where(mask, new, old)`` leaf by leaf over two pytrees of one structure."""
    return jax.tree.map(lambda x, y: jnp.where(mask, x, y), new, old)
