"""The device mesh training runs on: one axis, `DEVICE_AXIS`, over the local or global devices.

    mesh = make_mesh(4)            # the first 4 of jax.devices(); None or 0: all of them
    check_divisible("ppo.n_envs", 8, mesh)

A mesh of one device is the single-device path: the system layer then compiles exactly the
program it always did (no shardings), so single-device numbers do not move.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh

DEVICE_AXIS = "devices"


class DeviceCountError(ValueError):
    """A device count that the config's sizes cannot be split over (raised before compiling)."""


def resolve_device_count(requested: int | None) -> int:
    """The device count to use: `requested`, or every device of the job when None or 0.

    Multi-process (`jax.distributed`): `requested` counts devices of the whole job; None means
    all of them (`jax.device_count()`), never only this process's.

    Raises:
        DeviceCountError: more devices requested than the job has.
    """
    available = jax.device_count()
    if requested is None or requested == 0:
        return available
    if requested < 0 or requested > available:
        raise DeviceCountError(
            f"system.devices={requested} is out of range (allowed: an int in [0, {available}]; "
            f"0 or None = all {available} devices of {jax.devices()[0].platform}). "
            "On CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N (set before JAX "
            "starts) makes N host devices")
    return requested


def make_mesh(devices: int | None = None) -> Mesh:
    """A 1-D mesh `(DEVICE_AXIS,)` over the first `resolve_device_count(devices)` devices.

    The devices are taken in `jax.devices()` order, so under `jax.distributed` each process's
    devices form one contiguous block of the axis (process 0 first).
    """
    n = resolve_device_count(devices)
    return Mesh(np.asarray(jax.devices()[:n]), (DEVICE_AXIS,))


def mesh_size(mesh: Mesh) -> int:
    """Number of devices on the mesh."""
    return int(mesh.devices.size)


def check_divisible(name: str, value: int, mesh: Mesh) -> None:
    """`DeviceCountError` naming `name` unless `value` splits evenly over the mesh's devices."""
    n = mesh_size(mesh)
    if value % n:
        divisors = [d for d in range(1, value + 1) if value % d == 0 and d <= jax.device_count()]
        raise DeviceCountError(
            f"{name}={value} does not divide over {n} devices (allowed: a multiple of {n} "
            f"for {name}, or system.devices in {divisors})")
