"""Where each leaf of a training state lives on the mesh, and placing a state there.

A single run's `RunnerState` (`B = n_envs`):

| leaves | sharding |
|---|---|
| `obs [B, obs_dim]`, `episode_return [B]`, `episode_length [B]` | axis 0 split over devices |
| `env_state` leaves `[..., B]` (env axis LAST, see `env/batched.py`) | last axis split |
| params, Adam state, RNG key, counters, obs normaliser, last metrics, hparams | replicated |

A sweep's member-batched state (`M` members on axis 0 of every leaf): axis 0 split, nothing
replicated (members are independent, so the program needs no collectives).

Placing works the same on one host and under `jax.distributed`: each process supplies the
shards of its own devices from a host copy of the whole (global) value
(`jax.make_array_from_callback`), so a state read back from a checkpoint of any device count is
re-sharded onto this mesh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import chex
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from agentic_jax.parallel.mesh import DEVICE_AXIS, check_divisible

if TYPE_CHECKING:  # not imported at run time: `jax.distributed` must start before the env's
    from agentic_jax.ppo.types import RunnerState  # imports (gymnax runs JAX on import)

ENV_AXIS_FIRST = ("obs", "episode_return", "episode_length")


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device holds the whole value."""
    return NamedSharding(mesh, P())


def split_axis(mesh: Mesh, ndim: int, axis: int) -> NamedSharding:
    """Axis `axis` (negative counts from the end) of an `ndim`-D value split over the mesh."""
    spec = [None] * ndim
    spec[axis] = DEVICE_AXIS
    return NamedSharding(mesh, P(*spec))


def runner_state_shardings(state: RunnerState, mesh: Mesh) -> RunnerState:
    """A `RunnerState` of `NamedSharding`s for `state` (arrays or `ShapeDtypeStruct`s).

    Raises:
        DeviceCountError: `n_envs` (the env axis) does not divide over the mesh.
    """
    n_envs = state.obs.shape[0]
    check_divisible("ppo.n_envs", n_envs, mesh)
    chex.assert_shape([state.episode_return, state.episode_length], (n_envs,))
    shardings = jax.tree.map(lambda _: replicated(mesh), state)

    def env_last(x: Any) -> NamedSharding:
        if x.shape[-1] != n_envs:
            raise ValueError(f"env_state leaf of shape {x.shape} does not have the env axis "
                             f"({n_envs}) last")
        return split_axis(mesh, x.ndim, -1)

    first = {name: split_axis(mesh, getattr(state, name).ndim, 0) for name in ENV_AXIS_FIRST}
    return shardings.replace(env_state=jax.tree.map(env_last, state.env_state), **first)


def member_shardings(tree: Any, mesh: Mesh) -> Any:
    """`NamedSharding`s splitting axis 0 (the member axis `M`) of every leaf of `tree`.

    Raises:
        DeviceCountError: `M` does not divide over the mesh.
    """
    leaves = jax.tree.leaves(tree)
    n_members = leaves[0].shape[0]
    chex.assert_equal_shape_prefix(leaves, 1)
    check_divisible("sweep members per call", n_members, mesh)
    return jax.tree.map(lambda x: split_axis(mesh, x.ndim, 0), tree)


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _place_leaf(x: Any, sharding: NamedSharding) -> jax.Array:
    if isinstance(x, jax.Array) and x.sharding.is_equivalent_to(sharding, x.ndim):
        return x
    if _is_key(x):
        data = _place_leaf(jax.random.key_data(x), _key_data_sharding(sharding))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    if isinstance(x, jax.Array) and x.is_fully_addressable and jax.process_count() == 1:
        return jax.device_put(x, sharding)  # device to device, no host round trip
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _key_data_sharding(sharding: NamedSharding) -> NamedSharding:
    """The key data of a key array has one more (trailing, unsplit) axis."""
    return NamedSharding(sharding.mesh, P(*sharding.spec, None))


def place(tree: Any, shardings: Any) -> Any:
    """`tree` with every leaf on its sharding (a no-op for leaves already there).

    Host values (NumPy, or arrays of another device set) must be the whole global value, the
    same on every process.
    """
    return jax.tree.map(_place_leaf, tree, shardings)
