"""Data parallelism over a device mesh with `jax.sharding` (and `jax.distributed` for hosts).

`mesh` builds the mesh and checks sizes split over it; `shardings` says where each leaf of a
training state lives and places it; `distributed` starts JAX's multi-process runtime. It
imports only jax and NumPy (the env's imports, e.g. gymnax, run JAX code, and
`jax.distributed.initialize` must come before any); the system and sweep layers import it.
"""

from agentic_jax.parallel.distributed import host_copy, initialize, is_primary
from agentic_jax.parallel.mesh import (
    DEVICE_AXIS,
    DeviceCountError,
    check_divisible,
    make_mesh,
    mesh_size,
    resolve_device_count,
)
from agentic_jax.parallel.shardings import (
    member_shardings,
    place,
    replicated,
    runner_state_shardings,
)

__all__ = [
    "DEVICE_AXIS",
    "DeviceCountError",
    "check_divisible",
    "host_copy",
    "initialize",
    "is_primary",
    "make_mesh",
    "member_shardings",
    "mesh_size",
    "place",
    "replicated",
    "resolve_device_count",
    "runner_state_shardings",
]
