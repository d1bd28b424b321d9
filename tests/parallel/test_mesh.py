"""`parallel.mesh` in the test process itself (one CPU device): counts and the named errors."""

from __future__ import annotations

import jax
import pytest

from agentic_jax.parallel import DeviceCountError, make_mesh, mesh_size, resolve_device_count


def test_none_and_zero_mean_every_device():
    assert resolve_device_count(None) == resolve_device_count(0) == jax.device_count()
    assert mesh_size(make_mesh()) == jax.device_count()


def test_more_devices_than_present_is_a_named_error():
    n = jax.device_count() + 1
    with pytest.raises(DeviceCountError, match=rf"system.devices={n} is out of range "
                                               r"\(allowed: an int in \[0, "):
        make_mesh(n)

